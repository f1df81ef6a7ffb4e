//! A small bounded connection pool: at most `max` connections, opened on
//! demand, handed to one thread at a time, waited for with a deadline.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

type Connect<C> = Box<dyn Fn() -> Result<C> + Send + Sync>;

pub(crate) struct Pool<C> {
    state: Mutex<State<C>>,
    freed: Condvar,
    max: usize,
    wait: Duration,
    connect: Connect<C>,
    healthy: fn(&C) -> bool,
}

struct State<C> {
    idle: Vec<C>,
    open: usize,
    /// Callers waiting in `get`: a connection given back wakes one only if
    /// there is one (std's `Condvar::notify_one` makes a futex system call
    /// whether or not anyone waits, and every store read gives one back).
    waiting: usize,
}

impl<C> Pool<C> {
    /// `connect` opens a new connection; `healthy` says whether a returned one
    /// may be reused (a closed PostgreSQL connection is dropped instead).
    pub(crate) fn new(
        max: usize,
        wait: Duration,
        connect: Connect<C>,
        healthy: fn(&C) -> bool,
    ) -> Self {
        Self {
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                waiting: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
            wait,
            connect,
            healthy,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        // The state is a list and a counter, consistent after every statement;
        // a panic elsewhere while holding the lock cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection, waiting up to the pool's deadline for one to be free.
    pub(crate) fn get(&self) -> Result<Pooled<'_, C>> {
        let deadline = Instant::now() + self.wait;
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match (self.connect)() {
                    Ok(conn) => Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        let mut state = self.lock();
                        state.open -= 1;
                        self.wake_one(state);
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Backend(format!(
                    "no database connection free after {} s (pool of {})",
                    self.wait.as_secs(),
                    self.max
                )));
            }
            state.waiting += 1;
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            state.waiting -= 1;
        }
    }

    /// Removes and returns the idle connections (for dropping them
    /// elsewhere).
    pub(crate) fn take_idle(&self) -> Vec<C> {
        let mut state = self.lock();
        let idle = std::mem::take(&mut state.idle);
        state.open -= idle.len();
        idle
    }

    fn put_back(&self, conn: C) {
        let mut state = self.lock();
        if (self.healthy)(&conn) {
            state.idle.push(conn);
        } else {
            state.open -= 1;
        }
        self.wake_one(state);
    }

    /// Releases `state` and wakes one waiting caller, if any: a connection
    /// or a place for one is free.
    fn wake_one(&self, state: MutexGuard<'_, State<C>>) {
        let anyone = state.waiting > 0;
        drop(state);
        if anyone {
            self.freed.notify_one();
        }
    }
}

impl<C> fmt::Debug for Pool<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Pool")
            .field("max", &self.max)
            .field("open", &state.open)
            .field("idle", &state.idle.len())
            .finish()
    }
}

/// A connection on loan; goes back to the pool when dropped.
pub(crate) struct Pooled<'a, C> {
    pool: &'a Pool<C>,
    conn: Option<C>,
}

impl<C> Deref for Pooled<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        // `conn` is Some from construction until drop.
        match &self.conn {
            Some(c) => c,
            None => unreachable!("pooled connection used after drop"),
        }
    }
}

impl<C> DerefMut for Pooled<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        match &mut self.conn {
            Some(c) => c,
            None => unreachable!("pooled connection used after drop"),
        }
    }
}

impl<C> Drop for Pooled<'_, C> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put_back(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn bounded_and_reused() {
        let made = Arc::new(AtomicUsize::new(0));
        let m = made.clone();
        let pool = Pool::new(
            2,
            Duration::from_millis(50),
            Box::new(move || Ok(m.fetch_add(1, Ordering::SeqCst))),
            |_| true,
        );
        let a = pool.get().unwrap();
        let b = pool.get().unwrap();
        assert!(matches!(pool.get(), Err(Error::Backend(_))));
        drop(a);
        let c = pool.get().unwrap();
        assert_eq!(*c, 0);
        drop((b, c));
        assert_eq!(made.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn unhealthy_connections_are_replaced() {
        let made = Arc::new(AtomicUsize::new(0));
        let m = made.clone();
        let pool = Pool::new(
            1,
            Duration::from_millis(50),
            Box::new(move || Ok(m.fetch_add(1, Ordering::SeqCst))),
            |_| false,
        );
        drop(pool.get().unwrap());
        assert_eq!(*pool.get().unwrap(), 1);
    }

    /// A thread that takes a connection from `pool` (whose deadline is
    /// long) and sends what it got.
    fn spawn_waiter<C: Copy + Send + 'static>(
        pool: &Arc<Pool<C>>,
    ) -> std::sync::mpsc::Receiver<Result<C>> {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = Arc::clone(pool);
        std::thread::spawn(move || tx.send(p.get().map(|c| *c)));
        rx
    }

    /// What the waiter got, well before its deadline: a lost wake-up
    /// leaves it asleep until then.
    fn woken<C>(waiter: &std::sync::mpsc::Receiver<Result<C>>) -> C {
        match waiter.recv_timeout(Duration::from_secs(20)) {
            Ok(got) => got.unwrap(),
            Err(_) => panic!("the waiting caller was not woken"),
        }
    }

    /// Waits until `n` callers wait in `get`.
    fn await_waiting<C>(pool: &Pool<C>, n: usize) {
        while pool.lock().waiting != n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_returned_connection_wakes_a_waiting_caller() {
        // The deadline (60 s) is far beyond the 20 s `woken` allows.
        let pool = Arc::new(Pool::new(
            1,
            Duration::from_secs(60),
            Box::new(|| Ok(7u8)),
            |c: &u8| *c == 7,
        ));
        let held = pool.get().unwrap();
        let waiter = spawn_waiter(&pool);
        await_waiting(&pool, 1);
        drop(held);
        assert_eq!(woken(&waiter), 7);
        assert_eq!(pool.lock().waiting, 0);
    }

    #[test]
    fn a_dropped_connection_wakes_a_waiting_caller_to_open_one() {
        let made = Arc::new(AtomicUsize::new(0));
        let m = made.clone();
        // Every connection is unhealthy: the one given back is closed, and
        // the waiter must be woken to open its own in the freed place.
        let pool = Arc::new(Pool::new(
            1,
            Duration::from_secs(60),
            Box::new(move || Ok(m.fetch_add(1, Ordering::SeqCst))),
            |_| false,
        ));
        let held = pool.get().unwrap();
        let waiter = spawn_waiter(&pool);
        await_waiting(&pool, 1);
        drop(held);
        assert_eq!(woken(&waiter), 1);
        assert_eq!(made.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn failed_connect_frees_the_slot() {
        let pool: Pool<u8> = Pool::new(
            1,
            Duration::from_millis(50),
            Box::new(|| Err(Error::Backend("down".into()))),
            |_| true,
        );
        assert!(pool.get().is_err());
        assert!(matches!(pool.get(), Err(Error::Backend(m)) if m == "down"));
    }
}
