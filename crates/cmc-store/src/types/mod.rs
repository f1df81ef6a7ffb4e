//! Values and records passed to and returned by the store traits, one file
//! per record family as in [`crate::traits`]; [`values`] and [`page`] hold
//! what they all share.

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

mod audit;
mod bulk;
mod ca;
mod catalog;
mod cert;
mod client;
mod confirmation;
mod crl;
mod page;
mod pending;
mod replay;
mod search;
mod secret;
mod unit;
mod values;

pub use audit::{AuditEvent, AuditFilter, AuditKind, AuditRecord, Outcome};
pub use bulk::{BulkCert, ImportedRevocation};
pub use ca::{CaGeneration, CaRecord, GenerationState, check_ca_name};
pub use catalog::{CertCounts, CertOrder, CertRange, ListedCert};
pub use cert::{
    CertFilter, CertRecord, CertState, CertStatus, IssuedCert, NewReservation, Revocation,
    RevocationReason, RevokedEntry,
};
pub use client::{ClientRecord, ClientRole, Grant, MacCredential, NewClient, Scope};
pub use confirmation::{ConfirmationRecord, ConfirmationState, NewConfirmation};
pub use crl::CrlRecord;
pub(crate) use page::page_from;
pub use page::{Cursor, Page, PageRequest};
pub use pending::{NewPending, PendingFilter, PendingRecord, PendingState, PendingStatus};
pub use replay::{MAX_NONCE_LEN, TransactionOpen, TransactionRecord, TransactionState};
pub(crate) use replay::{check_nonce, nonce_key};
pub(crate) use search::check_limit;
pub use search::{
    AuditSearch, CertSearch, Keyset, MAX_SEARCH_PAGE, SearchPage, SerialPrefix, StatusCount,
    TimeRange,
};
pub use secret::{NewSecret, SecretFailures, SecretPurpose, SecretRecord};
pub use unit::{Write, WriteStats, WriteUnit};
pub use values::{Fingerprint, Serial, UnixTime, fingerprint};
pub(crate) use values::{fingerprint_from_db, serial_from_db, u32_from_db};
