//! Persistence for Tollgate: users, keys, channels, prices, the money ledger, request logs, Midjourney
//! tasks and leases, on SQLite or PostgreSQL (via sqlx's `Any` driver; [`backend`] says why).
//!
//! [`Store`] is a cheap `Clone` handle over two connection pools. On SQLite: a single-connection *write*
//! pool that serialises every write and transaction (so SQLite never fights over its lock), and a small
//! *read* pool for plain `SELECT`s. On PostgreSQL both are the same ordinary pool, and the ledger locks the
//! rows it checks. Queries are runtime-checked (`sqlx::query`) and written once, with `?` placeholders, in
//! SQL both engines accept; the few differences live in [`backend`].

mod backend;
mod catalog;
mod channels;
mod codec;
mod codes;
mod connect;
mod error;
mod groups;
mod import;
mod key_limits;
mod key_owner;
mod keys;
mod leases;
mod ledger;
mod logs;
mod mj_tasks;
pub mod model;
mod prices;
mod record;
pub mod secrets;
mod settings;
mod slices;
mod usage;
mod users;

pub use codes::CodeStatus;
pub use error::{QuotaShortfall, StoreError};
pub use import::{
    ImportOutcome, ImportPlan, ImportedChannel, ImportedCode, ImportedKey, ImportedMjTask,
    ImportedUser, Progress, TableCount,
};
pub use key_limits::tighter_limit;
pub use ledger::AccountBalances;
pub use model::*;
pub use slices::{Grant, Grown, SliceAccount, Want, growth};

use backend::Backend;
use sqlx::AnyPool;
use std::sync::Arc;

/// Handle to the database. Cloning shares the same pools.
#[derive(Clone)]
pub struct Store {
    /// Which engine, for the SQL that differs.
    backend: Backend,
    /// SQLite: one connection, all writes and all read-write transactions. PostgreSQL: the pool.
    write: AnyPool,
    /// Plain reads (the same pool as `write` for in-memory SQLite and for PostgreSQL).
    read: AnyPool,
    /// Seals upstream channel keys at rest, when the operator configured a secret.
    cipher: Option<Arc<secrets::SecretCipher>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("encrypted", &self.cipher.is_some())
            .finish_non_exhaustive()
    }
}
