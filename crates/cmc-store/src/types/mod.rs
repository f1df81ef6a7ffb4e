//! Values and records passed to and returned by the store traits.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A point in time, in whole seconds since the Unix epoch (UTC).
///
/// The store never reads the clock: every operation that needs "now" takes it
/// as a parameter, so tests (and the engine's injected clock) decide what time
/// it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// The time `secs` seconds after the epoch (negative: before).
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn secs(self) -> i64 {
        self.0
    }

    /// This time plus `secs` seconds, saturating at the ends of the range.
    #[must_use]
    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Converts a [`SystemTime`], rounding down to the second and saturating
    /// outside the `i64` range.
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(after) => Self(i64::try_from(after.as_secs()).unwrap_or(i64::MAX)),
            Err(before) => {
                let d = before.duration();
                // Round towards minus infinity: 0.5 s before the epoch is -1.
                let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                let extra = i64::from(d.subsec_nanos() > 0);
                Self(whole.saturating_add(extra).saturating_neg())
            }
        }
    }

    /// Converts to a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let d = Duration::from_secs(self.0.unsigned_abs());
        if self.0 >= 0 {
            UNIX_EPOCH + d
        } else {
            UNIX_EPOCH - d
        }
    }
}

impl From<SystemTime> for UnixTime {
    fn from(t: SystemTime) -> Self {
        Self::from_system_time(t)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.0)
    }
}

/// A certificate serial number: the unsigned big-endian magnitude, without
/// leading zero bytes, 1 to 20 bytes long (RFC 5280 section 4.1.2.2).
///
/// Normalising here means `00 80 01` (a DER INTEGER's content octets) and
/// `80 01` are the same serial, so the database's uniqueness check cannot be
/// defeated by a different encoding of one number.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// The longest magnitude accepted, in bytes.
    pub const MAX_LEN: usize = 20;

    /// Builds a serial from big-endian bytes (leading zeros are dropped).
    ///
    /// # Errors
    /// [`Error::Invalid`] if the number is zero or longer than
    /// [`Serial::MAX_LEN`] bytes.
    pub fn from_be_bytes(bytes: &[u8]) -> Result<Self> {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let magnitude = &bytes[start..];
        if magnitude.is_empty() {
            return Err(Error::Invalid("serial number must be positive".into()));
        }
        if magnitude.len() > Self::MAX_LEN {
            return Err(Error::Invalid(format!(
                "serial number longer than {} bytes",
                Self::MAX_LEN
            )));
        }
        Ok(Self(magnitude.to_vec()))
    }

    /// The magnitude, big-endian, no leading zeros.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The content octets of the DER INTEGER for this serial (a `00` byte is
    /// prepended when the top bit is set, so the number stays positive).
    pub fn to_der_content(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        if self.0.first().is_some_and(|b| b & 0x80 != 0) {
            out.push(0);
        }
        out.extend_from_slice(&self.0);
        out
    }

    /// Lower-case hexadecimal, as in logs and file names.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.to_hex())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A SHA-256 fingerprint of a certificate's DER encoding.
pub type Fingerprint = [u8; 32];

/// The SHA-256 fingerprint of `cert_der`, as the store computes it for
/// [`ClientRecord::fingerprint`].
pub fn fingerprint(cert_der: &[u8]) -> Fingerprint {
    Sha256::digest(cert_der).into()
}

/// Where a listing starts: pass [`Page::next`] of the previous page.
///
/// Listings run in insertion order. The value is opaque but can be carried
/// through a command line or URL as an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor(pub i64);

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The records, in insertion order.
    pub items: Vec<T>,
    /// The cursor for the next page; `None` when this page was the last (a
    /// full page may still be followed by an empty one).
    pub next: Option<Cursor>,
}

/// Which page of a listing to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this cursor; `None` for the first page.
    pub after: Option<Cursor>,
    /// At most this many records, 1 to [`PageRequest::MAX_LIMIT`].
    pub limit: u32,
}

impl PageRequest {
    /// The largest page a listing returns.
    pub const MAX_LIMIT: u32 = 1000;

