//! Budget slices: the share of an account's money that one instance may spend from memory (decision 0013).
//!
//! A slice is a *claim*, not a debit. Money moves only when a charge is committed (`settle_and_log`), and that
//! commit lowers the committing instance's slice by the same amount in the same transaction, so what an account
//! can still hand out — its balance (or its key's cap headroom) minus every live slice — never changes by a
//! commit. A slice past its `expires_at` belongs to nobody: a crashed instance's claims lapse by themselves and
//! nothing has to be given back, so no fault can create or lose money here.
//!
//! Growing a slice locks the account's row (users, then keys: the ledger's lock order on PostgreSQL) before it
//! reads the other slices, so two instances growing at once cannot both take the same money.

use crate::codec::now_ms;
use crate::ledger::{key_headroom, user_balance};
use crate::record::{Params as _, exec};
use crate::{Store, StoreError};
use sqlx::AnyConnection;
use std::time::{Duration, Instant};

/// Which account a slice is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SliceAccount {
    /// A user's balance.
    User(i64),
    /// An API key's spend cap (keys without a cap need no slice).
    Key(i64),
}

impl SliceAccount {
    fn parts(self) -> (&'static str, i64) {
        match self {
            Self::User(id) => ("user", id),
            Self::Key(id) => ("key", id),
        }
    }
}

/// What [`Store::grow_slices`] gave.
#[derive(Debug, Clone, Copy)]
pub struct Grown {
    pub user: Grant,
    pub key: Grant,
    /// When the slices' new expiry was set (`ttl` after this).
    pub confirmed_at: Instant,
}

/// What growing one slice gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The slice grew by this much (0 when nothing was free).
    Granted {
        amount: i64,
        /// Whether another instance holds a live slice of this account (which it could hand over).
        others_hold: bool,
    },
    /// The user or key does not exist.
    Missing,
}

fn expiry(ttl: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// How much a slice grows by: what is `needed` now as far as it is free, plus up to `ahead` more but never more
/// than half of what is left after that, so a small account is not taken by the first instance that asks.
pub fn growth(free: i64, Want { needed, ahead }: Want) -> i64 {
    let free = free.max(0);
    let now = needed.clamp(0, free);
    now + ahead.clamp(0, (free - now) / 2)
}

/// What an instance asks of one account: `needed` for the request in hand, `ahead` for the ones it expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Want {
    pub needed: i64,
    pub ahead: i64,
}

/// Inside the caller's transaction: grows `holder`'s slice of `account` by [`growth`] and extends it to
/// `expires_at`. `limit` is the account's balance or cap headroom (read and locked already; `i64::MAX` for a key
/// without a cap), `None` when the account does not exist.
async fn grow_one(
    conn: &mut AnyConnection,
    holder: &str,
    account: SliceAccount,
    limit: Option<i64>,
    want: Want,
    expires_at: i64,
) -> Result<Grant, StoreError> {
    let Some(limit) = limit else {
        return Ok(Grant::Missing);
    };
    let b = crate::backend::Backend::of(conn);
    let (kind, id) = account.parts();
    let now = now_ms();
    let sql = b.sql(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN holder <> ? AND expires_at > ? THEN amount ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN holder = ? AND expires_at > ? THEN amount ELSE 0 END), 0) AS BIGINT) \
         FROM budget_slices WHERE account = ? AND account_id = ?",
    );
    let args = (holder.to_owned(), now, holder.to_owned(), now, kind, id).into_args()?;
    let (others, mine): (i64, i64) = sqlx::query_as_with(&sql, args)
        .fetch_one(&mut *conn)
        .await?;
    let free = limit.saturating_sub(others).saturating_sub(mine.max(0));
    let amount = growth(free, want);
    // Relative, so a commit lowering this slice concurrently (another connection, PostgreSQL) is not lost. A slice
    // of this holder that lapsed was free for others meanwhile: it starts again from the grant.
    let sql = "INSERT INTO budget_slices (holder, account, account_id, amount, expires_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (account, account_id, holder) DO UPDATE SET \
           amount = CASE WHEN budget_slices.expires_at > ? THEN budget_slices.amount + excluded.amount \
                         ELSE excluded.amount END, \
           expires_at = excluded.expires_at";
    let params = (holder.to_owned(), kind, id, amount, expires_at, now);
    exec(conn, sql, params).await?;
    Ok(Grant::Granted {
        amount,
        others_hold: others > 0,
    })
}

