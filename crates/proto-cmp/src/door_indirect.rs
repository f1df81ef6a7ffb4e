//! Indirect proof of possession (RFC 4210 §5.2.8.3, RFC 4211 §4.2 `encrCert`): for a key
//! that cannot sign, the certificate goes back encrypted to that key, and the requester
//! proves possession by confirming it (certConf with its hash), which only the holder of the
//! private key can compute. Until then the certificate waits in the engine's confirmation
//! records like any other, and is revoked if the confirmation does not come; implicit
//! confirmation is never granted to it.
//!
//! The encrypted form is CRMF's `EncryptedValue` (RFC 4211 §2.1, what OpenSSL 3.0's `openssl
//! cmp -popo 2` decrypts): the certificate's DER under AES-256-CBC with a fresh key and IV
//! (`symmAlg` aes256-CBC with the IV as parameter), the key under RSAES-PKCS1-v1_5 to the
//! requested key (`keyAlg` rsaEncryption). RSA keys only: an EC key cannot be a key
//! transport recipient, and the EnvelopedData form of RFC 9480 with key agreement is not
//! read by the clients we test against.

use cmc_asn1::{PopoPrivKey, ProofOfPossession, SubsequentMessage};
use der::asn1::{BitString, OctetString};
use der::{Any, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::cert_rep::{EncryptedKey, EncryptedValue};
use crate::door::Refusal;
use crate::{CertOrEncCert, CertifiedKeyPair, FailureBit};

/// `aes256-CBC` (NIST, RFC 3565).
const AES256_CBC: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");

/// What marks a held request's answer kind as encrypted in the transaction's note.
pub(crate) const ENCRYPTED_SUFFIX: &str = "enc";

/// The certificate for the response: in clear, or encrypted to its key when `encrypt`.
pub(crate) fn key_pair(cert: Certificate, encrypt: bool) -> Result<CertifiedKeyPair, Refusal> {
    if !encrypt {
        return Ok(CertifiedKeyPair::certificate(cert));
    }
    Ok(CertifiedKeyPair {
        cert_or_enc_cert: encrypt_certificate(&cert)?,
        private_key: None,
        publication_info: None,
    })
}

/// Whether `popo` asks for the indirect method: keyEncipherment with
/// `subsequentMessage encrCert`.
pub(crate) fn asks_for_encrypted_cert(popo: Option<&ProofOfPossession>) -> bool {
    matches!(
        popo,
        Some(ProofOfPossession::KeyEncipherment(
            PopoPrivKey::SubsequentMessage(SubsequentMessage::EncrCert)
        ))
    )
}

/// Whether `key` can receive an encrypted certificate (an RSA key).
pub(crate) fn can_receive(key: &SubjectPublicKeyInfoOwned) -> bool {
    key.algorithm.oid == const_oid::db::rfc5912::RSA_ENCRYPTION
}

/// `cert` encrypted to its own (RSA) public key, as `CertOrEncCert.encryptedCert`.
pub(crate) fn encrypt_certificate(cert: &Certificate) -> Result<CertOrEncCert, Refusal> {
    use aes::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
    use rsa::pkcs1::DecodeRsaPublicKey;

    let failed = |what: &str| Refusal::new(FailureBit::SystemFailure, what.to_owned());
    let spki = cert.tbs_certificate().subject_public_key_info();
    if !can_receive(spki) {
        return Err(Refusal::new(
            FailureBit::BadAlg,
            "an encrypted certificate goes to an RSA key only",
        ));
    }
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| Refusal::new(FailureBit::BadCertTemplate, "the key's BIT STRING"))?;
    let key = rsa::RsaPublicKey::from_pkcs1_der(bits)
        .map_err(|_| Refusal::new(FailureBit::BadCertTemplate, "not an RSA public key"))?;
    let mut cek = Zeroizing::new([0u8; 32]);
    let mut iv = [0u8; 16];
    getrandom::fill(cek.as_mut()).map_err(|_| failed("random"))?;
    getrandom::fill(&mut iv).map_err(|_| failed("random"))?;
    let der = cert.to_der().map_err(crate::Error::Encode)?;
    let ciphertext = cbc::Encryptor::<aes::Aes256>::new(&(*cek).into(), &iv.into())
        .encrypt_padded_vec::<Pkcs7>(&der);
    let enc_key = key
        .encrypt(
            &mut getrandom::rand_core::UnwrapErr(getrandom::SysRng),
            rsa::Pkcs1v15Encrypt,
            cek.as_ref(),
        )
        .map_err(|_| failed("RSA encryption of the content key"))?;
    let bit_string = |b: &[u8]| BitString::from_bytes(b).map_err(crate::Error::Encode);
    let iv_param = Any::encode_from(&OctetString::new(iv).map_err(crate::Error::Encode)?)
        .map_err(crate::Error::Encode)?;
    Ok(CertOrEncCert::EncryptedCert(EncryptedKey::EncryptedValue(
        EncryptedValue {
            intended_alg: None,
            symm_alg: Some(AlgorithmIdentifierOwned {
                oid: AES256_CBC,
                parameters: Some(iv_param),
            }),
            enc_symm_key: Some(bit_string(&enc_key)?),
            key_alg: Some(AlgorithmIdentifierOwned {
                oid: const_oid::db::rfc5912::RSA_ENCRYPTION,
                parameters: Some(Any::from(der::asn1::Null)),
            }),
            value_hint: None,
            enc_value: bit_string(&ciphertext)?,
        },
    )))
}