    /// The first page of `limit` records.
    pub const fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }

    /// The page after `cursor`.
    pub const fn after(cursor: Cursor, limit: u32) -> Self {
        Self {
            after: Some(cursor),
            limit,
        }
    }

    /// Checks the limit and returns (cursor, limit) for the SQL.
    pub(crate) fn checked(self) -> Result<(i64, i64)> {
        if self.limit == 0 || self.limit > Self::MAX_LIMIT {
            return Err(Error::Invalid(format!(
                "page limit must be 1 to {}",
                Self::MAX_LIMIT
            )));
        }
        Ok((self.after.map_or(0, |c| c.0), i64::from(self.limit)))
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first(100)
    }
}

/// Builds a page from rows that carry their sequence number.
pub(crate) fn page_from<T>(rows: Vec<(i64, T)>, limit: i64) -> Page<T> {
    let full = i64::try_from(rows.len()).is_ok_and(|n| n >= limit);
    let next = if full {
        rows.last().map(|(seq, _)| Cursor(*seq))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        next,
    }
}

/// Implements `as_str` / `parse` for a fieldless enum stored as text.
macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The name stored in the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            pub(crate) fn parse(s: &str) -> Result<Self> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(Error::Corrupt(format!(
                        concat!("unknown ", stringify!($ty), " {:?}"),
                        other
                    ))),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// ---------------------------------------------------------------- CAs

/// A certificate authority served by this installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaRecord {
    /// The CA's name: the `{ca}` segment of `/cmc/{ca}`; unique. ASCII
    /// letters, digits, `-`, `_` and `.`, 1 to 64 characters.
    pub name: String,
    /// The CA certificate, DER.
    pub cert_der: Vec<u8>,
    /// The issuer certificates from this CA's issuer up to the root, DER, in
    /// that order (empty for a root).
    pub chain_der: Vec<Vec<u8>>,
    /// Where the signing key is: opaque to the store (the engine serialises
    /// its key configuration into it).
    pub key_ref: String,
    /// The name of the parent CA when it is also stored here.
    pub parent: Option<String>,
    /// When the record was created.
    pub created_at: UnixTime,
}

/// The rule for CA names (the `{ca}` segment of `/cmc/{ca}`): 1 to 64 ASCII
/// letters, digits, `-`, `_` and `.`, and neither `.` nor `..`.
///
/// # Errors
/// [`Error::Invalid`] saying what is allowed.
pub fn check_ca_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "CA name {name:?} must be 1-64 of A-Z a-z 0-9 - _ ."
        )))
    }
}

// ---------------------------------------------------------------- certificates

/// The status of a serial number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertStatus {
    /// Reserved before signing; no certificate exists (yet).
    Reserved,
    /// Signed and stored.
    Issued,
    /// Issuance failed after the reservation; the serial stays used.
    Failed,
    /// Issued, then revoked (including on hold).
    Revoked,
}

text_enum!(CertStatus {
    Reserved => "reserved",
    Issued => "issued",
    Failed => "failed",
    Revoked => "revoked",
});

/// A serial reservation, made before the certificate is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReservation {
    /// The issuing CA's name.
    pub issuer: String,
    /// The candidate serial (random, at least 64 bits).
    pub serial: Serial,
    /// Who asked (client id, RA, or an identification).
    pub requester: String,
    /// The profile the certificate is issued under.
    pub profile: String,
    /// A hash of the request, to tie the certificate to it.
    pub request_hash: Vec<u8>,
    /// The linted TBS certificate, if already built; otherwise record it
    /// later with [`crate::CertStore::record_tbs`].
    pub tbs_der: Option<Vec<u8>>,
}

/// What is known once a certificate has been signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCert {
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The subject distinguished name as a string (RFC 4514).
    pub subject: String,
    /// The subject alternative names, as strings (e.g. `dns:example.com`).
    pub sans: Vec<String>,
    /// notBefore.
    pub not_before: UnixTime,
    /// notAfter.
    pub not_after: UnixTime,
    /// When the certificate was stored.
    pub issued_at: UnixTime,
}

