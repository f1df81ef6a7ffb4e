//! The one error type of this crate.

use cmc_store::UnixTime;

/// Everything the engine can fail with.
///
/// Store and key failures keep their own typed errors (as [`Error::Store`]
/// and [`Error::Key`]) so a caller can still tell a taken serial from a
/// wrong PIN. No variant carries a PIN or passphrase.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store refused or failed an operation.
    #[error(transparent)]
    Store(#[from] cmc_store::Error),

    /// A key could not be generated, opened, stored or used to sign.
    #[error(transparent)]
    Key(#[from] cmc_keys::Error),

    /// No CA of this name is loaded (or stored).
    #[error("unknown CA {0:?}")]
    UnknownCa(String),

    /// A CA of this name already exists.
    #[error("CA {0:?} already exists")]
    CaExists(String),

    /// Loading a stored CA failed; the engine refuses to start without it.
    #[error("cannot load CA {ca:?}: {source}")]
    CaLoad {
        /// The CA's name.
        ca: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },

    /// The CA's key opened, but its public key is not the one in the CA
    /// certificate.
    #[error("the key of CA {ca:?} does not match the public key of its certificate")]
    KeyMismatch {
        /// The CA's name.
        ca: String,
    },

    /// A key reference (the JSON in `CaRecord::key_ref`) does not parse or
    /// is inconsistent (both a passphrase and `unencrypted`, neither, a
    /// PKCS#11 key with neither label nor id, ...).
    #[error("invalid key reference: {0}")]
    KeyConfig(String),

    /// The key reference names a PKCS#11 key, and this build has no PKCS#11
    /// support (the `pkcs11` feature is off).
    #[error("this build has no PKCS#11 support (feature `pkcs11`)")]
    Pkcs11Disabled,

    /// A subject distinguished name does not parse, or is empty.
    #[error("invalid subject name {subject:?}: {detail}")]
    InvalidSubject {
        /// The string given.
        subject: String,
        /// Why it was refused.
        detail: String,
    },

    /// A request to the engine was refused before anything was changed
    /// (zero validity, removeFromCRL given to `revoke`, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The configuration file does not parse or has a bad value; the text
    /// names the key and, for syntax errors, the line.
    #[error("configuration: {0}")]
    Config(String),

    /// The CA is not valid at this time (expired, or not valid yet), so it
    /// cannot sign what was asked.
    #[error("CA {ca:?} is not valid at {now} (valid {not_before} to {not_after})")]
    CaNotValid {
        /// The CA's name.
        ca: String,
        /// The time asked about.
        now: UnixTime,
        /// The CA certificate's notBefore.
        not_before: UnixTime,
        /// The CA certificate's notAfter.
        not_after: UnixTime,
    },

    /// A certificate or CRL (stored, or given by the caller) does not decode
    /// or lacks something required.
    #[error("bad {what}: {detail}")]
    BadCertificate {
        /// What was being read (CA certificate, client certificate, CRL).
        what: &'static str,
        /// Why.
        detail: String,
    },

    /// DER encoding or certificate building failed.
    #[error("encoding {what}: {detail}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why.
        detail: String,
    },

    /// A time cannot be expressed in X.509 (before 1970 or after 9999).
    #[error("time {0} is out of the range X.509 can encode")]
    TimeOutOfRange(UnixTime),

    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Rng,

    /// The issuance profile refused the request, the pre-issuance lint
    /// found a problem, or the prepared certificate could not be built;
    /// the policy's error says which.
    #[error(transparent)]
    Policy(#[from] cmc_policy::Error),

    /// The subject asked for is reserved for a part of the CA's machinery
    /// (a CA, a client credential, a responder) that is not the requester.
    #[error("the subject {subject} is reserved for {reserved_for}")]
    ReservedName {
        /// The subject asked for.
        subject: String,
        /// Whom it is reserved for.
        reserved_for: String,
    },

    /// A name in the certificate is outside the names the requester is
    /// registered for.
    #[error("{0}")]
    NameNotRegistered(String),

    /// A renewal asks for names its signing certificate does not have (a
    /// holder renews for exactly its certificate's names or a subset).
    #[error("{0}")]
    RenewalNames(String),

    /// The CA's settings do not let it issue with this profile.
    #[error("CA {ca:?} does not issue with profile {profile:?}")]
    ProfileNotAllowed {
        /// The CA's name.
        ca: String,
        /// The profile asked for.
        profile: String,
    },

    /// A file of the CA's data directory (the embedded setup) could not be
    /// created, written or resolved.
    #[error("{what} {}: {detail}", path.display())]
    File {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What was being done.
        what: &'static str,
        /// The operating system's error.
        detail: String,
    },

    /// The signature the CA key produced over a TBS certificate does not
    /// verify with the CA's public key (a faulty key backend); nothing was
    /// issued. Checked for every key whose
    /// [`SigningKey::signatures_need_verifying`](cmc_keys::SigningKey::signatures_need_verifying)
    /// (PKCS #11 tokens), not for file keys.
    #[error("the signature of CA {ca:?} over a certificate does not verify: {detail}")]
    BadCaSignature {
        /// The CA's name.
        ca: String,
        /// What the verifier said.
        detail: String,
    },

    /// A backup could not be made, read or restored; the text says why (a
    /// changed file, a key that is not a recipient, a target that is not
    /// empty, ...).
    #[error("backup: {0}")]
    Backup(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An encoding failure of `what`.
    #[must_use]
    pub fn encode(what: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Encode {
            what,
            detail: e.to_string(),
        }
    }

    /// A failure to `what` the file `path`.
    pub(crate) fn file(path: &std::path::Path, what: &'static str, e: &std::io::Error) -> Self {
        Self::File {
            path: path.to_path_buf(),
            what,
            detail: e.to_string(),
        }
    }

    /// `what` (a certificate, a CRL) does not decode or lacks something.
    #[must_use]
    pub fn bad(what: &'static str, e: impl std::fmt::Display) -> Self {
        Self::BadCertificate {
            what,
            detail: e.to_string(),
        }
    }
}
