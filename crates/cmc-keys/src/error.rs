//! The crate's error type.

use std::path::PathBuf;

use crate::{KeySpec, SignatureScheme};

/// Errors from key backends.
///
/// One variant per distinct failure, so a caller (or an operator reading the
/// message) can tell a wrong PIN from a missing token from a missing key.
/// No variant ever carries a PIN or passphrase.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The backend failed to produce a signature.
    #[error("signing failed: {0}")]
    Sign(String),

    /// A ciphertext did not decrypt with the key (wrong key, or corrupted).
    #[error("decryption failed")]
    Decrypt,

    /// A configuration string (key type, padding, hash, scheme, key id,
    /// secret source) could not be parsed.
    #[error("invalid {what} {value:?}: expected {expected}")]
    Parse {
        /// What was being parsed.
        what: &'static str,
        /// The offending input (never a secret).
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },

    /// The signature scheme does not fit the key (an RSA padding for an EC
    /// key, ECDSA for an RSA key).
    #[error("signature scheme {scheme} cannot be used with a {key} key")]
    IncompatibleScheme {
        /// The requested scheme.
        scheme: SignatureScheme,
        /// The key it was requested for.
        key: KeySpec,
    },

    /// The key's algorithm, curve or size is not one this crate signs with
    /// (P-256/384/521, RSA 2048/3072/4096), or the key file uses an
    /// encoding or encryption we do not read.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),

    /// The environment variable that should hold a passphrase or PIN is not set.
    #[error("environment variable {name} (which should hold the secret) is not set")]
    SecretEnvMissing {
        /// The variable's name.
        name: String,
    },

    /// The file that should hold a passphrase or PIN cannot be read.
    #[error("cannot read secret file {}: {source}", path.display())]
    SecretFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The passphrase or PIN read from its source is empty.
    #[error("the secret from {origin} is empty")]
    EmptySecret {
        /// The source, as `env:NAME` or `file:PATH`.
        origin: String,
    },

    /// A key file already exists where a new one was to be written; key
    /// files are never overwritten.
    #[error("refusing to overwrite existing key file {}", path.display())]
    KeyFileExists {
        /// The existing file.
        path: PathBuf,
    },

    /// Reading or writing a key file failed.
    #[error("key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The PEM data ends before its `-----END ...-----` line, or its
    /// contents end before the DER structure does.
    #[error("truncated PEM: {0}")]
    TruncatedPem(String),

    /// The data is not a well-formed PEM private key (bad base64, bad DER,
    /// no private-key block at all, an invalid key value).
    #[error("malformed private key: {0}")]
    MalformedKey(String),

    /// The passphrase does not decrypt the encrypted private key.
    #[error("wrong passphrase: the encrypted private key could not be decrypted")]
    WrongPassphrase,

    /// An encrypted private key was given but no passphrase.
    #[error("the private key is encrypted and no passphrase was given")]
    PassphraseRequired,

    /// An unencrypted private key was found where an encrypted one was
    /// required; unencrypted keys are only read through the explicit
    /// `load_unencrypted` API.
    #[error(
        "{origin} holds an unencrypted private key; use the explicit unencrypted-key API if that is intended"
    )]
    UnencryptedKey {
        /// Where the key came from.
        origin: String,
    },

    /// Encoding a key or a structure failed.
    #[error("encoding failed: {0}")]
    Encode(String),

    /// Generating a software key failed.
    #[error("key generation failed: {0}")]
    KeyGeneration(String),

    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Rng,

    /// The PKCS#11 module cannot be loaded or initialised.
    #[error("PKCS#11 module {}: {detail}", module.display())]
    Pkcs11Module {
        /// The module's path.
        module: PathBuf,
        /// Why.
        detail: String,
    },

    /// No token with this label is present.
    #[error("no PKCS#11 token labelled {label:?} is present")]
    TokenNotFound {
        /// The token label searched for.
        label: String,
    },

    /// Several tokens carry this label, so the key's location is ambiguous.
    #[error("{count} PKCS#11 tokens are labelled {label:?}; token labels must be unique")]
    AmbiguousToken {
        /// The token label.
        label: String,
        /// How many tokens carry it.
        count: usize,
    },

    /// The token rejected the user PIN.
    #[error("wrong PIN for PKCS#11 token {token:?}")]
    WrongPin {
        /// The token label.
        token: String,
    },

    /// The token's user PIN is locked (too many wrong attempts).
    #[error("the user PIN of PKCS#11 token {token:?} is locked")]
    PinLocked {
        /// The token label.
        token: String,
    },

    /// No private key on the token matches the label / id.
    #[error("no {what} with {key} on PKCS#11 token {token:?}")]
    KeyNotFound {
        /// The token label.
        token: String,
        /// The label and/or id searched for.
        key: String,
        /// "private key" or "public key".
        what: &'static str,
    },

    /// Several key objects on the token match the label / id.
    #[error(
        "{count} key objects match {key} on PKCS#11 token {token:?}; use a unique label or the key id"
    )]
    AmbiguousKey {
        /// The token label.
        token: String,
        /// The label and/or id searched for.
        key: String,
        /// How many keys match.
        count: usize,
    },

    /// Key generation was asked for a label / id that a key on the token
    /// already has.
    #[error("a key with {key} already exists on PKCS#11 token {token:?}")]
    KeyExists {
        /// The token label.
        token: String,
        /// The label and/or id.
        key: String,
    },

    /// The key on the token may not be used for what was asked: its
    /// `CKA_DECRYPT` (RSA key transport) or `CKA_DERIVE` (ECDH) attribute is
    /// false.
    #[error(
        "the key with {key} on PKCS#11 token {token:?} cannot be used for {purpose}: its {attribute} is false (make the key with {attribute} true)"
    )]
    KeyUsage {
        /// The token label.
        token: String,
        /// The label and/or id of the key.
        key: String,
        /// The attribute that must be true (`CKA_DECRYPT`, `CKA_DERIVE`).
        attribute: &'static str,
        /// What the key was to be used for.
        purpose: &'static str,
    },

    /// The token refused a mechanism or its parameters for this key (for
    /// example RSAES-OAEP with SHA-256, which SoftHSM 2.6 does not do).
    #[error("PKCS#11 token {token:?} does not do {mechanism} with this key: {detail}")]
    MechanismUnsupported {
        /// The token label.
        token: String,
        /// The mechanism and its parameters, in words.
        mechanism: String,
        /// The module's return value, described.
        detail: String,
    },

    /// A PKCS#11 call failed for a reason not covered above.
    #[error("PKCS#11 {op} failed on token {token:?}: {detail}")]
    Token {
        /// The token label.
        token: String,
        /// What we were doing (for example `C_Sign`).
        op: &'static str,
        /// The module's return value, described.
        detail: String,
    },
}
