//! `MarkerPdu::parse` on arbitrary bytes; whatever it accepts must re-encode
//! to a frame that parses to the same PDU, must be classified as a Marker by
//! the Slow Protocols dispatch, and a request's response must round-trip.
#![no_main]

use datapath::wire::marker::{MarkerKind, MarkerPdu};
use datapath::wire::slow::{classify, SlowKind};
use datapath::wire::MacAddr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(pdu) = MarkerPdu::parse(data) else {
        return;
    };
    assert_eq!(classify(data), Some(SlowKind::Marker));
    let src = MacAddr::from_slice(&data[6..]).expect("accepted frame has a source MAC");
    let frame = pdu.encode(src);
    let again = MarkerPdu::parse(&frame).expect("re-encoded Marker PDU must parse");
    assert_eq!(again, pdu);
    assert_eq!(again.encode(src), frame);
    match pdu.kind {
        MarkerKind::Request => {
            let resp = pdu.response().expect("a request has a response");
            let parsed = MarkerPdu::parse(&resp.encode(src)).expect("response must parse");
            assert_eq!(parsed.kind, MarkerKind::Response);
            assert_eq!(
                (parsed.port, parsed.system, parsed.transaction_id),
                (pdu.port, pdu.system, pdu.transaction_id)
            );
        }
        MarkerKind::Response => assert!(pdu.response().is_none()),
    }
});
