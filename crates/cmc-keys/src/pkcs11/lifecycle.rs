//! Creating and deleting key pairs on the token ([`Pkcs11Key::generate`],
//! [`Pkcs11Key::destroy`]), one object change at a time per process.

use std::sync::{Mutex, PoisonError};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::types::Ulong;
use der::Encode;

use super::config::Pkcs11Config;
use super::key::Pkcs11Key;
use super::lookup::{find_private_key, object_id};
use super::token::Token;
use crate::{Error, KeySpec};

/// Key generation and deletion change a token's set of objects. SoftHSM2's
/// file object store fails such changes now and then with
/// `CKR_GENERAL_ERROR` when two sessions of one process make them at once
/// (seen as a failed `C_GenerateKeyPair` in 1 of 4 runs of eight parallel
/// tests), so this process makes them one at a time. Signing does not take
/// this lock. Poisoning is harmless: the guarded data is `()`.
static OBJECT_CHANGES: Mutex<()> = Mutex::new(());

/// How often [`Pkcs11Key::generate`] tries `C_GenerateKeyPair` when the token
/// answers `CKR_GENERAL_ERROR` or `CKR_FUNCTION_FAILED` (another process, such
/// as `cmc-tool` beside a running server, may be changing the same token).
const GENERATE_ATTEMPTS: u64 = 3;

impl Pkcs11Key {
    /// Generate a signing key pair on the token and open it. The private
    /// key is created with `CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE` and
    /// `CKA_SIGN` true and `CKA_EXTRACTABLE`, `CKA_DECRYPT` and `CKA_DERIVE`
    /// false (a signing key does nothing else). Both halves get the
    /// locator's label and id; without an id, a random 16-byte `CKA_ID` is
    /// chosen (and becomes part of the returned key's locator).
    ///
    /// # Errors
    /// [`Error::KeyExists`] if a key with this label or id is already on the
    /// token, [`Error::Parse`] if the locator names neither, and the errors
    /// of [`Pkcs11Key::open`].
    pub fn generate(config: &Pkcs11Config, spec: KeySpec) -> Result<Self, Error> {
        Self::generate_with(config, spec, false)
    }

    /// Generate an encryption key pair on the token (for a CA's
    /// `[ca.NAME.encryption]`, see [`DecryptionKey`](crate::DecryptionKey))
    /// and open it: an RSA private key with `CKA_DECRYPT` true, a P-256 or
    /// P-384 one with `CKA_DERIVE` true, `CKA_SIGN` false either way;
    /// otherwise as [`Pkcs11Key::generate`].
    ///
    /// # Errors
    /// [`Error::UnsupportedKey`] for a P-521 key, and those of
    /// [`Pkcs11Key::generate`].
    pub fn generate_for_decryption(config: &Pkcs11Config, spec: KeySpec) -> Result<Self, Error> {
        if spec == KeySpec::P521 {
            return Err(Error::UnsupportedKey(format!(
                "{spec} keys do not do ECDH here (P-256 and P-384 do)"
            )));
        }
        Self::generate_with(config, spec, true)
    }

    fn generate_with(config: &Pkcs11Config, spec: KeySpec, decrypts: bool) -> Result<Self, Error> {
        if config.key.label.is_none() && config.key.id.is_none() {
            return Err(Error::Parse {
                what: "key locator",
                value: String::new(),
                expected: "a key label or id",
            });
        }
        let token = Token::open(config)?;
        let session = token.open_session(true)?;
        let find = |t: &[Attribute]| {
            session
                .find_objects(t)
                .map_err(|e| token.err("C_FindObjects", e))
        };
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let by_label = match &config.key.label {
                Some(l) => find(&[
                    Attribute::Class(class),
                    Attribute::Label(l.as_bytes().to_vec()),
                ])?,
                None => Vec::new(),
            };
            let by_id = match &config.key.id {
                Some(id) => find(&[Attribute::Class(class), Attribute::Id(id.clone())])?,
                None => Vec::new(),
            };
            if !by_label.is_empty() || !by_id.is_empty() {
                return Err(Error::KeyExists {
                    token: token.label.clone(),
                    key: config.key.to_string(),
                });
            }
        }
        let id = match &config.key.id {
            Some(id) => id.clone(),
            None => {
                let mut id = vec![0u8; 16];
                getrandom::fill(&mut id).map_err(|_| Error::Rng)?;
                id
            }
        };
        let rsa = spec.is_rsa();
        let mut public = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(!decrypts),
            Attribute::Id(id.clone()),
        ];
        if rsa {
            public.push(Attribute::Encrypt(decrypts));
        }
        let private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(!decrypts),
            Attribute::Decrypt(decrypts && rsa),
            Attribute::Derive(decrypts && !rsa),
            Attribute::Id(id.clone()),
        ];
        let mut private = private;
        if let Some(label) = &config.key.label {
            public.push(Attribute::Label(label.as_bytes().to_vec()));
            private.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        let mechanism = match (spec.curve_oid(), spec.rsa_bits()) {
            (Some(curve), _) => {
                let params = curve
                    .to_der()
                    .map_err(|e| Error::Encode(format!("EC parameters: {e}")))?;
                public.push(Attribute::EcParams(params));
                Mechanism::EccKeyPairGen
            }
            (None, Some(bits)) => {
                let bits = Ulong::try_from(bits).map_err(|e| Error::Encode(e.to_string()))?;
                public.push(Attribute::ModulusBits(bits));
                public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
                Mechanism::RsaPkcsKeyPairGen
            }
            (None, None) => return Err(Error::UnsupportedKey(spec.to_string())),
        };
        {
            let _changing = OBJECT_CHANGES
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut attempt: u64 = 1;
            loop {
                match session.generate_key_pair(&mechanism, &public, &private) {
                    Ok(_) => break,
                    Err(CkError::Pkcs11(RvError::GeneralError | RvError::FunctionFailed, _))
                        if attempt < GENERATE_ATTEMPTS =>
                    {
                        // A failed generation must leave nothing behind
                        // under our id before we try again.
                        let leftovers = session
                            .find_objects(&[Attribute::Id(id.clone())])
                            .map_err(|e| token.err("C_FindObjects", e))?;
                        for handle in leftovers {
                            session
                                .destroy_object(handle)
                                .map_err(|e| token.err("C_DestroyObject", e))?;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(50 * attempt));
                        attempt += 1;
                    }
                    Err(e) => return Err(token.err("C_GenerateKeyPair", e)),
                }
            }
        }
        drop(session);
        let mut config = config.clone();
        config.key.id = Some(id);
        if decrypts {
            Self::open_for_decryption(&config)
        } else {
            Self::open(&config)
        }
    }

    /// Delete the key pair (private and public objects) from the token.
    ///
    /// # Errors
    /// [`Error::Token`] if the token refuses.
    pub fn destroy(self) -> Result<(), Error> {
        let token = &self.shared.token;
        let session = token.open_session(true)?;
        let _changing = OBJECT_CHANGES
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let private = find_private_key(token, &session, &self.shared.locator)?;
        let id = object_id(token, &session, private)?;
        let publics = if id.is_empty() {
            Vec::new()
        } else {
            session
                .find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY), Attribute::Id(id)])
                .map_err(|e| token.err("C_FindObjects", e))?
        };
        for handle in std::iter::once(private).chain(publics) {
            session
                .destroy_object(handle)
                .map_err(|e| token.err("C_DestroyObject", e))?;
        }
        Ok(())
    }
}
