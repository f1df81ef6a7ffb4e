//! The one error type of this crate.

use crate::types::{Revocation, Serial};

/// Everything a store operation can fail with.
///
/// The variants a caller acts on (a serial already taken, a replayed nonce, a
/// used or locked secret, ...) are distinct; whatever the database itself
/// reports goes into [`Error::Backend`], whose text never contains the password
/// of the connection URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The (issuer, serial) pair is already reserved or issued. Pick another
    /// random serial and try again.
    #[error("serial {serial} is already in use for issuer {issuer}")]
    SerialInUse {
        /// The issuing CA's name.
        issuer: String,
        /// The serial that was asked for.
        serial: Serial,
    },

    /// The record the operation refers to does not exist.
    #[error("{0} not found")]
    NotFound(String),

    /// A record with the same unique key (CA name, client id or fingerprint,
    /// secret identification, pending id) already exists.
    #[error("{0} already exists")]
    AlreadyExists(String),

    /// The certificate is already revoked; the first revocation record stands
    /// and is returned unchanged.
    #[error("certificate {serial} of {issuer} is already revoked ({revocation})")]
    AlreadyRevoked {
        /// The issuing CA's name.
        issuer: String,
        /// The certificate's serial.
        serial: Serial,
        /// The revocation as first recorded.
        revocation: Revocation,
    },

    /// The record exists but is not in a state that allows the operation (a
    /// reservation completed twice, a pending request decided twice, a
    /// certificate unrevoked that is not on hold, ...).
    #[error("invalid state: {0}")]
    InvalidState(String),

    /// An argument was refused before the database was asked (empty serial,
    /// page limit of zero, malformed URL, ...).
    #[error("invalid argument: {0}")]
    Invalid(String),

    /// This nonce was already seen from this signer and has not expired.
    #[error("replayed nonce")]
    Replay,

    /// The shared secret has already been used once.
    #[error("shared secret already used")]
    SecretUsed,

    /// The shared secret is locked after too many failed attempts.
    #[error("shared secret locked after too many failed attempts")]
    SecretLocked,

    /// The shared secret is past its expiry time.
    #[error("shared secret expired")]
    SecretExpired,

    /// The database was written by a newer version of this code; refusing to
    /// touch it.
    #[error(
        "database schema version {found} is newer than the {supported} this build supports; \
         upgrade the software"
    )]
    SchemaTooNew {
        /// The highest migration version recorded in the database.
        found: i64,
        /// The highest migration version this build knows.
        supported: i64,
    },

    /// A value read back from the database does not decode (an unknown status
    /// string, a negative count, ...). The database was changed outside this
    /// crate.
    #[error("corrupt record: {0}")]
    Corrupt(String),

    /// Creating the SQLite file or its directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The database reported an error (connection, SQL, constraint not mapped
    /// above, pool exhausted). Passwords are redacted from the text.
    #[error("database error: {0}")]
    Backend(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