impl Store {
    /// Grows `holder`'s slices of a user's balance and of a key's cap, each by [`growth`] (never past what is
    /// free), in one transaction; both slices are extended to `ttl` from when the transaction began.
    pub async fn grow_slices(
        &self,
        holder: &str,
        (user_id, want_user): (i64, Want),
        (key_id, want_key): (i64, Want),
        ttl: Duration,
    ) -> Result<Grown, StoreError> {
        let mut tx = self.write_tx().await?;
        // Taken once the transaction holds the write lock, however long that took.
        let confirmed_at = Instant::now();
        let expires_at = expiry(ttl);
        let balance = user_balance(&mut tx, user_id).await?;
        let headroom = key_headroom(&mut tx, key_id).await?;
        let user = grow_one(
            &mut tx,
            holder,
            SliceAccount::User(user_id),
            balance,
            want_user,
            expires_at,
        )
        .await?;
        let key = grow_one(
            &mut tx,
            holder,
            SliceAccount::Key(key_id),
            headroom,
            want_key,
            expires_at,
        )
        .await?;
        tx.commit().await?;
        Ok(Grown {
            user,
            key,
            confirmed_at,
        })
    }

    /// Gives `amount` of `holder`'s slice of `account` back (what it no longer needs); a slice left empty is
    /// removed.
    pub async fn shrink_slice(
        &self,
        holder: &str,
        account: SliceAccount,
        amount: i64,
    ) -> Result<(), StoreError> {
        let (kind, id) = account.parts();
        let mut tx = self.write_tx().await?;
        lower_in(&mut tx, holder, std::iter::once((account, amount))).await?;
        let sql = "DELETE FROM budget_slices WHERE account = ? AND account_id = ? AND holder = ? AND amount <= 0";
        exec(&mut tx, sql, (kind, id, holder.to_owned())).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Extends every live slice of `holder` to `ttl` from now (its heartbeat), and forgets slices that lapsed more than
    /// `forget_after` ago, whoever held them (nothing is owed for them: a slice is a claim, not a debit). Returns
    /// how many of `holder`'s slices were extended and how many lapsed slices were forgotten.
    pub async fn renew_slices(
        &self,
        holder: &str,
        ttl: Duration,
        forget_after: Duration,
    ) -> Result<(u64, u64), StoreError> {
        // Only live slices: one that lapsed was free for others meanwhile and is not this holder's any more.
        let mut conn = self.write.acquire().await?;
        let sql = "UPDATE budget_slices SET expires_at = ? WHERE holder = ? AND expires_at > ?";
        let renewed = exec(&mut conn, sql, (expiry(ttl), holder.to_owned(), now_ms())).await?;
        let lapsed_before =
            now_ms().saturating_sub(i64::try_from(forget_after.as_millis()).unwrap_or(i64::MAX));
        let sql = "DELETE FROM budget_slices WHERE expires_at < ?";
        let forgotten = exec(&mut conn, sql, (lapsed_before,)).await?;
        Ok((renewed, forgotten))
    }

    /// Removes every slice of `holder` (a clean shutdown, after its last charges are committed).
    pub async fn drop_slices(&self, holder: &str) -> Result<(), StoreError> {
        let mut conn = self.write.acquire().await?;
        let sql = "DELETE FROM budget_slices WHERE holder = ?";
        exec(&mut conn, sql, (holder.to_owned(),)).await?;
        Ok(())
    }
}

/// Inside a commit's transaction: lowers `holder`'s slices by what was charged against them, users then keys in
/// ascending id order (the ledger's lock order). A slice that is gone (lapsed and forgotten) is left gone: the
/// charge itself stands.
pub(crate) async fn lower_in(
    conn: &mut AnyConnection,
    holder: &str,
    charged: impl Iterator<Item = (SliceAccount, i64)>,
) -> Result<(), StoreError> {
    let mut charged: Vec<(SliceAccount, i64)> = charged.filter(|(_, a)| *a != 0).collect();
    charged.sort_unstable();
    for (account, amount) in charged {
        let (kind, id) = account.parts();
        let sql = "UPDATE budget_slices SET amount = amount - ? WHERE account = ? AND account_id = ? AND holder = ?";
        exec(conn, sql, (amount, kind, id, holder.to_owned())).await?;
    }
    Ok(())
}
