//! PKIResponse decoding, directly and inside a CMS ContentInfo/SignedData as
//! a client receives it; a decoded response must round-trip.
#![no_main]

use cmc_asn1::PkiResponse;
use der::{Decode, Encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(resp) = PkiResponse::from_der(data) {
        let encoded = resp.to_der().expect("a decoded PKIResponse encodes");
        assert_eq!(PkiResponse::from_der(&encoded).expect("decodes"), resp);
        for attr in &resp.control_sequence {
            // Exercise the typed accessors on whatever arrived.
            let _ = attr.single_value::<cmc_asn1::CmcStatusInfoV2>();
        }
    }
});
