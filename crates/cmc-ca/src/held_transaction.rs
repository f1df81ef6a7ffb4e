//! Which held request a transaction waits for, for protocols whose later
//! messages name the transaction rather than the request (CMP's pollReq,
//! RFC 4210 §5.3.22, RFC 9483 §4.4): kept in the transaction's replay
//! record (state `pending`), so that any node sharing the store, or the
//! same node after a restart, answers the poll.

use cmc_store::{TransactionState, fingerprint};

use crate::engine::Engine;
use crate::error::Error;
use crate::identify::Principal;
use crate::refusal::{Reason, Refused};

/// The prefix of a pending transaction's note written here.
const NOTE_PREFIX: &str = "held:";

/// A held request a transaction waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldTransaction {
    /// The held request's token ([`crate::Held::token`]).
    pub token: String,
    /// What the protocol answers once it is decided (CMP: `ip`, `cp`, `kup`).
    pub answer: String,
}

impl Engine {
    /// Notes that `principal`'s transaction `transaction_id` on `ca` waits
    /// for the held request `token`, and what its final answer is to be
    /// (`answer`: letters only).
    ///
    /// # Errors
    /// badRequest for an unusable transaction id or answer; internal for
    /// store failures.
    pub fn note_held_transaction(
        &self,
        ca: &str,
        principal: &Principal,
        transaction_id: &[u8],
        token: &str,
        answer: &str,
    ) -> Result<(), Refused> {
        if answer.is_empty() || !answer.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(Refused::new(Reason::BadRequest, "unusable answer kind"));
        }
        let internal = |e: cmc_store::Error| Refused::from_error(&Error::from(e), ca);
        let signer = fingerprint(principal.credential());
        let now = self.now();
        let expires = now.plus_secs(self.config().requests.transaction_lifetime_secs);
        // The record exists when the request's replay records were
        // committed; opening it is a no-op then, and makes it otherwise.
        self.store()
            .open_transaction(&signer, transaction_id, expires, now)
            .map_err(internal)?;
        self.store()
            .set_transaction_state(
                &signer,
                transaction_id,
                &TransactionState::Pending(format!("{NOTE_PREFIX}{answer}:{token}")),
                expires,
                now,
            )
            .map_err(internal)
    }

    /// The held request `principal`'s transaction `transaction_id` waits
    /// for, if [`Engine::note_held_transaction`] noted one and the record
    /// has not expired.
    ///
    /// # Errors
    /// internal for store failures.
    pub fn held_transaction(
        &self,
        ca: &str,
        principal: &Principal,
        transaction_id: &[u8],
    ) -> Result<Option<HeldTransaction>, Refused> {
        let record = self
            .store()
            .get_transaction(&fingerprint(principal.credential()), transaction_id)
            .map_err(|e| Refused::from_error(&Error::from(e), ca))?;
        let now = self.now();
        Ok(record
            .filter(|r| r.expires_at > now)
            .and_then(|r| match r.state {
                TransactionState::Pending(note) => note
                    .strip_prefix(NOTE_PREFIX)
                    .and_then(|rest| rest.split_once(':'))
                    .map(|(answer, token)| HeldTransaction {
                        token: token.to_owned(),
                        answer: answer.to_owned(),
                    }),
                _ => None,
            }))
    }
}
