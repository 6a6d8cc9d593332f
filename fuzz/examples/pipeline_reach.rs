//! Replay a `pipeline` corpus and print what it reached: how many frames
//! ended under each counter, how many went to the control thread, were
//! sent, and how many MAC entries were evicted. A counter at zero is a
//! path the fuzzer never took.
//!
//!     cargo +nightly run --release --example pipeline_reach -- corpus/pipeline seeds/pipeline

use datapath::counters::Counter;
use rvswitch_fuzz::pipeline::{run_reach, Reach};

fn main() {
    let mut reach = Reach::default();
    let mut inputs = 0;
    for dir in std::env::args().skip(1) {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
        for e in entries {
            let path = e.expect("directory entry").path();
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            run_reach(&data, &mut reach);
            inputs += 1;
        }
    }
    println!("inputs {inputs}, iterations {}", reach.iterations);
    println!(
        "control {}, sent {}, evicted {}",
        reach.control, reach.sent, reach.evicted
    );
    for c in Counter::ALL {
        println!("{:32} {}", c.name(), reach.counters[*c as usize]);
    }
}
