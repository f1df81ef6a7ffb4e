//! What a cryptoki error means here: the crate [`Error`] it becomes
//! ([`Token::err`]), and whether a failed call is worth recovering from and
//! retrying ([`recovery`]).

use cryptoki::error::{Error as CkError, RvError};

use super::token::Token;
use crate::Error;

impl Token {
    pub(super) fn err(&self, op: &'static str, e: CkError) -> Error {
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
}

/// What to do after a failed token call before retrying it once.
pub(super) enum Recovery {
    /// Log in again and look the key up again.
    Relogin,
    /// Replace the session (and look the key up again).
    NewSession,
    /// Give up.
    None,
}

pub(super) fn recovery(e: &CkError) -> Recovery {
    match e {
        CkError::Pkcs11(
            RvError::UserNotLoggedIn | RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid,
            _,
        ) => Recovery::Relogin,
        // A session left with an operation under way (a call that failed
        // between its Init and its end) is replaced too.
        CkError::Pkcs11(
            RvError::SessionHandleInvalid | RvError::SessionClosed | RvError::OperationActive,
            _,
        ) => Recovery::NewSession,
        _ => Recovery::None,
    }
}
