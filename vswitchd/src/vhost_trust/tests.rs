//! Unit tests of the vhost-user peer rules.
use super::*;

const A: u32 = 64101;
const B: u32 = 64102;

fn dir(path: &str, uid: u32, mode: u32) -> Entry {
    Entry {
        path: path.into(),
        kind: Kind::Directory,
        uid,
        mode,
    }
}

fn sock(path: &str, uid: u32) -> Entry {
    Entry {
        path: path.into(),
        kind: Kind::Socket,
        uid,
        mode: 0o755,
    }
}

const P: &str = "/run/vhost/vm1/sock";

/// The libvirt layout: root-owned parents, a 0700 directory of the VM's
/// QEMU user A, the socket A created.
fn good() -> Vec<Entry> {
    vec![
        dir("/", 0, 0o755),
        dir("/run", 0, 0o755),
        dir("/run/vhost", 0, 0o755),
        dir("/run/vhost/vm1", A, 0o700),
        sock(P, A),
    ]
}

fn listener(uid: u32) -> Vec<Listener> {
    vec![Listener { pid: 42, uid }]
}

#[test]
fn the_owner_of_the_directory_and_socket_may_listen_and_so_may_root() {
    assert_eq!(judge(P, &good(), &listener(A)), Ok(()));
    assert_eq!(judge(P, &good(), &listener(0)), Ok(()));
    // 0750 is fine too (group may read, not write).
    let mut e = good();
    e[3].mode = 0o750;
    assert_eq!(judge(P, &e, &listener(A)), Ok(()));
    // Root's own layout (the tests and scripts): all root, 0755.
    let mut e = good();
    e[3] = dir("/run/vhost/vm1", 0, 0o755);
    e[4] = sock(P, 0);
    assert_eq!(judge(P, &e, &listener(0)), Ok(()));
    // A socket root created in A's directory.
    let mut e = good();
    e[4].uid = 0;
    assert_eq!(judge(P, &e, &listener(0)), Ok(()));
}

#[test]
fn a_listener_of_another_uid_is_refused() {
    assert_eq!(
        judge(P, &good(), &listener(B)),
        Err(Refusal::ListenerUid {
            path: P.into(),
            pid: 42,
            uid: B,
            owner: A
        })
    );
    // Every connection found must pass.
    let both = vec![Listener { pid: 1, uid: A }, Listener { pid: 2, uid: B }];
    assert!(matches!(
        judge(P, &good(), &both),
        Err(Refusal::ListenerUid { uid: B, pid: 2, .. })
    ));
    // A socket owned by root in A's directory: only root may listen.
    let mut e = good();
    e[4].uid = 0;
    assert!(matches!(
        judge(P, &e, &listener(A)),
        Err(Refusal::ListenerUid {
            uid: A,
            owner: 0,
            ..
        })
    ));
    // Nothing found: refused, never assumed.
    assert_eq!(
        judge(P, &good(), &[]),
        Err(Refusal::NoListener {
            path: P.into(),
            err: None
        })
    );
}

#[test]
fn a_socket_of_another_uid_in_the_directory_is_refused() {
    let mut e = good();
    e[4].uid = B;
    assert!(matches!(
        judge(P, &e, &listener(B)),
        Err(Refusal::SocketOwner {
            uid: B,
            dir_uid: A,
            ..
        })
    ));
}

#[test]
fn symlinks_anywhere_are_refused() {
    for i in 1..5 {
        let mut e = good();
        e[i].kind = Kind::Symlink;
        assert_eq!(
            judge(P, &e, &listener(A)),
            Err(Refusal::Symlink {
                path: e[i].path.clone()
            }),
            "component {i}"
        );
    }
}

#[test]
fn a_directory_writable_by_group_or_others_is_refused_even_if_sticky() {
    for mode in [0o770, 0o702, 0o777, 0o1777, 0o720] {
        let mut e = good();
        e[3].mode = mode;
        assert_eq!(
            judge(P, &e, &listener(A)),
            Err(Refusal::DirectoryWritable {
                dir: "/run/vhost/vm1".into(),
                mode
            }),
            "mode {mode:o}"
        );
    }
}