/// CRLReason (RFC 5280 section 5.3.1). Value 7 is unused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationReason {
    /// unspecified (0).
    Unspecified,
    /// keyCompromise (1).
    KeyCompromise,
    /// cACompromise (2).
    CaCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4).
    Superseded,
    /// cessationOfOperation (5).
    CessationOfOperation,
    /// certificateHold (6): the only reason that can be lifted again.
    CertificateHold,
    /// removeFromCRL (8): not a revocation; lift a hold with
    /// [`crate::CertStore::unrevoke`].
    RemoveFromCrl,
    /// privilegeWithdrawn (9).
    PrivilegeWithdrawn,
    /// aACompromise (10).
    AaCompromise,
}

impl RevocationReason {
    /// The CRLReason code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::KeyCompromise => 1,
            Self::CaCompromise => 2,
            Self::AffiliationChanged => 3,
            Self::Superseded => 4,
            Self::CessationOfOperation => 5,
            Self::CertificateHold => 6,
            Self::RemoveFromCrl => 8,
            Self::PrivilegeWithdrawn => 9,
            Self::AaCompromise => 10,
        }
    }

    /// The reason with this CRLReason code.
    ///
    /// # Errors
    /// [`Error::Invalid`] for 7 and values above 10.
    pub fn from_code(code: u8) -> Result<Self> {
        Ok(match code {
            0 => Self::Unspecified,
            1 => Self::KeyCompromise,
            2 => Self::CaCompromise,
            3 => Self::AffiliationChanged,
            4 => Self::Superseded,
            5 => Self::CessationOfOperation,
            6 => Self::CertificateHold,
            8 => Self::RemoveFromCrl,
            9 => Self::PrivilegeWithdrawn,
            10 => Self::AaCompromise,
            other => return Err(Error::Invalid(format!("CRLReason {other} does not exist"))),
        })
    }

    pub(crate) fn from_db(code: i64) -> Result<Self> {
        u8::try_from(code)
            .ok()
            .and_then(|c| Self::from_code(c).ok())
            .ok_or_else(|| Error::Corrupt(format!("revocation reason {code}")))
    }
}

/// A revocation as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The reason.
    pub reason: RevocationReason,
    /// When the CA revoked it (revocationDate).
    pub revoked_at: UnixTime,
    /// When the key is known or suspected to have been compromised
    /// (invalidityDate), if given.
    pub invalidity_date: Option<UnixTime>,
}

impl fmt::Display for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reason {} at {}",
            self.reason.code(),
            self.revoked_at.secs()
        )
    }
}

/// Where a serial stands, with what each state carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertState {
    /// Reserved; no certificate.
    Reserved,
    /// Issuance failed; no certificate.
    Failed {
        /// Why.
        reason: String,
        /// When it was marked failed.
        failed_at: UnixTime,
    },
    /// Issued and not revoked.
    Issued(IssuedCert),
    /// Issued and revoked.
    Revoked {
        /// The certificate.
        cert: IssuedCert,
        /// The revocation.
        revocation: Revocation,
    },
}

/// One serial number of one CA and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertRecord {
    /// The issuing CA's name.
    pub issuer: String,
    /// The serial.
    pub serial: Serial,
    /// Who asked.
    pub requester: String,
    /// The profile.
    pub profile: String,
    /// The request hash given at reservation.
    pub request_hash: Vec<u8>,
    /// The linted TBS certificate, once recorded.
    pub tbs_der: Option<Vec<u8>>,
    /// When the serial was reserved.
    pub reserved_at: UnixTime,
    /// The state.
    pub state: CertState,
}

impl CertRecord {
    /// The status without its data.
    pub fn status(&self) -> CertStatus {
        match self.state {
            CertState::Reserved => CertStatus::Reserved,
            CertState::Failed { .. } => CertStatus::Failed,
            CertState::Issued(_) => CertStatus::Issued,
            CertState::Revoked { .. } => CertStatus::Revoked,
        }
    }

