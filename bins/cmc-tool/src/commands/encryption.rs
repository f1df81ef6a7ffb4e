//! Encrypted CMC on the client side (RFC 5272 §5): `--encrypt-to CERT`
//! wraps the signed request in an EnvelopedData (AES-256-CBC; RSAES-OAEP
//! SHA-256 for an RSA certificate, ECDH with aes256-wrap for P-256/P-384)
//! addressed to the CA's encryption certificate, and an answer that comes
//! back encrypted is opened with the signer key (the CA encrypts to the
//! signer certificate when its key can receive: RSA with keyEncipherment,
//! EC with keyAgreement).

use anyhow::{Context as _, Result, anyhow, bail};
use cmc_codec::decrypt;
use der::Encode;

use crate::commands::request::Built;

/// The largest encrypted answer opened (the same cap as a request).
const MAX_ANSWER: usize = cmc_codec::Limits::DEFAULT_MAX_INPUT;

impl Built {
    /// What goes on the wire: the signed request, encrypted to
    /// `encrypt_to` when there is one.
    pub(crate) fn wire(&self) -> Result<Vec<u8>> {
        let Some(to) = &self.encrypt_to else {
            return Ok(self.der.clone());
        };
        cmc_codec::encrypt::envelop_signed(&self.der, to)
            .context("--encrypt-to")?
            .to_der()
            .map_err(|e| anyhow!("encoding the EnvelopedData: {e}"))
    }
}

/// The signed answer inside `body` when the CA encrypted it (opened with
/// the signer key), else `body` as it is.
pub(crate) fn open_answer(body: Vec<u8>, built: &Built) -> Result<Vec<u8>> {
    if decrypt::envelope_kind(&body).is_none() {
        return Ok(body);
    }
    let Some(key) = &built.signer_key else {
        bail!("the answer is encrypted, and this request has no signer key to open it with");
    };
    let opened = match built.signer_chain.first() {
        Some(cert) => decrypt::open(&body, cert, &**key, MAX_ANSWER),
        None => decrypt::open_with_key(&body, &**key, MAX_ANSWER),
    }
    .map_err(|e| anyhow!("the encrypted answer does not open with the signer key: {e}"))?;
    opened
        .content_info_der()
        .map_err(|e| anyhow!("the encrypted answer: {e}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cmc_keys::{FileKey, KeySpec};

    use super::*;

    /// A self-signed certificate by `openssl req` with keyUsage
    /// digitalSignature and keyEncipherment (it signs and receives).
    fn cert(key: &FileKey) -> x509_cert::Certificate {
        use der::DecodePem;
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("k.pem");
        let cert_path = dir.path().join("c.pem");
        std::fs::write(&key_path, key.to_unencrypted_pem().unwrap().as_bytes()).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["req", "-new", "-x509", "-key"])
            .arg(&key_path)
            .args([
                "-subj",
                "/CN=client",
                "-addext",
                "keyUsage=digitalSignature,keyEncipherment",
                "-days",
                "1",
                "-out",
            ])
            .arg(&cert_path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        x509_cert::Certificate::from_pem(std::fs::read(&cert_path).unwrap()).unwrap()
    }

    #[test]
    fn an_encrypted_answer_opens_with_the_signer_key() {
        let key = FileKey::generate(KeySpec::Rsa2048).unwrap();
        let cert = cert(&key);
        let signer = cmc_codec::CmsSigner::new(&key, &cert, &[]).unwrap();
        let signed = cmc_codec::RequestBuilder::new()
            .sign(&signer, std::time::SystemTime::now())
            .unwrap();
        let mut built = Built {
            der: signed.clone(),
            nonce: [0; 16],
            signer_key: Some(Arc::new(key)),
            signer_chain: vec![cert.clone()],
            new_key: None,
            transaction_id: None,
            encrypt_to: Some(cert),
            password: None,
        };
        // What goes out is encrypted; it opens as the answer would.
        let wire = built.wire().unwrap();
        assert!(decrypt::envelope_kind(&wire).is_some());
        assert_eq!(open_answer(wire.clone(), &built).unwrap(), signed);
        // A plain answer passes as it is.
        assert_eq!(open_answer(signed.clone(), &built).unwrap(), signed);
        // Another key cannot open it.
        built.signer_key = Some(Arc::new(FileKey::generate(KeySpec::Rsa2048).unwrap()));
        assert!(open_answer(wire, &built).is_err());
    }
}