#[test]
fn ancestors_belong_to_root_or_the_owner_and_are_sticky_when_shared() {
    // Owned by A (A's home above A's directory): fine.
    let mut e = good();
    e[2].uid = A;
    assert_eq!(judge(P, &e, &listener(A)), Ok(()));
    // Owned by B: B could swap A's directory.
    let mut e = good();
    e[2].uid = B;
    assert!(matches!(
        judge(P, &e, &listener(A)),
        Err(Refusal::AncestorOwner {
            uid: B,
            dir_uid: A,
            ..
        })
    ));
    // World-writable and sticky, as /tmp: fine.
    let mut e = good();
    e[2].mode = 0o1777;
    assert_eq!(judge(P, &e, &listener(A)), Ok(()));
    // World- or group-writable without the sticky bit: refused.
    for mode in [0o777, 0o775] {
        let mut e = good();
        e[1].mode = mode;
        assert_eq!(
            judge(P, &e, &listener(A)),
            Err(Refusal::AncestorWritable {
                path: "/run".into(),
                mode
            })
        );
    }
}

#[test]
fn the_path_must_end_in_a_socket_below_directories() {
    let mut e = good();
    e[4].kind = Kind::Other;
    assert!(matches!(
        judge(P, &e, &listener(A)),
        Err(Refusal::NotASocket {
            kind: Kind::Other,
            ..
        })
    ));
    let mut e = good();
    e[2].kind = Kind::Other;
    assert!(matches!(
        judge(P, &e, &listener(A)),
        Err(Refusal::NotADirectory { .. })
    ));
    // Entries that do not describe the path are never trusted.
    let mut e = good();
    e.pop();
    assert!(matches!(
        judge(P, &e, &listener(A)),
        Err(Refusal::Unreadable { .. })
    ));
}

#[test]
fn paths_are_absolute_and_normal() {
    assert_eq!(
        components("/a//b/c").unwrap(),
        vec!["/", "/a", "/a/b", "/a/b/c"]
    );
    for bad in ["a/b", "/a/../b", "/a/./b", "/", "", "/a/b/.."] {
        assert_eq!(
            components(bad),
            Err(Refusal::NotNormal { path: bad.into() }),
            "{bad:?}"
        );
    }
    // A socket directly in / is allowed (its directory is /).
    let e = vec![dir("/", 0, 0o755), sock("/s", 0)];
    assert_eq!(judge("/s", &e, &listener(0)), Ok(()));
}

#[test]
fn refusals_read_as_sentences() {
    let r = judge(P, &good(), &listener(B)).unwrap_err();
    assert_eq!(
        r.to_string(),
        format!("the process listening on /run/vhost/vm1/sock (pid 42) runs as uid 64102, but the socket belongs to uid 64101{OWNER_HINT}")
    );
    let mut e = good();
    e[3].mode = 0o777;
    assert_eq!(
        judge(P, &e, &listener(A)).unwrap_err().to_string(),
        "the socket's directory /run/vhost/vm1 is writable by group or others (mode 0777); only its owner may write it; QEMU creates the socket, so its directory must belong to the user QEMU runs as (libvirt: libvirt-qemu), be writable by that user only, and hold one VM's sockets (see packaging/libvirt-vhostuser.xml)"
    );
}

#[test]
fn examine_reports_the_real_tree_without_following_links() {
    use std::os::unix::fs::PermissionsExt;
    let base = std::env::temp_dir().join(format!("rvs-trust-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(base.join("real")).unwrap();
    std::fs::set_permissions(base.join("real"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let sock_path = base.join("real/s");
    let _l = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
    std::os::unix::fs::symlink(base.join("real"), base.join("link")).unwrap();
    let p = sock_path.to_str().unwrap();
    let e = examine(p).unwrap();
    let last = e.last().unwrap();
    assert_eq!((last.kind, last.path.as_str()), (Kind::Socket, p));
    assert_eq!(e[e.len() - 2].mode, 0o700);
    let via_link = format!("{}/link/s", base.display());
    assert_eq!(
        examine(&via_link),
        Err(Refusal::Symlink {
            path: format!("{}/link", base.display())
        })
    );
    assert!(matches!(
        examine(&format!("{}/real/missing", base.display())),
        Err(Refusal::Unreadable { .. })
    ));
    let _ = std::fs::remove_dir_all(&base);
}
