//! Error type of the store and the mapping of database constraint failures onto it.

use thiserror::Error;

/// Which limit stopped a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum QuotaShortfall {
    #[error("user balance exhausted")]
    UserBalance,
    #[error("key spend cap reached")]
    KeyCap,
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// Unique violation; carries the entity and name (`user alice`).
    #[error("{0} already exists")]
    Conflict(String),
    #[error("insufficient quota: {0}")]
    InsufficientQuota(QuotaShortfall),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Adding the amount would take a balance past what a 64-bit integer holds (SQLite would silently turn it
    /// into a float): refused, nothing written.
    #[error("amount out of range: the balance would overflow")]
    Overflow,
}

impl StoreError {
    /// Maps a unique violation to [`StoreError::Conflict`] (`what` gets the database message, to tell
    /// constraints apart) and a foreign-key violation to [`StoreError::NotFound`]; anything else stays
    /// a database error.
    pub(crate) fn from_write(e: sqlx::Error, what: impl FnOnce(&str) -> String) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return Self::Conflict(what(db.message()));
            }
            if db.is_foreign_key_violation() {
                return Self::NotFound;
            }
        }
        Self::Database(e)
    }
}
