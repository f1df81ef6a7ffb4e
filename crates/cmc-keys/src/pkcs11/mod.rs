//! Keys on a PKCS#11 token (an HSM, a smart card, SoftHSM2), through cryptoki.
//!
//! A key is addressed by the module's path, the token's label (not its slot
//! number, which can change between boots) and the key's `CKA_LABEL` and/or
//! `CKA_ID`. The user PIN comes from a [`SecretSource`].
//!
//! - Each module is loaded and `C_Initialize`d once per process
//!   ([`module_context`]); every key on it shares that context.
//! - Each [`Pkcs11Key`] keeps a pool of logged-in sessions, as many as the
//!   caller has workers ([`Pkcs11Config::sessions`]), so signatures run in
//!   parallel without opening a session per signature.
//! - The digest is computed on the host; the token gets `CKM_ECDSA` over the
//!   digest (its raw `r‖s` is converted to a DER `ECDSA-Sig-Value`),
//!   `CKM_RSA_PKCS` over a DER `DigestInfo`, or `CKM_RSA_PKCS_PSS` over the
//!   digest with MGF1 of the same hash and a salt as long as the hash.
//! - A session that lost its login (`CKR_USER_NOT_LOGGED_IN`, or a private
//!   key handle that became invalid) logs in again and the key is looked up
//!   again; a session whose handle became invalid is replaced; either way the
//!   operation is retried once. Anything else is an [`Error`], never a panic.
//!
//! Login state in PKCS#11 belongs to the application, not the session: once
//! one session of this process is logged in, `C_Login` on another returns
//! `CKR_USER_ALREADY_LOGGED_IN` (which is not an error) without checking the
//! PIN again.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use const_oid::ObjectIdentifier;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::{RawAuthPin, Ulong};
use der::asn1::{OctetStringRef, UintRef};
use der::{Decode, Encode};
use pkcs1::DecodeRsaPublicKey;
use pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::{Error, HashAlg, KeySpec, SecretSource, SignatureScheme, SigningKey};

/// Loaded and initialised modules, one per path, for the life of the process.
static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data behind our mutexes stays consistent across a panic (a map of
    // contexts, a list of idle sessions, a handle), so a poisoned lock is
    // still usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The process-wide cryptoki context for the module at `module`, loaded and
/// initialised (with `CKF_OS_LOCKING_OK`) on first use. Later calls with the
/// same path (after canonicalisation) return the same context.
///
/// # Errors
/// [`Error::Pkcs11Module`] if the library cannot be loaded or initialised.
pub fn module_context(module: &Path) -> Result<Pkcs11, Error> {
    let key = std::fs::canonicalize(module).unwrap_or_else(|_| module.to_owned());
    let mut modules = lock(MODULES.get_or_init(|| Mutex::new(HashMap::new())));
    if let Some(ctx) = modules.get(&key) {
        return Ok(ctx.clone());
    }
    let module_err = |detail: String| Error::Pkcs11Module {
        module: module.to_owned(),
        detail,
    };
    let ctx = Pkcs11::new(&key).map_err(|e| module_err(format!("cannot load: {e}")))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Someone else in this process initialised it already: fine.
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(module_err(format!("C_Initialize failed: {e}"))),
    }
    modules.insert(key, ctx.clone());
    Ok(ctx)
}

/// Which key on the token: by `CKA_LABEL`, by `CKA_ID`, or both (then
/// both must match).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyLocator {
    label: Option<String>,
    id: Option<Vec<u8>>,
}

impl KeyLocator {
    /// The key whose `CKA_LABEL` is `label`.
    #[must_use]
    pub fn label(label: impl Into<String>) -> Self {
        Self {
            label: Some(label.into()),
            id: None,
        }
    }

    /// The key whose `CKA_ID` is `id`.
    #[must_use]
    pub fn id(id: impl Into<Vec<u8>>) -> Self {
        Self {
            label: None,
            id: Some(id.into()),
        }
    }

    /// The key whose `CKA_ID` is the hex string `hex` (as `pkcs11-tool
    /// --id` takes it; an optional `0x` prefix and `:` separators are allowed).
    ///
    /// # Errors
    /// [`Error::Parse`] if `hex` is not an even number of hex digits.
    pub fn id_hex(hex: &str) -> Result<Self, Error> {
        Ok(Self::id(parse_hex(hex)?))
    }

