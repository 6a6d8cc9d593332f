//! The whole burst pipeline: a switch configuration chosen by the first
//! bytes, then bursts of arbitrary frames, clock steps and
//! reconfigurations, every iteration checked against a model of where each
//! frame must go (see `rvswitch_fuzz::pipeline`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rvswitch_fuzz::pipeline::run(data));
