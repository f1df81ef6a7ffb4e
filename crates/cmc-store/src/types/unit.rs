//! A write unit: everything one request writes, described as data and
//! committed in one transaction ([`crate::UnitStore::commit_unit`]).

use super::{AuditEvent, Fingerprint, IssuedCert, NewReservation, UnixTime};

/// One write of a [`WriteUnit`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Write {
    /// A nonce of `signer`, remembered until `expires_at`. The unit fails
    /// with [`Error::Replay`](crate::Error::Replay) when the signer sent it
    /// before and it has not expired (also when another unit committed it
    /// a moment earlier).
    Nonce {
        /// The signer's credential fingerprint.
        signer: Fingerprint,
        /// The nonce (1 to [`MAX_NONCE_LEN`](crate::MAX_NONCE_LEN) bytes).
        nonce: Vec<u8>,
        /// When it may be used again.
        expires_at: UnixTime,
    },
    /// A transactionId of `signer`, opened or joined (a transaction recurs
    /// across its rounds, so an existing unexpired one is not an error; an
    /// expired one starts afresh).
    Transaction {
        /// The signer's credential fingerprint.
        signer: Fingerprint,
        /// The transaction id (1 to [`MAX_NONCE_LEN`](crate::MAX_NONCE_LEN)
        /// bytes).
        transaction_id: Vec<u8>,
        /// When the record expires.
        expires_at: UnixTime,
    },
    /// A signed certificate under its serial (and the linted TBS, in
    /// `serial.tbs_der`). The unit fails with
    /// [`Error::SerialInUse`](crate::Error::SerialInUse) when the serial is
    /// taken: draw another and sign again.
    Certificate {
        /// The serial, its issuer, requester, profile, request hash and TBS.
        serial: NewReservation,
        /// The certificate.
        cert: IssuedCert,
    },
    /// A serial that was drawn and used in a prepared TBS but not issued:
    /// kept, failed, so it is never reused.
    FailedSerial {
        /// The serial and what it was for.
        serial: NewReservation,
        /// Why it was not issued.
        reason: String,
    },
    /// A one-time secret spent (the unit fails with
    /// [`Error::SecretUsed`](crate::Error::SecretUsed) and the like when it
    /// cannot be).
    SpendSecret {
        /// Its CA.
        ca: String,
        /// Its identification.
        identification: String,
    },
    /// An audit event.
    Audit(AuditEvent),
}

/// Everything one request writes, committed at once: all of it, or (when
/// one write is refused) none of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteUnit {
    /// The time of the request (nonce and transaction records are created
    /// at it; expired records are replaced when older than it).
    pub at: UnixTime,
    /// The writes, applied in order.
    pub writes: Vec<Write>,
}

impl WriteUnit {
    /// An empty unit at `at`.
    #[must_use]
    pub fn new(at: UnixTime) -> Self {
        Self {
            at,
            writes: Vec::new(),
        }
    }

    /// Adds a write.
    pub fn push(&mut self, write: Write) {
        self.writes.push(write);
    }

    /// Whether the unit writes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// Counters of the unit writer since the store was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Durable commits that held at least one unit.
    pub commits: u64,
    /// Units committed.
    pub units: u64,
    /// Units refused (rolled back alone).
    pub failed_units: u64,
    /// Units waiting for the next commit, now.
    pub queued: u64,
    /// Units in the commit running now.
    pub committing: u64,
}
