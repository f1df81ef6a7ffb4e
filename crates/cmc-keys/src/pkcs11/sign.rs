//! Signing on the token: the digest is computed on the host; `CKM_ECDSA`
//! over it (the raw `r‖s` becomes a DER `ECDSA-Sig-Value`), `CKM_RSA_PKCS`
//! over a DER `DigestInfo`, or `CKM_RSA_PKCS_PSS` with MGF1 of the same hash
//! and a salt as long as the hash.

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::types::Ulong;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::key::Pkcs11Key;
use crate::{Error, HashAlg, KeySpec, SignatureScheme, SigningKey};

impl Pkcs11Key {
    fn sign_raw(&self, mechanism: &Mechanism<'_>, data: &[u8]) -> Result<Vec<u8>, Error> {
        self.with_session("C_Sign", |session, key| session.sign(mechanism, key, data))
    }
}

impl SigningKey for Pkcs11Key {
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.shared.spki
    }

    fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.sig_alg
    }

    fn hash(&self) -> HashAlg {
        self.scheme.hash()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let digest = self.scheme.hash().digest(message);
        match self.scheme {
            SignatureScheme::Ecdsa(_) => {
                let raw = self.sign_raw(&Mechanism::Ecdsa, &digest)?;
                ecdsa_raw_to_der(self.shared.spec, &raw)
            }
            SignatureScheme::RsaPkcs1v15(h) => {
                let mut info = digest_info_prefix(h).to_vec();
                info.extend_from_slice(&digest);
                self.sign_raw(&Mechanism::RsaPkcs, &info)
            }
            SignatureScheme::RsaPss(h) => {
                let (hash_alg, mgf) = match h {
                    HashAlg::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
                    HashAlg::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
                    HashAlg::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
                };
                let s_len = Ulong::try_from(h.output_len())
                    .map_err(|e| Error::Sign(format!("PSS salt length: {e}")))?;
                let params = PkcsPssParams {
                    hash_alg,
                    mgf,
                    s_len,
                };
                self.sign_raw(&Mechanism::RsaPkcsPss(params), &digest)
            }
        }
    }
}

/// The DER `DigestInfo` prefix for each hash (RFC 8017 §9.2, note 1); the
/// digest follows it.
const fn digest_info_prefix(h: HashAlg) -> &'static [u8] {
    match h {
        HashAlg::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        HashAlg::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        HashAlg::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// Convert the token's `r‖s` (each as long as the curve's field) to a DER
/// `ECDSA-Sig-Value`, checking that both are in range.
fn ecdsa_raw_to_der(spec: KeySpec, raw: &[u8]) -> Result<Vec<u8>, Error> {
    let bad = |e: signature::Error| {
        Error::Sign(format!(
            "the token returned a malformed {spec} ECDSA signature ({} octets): {e}",
            raw.len()
        ))
    };
    match spec {
        KeySpec::P256 => Ok(p256::ecdsa::Signature::from_slice(raw)
            .map_err(bad)?
            .to_der()
            .as_bytes()
            .to_vec()),
        KeySpec::P384 => Ok(p384::ecdsa::Signature::from_slice(raw)
            .map_err(bad)?
            .to_der()
            .as_bytes()
            .to_vec()),
        KeySpec::P521 => Ok(p521::ecdsa::Signature::from_slice(raw)
            .map_err(bad)?
            .to_der()
            .as_bytes()
            .to_vec()),
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            Err(Error::Sign(format!("{spec} is not an EC key")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;

    #[test]
    fn digest_info_prefixes_are_der() {
        for h in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512] {
            let mut info = digest_info_prefix(h).to_vec();
            info.extend(h.digest(b"x"));
            // SEQUENCE { AlgorithmIdentifier { oid, NULL }, OCTET STRING digest }
            #[derive(der::Sequence)]
            struct DigestInfo {
                alg: AlgorithmIdentifierOwned,
                digest: der::asn1::OctetString,
            }
            let parsed = DigestInfo::from_der(&info).unwrap();
            assert_eq!(parsed.alg.oid, h.oid());
            assert_eq!(parsed.alg.parameters, Some(der::Any::null()));
            assert_eq!(parsed.digest.as_bytes(), h.digest(b"x"));
        }
    }

    #[test]
    fn raw_ecdsa_to_der() {
        let mut raw = vec![0u8; 132];
        raw[65] = 1;
        raw[131] = 2;
        let der = ecdsa_raw_to_der(KeySpec::P521, &raw).unwrap();
        assert_eq!(der, vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]);
        assert!(ecdsa_raw_to_der(KeySpec::P256, &raw).is_err());
        assert!(ecdsa_raw_to_der(KeySpec::P256, &[0u8; 64]).is_err());
    }
}