    /// Also require this `CKA_ID`.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Also require this `CKA_LABEL`.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The label searched for, if any.
    #[must_use]
    pub fn label_str(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The id searched for, if any.
    #[must_use]
    pub fn id_bytes(&self) -> Option<&[u8]> {
        self.id.as_deref()
    }

    fn template(&self, class: ObjectClass) -> Vec<Attribute> {
        let mut t = vec![Attribute::Class(class)];
        if let Some(label) = &self.label {
            t.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.id {
            t.push(Attribute::Id(id.clone()));
        }
        t
    }
}

impl fmt::Display for KeyLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.label, &self.id) {
            (Some(l), Some(id)) => write!(f, "label {l:?} and id {}", to_hex(id)),
            (Some(l), None) => write!(f, "label {l:?}"),
            (None, Some(id)) => write!(f, "id {}", to_hex(id)),
            (None, None) => f.write_str("no label or id"),
        }
    }
}

impl fmt::Debug for KeyLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyLocator({self})")
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(s: &str) -> Result<Vec<u8>, Error> {
    let bad = || Error::Parse {
        what: "key id",
        value: s.to_owned(),
        expected: "an even number of hex digits, e.g. 0a1b2c",
    };
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let digits: Vec<u8> = t.bytes().filter(|b| *b != b':').collect();
    if digits.is_empty() || digits.len() % 2 != 0 {
        return Err(bad());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16).ok_or_else(bad)?;
            let lo = char::from(pair[1]).to_digit(16).ok_or_else(bad)?;
            u8::try_from(hi * 16 + lo).map_err(|_| bad())
        })
        .collect()
}

/// Where a PKCS#11 key lives and how to log in to it.
#[derive(Clone, Debug)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module (for SoftHSM2,
    /// `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The token's label (`CK_TOKEN_INFO.label`, trailing blanks ignored).
    pub token_label: String,
    /// Which key on the token.
    pub key: KeyLocator,
    /// Where to read the user PIN.
    pub pin: SecretSource,
    /// How many sessions the key may keep open and logged in: the number of
    /// threads that will sign concurrently. At least 1.
    pub sessions: usize,
}

impl Pkcs11Config {
    /// A configuration with one session per available CPU.
    #[must_use]
    pub fn new(
        module: impl Into<PathBuf>,
        token_label: impl Into<String>,
        key: KeyLocator,
        pin: SecretSource,
    ) -> Self {
        Self {
            module: module.into(),
            token_label: token_label.into(),
            key,
            pin,
            sessions: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// Set the session pool size (the caller's worker count).
    #[must_use]
    pub fn with_sessions(mut self, sessions: usize) -> Self {
        self.sessions = sessions;
        self
    }
}

/// One token: the shared module context, its slot and the PIN.
struct Token {
    ctx: Pkcs11,
    slot: Slot,
    label: String,
    pin: RawAuthPin,
}

impl Token {
    fn open(config: &Pkcs11Config) -> Result<Self, Error> {
        let pin = config.pin.read()?;
        let ctx = module_context(&config.module)?;
        let label = config.token_label.trim_end_matches(' ').to_owned();
        let list_err = |e: CkError| Error::Token {
            token: label.clone(),
            op: "C_GetSlotList",
            detail: e.to_string(),
        };
        let mut found = Vec::new();
        for slot in ctx.get_slots_with_token().map_err(list_err)? {
            // A slot whose token vanished between the two calls is skipped.
            if let Ok(info) = ctx.get_token_info(slot)
                && info.label() == label
            {
                found.push(slot);
            }
        }
        let slot = match found.as_slice() {
            [] => return Err(Error::TokenNotFound { label }),
            [slot] => *slot,
            many => {
                return Err(Error::AmbiguousToken {
                    label,
                    count: many.len(),
                });
            }
        };
        Ok(Self {
            ctx,
            slot,
            label,
            pin: RawAuthPin::new(Box::new(pin.expose().to_vec())),
        })
    }

    fn err(&self, op: &'static str, e: CkError) -> Error {
        let token = self.label.clone();
        match e {
            CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
                _,
            ) => Error::WrongPin { token },
            CkError::Pkcs11(RvError::PinLocked, _) => Error::PinLocked { token },
            CkError::Pkcs11(
                RvError::TokenNotPresent | RvError::DeviceRemoved | RvError::TokenNotRecognized,
                _,
            ) => Error::TokenNotFound { label: token },
            CkError::Pkcs11(rv, f) => Error::Token {
                token,
                op,
                detail: format!("{f} returned {rv:?}"),
            },
            other => Error::Token {
                token,
                op,
                detail: other.to_string(),
            },
        }
    }

    fn login(&self, session: &Session) -> Result<(), Error> {
        match session.login_with_raw(UserType::User, &self.pin) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(e) => Err(self.err("C_Login", e)),
        }
    }

