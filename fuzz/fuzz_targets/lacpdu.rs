//! `Lacpdu::parse` on arbitrary bytes; whatever it accepts must re-encode
//! to a frame that parses to the same PDU (and encodes byte-identically),
//! and must be classified as LACP by the Slow Protocols dispatch.
#![no_main]

use datapath::wire::lacpdu::Lacpdu;
use datapath::wire::slow::{classify, SlowKind};
use datapath::wire::MacAddr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(pdu) = Lacpdu::parse(data) else {
        return;
    };
    assert_eq!(classify(data), Some(SlowKind::Lacp));
    let src = MacAddr::from_slice(&data[6..]).expect("accepted frame has a source MAC");
    let frame = pdu.encode(src);
    let again = Lacpdu::parse(&frame).expect("re-encoded LACPDU must parse");
    assert_eq!(again, pdu);
    assert_eq!(again.encode(src), frame);
    assert_eq!(classify(&frame), Some(SlowKind::Lacp));
});
