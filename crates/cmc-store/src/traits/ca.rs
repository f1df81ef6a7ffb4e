//! [`CaStore`]: the CAs and their key generations.

use crate::error::Result;
use crate::types::{AuditEvent, CaGeneration, CaRecord, UnixTime};

/// The CAs this installation serves.
pub trait CaStore: Send + Sync {
    /// Stores a new CA. Records are never overwritten.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) if the name is
    /// taken, [`Error::NotFound`](crate::Error::NotFound) if `parent` names no
    /// stored CA, [`Error::Invalid`](crate::Error::Invalid) for a bad name.
    fn put_ca(&self, ca: &CaRecord) -> Result<()>;

    /// [`CaStore::put_ca`] and the CA's audit event in one transaction:
    /// both are stored, or neither. Returns the event's id.
    ///
    /// # Errors
    /// As [`CaStore::put_ca`]; nothing is written then.
    fn put_ca_with_audit(&self, ca: &CaRecord, event: &AuditEvent) -> Result<i64>;

    /// The CA called `name`, if any.
    ///
    /// # Errors
    /// Database failures.
    fn get_ca(&self, name: &str) -> Result<Option<CaRecord>>;

    /// All CAs, by name.
    ///
    /// # Errors
    /// Database failures.
    fn list_cas(&self) -> Result<Vec<CaRecord>>;

    /// Grants the CA `count` requests approved without an agent (the
    /// bootstrap of its first administrators). Set once, when the CA is
    /// created.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) if already set;
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown CA.
    fn set_auto_approvals(&self, ca: &str, count: u32) -> Result<()>;

    /// Takes one of the CA's auto-approvals: `true` if one was left and the
    /// grant is not locked. Of concurrent callers, at most `remaining`
    /// succeed.
    ///
    /// # Errors
    /// Database failures.
    fn take_auto_approval(&self, ca: &str) -> Result<bool>;

    /// Gives back an auto-approval taken for a request whose issuance then
    /// failed (never above the grant, and not once the grant is locked).
    ///
    /// # Errors
    /// Database failures.
    fn return_auto_approval(&self, ca: &str) -> Result<()>;

    /// Locks the CA's auto-approvals: none is given any more.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) if the CA has none.
    fn lock_auto_approvals(&self, ca: &str) -> Result<()>;

    /// The CA's auto-approvals: (granted, remaining, locked), if any were
    /// granted.
    ///
    /// # Errors
    /// Database failures.
    fn auto_approvals(&self, ca: &str) -> Result<Option<(u32, u32, bool)>>;

    /// The generation of CA `ca` that issues now (1 until a rollover).
    /// # Errors
    /// `NotFound` for an unknown CA.
    fn active_generation(&self, ca: &str) -> Result<u32>;

    /// The CA's other generations (passive and retired), oldest first.
    /// # Errors
    /// Database failures.
    fn list_generations(&self, ca: &str) -> Result<Vec<CaGeneration>>;

    /// Stores the passive next generation (active + 1) of a CA with its audit event, at once.
    ///
    /// # Errors
    /// `AlreadyExists` if it has a passive one (of concurrent callers, one wins); `NotFound`;
    /// `Invalid` for another number or state.
    fn put_passive_generation(&self, generation: &CaGeneration, event: &AuditEvent) -> Result<()>;

    /// Makes passive generation `generation` of `ca` active with `event`, at once: the active one
    /// is retired at `now`; the CA record takes the new certificate, key and chain. Of
    /// concurrent callers, exactly one succeeds.
    ///
    /// # Errors
    /// `NotFound` when there is no such passive generation (none, or already activated).
    fn activate_generation(
        &self,
        ca: &str,
        generation: u32,
        now: UnixTime,
        event: &AuditEvent,
    ) -> Result<()>;
}
