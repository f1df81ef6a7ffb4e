//! Login sessions, in the memory of this node: a random id in an HttpOnly,
//! SameSite=Strict cookie, the operator's name, a CSRF token every form
//! carries, an idle and an absolute expiry (by the engine's clock).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use subtle::ConstantTimeEq as _;

use crate::Error;

/// The most sessions kept at once; a new login past it drops the one
/// closest to its end.
pub const MAX_SESSIONS: usize = 1024;

/// One logged-in operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Who: the operator's name, as the audit records it (`console:NAME`).
    pub operator: String,
    /// The token every form of this session carries.
    pub csrf: String,
    /// When it was created (engine clock, seconds).
    pub created: i64,
    /// When it was last used.
    pub last_used: i64,
}

/// How long sessions last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// Seconds without a request after which a session ends.
    pub idle_secs: i64,
    /// Seconds after login after which a session ends regardless.
    pub max_secs: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            idle_secs: 30 * 60,
            max_secs: 8 * 3600,
        }
    }
}

/// The sessions of this node.
#[derive(Debug, Default)]
pub struct Sessions {
    lifetimes: Lifetimes,
    by_id: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes in hex.
pub(crate) fn random_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| Error::Rng)?;
    Ok(base16ct::lower::encode_string(&bytes))
}

/// Whether two tokens are equal, in time independent of where they differ.
#[must_use]
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Sessions {
    /// No sessions yet, with these lifetimes.
    #[must_use]
    pub fn new(lifetimes: Lifetimes) -> Self {
        Self {
            lifetimes,
            by_id: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // Every change is one insert or remove: a panic elsewhere cannot
        // leave the map half-changed.
        self.by_id.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a session for `operator` at `now`; returns its id.
    ///
    /// # Errors
    /// [`Error::Rng`].
    pub fn create(&self, operator: &str, now: i64) -> Result<String, Error> {
        let id = random_token()?;
        let session = Session {
            operator: operator.to_owned(),
            csrf: random_token()?,
            created: now,
            last_used: now,
        };
        let mut map = self.lock();
        map.retain(|_, s| self.alive(s, now));
        if map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        map.insert(id.clone(), session);
        Ok(id)
    }

    fn alive(&self, s: &Session, now: i64) -> bool {
        now - s.last_used < self.lifetimes.idle_secs && now - s.created < self.lifetimes.max_secs
    }

    /// The session with id `id` if it is still alive at `now` (and marks
    /// it used); an expired one is forgotten.
    #[must_use]
    pub fn get(&self, id: &str, now: i64) -> Option<Session> {
        let mut map = self.lock();
        let alive = map.get(id).map(|s| self.alive(s, now))?;
        if !alive {
            map.remove(id);
            return None;
        }
        let s = map.get_mut(id)?;
        s.last_used = now;
        Some(s.clone())
    }

    /// Ends the session `id`.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_at_their_maximum() {
        let s = Sessions::new(Lifetimes {
            idle_secs: 100,
            max_secs: 250,
        });
        let id = s.create("admin", 1000).unwrap();
        assert_eq!(id.len(), 64);
        let got = s.get(&id, 1050).unwrap();
        assert_eq!(got.operator, "admin");
        assert_eq!(got.csrf.len(), 64);
        assert_ne!(got.csrf, id);
        assert!(s.get(&id, 1149).is_some(), "used at 1050: idle until 1150");
        assert!(s.get(&id, 1240).is_some());
        assert!(s.get(&id, 1250).is_none(), "the absolute maximum");
        let id = s.create("admin", 2000).unwrap();
        assert!(s.get(&id, 2100).is_none(), "idle");
        assert!(s.get(&id, 2001).is_none(), "and forgotten");
        let id = s.create("admin", 3000).unwrap();
        s.remove(&id);
        assert!(s.get(&id, 3001).is_none());
        assert!(s.get("guess", 3001).is_none());
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(tokens_equal("abc", "abc"));
        assert!(!tokens_equal("abc", "abd"));
        assert!(!tokens_equal("abc", "ab"));
        assert!(!tokens_equal("", "a"));
    }
}
