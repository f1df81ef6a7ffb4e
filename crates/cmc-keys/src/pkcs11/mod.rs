//! Keys on a PKCS#11 token (an HSM, a smart card, SoftHSM2), through cryptoki.
//!
//! A key is addressed by the module's path, the token's label (not its slot
//! number, which can change between boots) and the key's `CKA_LABEL` and/or
//! `CKA_ID`. The user PIN comes from a [`SecretSource`](crate::SecretSource).
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
//!   operation is retried once. Anything else is an [`Error`](crate::Error),
//!   never a panic.
//!
//! Login state in PKCS#11 belongs to the application, not the session: once
//! one session of this process is logged in, `C_Login` on another returns
//! `CKR_USER_ALREADY_LOGGED_IN` (which is not an error) without checking the
//! PIN again.
//!
//! The parts, one topic a file:
//! - `config`: [`KeyLocator`] and [`Pkcs11Config`];
//! - `context`: [`module_context`], one initialised module per path;
//! - `token`: the token's slot, sessions and login;
//! - `pool`: the session pool;
//! - `key`: [`Pkcs11Key`], a session call with recovery, [`PrivateKeyAttributes`];
//! - `lookup`: the private key and the public key read from the token;
//! - `sign`: the mechanisms, `DigestInfo` and ECDSA `r‖s` to DER;
//! - `decrypt`: RSA key transport and ECDH on the token
//!   ([`DecryptionKey`](crate::DecryptionKey));
//! - `lifecycle`: generating and destroying key pairs;
//! - `errors`: cryptoki errors to [`Error`](crate::Error), and which are retried.

use std::sync::{Mutex, MutexGuard, PoisonError};

mod config;
mod context;
mod decrypt;
mod errors;
mod key;
mod lifecycle;
mod lookup;
mod pool;
mod sign;
mod token;

pub use config::{KeyLocator, Pkcs11Config};
pub use context::module_context;
pub use key::{Pkcs11Key, PrivateKeyAttributes};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data behind our mutexes stays consistent across a panic (a map of
    // contexts, a list of idle sessions, a handle), so a poisoned lock is
    // still usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
