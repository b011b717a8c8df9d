//! The money ledger: reserve before a request, settle (or refund) after it, recover after a crash.
//!
//! Every operation is one write transaction whose read-check-write sequence must not interleave with
//! another's. On SQLite that holds by construction (one write connection, `BEGIN IMMEDIATE`). On PostgreSQL
//! the rows that are checked are locked with `SELECT … FOR UPDATE` before they are read, always in one
//! global order — users (by id), then keys (by id), then the reservation row — so concurrent transactions on
//! any connection of any process queue behind each other instead of deadlocking.

use crate::backend::Backend;
use crate::codec::{now_ms, to_ms};
use crate::logs::insert_rows;
use crate::record::exec;
use crate::slices::{SliceAccount, lower_in};
use crate::{Charge, LogEntry, LogRow, QuotaShortfall, Reservation, Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// Money a key may still commit: `cap - spent - reserved`, or unlimited without a cap. Locks the key row
/// on PostgreSQL.
pub(crate) async fn key_headroom(
    conn: &mut AnyConnection,
    key_id: i64,
) -> Result<Option<i64>, StoreError> {
    let b = Backend::of(conn);
    let sql = format!(
        "SELECT spend_cap, user_spend_cap, spent, reserved FROM api_keys WHERE id = ?{}",
        b.for_update()
    );
    let row = sqlx::query(&b.sql(&sql))
        .bind(key_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    // The enforced cap: the operator's or the owner's, whichever is lower.
    let cap = crate::tighter_limit(row.try_get("spend_cap")?, row.try_get("user_spend_cap")?);
    let spent: i64 = row.try_get("spent")?;
    let reserved: i64 = row.try_get("reserved")?;
    Ok(Some(cap.map_or(i64::MAX, |cap| {
        cap.saturating_sub(spent).saturating_sub(reserved)
    })))
}

/// The user's balance. Locks the user row on PostgreSQL.
pub(crate) async fn user_balance(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Option<i64>, StoreError> {
    let b = Backend::of(conn);
    let sql = format!("SELECT balance FROM users WHERE id = ?{}", b.for_update());
    Ok(sqlx::query_scalar(&b.sql(&sql))
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The (user, key) a reservation holds money of, without locking it.
async fn holder_of(
    conn: &mut AnyConnection,
    request_id: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    let b = Backend::of(conn);
    Ok(
        sqlx::query_as(&b.sql("SELECT user_id, key_id FROM reservations WHERE request_id = ?"))
            .bind(request_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// PostgreSQL only: before settling several reservations in one transaction, locks all their users, then
/// all their keys, each in ascending id order, so two such batches (or a batch and a single reserve/settle)
/// always lock in the same order.
async fn lock_holders(conn: &mut AnyConnection, request_ids: &[&str]) -> Result<(), StoreError> {
    if Backend::of(conn) != Backend::Postgres {
        return Ok(());
    }
    let mut users = Vec::new();
    let mut keys = Vec::new();
    for id in request_ids {
        if let Some((user_id, key_id)) = holder_of(conn, id).await? {
            users.push(user_id);
            keys.push(key_id);
        }
    }
    users.sort_unstable();
    users.dedup();
    keys.sort_unstable();
    keys.dedup();
    for id in users {
        user_balance(conn, id).await?;
    }
    for id in keys {
        key_headroom(conn, id).await?;
    }
    Ok(())
}

/// Settles the reservation row `request_id` to `actual` inside the caller's transaction and returns
/// the amount charged (0 when the row is gone, or its user or key is).
async fn settle_in(
    conn: &mut AnyConnection,
    request_id: &str,
    actual: i64,
) -> Result<i64, StoreError> {
    let b = Backend::of(conn);
    // Who holds the money is fixed for a reservation's life, so it can be read before anything is locked;
    // the user and key are then locked (and read) before the reservation row, in the ledger's lock order.
    let Some((user_id, key_id)) = holder_of(conn, request_id).await? else {
        return Ok(0);
    };
    let balance = user_balance(conn, user_id).await?;
    let headroom = key_headroom(conn, key_id).await?;

    // DELETE … RETURNING reads and removes the hold in one statement (SQLite ≥ 3.35 and PostgreSQL). Nothing
    // comes back when a concurrent settle got there first: settling is idempotent.
    let amount: Option<i64> = sqlx::query_scalar(
        &b.sql("DELETE FROM reservations WHERE request_id = ? RETURNING amount"),
    )
    .bind(request_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(amount) = amount else { return Ok(0) };

    let (Some(balance), Some(headroom)) = (balance, headroom) else {
        // The key (or user) vanished mid-request: charge nothing and undo the hold on what is left.
        if balance.is_some() {
            let sql = "UPDATE users SET balance = balance + ? WHERE id = ?";
            exec(conn, sql, (amount, user_id)).await?;
        }
        if headroom.is_some() {
            let sql = "UPDATE api_keys SET reserved = reserved - ? WHERE id = ?";
            exec(conn, sql, (amount, key_id)).await?;
        }
        return Ok(0);
    };

    let actual = actual.max(0);
    let charged = if actual > amount {
        let extra = (actual - amount).min(balance.max(0)).min(headroom.max(0));
        amount + extra
    } else {
        actual
    };

    let sql = "UPDATE users SET balance = balance + ?, spent = spent + ? WHERE id = ?";
    exec(conn, sql, (amount - charged, charged, user_id)).await?;
    let sql = "UPDATE api_keys SET reserved = reserved - ?, spent = spent + ? WHERE id = ?";
    exec(conn, sql, (amount, charged, key_id)).await?;
    Ok(charged)
}

/// Takes amounts an in-memory ledger already decided from users' balances into `spent` (users and keys),
/// one statement per account however many requests of the batch it paid for, and lowers the budget slices of
/// `slices` (the committing instance, when it spends from slices) by the same amounts. Plain increments: they
/// commute, so concurrent batches need no row locks beyond the statements' own.
async fn apply_in(
    conn: &mut AnyConnection,
    charges: &[(i64, i64, i64)],
    slices: Option<&str>,
) -> Result<(), StoreError> {
    let mut users: BTreeMap<i64, i64> = BTreeMap::new();
    let mut keys: BTreeMap<i64, i64> = BTreeMap::new();
    for &(user_id, key_id, amount) in charges {
        *users.entry(user_id).or_default() += amount;
        *keys.entry(key_id).or_default() += amount;
    }
    // Ascending ids, users before keys: the ledger's lock order on PostgreSQL.
    for (&user_id, &amount) in users.iter().filter(|&(_, a)| *a != 0) {
        let sql = "UPDATE users SET balance = balance - ?, spent = spent + ? WHERE id = ?";
        exec(conn, sql, (amount, amount, user_id)).await?;
    }
    for (&key_id, &amount) in keys.iter().filter(|&(_, a)| *a != 0) {
        let sql = "UPDATE api_keys SET spent = spent + ? WHERE id = ?";
        exec(conn, sql, (amount, key_id)).await?;
    }
    if let Some(holder) = slices {
        let users = users.into_iter().map(|(id, a)| (SliceAccount::User(id), a));
        let keys = keys.into_iter().map(|(id, a)| (SliceAccount::Key(id), a));
        lower_in(conn, holder, users.chain(keys)).await?;
    }
    Ok(())
}

/// See [`Store::account_balances`].
#[derive(Debug, Default)]
pub struct AccountBalances {
    /// (user id, balance)
    pub users: Vec<(i64, i64)>,
    /// (key id, enforced spend cap — the operator's or the owner's, whichever is lower —, spent)
    pub keys: Vec<(i64, Option<i64>, i64)>,
}

impl Store {
    /// Holds up to `estimate` (at least 1) for `request_id`: the hold is the estimate clamped to the
    /// user's balance and the key's remaining cap. `InsufficientQuota` when either is exhausted (the
    /// user's balance is reported first); `Conflict` if the request id already holds money.
    pub async fn reserve(
        &self,
        request_id: &str,
        user_id: i64,
        key_id: i64,
        estimate: i64,
        minimum: i64,
    ) -> Result<Reservation, StoreError> {
        // Less than `minimum` available means the request cannot be afforded at all; between `minimum` and
        // `estimate`, the hold is what is left (the caller decides how firm its estimate is).
        let minimum = minimum.clamp(1, estimate.max(1));
        let mut tx = self.write_tx().await?;
        let balance = user_balance(&mut tx, user_id).await?.unwrap_or(0);
        if balance < minimum {
            return Err(StoreError::InsufficientQuota(QuotaShortfall::UserBalance));
        }
        let headroom = key_headroom(&mut tx, key_id).await?.unwrap_or(0);
        if headroom < minimum {
            return Err(StoreError::InsufficientQuota(QuotaShortfall::KeyCap));
        }
        let amount = estimate.max(1).min(balance).min(headroom);

        sqlx::query(&self.sql(
            "INSERT INTO reservations (request_id, user_id, key_id, amount, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        ))
        .bind(request_id)
        .bind(user_id)
        .bind(key_id)
        .bind(amount)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_write(e, |_| format!("reservation {request_id}")))?;
        let sql = "UPDATE users SET balance = balance - ? WHERE id = ?";
        exec(&mut tx, sql, (amount, user_id)).await?;
        let sql = "UPDATE api_keys SET reserved = reserved + ? WHERE id = ?";
        exec(&mut tx, sql, (amount, key_id)).await?;
        tx.commit().await?;

        Ok(Reservation {
            request_id: request_id.to_owned(),
            user_id,
            key_id,
            amount,
        })
    }

    /// Charges the true cost of a reserved request and releases the hold. A cost above the hold is
    /// charged only as far as the user's balance and the key's cap allow. Returns the amount charged;
    /// settling an already settled reservation is a no-op returning 0.
    pub async fn settle(&self, r: &Reservation, actual: i64) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let charged = settle_in(&mut tx, &r.request_id, actual).await?;
        tx.commit().await?;
        Ok(charged)
    }

    /// Gives the whole hold back (settles at cost 0).
    pub async fn refund(&self, r: &Reservation) -> Result<(), StoreError> {
        self.settle(r, 0).await.map(drop)
    }

    /// Start-up crash recovery: refunds every reservation created before `older_than`.
    pub async fn release_stale_reservations(
        &self,
        older_than: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let ids: Vec<String> =
            sqlx::query_scalar(&self.sql(
                "SELECT request_id FROM reservations WHERE created_at < ? ORDER BY request_id",
            ))
            .bind(to_ms(older_than))
            .fetch_all(&mut *tx)
            .await?;
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        lock_holders(&mut tx, &refs).await?;
        for id in &ids {
            settle_in(&mut tx, id, 0).await?;
        }
        tx.commit().await?;
        Ok(u64::try_from(ids.len()).unwrap_or(u64::MAX))
    }

    /// Every user's balance and every key's cap and spent, as one snapshot: what an in-memory ledger rebuilds
    /// its accounts from after money changed outside it (a top-up, a refund, an edited cap).
    pub async fn account_balances(&self) -> Result<AccountBalances, StoreError> {
        let mut tx = self.read_tx().await?;
        let users = sqlx::query_as(&self.sql("SELECT id, balance FROM users"))
            .fetch_all(&mut *tx)
            .await?;
        let keys: Vec<(i64, Option<i64>, Option<i64>, i64)> =
            sqlx::query_as(&self.sql("SELECT id, spend_cap, user_spend_cap, spent FROM api_keys"))
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let keys = keys
            .into_iter()
            .map(|(id, cap, own_cap, spent)| (id, crate::tighter_limit(cap, own_cap), spent))
            .collect();
        Ok(AccountBalances { users, keys })
    }

    /// Settles every entry's hold to its actual cost and writes every log row, all in one transaction, so a
    /// charge and its log row are never apart. Each row's `cost` is set to what was really charged (which the
    /// cap and balance clamps may make lower than the actual cost). `slices` names the committing instance when
    /// its `Apply` charges were spent from its budget slices, which are lowered by the same amounts.
    pub async fn settle_and_log(
        &self,
        entries: &mut [LogEntry],
        slices: Option<&str>,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        let charged: Vec<&str> = entries
            .iter()
            .filter_map(|e| match &e.charge {
                Some(Charge::Settle { request_id, .. }) => Some(request_id.as_str()),
                _ => None,
            })
            .collect();
        lock_holders(&mut tx, &charged).await?;
        let mut applied = Vec::new();
        for e in entries.iter_mut() {
            match &e.charge {
                Some(Charge::Settle { request_id, actual }) => {
                    e.row.cost = settle_in(&mut tx, request_id, *actual).await?;
                }
                Some(Charge::Apply {
                    user_id,
                    key_id,
                    amount,
                }) => {
                    applied.push((*user_id, *key_id, *amount));
                    e.row.cost = *amount;
                }
                None => {}
            }
        }
        apply_in(&mut tx, &applied, slices).await?;
        let rows: Vec<&LogRow> = entries.iter().map(|e| &e.row).collect();
        insert_rows(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok(())
    }
}
