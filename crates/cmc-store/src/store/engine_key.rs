//! Keys every process sharing the database must agree on
//! ([`EngineKeyStore`]): the first stored candidate wins.

use super::SqlStore;
use crate::db::{Backend, params};
use crate::error::{Error, Result};
use crate::traits::EngineKeyStore;
use crate::types::UnixTime;

impl<B: Backend> EngineKeyStore for SqlStore<B> {
    fn engine_key(&self, name: &str, candidate: &[u8], now: UnixTime) -> Result<Vec<u8>> {
        self.backend.with_conn(|c| {
            c.execute(
                "INSERT INTO engine_keys (name, value, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
                params![name, candidate, now],
            )?;
            c.query_opt(
                "SELECT value FROM engine_keys WHERE name = $1",
                params![name],
            )?
            .ok_or_else(|| Error::Corrupt(format!("engine key {name} vanished")))?
            .blob()
        })
    }
}
