//! Persistence for Tollgate: users, keys, channels, prices, the money ledger, request logs, Midjourney
//! tasks and leases (SQLite via sqlx).
//!
//! [`Store`] is a cheap `Clone` handle over two connection pools: a single-connection *write* pool that
//! serialises every write and transaction (so SQLite never fights over its lock), and a small *read* pool
//! for plain `SELECT`s. Queries are runtime-checked (`sqlx::query`), SQL is kept portable where cheap.

mod catalog;
mod channels;
mod codec;
mod connect;
mod error;
mod groups;
mod keys;
mod leases;
mod ledger;
mod logs;
mod mj_tasks;
pub mod model;
mod prices;
pub mod secrets;
mod settings;
mod usage;
mod users;

pub use error::{QuotaShortfall, StoreError};
pub use model::*;

use sqlx::SqlitePool;
use std::sync::Arc;

/// Handle to the database. Cloning shares the same pools.
#[derive(Clone)]
pub struct Store {
    /// One connection: all writes and all read-write transactions.
    write: SqlitePool,
    /// Plain reads (the same pool as `write` for in-memory databases).
    read: SqlitePool,
    /// Seals upstream channel keys at rest, when the operator configured a secret.
    cipher: Option<Arc<secrets::SecretCipher>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("encrypted", &self.cipher.is_some())
            .finish_non_exhaustive()
    }
}
