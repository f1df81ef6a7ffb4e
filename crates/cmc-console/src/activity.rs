//! What the overview's chart shows: this node's issuance and failures per
//! minute over the last hour, handed in by the server (the console does
//! not depend on it) through [`Activity`].

/// One minute of a node's activity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Minute {
    /// The minute's start, Unix seconds (a multiple of 60).
    pub start: i64,
    /// Certificates issued in it.
    pub issued: u64,
    /// Enrollment requests that failed in it.
    pub failed: u64,
}

/// A source of per-minute activity (the server's metrics).
pub trait Activity: Send + Sync + std::fmt::Debug {
    /// The 60 minutes up to and including the one holding `now` (Unix
    /// seconds), oldest first; a minute without activity counts zero.
    fn last_hour(&self, now: i64) -> Vec<Minute>;
}
