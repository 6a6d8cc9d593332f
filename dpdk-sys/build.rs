//! Generates the DPDK bindings with bindgen and compiles the C wrappers of
//! DPDK's static-inline functions (bindgen's `wrap_static_fns`).
//!
//! Flags come from `pkg-config libdpdk`. The generated C file and our own
//! helpers are compiled with the same include paths, `-include
//! rte_config.h` and `-march=corei7` (what Debian's pkg-config file gives),
//! so the wrappers see the same struct layouts as libdpdk itself.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn pkg_config(arg: &str) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args([arg, "libdpdk"])
        .output()
        .unwrap_or_else(|e| panic!("dpdk-sys: cannot run pkg-config: {e}"));
    if !out.status.success() {
        panic!(
            "dpdk-sys: `pkg-config {arg} libdpdk` failed (is libdpdk-dev installed?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let header = manifest.join("csrc/wrapper.h");
    let helpers = manifest.join("csrc/helpers.c");
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-changed={}", helpers.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    // Compiler flags shared by bindgen (clang) and cc.
    let cflags = pkg_config("--cflags");
    let mut cc_args: Vec<String> = Vec::new();
    let mut it = cflags.iter();
    while let Some(f) = it.next() {
        if f == "-include" {
            if let Some(h) = it.next() {
                cc_args.push("-include".into());
                cc_args.push(h.clone());
            }
        } else if f.starts_with("-I") || f.starts_with("-march=") || f.starts_with("-D") {
            cc_args.push(f.clone());
        }
    }
    if !cc_args.iter().any(|a| a == "rte_config.h") {
        cc_args.push("-include".into());
        cc_args.push("rte_config.h".into());
    }
    if !cc_args.iter().any(|a| a.starts_with("-march=")) {
        cc_args.push("-march=corei7".into());
    }
    // rte_thread_register() and a few vhost calls are still experimental in
    // 22.11; this makes their declarations visible without warnings.
    cc_args.push("-DALLOW_EXPERIMENTAL_API".into());

    // Link the DPDK libraries. PMDs (net_null, net_ring, mempool_ring, ...)
    // are plugins EAL loads by itself from Debian's plugin directory.
    for f in pkg_config("--libs") {
        if let Some(dir) = f.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = f.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={lib}");
        }
    }

    let static_fns = out.join("static_fns");
    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .clang_args(&cc_args)
        .allowlist_function("rte_.*|rvs_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*|VIRTIO_NET_F_.*|VIRTIO_F_.*|SOCKET_ID_ANY|LCORE_ID_ANY")
        // Packed protocol headers of rte_flow.h that do not compile as Rust
        // (packed type containing an aligned one; missing Debug).
        .opaque_type("rte_l2tpv2_.*")
        .opaque_type("rte_gtp_.*")
        .opaque_type("rte_flow_item_l2tpv2")
        .opaque_type("rte_flow_item_gtp_psc")
        .prepend_enum_name(false)
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .wrap_static_fns(true)
        .wrap_static_fns_path(&static_fns)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("dpdk-sys: bindgen failed");
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("dpdk-sys: cannot write bindings.rs");

    let mut build = cc::Build::new();
    build
        .file(static_fns.with_extension("c"))
        .file(&helpers)
        .include(manifest.join("csrc"))
        .opt_level(2)
        .warnings(false);
    for a in &cc_args {
        build.flag(a);
    }
    build.compile("rvs_dpdk_wrappers");
}
