//! Redemption codes: batch creation, listing, and the one-time redeem that credits a user's balance.

use crate::codec::{RowExt, now_ms};
use crate::users::add_to_balance;
use crate::{RedemptionCode, Store, StoreError, User};
use sqlx::any::AnyRow;

const COLS: &str = "id, code, amount, created_at, redeemed_by, redeemed_at";

fn code_from_row(row: &AnyRow) -> Result<RedemptionCode, StoreError> {
    Ok(RedemptionCode {
        id: row.int("id")?,
        code: row.text("code")?,
        amount: row.int("amount")?,
        created_at: row.time("created_at")?,
        redeemed_by: row.opt_int("redeemed_by")?,
        redeemed_at: row.opt_time("redeemed_at")?,
    })
}

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
            out.push(code_from_row(&row)?);
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
        let mut tx = self.read_tx().await?;
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM redemption_codes{}",
            status.condition()
        ))
        .fetch_one(&mut *tx)
        .await?;
        let rows = sqlx::query(&self.sql(&format!(
            "SELECT {COLS} FROM redemption_codes{} ORDER BY id DESC LIMIT ? OFFSET ?",
            status.condition()
        )))
        .bind(limit.max(0))
        .bind(offset.max(0))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let codes = rows.iter().map(code_from_row).collect::<Result<_, _>>()?;
        Ok((codes, total))
    }

    pub async fn delete_code(&self, id: i64) -> Result<(), StoreError> {
        let done = sqlx::query(&self.sql("DELETE FROM redemption_codes WHERE id = ?"))
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
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
        let redeemed = code_from_row(&row)?;
        let user = add_to_balance(self, &mut tx, user_id, redeemed.amount).await?;
        tx.commit().await?;
        Ok((redeemed, user))
    }
}
