//! The whole server-side decode-and-verify path on arbitrary input: Full PKI Request
//! (BER normalisation, SignedData, every signer check, POP of every request), Simple PKI
//! Request, AuthenticatedData (parameters bounded before any derivation, then the MAC and
//! messageDigest checks), and client-side response verification. Nothing may panic; the BER
//! normaliser's output must be DER that it leaves unchanged.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use cmc_codec::ber::{self, Encoding};
use cmc_codec::{FullRequest, Limits, ResponseVerifyOptions, VerifyOptions};
use der::DecodePem;
use libfuzzer_sys::fuzz_target;
use x509_cert::Certificate;

/// The peer requests' signer, supplied as a caller certificate.
fn certs() -> &'static [Certificate] {
    static CERTS: OnceLock<Vec<Certificate>> = OnceLock::new();
    CERTS.get_or_init(|| {
        let pem = include_bytes!("../../testdata/peers/pkcs11_ca/config_CMC_REQUEST_CERTS_0.pem");
        vec![Certificate::from_pem(pem).expect("the peer certificate parses")]
    })
}

fuzz_target!(|data: &[u8]| {
    // 2023-02-01: inside the peer signer's validity, so the seeds verify all the way.
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_675_209_600);
    let opts = VerifyOptions::new(time).with_certificates(certs());
    match cmc_codec::decode_full_request(data, &opts) {
        Ok(FullRequest::Signed(req)) => {
            let _ = req.to_der();
            for (_, pop) in req.pops() {
                if let Err(e) = pop {
                    let _ = e.fail_info();
                }
            }
        }
        Ok(FullRequest::Unsigned(req)) => {
            let _ = req.pops();
        }
        Err(e) => {
            let _ = (e.fail_info(), e.is_not_cms(), e.to_string());
        }
    }
    match cmc_codec::authenticated::parse_authenticated(data, Limits::DEFAULT_MAX_INPUT) {
        Ok(msg) => {
            let _ = (msg.content_type(), msg.unverified_content().len());
            // The full derivation only for cheap parameters, to keep the fuzzer fast;
            // parse_authenticated has bounded them all already.
            if msg.params.iterations <= 2 * cmc_codec::authenticated::MIN_ITERATIONS {
                let password = cmc_codec::authenticated::password("fuzz", b"0123456789abcdef");
                if let Err(e) = msg.verify(&password) {
                    let _ = (e.fail_info(), e.to_string());
                }
            }
        }
        Err(e) => {
            let _ = (e.fail_info(), e.is_not_cms());
        }
    }
    let _ = cmc_codec::decode_simple_request(data, &Limits::default());
    if let Ok(resp) = cmc_codec::decode_response(data, &ResponseVerifyOptions::new(time, certs())) {
        let _ = resp.statuses();
    }
    let _ = cmc_codec::decode_certs_only(data, &Limits::default());

    if let Ok((der, _)) = ber::to_der(data) {
        let (again, encoding) = ber::to_der(&der).expect("normalised output parses");
        assert_eq!(encoding, Encoding::Der);
        assert_eq!(again, der);
    }
});
