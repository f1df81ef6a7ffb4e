//! [`Pkcs11Key`]: opening a key pair that is on the token, its accessors,
//! running a token call on a pooled session with recovery, and the private
//! key's protection attributes.

use std::fmt;
use std::sync::{Arc, Mutex};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::config::{KeyLocator, Pkcs11Config};
use super::errors::{Recovery, recovery};
use super::lock;
use super::lookup::{find_private_key, read_public_key};
use super::pool::Pool;
use super::token::Token;
use crate::{Error, KeySpec, SignatureScheme};

/// Attributes of a private key object, as the token reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct PrivateKeyAttributes {
    /// `CKA_TOKEN`: stored on the token (not a session object).
    pub token: bool,
    /// `CKA_PRIVATE`: only visible after login.
    pub private: bool,
    /// `CKA_SENSITIVE`: the key value cannot be read in plaintext.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`: the key can be wrapped out of the token.
    pub extractable: bool,
    /// `CKA_ALWAYS_SENSITIVE`: has been sensitive since it was created.
    pub always_sensitive: bool,
    /// `CKA_NEVER_EXTRACTABLE`: has never been extractable.
    pub never_extractable: bool,
    /// `CKA_SIGN`: may sign.
    pub sign: bool,
    /// `CKA_DECRYPT`: may decrypt (RSA key transport).
    pub decrypt: bool,
    /// `CKA_DERIVE`: may derive (ECDH).
    pub derive: bool,
}

pub(super) struct Shared {
    pub(super) token: Token,
    pool: Pool,
    pub(super) locator: KeyLocator,
    pub(super) spec: KeySpec,
    pub(super) spki: SubjectPublicKeyInfoOwned,
    /// The private key's handle; looked up again when it becomes invalid.
    handle: Mutex<ObjectHandle>,
}