    /// The certificate, if one was issued (revoked or not). A reservation
    /// that was never completed has none.
    pub fn certificate(&self) -> Option<&IssuedCert> {
        match &self.state {
            CertState::Issued(c) | CertState::Revoked { cert: c, .. } => Some(c),
            CertState::Reserved | CertState::Failed { .. } => None,
        }
    }

    /// The revocation, if revoked.
    pub fn revocation(&self) -> Option<&Revocation> {
        match &self.state {
            CertState::Revoked { revocation, .. } => Some(revocation),
            _ => None,
        }
    }
}

/// Filters for [`crate::CertStore::list_certs`]; `None` matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertFilter {
    /// Only this CA.
    pub issuer: Option<String>,
    /// Only this status.
    pub status: Option<CertStatus>,
    /// Only this profile.
    pub profile: Option<String>,
    /// Only this requester.
    pub requester: Option<String>,
    /// Only this exact subject string.
    pub subject: Option<String>,
    /// Only certificates carrying this exact SAN string.
    pub san: Option<String>,
    /// Only certificates valid at this time (notBefore <= t < notAfter).
    pub valid_at: Option<UnixTime>,
}

/// A revoked certificate, as a CRL lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The serial.
    pub serial: Serial,
    /// The revocation.
    pub revocation: Revocation,
    /// The certificate's notAfter, so the CRL builder can drop expired
    /// entries if it wants to.
    pub not_after: UnixTime,
}

// ---------------------------------------------------------------- clients

/// What a registered CMC client may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientRole {
    /// An end entity requesting for itself.
    Client,
    /// A registration authority, requesting on behalf of others.
    Ra,
    /// An agent, deciding pending requests.
    Agent,
}

text_enum!(ClientRole {
    Client => "client",
    Ra => "ra",
    Agent => "agent",
});

/// A CA or profile name, or any.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Any name (`*`).
    Any,
    /// Exactly this name.
    Named(String),
}

impl Scope {
    /// Whether `name` is inside this scope.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Named(n) => n == name,
        }
    }

    pub(crate) fn to_db(&self) -> Option<&str> {
        match self {
            Self::Any => None,
            Self::Named(n) => Some(n),
        }
    }

    pub(crate) fn from_db(v: Option<String>) -> Self {
        v.map_or(Self::Any, Self::Named)
    }
}

/// One (CA, profile) pair a client may use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Grant {
    /// Which CA.
    pub ca: Scope,
    /// Which profile.
    pub profile: Scope,
}

/// A client to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClient {
    /// The client's id (unique).
    pub id: String,
    /// Its certificate, DER; the fingerprint is computed from it.
    pub cert_der: Vec<u8>,
    /// Its role.
    pub role: ClientRole,
    /// What it may use.
    pub grants: Vec<Grant>,
    /// When its registration expires, if ever.
    pub expires_at: Option<UnixTime>,
    /// The subject of its certificate, as the engine compares names
    /// (`cmc_ca::x509::subject_key`: RFC 4514 text, lower-cased, white
    /// space folded): a reserved name nobody else may be issued.
    pub subject: String,
    /// The names it may ask for (the engine's JSON name space), if
    /// registered; without it only the profile's name rules apply.
    pub names: Option<String>,
}

/// A registered CMC client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRecord {
    /// The id.
    pub id: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// SHA-256 of `cert_der` (unique).
    pub fingerprint: Fingerprint,
    /// The role.
    pub role: ClientRole,
    /// What it may use.
    pub grants: Vec<Grant>,
    /// When its registration expires, if ever.
    pub expires_at: Option<UnixTime>,
    /// When it was disabled, if it was.
    pub disabled_at: Option<UnixTime>,
    /// When it was registered.
    pub created_at: UnixTime,
    /// The subject of its certificate; `None` for a client registered
    /// before schema version 5 until [`ClientStore::set_client_subject`]
    /// fills it in.
    ///
    /// [`ClientStore::set_client_subject`]: crate::ClientStore::set_client_subject
    pub subject: Option<String>,
    /// The names it may ask for (JSON), if registered.
    pub names: Option<String>,
}