    fn open_session(&self, read_write: bool) -> Result<Session, Error> {
        let session = if read_write {
            self.ctx.open_rw_session(self.slot)
        } else {
            self.ctx.open_ro_session(self.slot)
        }
        .map_err(|e| self.err("C_OpenSession", e))?;
        self.login(&session)?;
        Ok(session)
    }
}

/// Logged-in sessions waiting for work, at most `max` open at once.
struct Pool {
    state: Mutex<PoolState>,
    returned: Condvar,
    max: usize,
}

struct PoolState {
    idle: Vec<Session>,
    open: usize,
}

/// A session taken from the pool. Dropping it gives the session back; if
/// it was lost (`session` is `None`), its place in the pool is freed.
struct Lease<'p> {
    pool: &'p Pool,
    session: Option<Session>,
}

impl Pool {
    fn new(max: usize) -> Self {
        Self {
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
            max: max.max(1),
        }
    }

    fn acquire(&self, token: &Token) -> Result<Lease<'_>, Error> {
        let mut state = lock(&self.state);
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    session: Some(session),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                // The place is reserved; if opening fails the empty lease
                // frees it again when it drops.
                let mut lease = Lease {
                    pool: self,
                    session: None,
                };
                lease.session = Some(token.open_session(false)?);
                return Ok(lease);
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.pool.state);
        match self.session.take() {
            Some(session) => state.idle.push(session),
            None => state.open = state.open.saturating_sub(1),
        }
        drop(state);
        self.pool.returned.notify_one();
    }
}

/// What to do after a failed token call before retrying it once.
enum Recovery {
    /// Log in again and look the key up again.
    Relogin,
    /// Replace the session (and look the key up again).
    NewSession,
    /// Give up.
    None,
}

fn recovery(e: &CkError) -> Recovery {
    match e {
        CkError::Pkcs11(
            RvError::UserNotLoggedIn | RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid,
            _,
        ) => Recovery::Relogin,
        CkError::Pkcs11(RvError::SessionHandleInvalid | RvError::SessionClosed, _) => {
            Recovery::NewSession
        }
        _ => Recovery::None,
    }
}

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
}

struct Shared {
    token: Token,
    pool: Pool,
    locator: KeyLocator,
    spec: KeySpec,
    spki: SubjectPublicKeyInfoOwned,
    /// The private key's handle; looked up again when it becomes invalid.
    handle: Mutex<ObjectHandle>,
}

/// A signing key on a PKCS#11 token. Cheap to clone (clones share the
/// session pool); `Send + Sync`.
#[derive(Clone)]
pub struct Pkcs11Key {
    shared: Arc<Shared>,
    scheme: SignatureScheme,
    sig_alg: AlgorithmIdentifierOwned,
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
    /// [`SecretSource::read`].
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