/// A signing key on a PKCS#11 token. Cheap to clone (clones share the
/// session pool); `Send + Sync`.
#[derive(Clone)]
pub struct Pkcs11Key {
    pub(super) shared: Arc<Shared>,
    pub(super) scheme: SignatureScheme,
    pub(super) sig_alg: AlgorithmIdentifierOwned,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.shared.token.label)
            .field("key", &self.shared.locator)
            .field("spec", &self.shared.spec)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    /// Use an existing key pair on the token. The key signs with its type's
    /// default scheme; change it with [`Pkcs11Key::with_scheme`].
    ///
    /// # Errors
    /// [`Error::Pkcs11Module`], [`Error::TokenNotFound`],
    /// [`Error::AmbiguousToken`], [`Error::WrongPin`], [`Error::PinLocked`],
    /// [`Error::KeyNotFound`], [`Error::AmbiguousKey`],
    /// [`Error::UnsupportedKey`], [`Error::Token`] and the errors of
    /// [`SecretSource::read`](crate::SecretSource::read).
    pub fn open(config: &Pkcs11Config) -> Result<Self, Error> {
        let token = Token::open(config)?;
        let pool = Pool::new(config.sessions);
        let (handle, spec, spki) = {
            let lease = pool.acquire(&token)?;
            let session = lease.session.as_ref().ok_or_else(|| Error::Token {
                token: token.label.clone(),
                op: "C_OpenSession",
                detail: "no session".to_owned(),
            })?;
            let handle = find_private_key(&token, session, &config.key)?;
            let (spec, spki) = read_public_key(&token, session, handle, &config.key)?;
            (handle, spec, spki)
        };
        let scheme = spec.default_scheme();
        Ok(Self {
            shared: Arc::new(Shared {
                token,
                pool,
                locator: config.key.clone(),
                spec,
                spki,
                handle: Mutex::new(handle),
            }),
            scheme,
            sig_alg: scheme.algorithm_identifier()?,
        })
    }

    /// Use an existing key pair on the token to decrypt (an RSA key, which
    /// must have `CKA_DECRYPT`) or to agree ECDH secrets (a P-256 or P-384
    /// key, which must have `CKA_DERIVE`): [`Pkcs11Key::open`], then those
    /// attributes checked, so that a key that cannot serve is refused now
    /// rather than at the first message.
    ///
    /// # Errors
    /// [`Error::KeyUsage`] when the attribute is false,
    /// [`Error::UnsupportedKey`] for a P-521 key, and the errors of
    /// [`Pkcs11Key::open`].
    pub fn open_for_decryption(config: &Pkcs11Config) -> Result<Self, Error> {
        let key = Self::open(config)?;
        let attrs = key.private_key_attributes()?;
        let spec = key.spec();
        let (allowed, attribute, purpose) = match spec {
            KeySpec::P256 | KeySpec::P384 => (attrs.derive, "CKA_DERIVE", "ECDH key agreement"),
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                (attrs.decrypt, "CKA_DECRYPT", "RSA key transport")
            }
            KeySpec::P521 => {
                return Err(Error::UnsupportedKey(format!(
                    "{spec} keys do not do ECDH here (P-256 and P-384 do)"
                )));
            }
        };
        if !allowed {
            return Err(Error::KeyUsage {
                token: key.shared.token.label.clone(),
                key: key.shared.locator.to_string(),
                attribute,
                purpose,
            });
        }
        Ok(key)
    }

    /// The key type.
    #[must_use]
    pub fn spec(&self) -> KeySpec {
        self.shared.spec
    }

    /// The signature scheme in use.
    #[must_use]
    pub fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    /// The token's label.
    #[must_use]
    pub fn token_label(&self) -> &str {
        &self.shared.token.label
    }

    /// How the key was located (after [`Pkcs11Key::generate`], including
    /// its id).
    #[must_use]
    pub fn locator(&self) -> &KeyLocator {
        &self.shared.locator
    }

    /// Sign with `scheme` from now on. Clones made before keep their scheme.
    ///
    /// # Errors
    /// [`Error::IncompatibleScheme`] if the scheme does not fit the key.
    pub fn with_scheme(mut self, scheme: SignatureScheme) -> Result<Self, Error> {
        scheme.check_key(self.shared.spec)?;
        self.sig_alg = scheme.algorithm_identifier()?;
        self.scheme = scheme;
        Ok(self)
    }

    fn handle(&self) -> ObjectHandle {
        *lock(&self.shared.handle)
    }

    fn refind(&self, session: &Session) -> Result<(), Error> {
        let handle = find_private_key(&self.shared.token, session, &self.shared.locator)?;
        *lock(&self.shared.handle) = handle;
        Ok(())
    }

    /// Run `op` on a pooled session with the private key's handle; on a
    /// lost login, a stale key handle or a dead session, recover and retry
    /// once.
    pub(super) fn with_session<T>(
        &self,
        op_name: &'static str,
        op: impl Fn(&Session, ObjectHandle) -> Result<T, CkError>,
    ) -> Result<T, Error> {
        let token = &self.shared.token;
        let mut lease = self.shared.pool.acquire(token)?;
        let lost = || Error::Token {
            token: token.label.clone(),
            op: op_name,
            detail: "the session was lost".to_owned(),
        };
        let first = match &lease.session {
            Some(session) => op(session, self.handle()),
            None => return Err(lost()),
        };
        let err = match first {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        match recovery(&err) {
            Recovery::Relogin => {
                let session = lease.session.as_ref().ok_or_else(lost)?;
                token.login(session)?;
                self.refind(session)?;
            }
            Recovery::NewSession => {
                // Drop (close) the dead session first; if a new one cannot
                // be opened the lease stays empty and frees its place.
                lease.session = None;
                let session = token.open_session(false)?;
                self.refind(&session)?;
                lease.session = Some(session);
            }
            Recovery::None => return Err(token.err(op_name, err)),
        }
        let second = match &lease.session {
            Some(session) => op(session, self.handle()),
            None => return Err(lost()),
        };
        second.map_err(|e| {
            if matches!(recovery(&e), Recovery::NewSession) {
                lease.session = None;
            }
            token.err(op_name, e)
        })
    }

    /// Read the private key object's protection attributes.
    ///
    /// # Errors
    /// [`Error::Token`] and the other token errors of [`Pkcs11Key::open`].
    pub fn private_key_attributes(&self) -> Result<PrivateKeyAttributes, Error> {
        let attrs = self.with_session("C_GetAttributeValue", |session, key| {
            session.get_attributes(
                key,
                &[
                    AttributeType::Token,
                    AttributeType::Private,
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::AlwaysSensitive,
                    AttributeType::NeverExtractable,
                    AttributeType::Sign,
                    AttributeType::Decrypt,
                    AttributeType::Derive,
                ],
            )
        })?;
        let mut out = PrivateKeyAttributes {
            token: false,
            private: false,
            sensitive: false,
            extractable: true,
            always_sensitive: false,
            never_extractable: false,
            sign: false,
            decrypt: false,
            derive: false,
        };
        for a in attrs {
            match a {
                Attribute::Token(v) => out.token = v,
                Attribute::Private(v) => out.private = v,
                Attribute::Sensitive(v) => out.sensitive = v,
                Attribute::Extractable(v) => out.extractable = v,
                Attribute::AlwaysSensitive(v) => out.always_sensitive = v,
                Attribute::NeverExtractable(v) => out.never_extractable = v,
                Attribute::Sign(v) => out.sign = v,
                Attribute::Decrypt(v) => out.decrypt = v,
                Attribute::Derive(v) => out.derive = v,
                _ => {}
            }
        }
        Ok(out)
    }

    /// Log this process out of the token. Every session of the process is
    /// logged out with it (PKCS#11 login is per application); the next
    /// signature logs in again.
    ///
    /// # Errors
    /// [`Error::Token`] if `C_Logout` fails for a reason other than not
    /// being logged in.
    pub fn logout(&self) -> Result<(), Error> {
        let token = &self.shared.token;
        let lease = self.shared.pool.acquire(token)?;
        match &lease.session {
            Some(session) => match session.logout() {
                Ok(()) | Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => Ok(()),
                Err(e) => Err(token.err("C_Logout", e)),
            },
            None => Ok(()),
        }
    }
}
