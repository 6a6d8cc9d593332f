//! Harnesses shared by the fuzz targets in `fuzz_targets/`: the ones that
//! drive a whole machine (the burst pipeline, the LACP machine) from
//! fuzzer bytes and check invariants, kept here so that `cargo test` in
//! this directory runs them on fixed inputs too.

pub mod bytes;
pub mod lacp;
pub mod pipeline;
