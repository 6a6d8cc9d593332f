//! `scripts/install-ovs-names.sh` and the names it installs: `ovs-vsctl`
//! and `ovs-appctl` as symlinks to vsctl, run against an in-process
//! daemon; the script never touches a file that is not its own symlink
//! and stays away when Open vSwitch's own binaries are installed.

mod common;

use std::path::{Path, PathBuf};

use common::daemon::{run_program, start_daemon};
use common::TempDir;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-ovs-names.sh")
}

fn vsctl_bin() -> &'static str {
    env!("CARGO_BIN_EXE_vsctl")
}

/// Run the install script with `args`: exit code, stdout, stderr.
fn install(args: &[&str]) -> (i32, String, String) {
    run_program(&script(), args, &[])
}

/// `--prefix`, `--vsctl` and an `--ovs-dirs` with no OVS in it.
fn args<'a>(prefix: &'a str, no_ovs: &'a str) -> Vec<String> {
    vec![
        format!("--prefix={prefix}"),
        format!("--vsctl={}", vsctl_bin()),
        format!("--ovs-dirs={no_ovs}"),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn installed_names_behave_like_ovs_tools() {
    let dir = TempDir::new("ovs-names");
    let prefix = dir.0.join("prefix");
    let no_ovs = dir.0.join("no-ovs");
    std::fs::create_dir_all(&no_ovs).unwrap();
    let a = args(prefix.to_str().unwrap(), no_ovs.to_str().unwrap());
    let bin = prefix.join("bin");

    // --dry-run says what it would do and does nothing.
    let mut dry = strs(&a);
    dry.push("--dry-run");
    let (code, out, err) = install(&dry);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(
        out.contains(&format!(
            "would run: ln -s {} {}",
            vsctl_bin(),
            bin.join("ovs-vsctl").display()
        )),
        "{out}"
    );
    assert!(!prefix.exists());

    let (code, out, err) = install(&strs(&a));
    assert_eq!(code, 0, "{out}{err}");
    for name in ["ovs-vsctl", "ovs-appctl"] {
        assert_eq!(
            std::fs::read_link(bin.join(name)).unwrap(),
            Path::new(vsctl_bin())
        );
    }
    // Again: nothing to do, still fine.
    let (code, out, _) = install(&strs(&a));
    assert_eq!(code, 0);
    assert!(out.contains("already"), "{out}");

    let ovs_vsctl = bin.join("ovs-vsctl");
    let ovs_appctl = bin.join("ovs-appctl");
    let sock = start_daemon(&dir.0);
    let s = format!("--socket={}", sock.display());
    let sp = sock.to_str().unwrap();

    // ovs-vsctl: vsctl with OVS's error prefix.
    assert_eq!(
        run_program(&ovs_vsctl, &[&s, "add-br", "br0"], &[]),
        (0, String::new(), String::new())
    );
    assert_eq!(
        run_program(&ovs_vsctl, &[&s, "del-br", "nosuch"], &[]),
        (
            1,
            String::new(),
            "ovs-vsctl: no bridge named nosuch\n".to_string()
        )
    );
    assert_eq!(
        run_program(&ovs_vsctl, &["--no", "list-br"], &[]),
        (
            1,
            String::new(),
            "ovs-vsctl: option '--no' is ambiguous; possibilities: '--no-syslog' '--no-wait' '--no-leader-only' '--no-shuffle-remotes' '--no-headings'\n"
                .to_string()
        )
    );
    let (code, _, err) = run_program(Path::new(vsctl_bin()), &["--no", "list-br"], &[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("vsctl: option '--no' is ambiguous"),
        "{err}"
    );
    // Abbreviations reach the daemon; --socket does not.
    assert_eq!(
        run_program(
            &ovs_vsctl,
            &[
                "--sock",
                sp,
                "--no-heading",
                "-f",
                "table",
                "--col=name",
                "list",
                "bridge"
            ],
            &[]
        ),
        (0, "br0\n".to_string(), String::new())
    );
    let (code, out, _) = run_program(&ovs_vsctl, &["--version"], &[]);
    assert_eq!(code, 0);
    assert!(out.starts_with("ovs-vsctl (rvswitch) "), "{out}");

    // ovs-appctl: one runtime command, exactly as vsctl runs it.
    assert_eq!(
        run_program(
            &ovs_vsctl,
            &[&s, "add-bond", "br0", "bond0", "e0", "e1"],
            &[]
        )
        .0,
        0
    );
    let via_vsctl = run_program(Path::new(vsctl_bin()), &[&s, "bond/show", "bond0"], &[]);
    assert_eq!(
        via_vsctl,
        (0, "---- bond0 ----\n".to_string(), String::new())
    );
    assert_eq!(
        run_program(&ovs_appctl, &["-t", sp, "bond/show", "bond0"], &[]),
        via_vsctl
    );
    assert_eq!(
        run_program(
            &ovs_appctl,
            &[&format!("--target={sp}"), "--timeout=5", "bond/show"],
            &[]
        ),
        (0, "---- * ----\n".to_string(), String::new())
    );
    // The default target is vswitchd's control socket.
    assert_eq!(
        run_program(
            &ovs_appctl,
            &["-t", "ovs-vswitchd", "bond/show", "bond0"],
            &[(ctl::proto::SOCKET_ENV, sp)]
        ),
        via_vsctl
    );
    assert_eq!(
        run_program(
            &ovs_appctl,
            &["bond/show", "bond0"],
            &[(ctl::proto::SOCKET_ENV, sp)]
        ),
        via_vsctl
    );
    assert_eq!(
        run_program(
            &ovs_appctl,
            &["-t", sp, "-f", "json", "bond/show", "bond0"],
            &[]
        ),
        (0, "{\"bonds\":[\"bond0\"]}\n".to_string(), String::new())
    );

    // Errors about the command: the reason, then ovs-appctl's line, exit 2.
    let refused = |reason: &str| format!("{reason}\novs-appctl: {sp}: server returned an error\n");
    assert_eq!(
        run_program(&ovs_appctl, &["-t", sp, "fdb/flush"], &[]),
        (2, String::new(), refused("not implemented in this test"))
    );
    assert_eq!(
        run_program(&ovs_appctl, &["-t", sp, "bond/show", "nosuch"], &[]),
        (2, String::new(), refused("no bond named nosuch"))
    );
    let (code, out, err) = run_program(&ovs_appctl, &["-t", sp, "add-br", "br9"], &[]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with(
            "\"add-br\" is not a valid command (rvswitch's ovs-appctl runs bond/show, "
        ),
        "{err}"
    );
    assert!(
        err.ends_with(&format!("ovs-appctl: {sp}: server returned an error\n")),
        "{err}"
    );
    let (code, _, err) = run_program(
        &ovs_appctl,
        &["-t", sp, "bond/show", "--", "add-br", "br9"],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        run_program(&ovs_vsctl, &[&s, "list-br"], &[]).1,
        "br0\n",
        "ovs-appctl changed the configuration"
    );

    // Errors about the command line or the target: exit 1.
    let fails = |args: &[&str], msg: &str| {
        assert_eq!(
            run_program(&ovs_appctl, args, &[]),
            (1, String::new(), format!("ovs-appctl: {msg}\n"))
        );
    };
    fails(
        &["--t=x", "bond/show"],
        "option '--t=x' is ambiguous; possibilities: '--target' '--timeout'",
    );
    fails(
        &["--timeout=0", "bond/show"],
        "value 0 on -T or --timeout is invalid",
    );
    fails(
        &["-t", sp],
        "at least one non-option argument is required (use --help for help)",
    );
    fails(
        &["-t", "a", "-t", "b", "bond/show"],
        "-t or --target may be specified only once",
    );
    let (code, _, err) = run_program(&ovs_appctl, &["-t", "ovsdb-server", "bond/show"], &[]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("ovs-appctl: cannot talk to \"ovsdb-server\""),
        "{err}"
    );

    // --uninstall removes our links only.
    let (code, out, _) = install(&[&format!("--prefix={}", prefix.display()), "--uninstall"]);
    assert_eq!(code, 0, "{out}");
    assert!(!ovs_vsctl.exists() && std::fs::symlink_metadata(&ovs_appctl).is_err());
}

#[test]
fn install_never_overwrites_and_stays_away_from_ovs() {
    let dir = TempDir::new("ovs-names-refuse");
    let prefix = dir.0.join("prefix");
    let bin = prefix.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let no_ovs = dir.0.join("no-ovs");
    std::fs::create_dir_all(&no_ovs).unwrap();
    let a = args(prefix.to_str().unwrap(), no_ovs.to_str().unwrap());

    // A foreign file where a link would go: refused, untouched, and the
    // other name is not installed either.
    let foreign = bin.join("ovs-vsctl");
    std::fs::write(&foreign, b"#!/bin/sh\necho precious\n").unwrap();
    let (code, out, err) = install(&strs(&a));
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        err,
        format!(
            "install-ovs-names.sh: {} exists and is not a symlink to vsctl; not overwriting it\n",
            foreign.display()
        )
    );
    assert_eq!(
        std::fs::read(&foreign).unwrap(),
        b"#!/bin/sh\necho precious\n"
    );
    assert!(std::fs::symlink_metadata(bin.join("ovs-appctl")).is_err());
    // --uninstall leaves it alone too.
    let (code, _, err) = install(&[&format!("--prefix={}", prefix.display()), "--uninstall"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("is not a symlink to vsctl; left alone"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&foreign).unwrap(),
        b"#!/bin/sh\necho precious\n"
    );
    std::fs::remove_file(&foreign).unwrap();

    // A symlink to something that is not vsctl is not ours either.
    std::os::unix::fs::symlink("/bin/true", bin.join("ovs-appctl")).unwrap();
    let (code, _, err) = install(&strs(&a));
    assert_eq!(code, 1);
    assert!(
        err.contains("ovs-appctl exists and is not a symlink to vsctl"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_link(bin.join("ovs-appctl")).unwrap(),
        Path::new("/bin/true")
    );
    assert!(std::fs::symlink_metadata(bin.join("ovs-vsctl")).is_err());
    std::fs::remove_file(bin.join("ovs-appctl")).unwrap();

    // Open vSwitch's own binaries installed: nothing is added.
    let ovs = dir.0.join("ovs-bin");
    std::fs::create_dir_all(&ovs).unwrap();
    std::fs::write(ovs.join("ovs-appctl"), b"").unwrap();
    let with_ovs = format!("--ovs-dirs={}:{}", no_ovs.display(), ovs.display());
    let (code, _, err) = install(&[&a[0], &a[1], &with_ovs]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "install-ovs-names.sh: Open vSwitch's own ovs-appctl is installed ({}); not adding rvswitch's (use vsctl, or remove Open vSwitch first)\n",
            ovs.join("ovs-appctl").display()
        )
    );
    assert_eq!(std::fs::read_dir(&bin).unwrap().count(), 0);

    // With the default places to look: this machine's own OVS (if any) is seen.
    if Path::new("/usr/bin/ovs-vsctl").exists() && std::fs::read_link("/usr/bin/ovs-vsctl").is_err()
    {
        let (code, _, err) = install(&[&a[0], &a[1]]);
        assert_eq!(code, 1);
        assert!(
            err.contains("Open vSwitch's own ovs-vsctl is installed (/usr/bin/ovs-vsctl)"),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(&bin).unwrap().count(), 0);
    }

    // No vsctl to point to.
    let (code, _, err) = install(&[&a[0], "--vsctl=/nonexistent/vsctl", &a[2]]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no executable vsctl at /nonexistent/vsctl"),
        "{err}"
    );
}
