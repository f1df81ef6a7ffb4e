//! Sending the prepared requests: closed loop (each thread sends its next
//! request when the last is answered) or open loop (request `i` is due at
//! a fixed time, latency counted from it), over kept-alive connections or
//! one connection per request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use super::Prepared;
use crate::commands::exchange::CMC_REQUEST_CONTENT_TYPE;
use crate::http;

/// What one request got: its latency, how late it was sent (open loop)
/// and the HTTP answer (or why none).
pub(super) struct Exchange {
    pub(super) latency: Duration,
    pub(super) lag: Duration,
    pub(super) reply: Result<http::Response>,
}

/// How the requests are released.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Pace {
    /// Each thread sends its next request when the last is answered.
    Closed,
    /// Request `i` is due `i / per_s` seconds after the start.
    Open { per_s: f64 },
}

impl Pace {
    /// When request `i` is due, for a run started at `start`; `None` in a
    /// closed loop (it is due when a thread takes it).
    pub(super) fn due(self, start: Instant, i: usize) -> Option<Instant> {
        match self {
            Pace::Closed => None,
            Pace::Open { per_s } => Some(start + Duration::from_secs_f64(i as f64 / per_s)),
        }
    }
}

/// How the requests are sent.
pub(super) struct Sender<'a> {
    pub(super) url: &'a http::Url,
    pub(super) concurrency: usize,
    pub(super) timeout: Duration,
    pub(super) keep_alive: bool,
    pub(super) pace: Pace,
}

impl Sender<'_> {
    /// Sends every request over `concurrency` threads; each takes the next
    /// unsent request until none is left, and (open loop) waits for its due
    /// time. Returns the outcomes in request order and the wall time from
    /// the start to the last answer.
    pub(super) fn send_all(&self, prepared: &[Prepared]) -> (Vec<Exchange>, Duration) {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Exchange>>> =
            Mutex::new((0..prepared.len()).map(|_| None).collect());
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..self.concurrency.min(prepared.len()) {
                s.spawn(|| {
                    // One client per thread: with keep-alive its connection
                    // is opened by the first request and kept for the next.
                    let client = if self.keep_alive {
                        http::Client::new(self.timeout, None)
                    } else {
                        http::Client::one_connection_per_request(self.timeout, None)
                    };
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = prepared.get(i) else { break };
                        let due = self.pace.due(start, i);
                        if let Some(wait) =
                            due.and_then(|d| d.checked_duration_since(Instant::now()))
                        {
                            std::thread::sleep(wait);
                        }
                        let sent = Instant::now();
                        let reply = match &client {
                            Ok(c) => c.post(self.url, CMC_REQUEST_CONTENT_TYPE, &p.der),
                            Err(e) => Err(anyhow!("{e:#}")),
                        };
                        // Open loop: from when it was due, so that time spent
                        // waiting for a free connection counts.
                        let from = due.unwrap_or(sent);
                        let exchange = Exchange {
                            latency: from.elapsed(),
                            lag: sent.saturating_duration_since(from),
                            reply,
                        };
                        if let Ok(mut r) = results.lock() {
                            r[i] = Some(exchange);
                        }
                    }
                });
            }
        });
        let wall = start.elapsed();
        let outcomes = results
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Exchange {
                    latency: Duration::ZERO,
                    lag: Duration::ZERO,
                    reply: Err(anyhow!("not sent")),
                })
            })
            .collect();
        (outcomes, wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_loop_schedules_requests_evenly() {
        let start = Instant::now();
        assert_eq!(Pace::Closed.due(start, 7), None);
        let pace = Pace::Open { per_s: 400.0 };
        assert_eq!(pace.due(start, 0), Some(start));
        assert_eq!(pace.due(start, 400), Some(start + Duration::from_secs(1)));
        assert_eq!(
            pace.due(start, 1),
            Some(start + Duration::from_micros(2500))
        );
    }
}