    /// Generate a key pair on the token and open it. The private key is
    /// created with `CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE` and
    /// `CKA_SIGN` true and `CKA_EXTRACTABLE` false. Both halves get the
    /// locator's label and id; without an id, a random 16-byte `CKA_ID` is
    /// chosen (and becomes part of the returned key's locator).
    ///
    /// # Errors
    /// [`Error::KeyExists`] if a key with this label or id is already on the
    /// token, [`Error::Parse`] if the locator names neither, and the errors
    /// of [`Pkcs11Key::open`].
    pub fn generate(config: &Pkcs11Config, spec: KeySpec) -> Result<Self, Error> {
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
        let mut public = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Id(id.clone()),
        ];
        let mut private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Id(id.clone()),
        ];
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
        Self::open(&config)
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
    fn with_session<T>(
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

    fn sign_raw(&self, mechanism: &Mechanism<'_>, data: &[u8]) -> Result<Vec<u8>, Error> {
        self.with_session("C_Sign", |session, key| session.sign(mechanism, key, data))
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

fn find_private_key(
    token: &Token,
    session: &Session,
    locator: &KeyLocator,
) -> Result<ObjectHandle, Error> {
    let found = session
        .find_objects(&locator.template(ObjectClass::PRIVATE_KEY))
        .map_err(|e| token.err("C_FindObjects", e))?;
    match found.as_slice() {
        [] => Err(Error::KeyNotFound {
            token: token.label.clone(),
            key: locator.to_string(),
            what: "private key",
        }),
        [handle] => Ok(*handle),
        many => Err(Error::AmbiguousKey {
            token: token.label.clone(),
            key: locator.to_string(),
            count: many.len(),
        }),
    }
}

fn object_id(token: &Token, session: &Session, handle: ObjectHandle) -> Result<Vec<u8>, Error> {
    let attrs = session
        .get_attributes(handle, &[AttributeType::Id])
        .map_err(|e| token.err("C_GetAttributeValue", e))?;
    Ok(attrs
        .into_iter()
        .find_map(|a| match a {
            Attribute::Id(id) => Some(id),
            _ => None,
        })
        .unwrap_or_default())
}

/// Build the SPKI from the token: `CKA_EC_PARAMS` + `CKA_EC_POINT` of the
/// public key object for EC; `CKA_MODULUS` + `CKA_PUBLIC_EXPONENT` (of the
/// public key object, or of the private key, which carries them too) for RSA.
fn read_public_key(
    token: &Token,
    session: &Session,
    private: ObjectHandle,
    locator: &KeyLocator,
) -> Result<(KeySpec, SubjectPublicKeyInfoOwned), Error> {
    let get = |handle, types: &[AttributeType]| {
        session
            .get_attributes(handle, types)
            .map_err(|e| token.err("C_GetAttributeValue", e))
    };
    let mut key_type = None;
    let mut id = Vec::new();
    for a in get(private, &[AttributeType::KeyType, AttributeType::Id])? {
        match a {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::Id(v) => id = v,
            _ => {}
        }
    }
    let key_type = key_type.ok_or_else(|| Error::Token {
        token: token.label.clone(),
        op: "C_GetAttributeValue",
        detail: "the private key has no CKA_KEY_TYPE".to_owned(),
    })?;

    // The public half shares the private key's CKA_ID (or, without one, its label).
    let mut template = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(key_type),
    ];
    if !id.is_empty() {
        template.push(Attribute::Id(id));
    } else if let Some(label) = &locator.label {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    let publics = session
        .find_objects(&template)
        .map_err(|e| token.err("C_FindObjects", e))?;
    let public = match publics.as_slice() {
        [] => None,
        [one] => Some(*one),
        many => {
            return Err(Error::AmbiguousKey {
                token: token.label.clone(),
                key: locator.to_string(),
                count: many.len(),
            });
        }
    };

    if key_type == KeyType::EC {
        let public = public.ok_or_else(|| Error::KeyNotFound {
            token: token.label.clone(),
            key: locator.to_string(),
            what: "public key",
        })?;
        let mut params = None;
        let mut point = None;
        for a in get(public, &[AttributeType::EcParams, AttributeType::EcPoint])? {
            match a {
                Attribute::EcParams(v) => params = Some(v),
                Attribute::EcPoint(v) => point = Some(v),
                _ => {}
            }
        }
        let (Some(params), Some(point)) = (params, point) else {
            return Err(Error::Token {
                token: token.label.clone(),
                op: "C_GetAttributeValue",
                detail: "the EC public key lacks CKA_EC_PARAMS or CKA_EC_POINT".to_owned(),
            });
        };
        ec_spki(&params, &point)
    } else if key_type == KeyType::RSA {
        let source = public.unwrap_or(private);
        let mut modulus = None;
        let mut exponent = None;
        for a in get(
            source,
            &[AttributeType::Modulus, AttributeType::PublicExponent],
        )? {
            match a {
                Attribute::Modulus(v) => modulus = Some(v),
                Attribute::PublicExponent(v) => exponent = Some(v),
                _ => {}
            }
        }
        let (Some(modulus), Some(exponent)) = (modulus, exponent) else {
            return Err(Error::Token {
                token: token.label.clone(),
                op: "C_GetAttributeValue",
                detail: "the RSA key lacks CKA_MODULUS or CKA_PUBLIC_EXPONENT".to_owned(),
            });
        };
        rsa_spki(&modulus, &exponent)
    } else {
        Err(Error::UnsupportedKey(format!(
            "PKCS#11 key type {key_type}"
        )))
    }
}

/// SPKI for an EC key from `CKA_EC_PARAMS` (a DER namedCurve OID) and
/// `CKA_EC_POINT`, which modules give either as a DER OCTET STRING holding
/// the SEC1 point (as PKCS#11 says) or as the raw point.
fn ec_spki(params: &[u8], point: &[u8]) -> Result<(KeySpec, SubjectPublicKeyInfoOwned), Error> {
    let curve = ObjectIdentifier::from_der(params).map_err(|_| {
        Error::UnsupportedKey("EC key whose CKA_EC_PARAMS is not a named curve".to_owned())
    })?;
    let spec = KeySpec::from_curve_oid(&curve)
        .ok_or_else(|| Error::UnsupportedKey(format!("EC curve {curve}")))?;
    let field = spec.ec_field_len().unwrap_or(0);
    let raw_len = 1 + 2 * field;
    let sec1 = if point.len() == raw_len && point.first() == Some(&0x04) {
        point
    } else {
        <&OctetStringRef>::from_der(point)
            .map_err(|e| Error::MalformedKey(format!("CKA_EC_POINT: {e}")))?
            .as_bytes()
    };
    let bad = |e| Error::MalformedKey(format!("CKA_EC_POINT is not a {spec} point: {e}"));
    let doc = match spec {
        KeySpec::P256 => p256::PublicKey::from_sec1_bytes(sec1)
            .map_err(bad)?
            .to_public_key_der(),
        KeySpec::P384 => p384::PublicKey::from_sec1_bytes(sec1)
            .map_err(bad)?
            .to_public_key_der(),
        _ => p521::PublicKey::from_sec1_bytes(sec1)
            .map_err(bad)?
            .to_public_key_der(),
    }
    .map_err(|e| Error::Encode(format!("public key: {e}")))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(doc.as_bytes())
        .map_err(|e| Error::Encode(format!("public key: {e}")))?;
    Ok((spec, spki))
}

/// SPKI for an RSA key from its big-endian modulus and exponent.
fn rsa_spki(
    modulus: &[u8],
    exponent: &[u8],
) -> Result<(KeySpec, SubjectPublicKeyInfoOwned), Error> {
    let malformed = |e: String| Error::MalformedKey(format!("RSA public key from token: {e}"));
    let pkcs1_key = pkcs1::RsaPublicKey {
        modulus: UintRef::new(modulus).map_err(|e| malformed(e.to_string()))?,
        public_exponent: UintRef::new(exponent).map_err(|e| malformed(e.to_string()))?,
    };
    let der = pkcs1_key.to_der().map_err(|e| malformed(e.to_string()))?;
    let key = rsa::RsaPublicKey::from_pkcs1_der(&der).map_err(|e| malformed(e.to_string()))?;
    let bits = key.n().bits() as usize;
    let spec = KeySpec::from_rsa_bits(bits).ok_or_else(|| {
        Error::UnsupportedKey(format!(
            "RSA key of {bits} bits (2048, 3072 or 4096 are supported)"
        ))
    })?;
    let doc = key
        .to_public_key_der()
        .map_err(|e| Error::Encode(format!("public key: {e}")))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(doc.as_bytes())
        .map_err(|e| Error::Encode(format!("public key: {e}")))?;
    Ok((spec, spki))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids() {
        assert_eq!(parse_hex("0a1B").unwrap(), vec![0x0a, 0x1b]);
        assert_eq!(parse_hex("0x01:02:ff").unwrap(), vec![1, 2, 0xff]);
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
        assert!(parse_hex("").is_err());
        assert_eq!(KeyLocator::id_hex("cafe").unwrap().to_string(), "id cafe");
    }

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
    fn ec_point_both_encodings() {
        let key = crate::FileKey::generate(KeySpec::P384).unwrap();
        let spki = key.public_key();
        let raw = spki.subject_public_key.raw_bytes();
        let params = spec_params(KeySpec::P384);
        let (spec, a) = ec_spki(&params, raw).unwrap();
        assert_eq!(spec, KeySpec::P384);
        assert_eq!(&a, spki);
        let wrapped = OctetStringRef::new(raw).unwrap().to_der().unwrap();
        let (_, b) = ec_spki(&params, &wrapped).unwrap();
        assert_eq!(&b, spki);
        assert!(ec_spki(&params, &raw[..40]).is_err());
    }

    fn spec_params(spec: KeySpec) -> Vec<u8> {
        spec.curve_oid().unwrap().to_der().unwrap()
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
