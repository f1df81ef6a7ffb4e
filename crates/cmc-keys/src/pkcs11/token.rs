//! One token: finding its slot by label, opening sessions and logging in
//! with the PIN.

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::RawAuthPin;

use super::config::Pkcs11Config;
use super::context::module_context;
use crate::Error;

/// One token: the shared module context, its slot and the PIN.
pub(super) struct Token {
    ctx: Pkcs11,
    slot: Slot,
    pub(super) label: String,
    pin: RawAuthPin,
}

impl Token {
    pub(super) fn open(config: &Pkcs11Config) -> Result<Self, Error> {
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

    pub(super) fn login(&self, session: &Session) -> Result<(), Error> {
        match session.login_with_raw(UserType::User, &self.pin) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(e) => Err(self.err("C_Login", e)),
        }
    }

    pub(super) fn open_session(&self, read_write: bool) -> Result<Session, Error> {
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
