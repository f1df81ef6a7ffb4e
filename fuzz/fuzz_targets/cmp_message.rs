//! What a CMP client controls: the bytes of a `PKIMessage` (proto-cmp). Decoding must not
//! panic; a message that decodes re-encodes to something that decodes to the same value;
//! its protection parameters are checked against (low) bounds and a MAC-protected message is
//! verified with the fixtures' secret (`s3cret`, crates/proto-cmp/testdata), so the
//! verification path runs on every seed; its general info is read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto_cmp::{Limits, MacLimits, Protection, decode_message};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_message_len: 64 * 1024,
        // Low bounds: the fuzzer explores the checks, not the cost of the derivation.
        mac: MacLimits {
            pbm_iterations: 1..=1_000,
            pbkdf2_iterations: 1..=1_000,
            ..MacLimits::default()
        },
    };
    let Ok(received) = decode_message(data, &limits) else {
        return;
    };
    let der = received
        .message
        .to_der_bytes()
        .expect("a decoded message re-encodes");
    let again = decode_message(&der, &limits).expect("a re-encoded message decodes");
    assert_eq!(again.message, received.message);
    assert_eq!(
        received.message.protected_part_der().expect("encodes"),
        again.protected_part()
    );
    let header = &received.message.header;
    let _ = header.implicit_confirm();
    let _ = header.confirm_wait_time();
    if let Ok(Protection::Mac(_)) = received.protection(&limits.mac) {
        let _ = received.verify_mac(b"s3cret", &limits.mac);
    }
});
