//! `MemoryLedger`: reservations held in this process's memory instead of a database transaction per request.
//!
//! Only valid when this process is the only one spending from the database — a deployment without Redis, which
//! is how Tollgate runs alone (with Redis, instances hold against budget slices instead; see `QuotaLedger`). Each account
//! mirrors the database and adds what the database does not know yet:
//!
//! * `balance` / `spent`: the values committed in the database, kept equal to it by applying the same deltas the
//!   log writer commits (`committed`), and re-read from it after money moved outside the ledger (`rebase`).
//! * `pending`: charged here, queued for the log writer, not committed yet.
//! * `reserved`: held by requests in flight.
//!
//! What a request may spend is `balance - pending - reserved` (and `cap - spent - pending - reserved` for its
//! key), checked and held under one lock, so concurrent requests can never overspend. A crash (kill -9) loses the
//! holds (nothing was charged for them) and the pending charges with their log rows — at most what the writer had
//! not committed yet; SIGTERM drains the writer, losing nothing.

use super::ledger::Hold;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use store::{AccountBalances, ApiKey, QuotaShortfall, Reservation, Store, StoreError, User};

#[derive(Debug, Default, Clone, Copy)]
struct UserAccount {
    balance: i64,
    pending: i64,
    reserved: i64,
}

#[derive(Debug, Default, Clone, Copy)]
struct KeyAccount {
    cap: Option<i64>,
    spent: i64,
    pending: i64,
    reserved: i64,
}

impl UserAccount {
    /// The account as the database has it, nothing pending or held.
    fn of(user: &User) -> Self {
        Self {
            balance: user.balance,
            ..Self::default()
        }
    }

    fn available(&self) -> i64 {
        self.balance
            .saturating_sub(self.pending)
            .saturating_sub(self.reserved)
    }
}

impl KeyAccount {
    /// The account as the database has it, nothing pending or held.
    fn of(key: &ApiKey) -> Self {
        Self {
            cap: key.effective_spend_cap(),
            spent: key.spent,
            ..Self::default()
        }
    }

    fn headroom(&self) -> i64 {
        self.cap.map_or(i64::MAX, |cap| {
            cap.saturating_sub(self.spent)
                .saturating_sub(self.pending)
                .saturating_sub(self.reserved)
        })
    }
}

#[derive(Default)]
struct Accounts {
    users: HashMap<i64, UserAccount>,
    keys: HashMap<i64, KeyAccount>,
}

pub struct MemoryLedger {
    store: Store,
    accounts: Mutex<Accounts>,
}

