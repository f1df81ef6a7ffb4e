//! Decrypting and deriving on the token ([`DecryptionKey`] for
//! [`Pkcs11Key`]): RSA key transport with `CKM_RSA_PKCS_OAEP` (the hash and
//! MGF1 of the recipient info, an empty label) or `CKM_RSA_PKCS`, and ECDH
//! with `CKM_ECDH1_DERIVE` (`CKD_NULL`) into a session-only
//! `CKK_GENERIC_SECRET` whose value is read and which is then destroyed.
//!
//! PKCS #1 v1.5 on a token cannot use implicit rejection: the token answers
//! a bad padding with an error. Every such answer becomes `expected_len`
//! random octets, drawn before the token is called, so that the caller sees
//! what it sees for a wrong key; but the token's time to fail may still
//! differ from its time to succeed (a timing oracle this process cannot
//! hide). Senders should use RSAES-OAEP. A peer point is checked to be on
//! the key's curve here, before the token sees it.

use cryptoki::context::Function;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::Session;
use cryptoki::types::Ulong;
use p256::elliptic_curve::sec1::ToSec1Point;
use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use super::key::Pkcs11Key;
use crate::{DecryptionKey, Error, KeySpec, OaepHash, RsaKeyTransport};

/// What became of one token operation on attacker-chosen input.
enum Outcome {
    /// It worked.
    Done(Zeroizing<Vec<u8>>),
    /// The token found the input invalid (an answer that depends on it).
    Invalid,
    /// The token refused the key or the mechanism before it looked at the
    /// input (the `Init` call, or `C_DeriveKey` for a reason of the key).
    Refused(RvError),
}

/// Errors that say nothing about the input: the session, the login, the
/// device. They go to the pool's recovery (and, if they persist, to the
/// caller as token errors).
fn operational(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::UserNotLoggedIn
            | RvError::ObjectHandleInvalid
            | RvError::KeyHandleInvalid
            | RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::OperationActive
            | RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::DeviceRemoved
            | RvError::DeviceError
            | RvError::DeviceMemory
            | RvError::HostMemory
            | RvError::CryptokiNotInitialized
            | RvError::PinExpired
    )
}

/// Errors of the key or the mechanism, not of the input.
fn refusal(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::KeyFunctionNotPermitted
            | RvError::KeyTypeInconsistent
            | RvError::MechanismInvalid
            | RvError::MechanismParamInvalid
            | RvError::ArgumentsBad
            | RvError::TemplateInconsistent
            | RvError::TemplateIncomplete
            | RvError::AttributeValueInvalid
            | RvError::AttributeTypeInvalid
    )
}

/// Sorts a token answer to an operation on attacker-chosen input.
/// `at_init` tells the function that sets the operation up (whose errors
/// cannot depend on the input) from the rest.
fn classify(
    result: Result<Zeroizing<Vec<u8>>, CkError>,
    at_init: fn(Function) -> bool,
) -> Result<Outcome, CkError> {
    match result {
        Ok(v) => Ok(Outcome::Done(v)),
        Err(CkError::Pkcs11(rv, f)) if operational(rv) => Err(CkError::Pkcs11(rv, f)),
        Err(CkError::Pkcs11(rv, f)) if at_init(f) && refusal(rv) => Ok(Outcome::Refused(rv)),
        // Anything else may depend on the input: it did not decrypt.
        Err(_) => Ok(Outcome::Invalid),
    }
}

fn oaep_hash(h: OaepHash) -> (MechanismType, PkcsMgfType, &'static str) {
    match h {
        OaepHash::Sha1 => (MechanismType::SHA1, PkcsMgfType::MGF1_SHA1, "SHA-1"),
        OaepHash::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, "SHA-256"),
        OaepHash::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384, "SHA-384"),
        OaepHash::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512, "SHA-512"),
    }
}

impl Pkcs11Key {
    /// The error for a refusal of `purpose` with `mechanism`.
    fn refused(
        &self,
        rv: RvError,
        attribute: &'static str,
        purpose: &'static str,
        mechanism: String,
    ) -> Error {
        let token = self.shared.token.label.clone();
        if rv == RvError::KeyFunctionNotPermitted {
            Error::KeyUsage {
                token,
                key: self.shared.locator.to_string(),
                attribute,
                purpose,
            }
        } else {
            Error::MechanismUnsupported {
                token,
                mechanism,
                detail: format!("{rv:?}"),
            }
        }
    }

