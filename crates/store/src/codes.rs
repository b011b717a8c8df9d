//! Redemption codes: batch creation, listing, and the one-time redeem that credits a user's balance.

use crate::codec::now_ms;
use crate::record::{Record, record};
use crate::users::add_to_balance;
use crate::{RedemptionCode, Store, StoreError, User};

record! {
    RedemptionCode in "redemption_codes" {
        id: int,
        code: text,
        amount: int,
        created_at: time,
        redeemed_by: opt_int,
        redeemed_at: opt_time,
    }
}

const COLS: &str = RedemptionCode::COLS;

/// Which codes a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodeStatus {
    #[default]
    Any,
    Unused,
    Used,
}

impl CodeStatus {
    fn condition(self) -> &'static str {
        match self {
            Self::Any => "",
            Self::Unused => " WHERE redeemed_by IS NULL",
            Self::Used => " WHERE redeemed_by IS NOT NULL",
        }
    }
}

impl Store {
    /// Inserts every code (worth `amount` each) in one transaction: all or none. `Conflict` if a code exists.
    pub async fn create_codes(
        &self,
        codes: &[String],
        amount: i64,
    ) -> Result<Vec<RedemptionCode>, StoreError> {
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let text = format!(
            "INSERT INTO redemption_codes (code, amount, created_at) VALUES (?, ?, ?) RETURNING {COLS}"
        );
        let sql = self.sql(&text);
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            let row = sqlx::query(&sql)
                .bind(code)
                .bind(amount)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| StoreError::from_write(e, |_| "redemption code".to_owned()))?;
            out.push(RedemptionCode::from_row(&row)?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// One page, newest first, plus the total matching `status`.
    pub async fn list_codes(
        &self,
        status: CodeStatus,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<RedemptionCode>, i64), StoreError> {
        let filter = |qb: &mut sqlx::QueryBuilder<'_, sqlx::Any>| {
            qb.push(status.condition());
        };
        self.page(filter, "id DESC", limit.max(0), offset).await
    }

    pub async fn delete_code(&self, id: i64) -> Result<(), StoreError> {
        self.delete_by("redemption_codes", "id", id).await
    }

    /// Marks the code redeemed by `user_id` and adds its amount to that user's balance, in one transaction.
    /// The conditional UPDATE is what makes a code count once, even when two requests race for it.
    /// `NotFound` when the code does not exist, was already redeemed, or the user is gone; `Overflow` when the
    /// balance cannot hold it (the code stays unused).
    pub async fn redeem_code(
        &self,
        code: &str,
        user_id: i64,
    ) -> Result<(RedemptionCode, User), StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&self.sql(&format!(
            "UPDATE redemption_codes SET redeemed_by = ?, redeemed_at = ? \
             WHERE code = ? AND redeemed_by IS NULL RETURNING {COLS}"
        )))
        .bind(user_id)
        .bind(now_ms())
        .bind(code)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let redeemed = RedemptionCode::from_row(&row)?;
        let user = add_to_balance(self, &mut tx, user_id, redeemed.amount).await?;
        tx.commit().await?;
        Ok((redeemed, user))
    }
}