impl ClientRecord {
    /// Not disabled and not expired at `now`.
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.disabled_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }

    /// Whether some grant covers (`ca`, `profile`). Does not check
    /// [`ClientRecord::is_active`].
    pub fn may_use(&self, ca: &str, profile: &str) -> bool {
        self.grants
            .iter()
            .any(|g| g.ca.matches(ca) && g.profile.matches(profile))
    }
}

// ---------------------------------------------------------------- secrets

/// What a shared secret may be used for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretPurpose {
    /// Enrollment with identityProofV2 (RFC 5272 section 6.2.2).
    Enroll,
    /// Revoking one certificate (RFC 5272 section 6.11, sharedSecret).
    Revoke {
        /// The issuing CA's name.
        issuer: String,
        /// The serial.
        serial: Serial,
    },
}

/// A shared secret to store. Only the key derived from the secret is stored;
/// the secret itself never reaches the database.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSecret {
    /// The CA it belongs to.
    pub ca: String,
    /// The identification (unique per CA).
    pub identification: String,
    /// The identityProofV2 key: H(secret ‖ identification) (RFC 5272
    /// §6.2.1, §6.2.3).
    pub derived_key: Vec<u8>,
    /// The popLinkWitnessV2 key, H(secret) (§6.3.1.1), for enrollment
    /// secrets that may link their requests; `None` otherwise.
    pub link_key: Option<Vec<u8>>,
    /// The hash algorithm the key was derived with and the MAC uses.
    pub hash_alg: String,
    /// What it is for.
    pub purpose: SecretPurpose,
    /// The profile an enrollment uses, if fixed.
    pub profile: Option<String>,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// The names its holder may ask for (the engine's JSON name space), if
    /// registered.
    pub names: Option<String>,
}

impl fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSecret")
            .field("ca", &self.ca)
            .field("identification", &self.identification)
            .field("derived_key", &"<redacted>")
            .field("link_key", &self.link_key.as_ref().map(|_| "<redacted>"))
            .field("hash_alg", &self.hash_alg)
            .field("purpose", &self.purpose)
            .field("profile", &self.profile)
            .field("expires_at", &self.expires_at)
            .field("names", &self.names)
            .finish()
    }
}

/// A stored shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretRecord {
    /// The CA.
    pub ca: String,
    /// The identification.
    pub identification: String,
    /// The identityProofV2 key.
    pub derived_key: Vec<u8>,
    /// The popLinkWitnessV2 key, if stored.
    pub link_key: Option<Vec<u8>>,
    /// The hash algorithm name.
    pub hash_alg: String,
    /// What it is for.
    pub purpose: SecretPurpose,
    /// The profile, if fixed.
    pub profile: Option<String>,
    /// When it was stored.
    pub created_at: UnixTime,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// When it was consumed, if it was.
    pub used_at: Option<UnixTime>,
    /// Failed proofs so far.
    pub failed_attempts: u32,
    /// Locked after too many failures.
    pub locked: bool,
    /// The names its holder may ask for (JSON), if registered.
    pub names: Option<String>,
}

impl SecretRecord {
    /// Why it cannot be used at `now`, if it cannot.
    pub fn unusable_at(&self, now: UnixTime) -> Option<Error> {
        if self.used_at.is_some() {
            Some(Error::SecretUsed)
        } else if self.locked {
            Some(Error::SecretLocked)
        } else if now >= self.expires_at {
            Some(Error::SecretExpired)
        } else {
            None
        }
    }
}

impl fmt::Debug for SecretRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretRecord")
            .field("ca", &self.ca)
            .field("identification", &self.identification)
            .field("derived_key", &"<redacted>")
            .field("link_key", &self.link_key.as_ref().map(|_| "<redacted>"))
            .field("hash_alg", &self.hash_alg)
            .field("purpose", &self.purpose)
            .field("profile", &self.profile)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .field("failed_attempts", &self.failed_attempts)
            .field("locked", &self.locked)
            .finish()
    }
}

