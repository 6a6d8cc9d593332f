//! `other_config:vhost-iommu-support` is honoured, not just stored: with
//! it, a vhost-user socket offers the guest VIRTIO_F_IOMMU_PLATFORM
//! (`status:iommu_platform`); without it, it does not. As in OVS, it is
//! read when EAL starts.

mod common;

use common::*;

fn offers_iommu(setting: &[String]) -> String {
    let dir = TestDir::new("vhiommu");
    let sw = Switch::start_with("vhiommu", "0x2", setting);
    sw.add_bridge("br0", &[]);
    let sock = dir.join("v0.sock");
    sw.vsctl_ok(&[
        "add-port",
        "br0",
        "v0",
        "--",
        "set",
        "Interface",
        "v0",
        "type=dpdkvhostuserclient",
        &format!("options:vhost-server-path={}", sock.display()),
    ]);
    sw.iface_get("v0", "status:iommu_platform")
}

#[test]
fn vhost_iommu_support_is_offered_only_when_set() {
    let _g = serial();
    assert_eq!(offers_iommu(&["vhost-iommu-support=true".into()]), "true");
    assert_eq!(offers_iommu(&[]), "false");
}
