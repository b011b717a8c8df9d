//! `QuotaLedger`: where a request's money is held while it runs.
//!
//! * `Memory` — one instance alone on its database (no Redis configured): holds live in this process
//!   ([`MemoryLedger`]), charges reach the database with the request's log row in the writer's next batch. No
//!   database round trip on the request path.
//! * `Sliced` — instances sharing a database (Redis configured): the same holds in memory, against budget slices
//!   each instance claims from the database ([`SlicedLedger`]); charges reach the database the same way, lowering
//!   the slice they were spent from.
//!
//! See docs/decisions/0006-in-memory-ledger.md and 0013-budget-slices.md.

use super::memory_ledger::MemoryLedger;
use super::sliced_ledger::SlicedLedger;
use std::sync::Arc;
use store::{Charge, Reservation, StoreError};

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
    Memory(MemoryLedger),
    Sliced(Arc<SlicedLedger>),
}

impl QuotaLedger {
    /// Holds up to `hold.estimate` (at least `hold.minimum`) for the request; see [`store::Store::reserve`].
    pub async fn reserve(&self, hold: Hold<'_>) -> Result<Reservation, StoreError> {
        match self {
            Self::Memory(ledger) => ledger.reserve(hold).await,
            Self::Sliced(ledger) => ledger.reserve(hold).await,
        }
    }

    /// The charge that settles `r` at `actual` (0 = refund), for the log writer to commit with the log row.
    pub fn settle(&self, r: &Reservation, actual: i64) -> Charge {
        let amount = match self {
            Self::Memory(ledger) => ledger.settle(r, actual),
            Self::Sliced(ledger) => ledger.settle(r, actual),
        };
        Charge::Apply {
            user_id: r.user_id,
            key_id: r.key_id,
            amount,
        }
    }

    /// The log writer committed these charges.
    pub fn committed<'a>(&self, charges: impl Iterator<Item = &'a Charge>) {
        for charge in charges {
            if let Charge::Apply {
                user_id,
                key_id,
                amount,
            } = charge
            {
                match self {
                    Self::Memory(ledger) => ledger.committed(*user_id, *key_id, *amount),
                    Self::Sliced(ledger) => ledger.committed(*user_id, *key_id, *amount),
                }
            }
        }
    }

    /// What `/metrics` shows of the ledger: the sliced ledger's figures, nothing for the memory ledger.
    pub fn figures(&self) -> Vec<(&'static str, i64)> {
        match self {
            Self::Memory(_) => Vec::new(),
            Self::Sliced(ledger) => ledger.figures(),
        }
    }

    /// The instance whose budget slices the committed charges were spent from, if any.
    pub fn slice_holder(&self) -> Option<&str> {
        match self {
            Self::Memory(_) => None,
            Self::Sliced(ledger) => Some(ledger.holder()),
        }
    }

    /// A key's enforced spend cap changed without money moving: the next hold already obeys it (the memory
    /// ledger updates its mirror; a slice of the key is given back and grown again against the new cap).
    pub fn set_key_cap(&self, key_id: i64, cap: Option<i64>) {
        match self {
            Self::Memory(ledger) => ledger.set_key_cap(key_id, cap),
            Self::Sliced(ledger) => ledger.set_key_cap(key_id),
        }
    }

    /// Money moved outside the ledger (called by the log writer between its batches): the memory ledger re-reads
    /// the accounts, the sliced one gives its surplus back before the next holds.
    pub async fn rebase(&self) -> Result<(), StoreError> {
        match self {
            Self::Memory(ledger) => ledger.rebase().await,
            Self::Sliced(ledger) => {
                ledger.rebase();
                Ok(())
            }
        }
    }
}