    fn rsa_on_token(
        &self,
        padding: RsaKeyTransport,
        ciphertext: &[u8],
        expected_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        if !self.shared.spec.is_rsa() {
            return Err(Error::UnsupportedKey(format!(
                "{} keys do not decrypt RSA key transport",
                self.shared.spec
            )));
        }
        let (mechanism, words) = match padding {
            RsaKeyTransport::Pkcs1v15 => (
                Mechanism::RsaPkcs,
                "RSAES-PKCS1-v1_5 (CKM_RSA_PKCS)".to_owned(),
            ),
            RsaKeyTransport::Oaep { hash, mgf1 } => {
                let (hash_alg, _, hash_name) = oaep_hash(hash);
                let (_, mgf, mgf_name) = oaep_hash(mgf1);
                (
                    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
                        hash_alg,
                        mgf,
                        PkcsOaepSource::empty(),
                    )),
                    format!(
                        "RSAES-OAEP with {hash_name} and MGF1 with {mgf_name} (CKM_RSA_PKCS_OAEP)"
                    ),
                )
            }
        };
        // Drawn before the token is asked, whatever it answers.
        let mut fallback = Zeroizing::new(vec![0u8; expected_len]);
        getrandom::fill(fallback.as_mut_slice()).map_err(|_| Error::Rng)?;
        let outcome = self.with_session("C_Decrypt", |session, key| {
            let plain = session
                .decrypt(&mechanism, key, ciphertext)
                .map(Zeroizing::new);
            classify(plain, |f| matches!(f, Function::DecryptInit))
        })?;
        match (outcome, padding) {
            (Outcome::Done(plain), _) => Ok(plain),
            (Outcome::Invalid, RsaKeyTransport::Pkcs1v15) => Ok(fallback),
            (Outcome::Invalid, _) => Err(Error::Decrypt),
            (Outcome::Refused(rv), _) => {
                Err(self.refused(rv, "CKA_DECRYPT", "RSA key transport", words))
            }
        }
    }

    fn ecdh_on_token(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let spec = self.shared.spec;
        // On the curve, or no agreement: a token that does not check would
        // multiply its key by a point of another group.
        let point = match spec {
            KeySpec::P256 => p256::PublicKey::from_sec1_bytes(peer)
                .map_err(|_| Error::Decrypt)?
                .to_sec1_point(false)
                .as_bytes()
                .to_vec(),
            KeySpec::P384 => p384::PublicKey::from_sec1_bytes(peer)
                .map_err(|_| Error::Decrypt)?
                .to_sec1_point(false)
                .as_bytes()
                .to_vec(),
            _ => {
                return Err(Error::UnsupportedKey(format!(
                    "{spec} keys do not do ECDH here (P-256 and P-384 do)"
                )));
            }
        };
        let field = spec.ec_field_len().unwrap_or(0);
        let len = Ulong::try_from(field).map_err(|e| Error::Encode(e.to_string()))?;
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
            Attribute::ValueLen(len),
        ];
        let mechanism = Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(EcKdf::null(), &point));
        let outcome = self.with_session("C_DeriveKey", |session, key| {
            let derived = match session.derive_key(&mechanism, key, &template) {
                Ok(handle) => handle,
                // C_DeriveKey checks the key and the template before the
                // point; the point was checked here already.
                Err(e) => return classify(Err(e), |f| matches!(f, Function::DeriveKey)),
            };
            // Reading the value does not depend on the input: a token that
            // will not give it refuses.
            match read_and_destroy(session, derived) {
                Ok(z) => Ok(Outcome::Done(z)),
                Err(CkError::Pkcs11(rv, f)) if operational(rv) => Err(CkError::Pkcs11(rv, f)),
                Err(CkError::Pkcs11(rv, _)) => Ok(Outcome::Refused(rv)),
                Err(e) => Err(e),
            }
        })?;
        match outcome {
            Outcome::Done(z) if z.len() == field => Ok(z),
            Outcome::Done(z) => Err(Error::Token {
                token: self.shared.token.label.clone(),
                op: "C_DeriveKey",
                detail: format!(
                    "the token gave a shared secret of {} octets, not {field}",
                    z.len()
                ),
            }),
            Outcome::Invalid => Err(Error::Decrypt),
            Outcome::Refused(rv) => Err(self.refused(
                rv,
                "CKA_DERIVE",
                "ECDH key agreement",
                "ECDH (CKM_ECDH1_DERIVE, CKD_NULL) into a CKK_GENERIC_SECRET session object"
                    .to_owned(),
            )),
        }
    }
}

/// The derived secret's `CKA_VALUE`; the object is destroyed whatever
/// happens (a session object would otherwise live as long as the session).
fn read_and_destroy(
    session: &Session,
    derived: cryptoki::object::ObjectHandle,
) -> Result<Zeroizing<Vec<u8>>, CkError> {
    let read = session.get_attributes(derived, &[AttributeType::Value]);
    let destroyed = session.destroy_object(derived);
    let mut value = None;
    for a in read? {
        if let Attribute::Value(v) = a {
            value = Some(Zeroizing::new(v));
        }
    }
    destroyed?;
    value.ok_or(CkError::Pkcs11(
        RvError::AttributeTypeInvalid,
        Function::GetAttributeValue,
    ))
}

impl DecryptionKey for Pkcs11Key {
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.shared.spki
    }

    fn rsa_decrypt(
        &self,
        padding: RsaKeyTransport,
        ciphertext: &[u8],
        expected_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.rsa_on_token(padding, ciphertext, expected_len)
    }

    fn ecdh(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.ecdh_on_token(peer)
    }
}
