//! The LACP machine of a negotiated bond fed arbitrary frames, forgeries
//! and clock steps: bad PDUs are counted and change nothing (see
//! `rvswitch_fuzz::lacp`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rvswitch_fuzz::lacp::run(data));
