//! pyasn1-modules (rfc5652, rfc6402, rfc8018) decodes the AuthenticatedData
//! we produce: a Full PKI Request wrapped in it (RFC 5272 §3.2) and the
//! PublishTrustAnchors PKIData an authData control names (§6.15, §6.16).
//! `scripts/pyasn1_authdata_check.py` does the decoding; scripts/test.sh
//! installs pyasn1-modules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::SystemTime;

use cmc_asn1::{Identification, oid};
use cmc_codec::RequestBuilder;
use cmc_codec::authenticated::{authenticate, password};
use cmc_codec::trust_anchors::{auth_publish_content, publish_trust_anchors};
use der::Encode;

#[test]
fn pyasn1_decodes_our_authenticated_data() {
    let dir = tempfile::tempdir().unwrap();
    let pw = password("device-17", b"0123456789ABCDEFGHJK");

    let mut request = RequestBuilder::new();
    request
        .control(4, &Identification("device-17".into()))
        .unwrap();
    let der = authenticate(
        oid::ID_CCT_PKI_DATA,
        &request.pki_data().to_der().unwrap(),
        &pw,
        SystemTime::now(),
    )
    .unwrap();
    let request_path = dir.path().join("request.der");
    std::fs::write(&request_path, der).unwrap();

    let anchors = publish_trust_anchors(1_767_225_600, &[b"root one", b"root two"]).unwrap();
    let content = auth_publish_content(&anchors, &pw, SystemTime::now()).unwrap();
    let anchors_path = dir.path().join("anchors.der");
    std::fs::write(&anchors_path, content.to_der().unwrap()).unwrap();

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/pyasn1_authdata_check.py"
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(script)
        .arg(&request_path)
        .arg(&anchors_path)
        .output()
        .unwrap_or_else(|e| {
            panic!("{python}: {e} (scripts/test.sh installs python3 and pyasn1-modules)")
        });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}\n(pip install pyasn1-modules if it is missing)",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("2 passed, 0 failed"), "{text}");
    assert!(text.contains("anchors 2"), "{text}");
}
