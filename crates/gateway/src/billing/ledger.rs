//! `QuotaLedger`: where a request's money is held while it runs.
//!
//! * `Memory` — one instance alone on its database (no Redis configured): holds live in this process
//!   ([`MemoryLedger`]), charges reach the database with the request's log row in the writer's next batch. No
//!   database round trip on the request path.
//! * `Database` — instances sharing a database (Redis configured): each hold is a database transaction
//!   ([`Store::reserve`]), which is what keeps several processes from overspending one key.
//!
//! See docs/decisions/0006-in-memory-ledger.md.

use super::memory_ledger::MemoryLedger;
use store::{Charge, Reservation, Store, StoreError};

/// What a request asks the ledger to hold: up to `estimate` micro-units, and no less than `minimum`, from the
/// user and the key.
#[derive(Debug, Clone, Copy)]
pub struct Hold<'a> {
    pub request_id: &'a str,
    pub user_id: i64,
    pub key_id: i64,
    pub estimate: i64,
    pub minimum: i64,
}

pub enum QuotaLedger {
    Database(Store),
    Memory(MemoryLedger),
}

impl QuotaLedger {
    /// Holds up to `hold.estimate` (at least `hold.minimum`) for the request; see [`Store::reserve`].
    pub async fn reserve(&self, hold: Hold<'_>) -> Result<Reservation, StoreError> {
        match self {
            Self::Database(store) => {
                store
                    .reserve(
                        hold.request_id,
                        hold.user_id,
                        hold.key_id,
                        hold.estimate,
                        hold.minimum,
                    )
                    .await
            }
            Self::Memory(ledger) => ledger.reserve(hold).await,
        }
    }

    /// The charge that settles `r` at `actual` (0 = refund), for the log writer to commit with the log row.
    pub fn settle(&self, r: &Reservation, actual: i64) -> Charge {
        match self {
            Self::Database(_) => Charge::Settle {
                request_id: r.request_id.clone(),
                actual,
            },
            Self::Memory(ledger) => Charge::Apply {
                user_id: r.user_id,
                key_id: r.key_id,
                amount: ledger.settle(r, actual),
            },
        }
    }

    /// The log writer committed these charges.
    pub fn committed<'a>(&self, charges: impl Iterator<Item = &'a Charge>) {
        if let Self::Memory(ledger) = self {
            for charge in charges {
                if let Charge::Apply {
                    user_id,
                    key_id,
                    amount,
                } = charge
                {
                    ledger.committed(*user_id, *key_id, *amount);
                }
            }
        }
    }

    /// A key's enforced spend cap changed without money moving. The database ledger reads the cap in every
    /// hold's transaction; the memory ledger updates its mirror at once, so the next hold already obeys it.
    pub fn set_key_cap(&self, key_id: i64, cap: Option<i64>) {
        if let Self::Memory(ledger) = self {
            ledger.set_key_cap(key_id, cap);
        }
    }

    /// Money moved outside the ledger; re-read the accounts (memory ledger only; called by the log writer).
    pub async fn rebase(&self) -> Result<(), StoreError> {
        match self {
            Self::Database(_) => Ok(()),
            Self::Memory(ledger) => ledger.rebase().await,
        }
    }
}