impl MemoryLedger {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            accounts: Mutex::new(Accounts::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loads the user and key from the database the first time they spend. Accounts stay loaded: an entry is a
    /// few dozen bytes, and forgetting one while it has pending charges would lose them.
    async fn load(&self, user_id: i64, key_id: i64) -> Result<(), StoreError> {
        let (has_user, has_key) = {
            let a = self.lock();
            (a.users.contains_key(&user_id), a.keys.contains_key(&key_id))
        };
        if !has_user {
            let account = UserAccount::of(&self.store.get_user(user_id).await?);
            self.lock().users.entry(user_id).or_insert(account);
        }
        if !has_key {
            let account = KeyAccount::of(&self.store.get_key(key_id).await?);
            self.lock().keys.entry(key_id).or_insert(account);
        }
        Ok(())
    }

    /// Same contract as [`Store::reserve`]: holds `estimate` clamped to what the user and key have left, or
    /// `InsufficientQuota` when less than `minimum` is left.
    pub async fn reserve(&self, hold: Hold<'_>) -> Result<Reservation, StoreError> {
        let Hold {
            request_id,
            user_id,
            key_id,
            estimate,
            minimum,
        } = hold;
        self.load(user_id, key_id).await?;
        let minimum = minimum.clamp(1, estimate.max(1));
        let mut guard = self.lock();
        let a = &mut *guard;
        let (Some(user), Some(key)) = (a.users.get_mut(&user_id), a.keys.get_mut(&key_id)) else {
            return Err(StoreError::NotFound);
        };
        let available = user.available();
        if available < minimum {
            return Err(StoreError::InsufficientQuota(QuotaShortfall::UserBalance));
        }
        let headroom = key.headroom();
        if headroom < minimum {
            return Err(StoreError::InsufficientQuota(QuotaShortfall::KeyCap));
        }
        let amount = estimate.max(1).min(available).min(headroom);
        user.reserved = user.reserved.saturating_add(amount);
        key.reserved = key.reserved.saturating_add(amount);
        Ok(Reservation {
            request_id: request_id.to_owned(),
            user_id,
            key_id,
            amount,
        })
    }

    /// Releases the hold and charges `actual`: in full when it fits the hold, above it only as far as the user's
    /// balance and the key's cap allow (as [`Store::settle`] does). Returns the charge, now pending until the log
    /// writer commits it.
    pub fn settle(&self, r: &Reservation, actual: i64) -> i64 {
        let mut guard = self.lock();
        let a = &mut *guard;
        let (Some(user), Some(key)) = (a.users.get_mut(&r.user_id), a.keys.get_mut(&r.key_id))
        else {
            return 0;
        };
        let actual = actual.max(0);
        let charged = if actual > r.amount {
            // What is free besides this request's own hold.
            let extra = (actual - r.amount)
                .min(user.available().max(0))
                .min(key.headroom().max(0));
            r.amount + extra
        } else {
            actual
        };
        user.reserved = user.reserved.saturating_sub(r.amount).max(0);
        key.reserved = key.reserved.saturating_sub(r.amount).max(0);
        user.pending = user.pending.saturating_add(charged);
        key.pending = key.pending.saturating_add(charged);
        charged
    }

    /// The log writer committed `amount` for this user and key: it moves from pending to the mirrored values.
    pub fn committed(&self, user_id: i64, key_id: i64, amount: i64) {
        let mut a = self.lock();
        if let Some(user) = a.users.get_mut(&user_id) {
            user.pending = user.pending.saturating_sub(amount);
            user.balance = user.balance.saturating_sub(amount);
        }
        if let Some(key) = a.keys.get_mut(&key_id) {
            key.pending = key.pending.saturating_sub(amount);
            key.spent = key.spent.saturating_add(amount);
        }
    }

    /// The key's enforced spend cap changed (its owner edited it): holds from now on use `cap`. Only the cap
    /// moves, never money, so no rebase is needed; a key not loaded yet reads its cap when it first spends.
    pub fn set_key_cap(&self, key_id: i64, cap: Option<i64>) {
        if let Some(key) = self.lock().keys.get_mut(&key_id) {
            key.cap = cap;
        }
    }

    /// Re-reads the mirrored values after money moved outside the ledger (top-up, edited balance or cap, a
    /// refund). Must run where no commit can interleave — the log writer calls it between its batches — so the
    /// database holds exactly the committed charges and `pending` exactly the others.
    pub async fn rebase(&self) -> Result<(), StoreError> {
        let AccountBalances { users, keys } = self.store.account_balances().await?;
        let users: HashMap<i64, i64> = users.into_iter().collect();
        let keys: HashMap<i64, (Option<i64>, i64)> = keys
            .into_iter()
            .map(|(id, cap, spent)| (id, (cap, spent)))
            .collect();
        // Accounts missing from the snapshot (deleted, or loaded after it was read) are left as they are.
        let mut a = self.lock();
        for (id, user) in &mut a.users {
            if let Some(balance) = users.get(id) {
                user.balance = *balance;
            }
        }
        for (id, key) in &mut a.keys {
            if let Some((cap, spent)) = keys.get(id) {
                key.cap = *cap;
                key.spent = *spent;
            }
        }
        Ok(())
    }
}