/// The count after [`crate::SecretStore::record_secret_failure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretFailures {
    /// Failed attempts including this one.
    pub failed_attempts: u32,
    /// Whether the secret is now locked.
    pub locked: bool,
}

// ---------------------------------------------------------------- replay

/// The state of a CMC transaction (transactionId) across its rounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionState {
    /// A round is being processed.
    Open,
    /// Waiting for an agent: the pending request's id.
    Pending(String),
    /// Finished successfully; the transactionId is spent.
    Completed,
    /// Finished with a failure.
    Failed,
}

impl TransactionState {
    pub(crate) fn to_db(&self) -> (&'static str, Option<&str>) {
        match self {
            Self::Open => ("open", None),
            Self::Pending(id) => ("pending", Some(id)),
            Self::Completed => ("completed", None),
            Self::Failed => ("failed", None),
        }
    }

    pub(crate) fn from_db(state: &str, pending: Option<String>) -> Result<Self> {
        Ok(match (state, pending) {
            ("open", _) => Self::Open,
            ("pending", Some(id)) => Self::Pending(id),
            ("completed", _) => Self::Completed,
            ("failed", _) => Self::Failed,
            (other, _) => return Err(Error::Corrupt(format!("transaction state {other:?}"))),
        })
    }
}

/// A CMC transaction as recorded for one signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionRecord {
    /// The signer's certificate fingerprint.
    pub signer: Fingerprint,
    /// The transactionId's bytes.
    pub transaction_id: Vec<u8>,
    /// Where it stands.
    pub state: TransactionState,
    /// When it was first seen.
    pub created_at: UnixTime,
    /// When its state last changed.
    pub updated_at: UnixTime,
    /// When the record may be forgotten.
    pub expires_at: UnixTime,
}

/// What [`crate::ReplayStore::open_transaction`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionOpen {
    /// No live record existed; one was created in state
    /// [`TransactionState::Open`].
    Started(TransactionRecord),
    /// A live record already existed: a later round of the same
    /// transaction (or a reuse the engine must judge from its state).
    Existing(TransactionRecord),
}

/// The longest nonce or transactionId accepted, in bytes.
pub const MAX_NONCE_LEN: usize = 512;

// ---------------------------------------------------------------- pending

/// A request waiting for an agent's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPending {
    /// A random token, the id given to the client (unique).
    pub id: String,
    /// The CA asked.
    pub ca: String,
    /// The requesting client.
    pub client: String,
    /// The profile asked for.
    pub profile: String,
    /// The request (the TaggedRequest or whole PKIData), DER.
    pub request_der: Vec<u8>,
    /// The bodyPartID of the request inside its PKIData.
    pub body_part_id: u32,
}

/// The decision on a pending request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PendingState {
    /// Not decided yet.
    Pending,
    /// Approved; the certificate was issued with this serial (by the CA of
    /// the request).
    Approved(Serial),
    /// Rejected, with the reason.
    Rejected(String),
}

/// The state of a pending request without its data, for filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PendingStatus {
    /// Not decided.
    Pending,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
}

text_enum!(PendingStatus {
    Pending => "pending",
    Approved => "approved",
    Rejected => "rejected",
});

/// A stored pending request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRecord {
    /// The id.
    pub id: String,
    /// The CA.
    pub ca: String,
    /// The client.
    pub client: String,
    /// The profile.
    pub profile: String,
    /// The request, DER.
    pub request_der: Vec<u8>,
    /// The bodyPartID.
    pub body_part_id: u32,
    /// When it was created.
    pub created_at: UnixTime,
    /// The decision.
    pub state: PendingState,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<UnixTime>,
    /// The certificate template the agent replaced the request's with, DER.
    pub replacement_template_der: Option<Vec<u8>>,
}

impl PendingRecord {
    /// The status without its data.
    pub fn status(&self) -> PendingStatus {
        match self.state {
            PendingState::Pending => PendingStatus::Pending,
            PendingState::Approved(_) => PendingStatus::Approved,
            PendingState::Rejected(_) => PendingStatus::Rejected,
        }
    }
}

