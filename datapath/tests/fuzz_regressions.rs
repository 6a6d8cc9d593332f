//! Regression tests for bugs the fuzz targets in `fuzz/` found. Each test
//! replays the essence of a failing input through the public API, and
//! fails without the fix it names.

use datapath::counters::Counter;
use datapath::testkit::{mac, raw_frame, Rig};
use datapath::vlan::PortVlan;
use datapath::wire::ethernet::ETHERTYPE_SLOW;
use datapath::wire::MacAddr;

/// Found by `pipeline`: an untagged Slow Protocols frame (ethertype 0x8809)
/// to an address other than an 802.1D reserved group address was bridged
/// like any frame. Slow Protocols frames are steered by ethertype alone,
/// whatever the destination (`wire::slow`, docs/architecture.md): to the
/// control thread on a LACP interface, dropped elsewhere; never forwarded.
#[test]
fn slow_protocols_to_any_destination_are_never_bridged() {
    let mut r = Rig::default();
    let (_, a) = r.add_port("a", PortVlan::access(1));
    let (bp, b) = r.add_port("b", PortVlan::access(1));
    let (_, c) = r.add_port("c", PortVlan::trunk_all());
    r.mac().add_static(1, mac(0xb), bp).unwrap();
    let to_b = raw_frame(mac(0xb), mac(0xa), ETHERTYPE_SLOW);
    let flooded = raw_frame(MacAddr::BROADCAST, mac(0xa), ETHERTYPE_SLOW);
    let unknown = raw_frame(mac(0x77), mac(0xa), ETHERTYPE_SLOW);

    r.send(a, &[to_b.clone(), flooded.clone(), unknown.clone()]);
    assert_eq!(r.counter(a, Counter::RxSlowProtocols), 3);
    assert_eq!(r.drops(a), 3);
    assert!(r.io.control.is_empty());

    r.edit_iface(a, |i| i.lacp = true);
    r.send(a, &[to_b.clone(), flooded, unknown]);
    assert_eq!(
        r.io.control.len(),
        3,
        "LACP interface: to the control thread"
    );
    assert!(r.io.control.iter().all(|(i, _)| *i == a));
    assert_eq!(r.drops(a), 3, "nothing more dropped");

    for i in [a, b, c] {
        assert!(r.sent(i).is_empty(), "a Slow Protocols frame left on {i}");
    }
    // A tagged 0x8809 frame is not a Slow Protocols frame: it is bridged.
    let mut tagged = to_b;
    tagged.splice(12..12, [0x81, 0x00, 0x00, 0x01]);
    r.send(c, &[tagged]);
    assert_eq!(r.sent(b).len(), 1);
}
