//! OCSP request decoding, as a responder meets it: whatever decodes as an
//! OCSPRequest must re-encode to bytes that decode to the same value; the
//! nonce accessor must not panic. The same for OCSPResponse, as a client
//! meets it, including the basic response inside.
#![no_main]

use cmc_asn1::ocsp::{OcspNonce, OcspRequest, OcspResponse};
use const_oid::AssociatedOid;
use der::{Decode, Encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = OcspRequest::from_der(data) {
        let encoded = req.to_der().expect("a decoded OCSPRequest encodes");
        assert_eq!(OcspRequest::from_der(&encoded).expect("decodes"), req);
        if let Some(ext) = req.tbs_request.extension(&OcspNonce::OID) {
            let _ = OcspNonce::from_der(ext.extn_value.as_bytes());
        }
    }
    if let Ok(resp) = OcspResponse::from_der(data) {
        let encoded = resp.to_der().expect("a decoded OCSPResponse encodes");
        assert_eq!(OcspResponse::from_der(&encoded).expect("decodes"), resp);
        if let Ok(Some(basic)) = resp.basic() {
            let again = basic.to_der().expect("a decoded basic response encodes");
            assert_eq!(
                cmc_asn1::ocsp::BasicOcspResponse::from_der(&again).expect("decodes"),
                basic
            );
        }
    }
});