/// Filters for [`crate::PendingStore::list_pending`]; `None` matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingFilter {
    /// Only this CA.
    pub ca: Option<String>,
    /// Only this client.
    pub client: Option<String>,
    /// Only this status.
    pub status: Option<PendingStatus>,
}

// ---------------------------------------------------------------- CRLs

/// A CRL as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlRecord {
    /// The issuing CA.
    pub issuer: String,
    /// Its cRLNumber.
    pub crl_number: u64,
    /// The CRL, DER.
    pub der: Vec<u8>,
    /// thisUpdate.
    pub this_update: UnixTime,
    /// nextUpdate.
    pub next_update: UnixTime,
}

// ---------------------------------------------------------------- audit

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditKind {
    /// A certificate was issued.
    Issued,
    /// A request was refused.
    Refused,
    /// A certificate was revoked.
    Revoked,
    /// A hold was lifted.
    Unrevoked,
    /// A request was put to an agent.
    PendingCreated,
    /// An agent approved a request.
    PendingApproved,
    /// An agent rejected a request.
    PendingRejected,
    /// A client was registered.
    ClientAdded,
    /// A client was disabled.
    ClientDisabled,
    /// A shared secret was stored.
    SecretAdded,
    /// A shared secret was locked.
    SecretLocked,
    /// An operator unlocked a shared secret.
    SecretUnlocked,
    /// A CA was added.
    CaAdded,
    /// A CRL was issued.
    CrlIssued,
    /// A kind this build does not know (written by another version, or by the
    /// engine for something new).
    Other(String),
}

impl AuditKind {
    /// The name stored in the database.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Issued => "issued",
            Self::Refused => "refused",
            Self::Revoked => "revoked",
            Self::Unrevoked => "unrevoked",
            Self::PendingCreated => "pending-created",
            Self::PendingApproved => "pending-approved",
            Self::PendingRejected => "pending-rejected",
            Self::ClientAdded => "client-added",
            Self::ClientDisabled => "client-disabled",
            Self::SecretAdded => "secret-added",
            Self::SecretLocked => "secret-locked",
            Self::SecretUnlocked => "secret-unlocked",
            Self::CaAdded => "ca-added",
            Self::CrlIssued => "crl-issued",
            Self::Other(s) => s,
        }
    }

    /// The kind with this name ([`AuditKind::Other`] if unknown).
    pub fn from_name(s: &str) -> Self {
        match s {
            "issued" => Self::Issued,
            "refused" => Self::Refused,
            "revoked" => Self::Revoked,
            "unrevoked" => Self::Unrevoked,
            "pending-created" => Self::PendingCreated,
            "pending-approved" => Self::PendingApproved,
            "pending-rejected" => Self::PendingRejected,
            "client-added" => Self::ClientAdded,
            "client-disabled" => Self::ClientDisabled,
            "secret-added" => Self::SecretAdded,
            "secret-locked" => Self::SecretLocked,
            "secret-unlocked" => Self::SecretUnlocked,
            "ca-added" => Self::CaAdded,
            "crl-issued" => Self::CrlIssued,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the audited action succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// It did.
    Success,
    /// It did not.
    Failure,
}

text_enum!(Outcome {
    Success => "success",
    Failure => "failure",
});

/// One audit event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: UnixTime,
    /// What.
    pub kind: AuditKind,
    /// Which CA, if any.
    pub issuer: Option<String>,
    /// Which serial, if any.
    pub serial: Option<Serial>,
    /// Which profile, if any.
    pub profile: Option<String>,
    /// Who asked, if known.
    pub requester: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Free text or JSON with the rest.
    pub detail: String,
}

/// An audit event as stored, with its sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Increasing with insertion.
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
}

