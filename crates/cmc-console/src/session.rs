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

/// How a session logged in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Login {
    /// An operator password (`cmc-tool console passwd`), on loopback.
    Password,
    /// A TLS client certificate of a registered client principal; the
    /// certificate (DER) every request of the session must come with.
    Certificate {
        /// The certificate the login presented.
        cert_der: Vec<u8>,
    },
}

/// What a session may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rights {
    /// Everything: a password operator, or a certificate principal with
    /// the role `operator`.
    Operator,
    /// An agent principal: decide pending requests and revoke, hold and
    /// lift holds, on these CAs only (those its grants cover); no
    /// administration (clients, secrets).
    Agent {
        /// The CAs the agent's grants cover.
        cas: Vec<String>,
    },
}

/// The prefix of a certificate principal's requester: `console:cert:NAME`.
/// Operator names cannot hold a colon
/// ([`crate::password::valid_operator_name`]), so no password operator's
/// `console:NAME` is ever one of these.
pub const CERT_REQUESTER_PREFIX: &str = "console:cert:";

/// One logged-in operator or agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Who: the operator's name, or the client id of a certificate
    /// principal (see [`Session::requester`]).
    pub operator: String,
    /// How it logged in.
    pub login: Login,
    /// What it may do.
    pub rights: Rights,
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

impl Session {
    /// The requester the engine records for this session's actions:
    /// `console:NAME` for a password operator, `console:cert:NAME` for a
    /// certificate principal.
    #[must_use]
    pub fn requester(&self) -> String {
        match self.login {
            Login::Password => format!("console:{}", self.operator),
            Login::Certificate { .. } => format!("{CERT_REQUESTER_PREFIX}{}", self.operator),
        }
    }

    /// Whether this session may administer: disable clients, unlock
    /// secrets and whatever else changes who may ask the CA for what.
    #[must_use]
    pub fn may_administer(&self) -> bool {
        matches!(self.rights, Rights::Operator)
    }

    /// Whether this session may see and act on the certificates and
    /// pending requests of CA `ca`.
    #[must_use]
    pub fn may_act_on_ca(&self, ca: &str) -> bool {
        match &self.rights {
            Rights::Operator => true,
            Rights::Agent { cas } => cas.iter().any(|c| c == ca),
        }
    }
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

    /// Starts a password operator's session for `operator` at `now`;
    /// returns its id.
    ///
    /// # Errors
    /// [`Error::Rng`].
    pub fn create(&self, operator: &str, now: i64) -> Result<String, Error> {
        self.create_with(operator, Login::Password, Rights::Operator, now)
    }

    /// Starts a session for `operator`, logged in by `login`, with
    /// `rights`, at `now`; returns its id.
    ///
    /// # Errors
    /// [`Error::Rng`].
    pub fn create_with(
        &self,
        operator: &str,
        login: Login,
        rights: Rights,
        now: i64,
    ) -> Result<String, Error> {
        let id = random_token()?;
        let session = Session {
            operator: operator.to_owned(),
            login,
            rights,
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
    fn rights_and_requesters_follow_the_login() {
        let s = Sessions::new(Lifetimes::default());
        let id = s.create("admin", 10).unwrap();
        let op = s.get(&id, 11).unwrap();
        assert!(op.may_administer());
        assert!(op.may_act_on_ca("root") && op.may_act_on_ca("any"));
        assert_eq!(op.requester(), "console:admin");
        let id = s
            .create_with(
                "admin",
                Login::Certificate {
                    cert_der: vec![1, 2],
                },
                Rights::Agent {
                    cas: vec!["root".into()],
                },
                10,
            )
            .unwrap();
        let agent = s.get(&id, 11).unwrap();
        assert!(!agent.may_administer());
        assert!(agent.may_act_on_ca("root"));
        assert!(!agent.may_act_on_ca("issuing") && !agent.may_act_on_ca("roo"));
        // The same name as a password operator, told apart in the audit.
        assert_eq!(agent.requester(), "console:cert:admin");
        assert_ne!(agent.requester(), op.requester());
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(tokens_equal("abc", "abc"));
        assert!(!tokens_equal("abc", "abd"));
        assert!(!tokens_equal("abc", "ab"));
        assert!(!tokens_equal("", "a"));
    }
}
