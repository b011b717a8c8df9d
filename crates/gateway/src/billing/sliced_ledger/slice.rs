//! One account's slice as this instance sees it: what the database granted, what requests hold and what is
//! charged but not committed, and the recent rate of holds a growth is sized by.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub(super) struct Slice {
    pub(super) granted: i64,
    pub(super) reserved: i64,
    pub(super) pending: i64,
    /// Until when this instance may spend the surplus (the database's last confirmation + [`super::TRUST_FOR`]).
    pub(super) trusted_until: Instant,
    /// Money moved outside the ledger: give the surplus back before growing again.
    pub(super) stale: bool,
    pub(super) lean_until: Option<Instant>,
    /// Nothing left anywhere as of the last growth (see [`super::DRY_FOR`]).
    pub(super) dry_until: Option<Instant>,
    pub(super) last_hold: Instant,
    /// Holds of the current second and of the one before: the rate a slice is sized by.
    pub(super) window_start: Instant,
    pub(super) this_window: i64,
    pub(super) last_window: i64,
}

impl Slice {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            granted: 0,
            reserved: 0,
            pending: 0,
            trusted_until: now,
            stale: false,
            lean_until: None,
            dry_until: None,
            last_hold: now,
            window_start: now,
            this_window: 0,
            last_window: 0,
        }
    }

    pub(super) fn surplus(&self) -> i64 {
        self.granted
            .saturating_sub(self.reserved)
            .saturating_sub(self.pending)
    }

    /// What this instance may hold from the slice right now.
    pub(super) fn spendable(&self, now: Instant) -> i64 {
        if self.stale || now >= self.trusted_until {
            0
        } else {
            self.surplus().max(0)
        }
    }

    pub(super) fn is_dry(&self, now: Instant) -> bool {
        !self.stale && self.dry_until.is_some_and(|t| now < t)
    }

    pub(super) fn record_hold(&mut self, amount: i64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed >= Duration::from_secs(1) {
            self.last_window = if elapsed >= Duration::from_secs(2) {
                0
            } else {
                self.this_window
            };
            self.this_window = 0;
            self.window_start = now;
        }
        self.this_window = self.this_window.saturating_add(amount);
        self.reserved = self.reserved.saturating_add(amount);
        self.last_hold = now;
    }

    /// What to ask for besides `needed`: about a second of holds (at least a few requests' worth), none while lean.
    pub(super) fn ahead(&self, estimate: i64, now: Instant) -> i64 {
        if self.lean_until.is_some_and(|t| now < t) {
            return 0;
        }
        self.this_window
            .max(self.last_window)
            .max(estimate.saturating_mul(8))
    }
}
