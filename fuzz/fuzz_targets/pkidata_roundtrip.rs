//! PKIData round trip: whatever decodes must re-encode to bytes that decode
//! to the same value, and encoding must be stable.
#![no_main]

use cmc_asn1::PkiData;
use der::{Decode, Encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(first) = PkiData::from_der(data) else {
        return;
    };
    let encoded = first.to_der().expect("a decoded PKIData encodes");
    let second = PkiData::from_der(&encoded).expect("our encoding decodes");
    assert_eq!(first, second, "decode(encode(x)) != x");
    assert_eq!(
        encoded,
        second.to_der().expect("encodes"),
        "encoding not stable"
    );
});
