//! What an EST client controls before the engine is asked anything: the
//! path (`proto_est::route`), the Authorization header
//! (`basic_credentials`), and the bodies of simpleenroll and fullcmc
//! (`decode_csr`, `decode_fullcmc`) with any Content-Type. None may panic;
//! every refusal must map to a 4xx status (5xx is only for the CA's own
//! failures), and a CSR that decodes must re-encode to the DER it came
//! from.
#![no_main]

use der::Encode;
use libfuzzer_sys::fuzz_target;
use proto_est::{Limits, basic_credentials, decode_csr, decode_fullcmc, route};

/// Splits the input into a selector byte and the rest.
fn split(data: &[u8]) -> Option<(u8, &[u8])> {
    data.split_first().map(|(first, rest)| (*first, rest))
}

fn assert_client_error(status: u16) {
    assert!(
        (400..500).contains(&status),
        "bad input got status {status}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, rest)) = split(data) else {
        return;
    };
    let limits = Limits {
        max_body: 64 * 1024,
    };
    match selector % 4 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            for method in ["GET", "POST", "PUT"] {
                if let Err(e) = route(method, &text) {
                    assert_client_error(e.status());
                }
            }
        }
        1 => {
            let text = String::from_utf8_lossy(rest);
            if let Err(e) = basic_credentials(Some(&text)) {
                assert_client_error(e.status());
            }
        }
        2 => {
            for content_type in [Some("application/pkcs10"), None, Some("text/plain")] {
                match decode_csr(content_type, rest, &limits) {
                    Ok(csr) => {
                        let again = csr.cert_req.to_der().expect("a decoded CSR encodes");
                        assert_eq!(again, csr.der, "a CSR re-encodes to its own DER");
                    }
                    Err(e) => assert_client_error(e.status()),
                }
            }
        }
        _ => {
            if let Err(e) = decode_fullcmc(Some("application/pkcs7-mime"), rest, &limits) {
                assert_client_error(e.status());
            }
        }
    }
});