/// Filters for [`crate::AuditLog::list_audit`]; `None` matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this kind.
    pub kind: Option<AuditKind>,
    /// Only this CA.
    pub issuer: Option<String>,
    /// Only this serial.
    pub serial: Option<Serial>,
    /// Only this requester.
    pub requester: Option<String>,
    /// Only events at or after this time.
    pub since: Option<UnixTime>,
    /// Only events before this time.
    pub until: Option<UnixTime>,
}

// ---------------------------------------------------------------- conversions

pub(crate) fn serial_from_db(bytes: Vec<u8>) -> Result<Serial> {
    Serial::from_be_bytes(&bytes).map_err(|_| Error::Corrupt("serial".into()))
}

pub(crate) fn fingerprint_from_db(bytes: &[u8]) -> Result<Fingerprint> {
    Fingerprint::try_from(bytes).map_err(|_| Error::Corrupt("fingerprint length".into()))
}

pub(crate) fn u32_from_db(v: i64, what: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::Corrupt(format!("{what} {v}")))
}

pub(crate) fn check_nonce(what: &str, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() || bytes.len() > MAX_NONCE_LEN {
        return Err(Error::Invalid(format!(
            "{what} must be 1 to {MAX_NONCE_LEN} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_normalises_leading_zeros() {
        let a = Serial::from_be_bytes(&[0, 0x80, 1]).unwrap();
        let b = Serial::from_be_bytes(&[0x80, 1]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_bytes(), &[0x80, 1]);
        assert_eq!(a.to_der_content(), vec![0, 0x80, 1]);
        assert_eq!(a.to_hex(), "8001");
        assert!(Serial::from_be_bytes(&[0, 0]).is_err());
        assert!(Serial::from_be_bytes(&[]).is_err());
        assert!(Serial::from_be_bytes(&[1; 21]).is_err());
        assert!(Serial::from_be_bytes(&[1; 20]).is_ok());
    }

    #[test]
    fn unix_time_round_trips_system_time() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_900);
        assert_eq!(UnixTime::from(t), UnixTime(1_700_000_000));
        let before = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(UnixTime::from(before), UnixTime(-1));
        assert_eq!(
            UnixTime(-5).to_system_time(),
            UNIX_EPOCH - Duration::from_secs(5)
        );
        assert_eq!(UnixTime(i64::MAX).plus_secs(1), UnixTime(i64::MAX));
    }

    #[test]
    fn reason_codes_round_trip() {
        for code in (0..=10).filter(|c| *c != 7) {
            assert_eq!(RevocationReason::from_code(code).unwrap().code(), code);
        }
        assert!(RevocationReason::from_code(7).is_err());
        assert!(RevocationReason::from_code(11).is_err());
    }

    #[test]
    fn ca_names() {
        for ok in ["root", "issuing-ca.2", "A_b"] {
            check_ca_name(ok).unwrap();
        }
        for bad in ["", "a/b", "..", "ä", &"x".repeat(65)] {
            assert!(check_ca_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn client_scopes() {
        let c = ClientRecord {
            id: "c".into(),
            cert_der: vec![1],
            fingerprint: fingerprint(&[1]),
            role: ClientRole::Ra,
            grants: vec![
                Grant {
                    ca: Scope::Named("a".into()),
                    profile: Scope::Any,
                },
                Grant {
                    ca: Scope::Any,
                    profile: Scope::Named("tls".into()),
                },
            ],
            expires_at: Some(UnixTime(100)),
            disabled_at: None,
            created_at: UnixTime(0),
            subject: Some("CN=c".into()),
            names: None,
        };
        assert!(c.may_use("a", "anything"));
        assert!(c.may_use("b", "tls"));
        assert!(!c.may_use("b", "smime"));
        assert!(c.is_active(UnixTime(99)));
        assert!(!c.is_active(UnixTime(100)));
    }

    #[test]
    fn pages() {
        let p = page_from(vec![(3, 'a'), (7, 'b')], 2);
        assert_eq!(p.next, Some(Cursor(7)));
        let p = page_from(vec![(3, 'a')], 2);
        assert_eq!(p.next, None);
        assert!(PageRequest::first(0).checked().is_err());
        assert!(PageRequest::first(1001).checked().is_err());
    }
}
