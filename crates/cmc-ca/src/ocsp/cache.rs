//! Signed OCSP responses kept for reuse.
//!
//! A response to a request without a nonce is the same for everyone who
//! asks the same question until its nextUpdate, so it is signed once and
//! handed out again, keyed by the CA and the DER of the request's CertIDs
//! (the serials and the hash algorithm the client chose). An entry is used
//! only while both hold:
//!
//! * now is before the response's nextUpdate (and not before its
//!   producedAt, should the clock step back), and
//! * the CA's revocation epoch, read from the store on every request, is
//!   the one it was answered at. Every revocation and every lifted hold
//!   moves the epoch in the same transaction that changes the status, on
//!   whichever process made it, so no response cached before a revocation
//!   is served after it: a node of a cluster notices another node's
//!   revocation on its next request, at the cost of one indexed read.
//!
//! The epoch is read before the statuses are looked up: a revocation that
//! lands between the two leaves an entry under the old epoch, which the
//! next request no longer matches. Responses with an unknown status are not
//! kept (the serial may be issued a moment later, which moves no epoch),
//! nor are responses carrying a nonce (they are for one client only).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use cmc_store::UnixTime;

use super::OcspReply;

/// Entries kept at most; when full, expired and outdated entries are
/// dropped, and if that frees nothing, all of them.
const MAX_ENTRIES: usize = 65_536;

#[derive(Debug)]
struct Entry {
    reply: OcspReply,
    epoch: u64,
}

/// The cache (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct OcspCache {
    entries: Mutex<HashMap<(String, Vec<u8>), Entry>>,
}

impl Entry {
    fn usable(&self, epoch: u64, now: UnixTime) -> bool {
        self.epoch == epoch
            && self.reply.produced_at.is_some_and(|p| p <= now)
            && self.reply.next_update.is_some_and(|n| now < n)
    }
}

impl OcspCache {
    /// The cached reply of `ca` to the CertIDs `key`, if it is still
    /// usable at `now` under revocation `epoch`.
    pub(crate) fn get(&self, ca: &str, key: &[u8], epoch: u64, now: UnixTime) -> Option<OcspReply> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(&(ca.to_owned(), key.to_vec()))
            .filter(|e| e.usable(epoch, now))
            .map(|e| e.reply.clone())
    }

    /// Keeps `reply`, answered at revocation `epoch`, if it may be reused.
    pub(crate) fn put(&self, ca: &str, key: Vec<u8>, reply: &OcspReply, epoch: u64, now: UnixTime) {
        if reply.nonce || reply.counts.unknown > 0 || reply.next_update.is_none() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|(c, _), e| c != ca || e.usable(epoch, now));
            entries.retain(|_, e| e.reply.next_update.is_some_and(|n| now < n));
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            (ca.to_owned(), key),
            Entry {
                reply: reply.clone(),
                epoch,
            },
        );
    }

    /// The entries kept for `ca`, and how many of them are still usable at
    /// `now` under revocation `epoch`.
    pub(crate) fn count(&self, ca: &str, epoch: u64, now: UnixTime) -> (usize, usize) {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .filter(|((c, _), _)| c == ca)
            .fold((0, 0), |(all, usable), (_, e)| {
                (all + 1, usable + usize::from(e.usable(epoch, now)))
            })
    }

    /// How many entries are kept (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocsp::StatusCounts;
    use cmc_asn1::ocsp::OcspResponseStatus;

    fn reply(good: usize, unknown: usize, nonce: bool) -> OcspReply {
        OcspReply {
            der: vec![0x30, 0x00],
            status: OcspResponseStatus::Successful,
            produced_at: Some(UnixTime::from_secs(100)),
            next_update: Some(UnixTime::from_secs(200)),
            nonce,
            counts: StatusCounts {
                good,
                revoked: 0,
                unknown,
            },
        }
    }

    #[test]
    fn entries_end_at_next_update_or_a_new_epoch() {
        let cache = OcspCache::default();
        let t = UnixTime::from_secs;
        cache.put("ca", b"id".to_vec(), &reply(1, 0, false), 3, t(100));
        assert!(cache.get("ca", b"id", 3, t(150)).is_some());
        assert!(cache.get("other", b"id", 3, t(150)).is_none());
        assert!(cache.get("ca", b"id2", 3, t(150)).is_none());
        // A revocation since.
        assert!(cache.get("ca", b"id", 4, t(150)).is_none());
        // Past nextUpdate, or a clock before producedAt.
        assert!(cache.get("ca", b"id", 3, t(200)).is_none());
        assert!(cache.get("ca", b"id", 3, t(99)).is_none());
    }

    #[test]
    fn counts_are_per_ca_and_tell_the_usable_ones() {
        let cache = OcspCache::default();
        let t = UnixTime::from_secs;
        cache.put("ca", b"a".to_vec(), &reply(1, 0, false), 3, t(100));
        cache.put("ca", b"b".to_vec(), &reply(1, 0, false), 3, t(100));
        cache.put("other", b"a".to_vec(), &reply(1, 0, false), 3, t(100));
        assert_eq!(cache.count("ca", 3, t(150)), (2, 2));
        assert_eq!(cache.count("other", 3, t(150)), (1, 1));
        assert_eq!(cache.count("none", 3, t(150)), (0, 0));
        // After a revocation or past nextUpdate: kept, not usable.
        assert_eq!(cache.count("ca", 4, t(150)), (2, 0));
        assert_eq!(cache.count("ca", 3, t(200)), (2, 0));
    }

    #[test]
    fn nonce_and_unknown_answers_are_not_kept() {
        let cache = OcspCache::default();
        let t = UnixTime::from_secs(100);
        cache.put("ca", b"a".to_vec(), &reply(1, 0, true), 1, t);
        cache.put("ca", b"b".to_vec(), &reply(1, 1, false), 1, t);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_full_cache_makes_room() {
        let cache = OcspCache::default();
        let t = UnixTime::from_secs(100);
        for i in 0..MAX_ENTRIES {
            cache.put("ca", i.to_be_bytes().to_vec(), &reply(1, 0, false), 1, t);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        // At a new epoch the old entries are outdated and go.
        cache.put("ca", b"new".to_vec(), &reply(1, 0, false), 2, t);
        assert_eq!(cache.len(), 1);
        assert!(cache.get("ca", b"new", 2, t).is_some());
    }
}
