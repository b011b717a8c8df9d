//! Usage aggregation over the request logs, grouped by day / model / user / channel.

use crate::backend::finish;
use crate::codec::RowExt;
use crate::logs::push_time_range;
use crate::{Store, StoreError, UsageBucket, UsageDim};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, QueryBuilder};

const DAY_MS: i64 = 86_400_000;

/// SQL expression and result alias of a dimension. Days are whole UTC days since the epoch,
/// computed with integer division so the query stays portable.
fn dim_sql(d: UsageDim) -> (&'static str, &'static str) {
    match d {
        UsageDim::Day => ("time / 86400000", "day_no"),
        UsageDim::Model => ("model", "model"),
        UsageDim::User => ("user_id", "user_id"),
        UsageDim::Channel => ("channel_id", "channel_id"),
    }
}

fn day_string(day_no: i64) -> Result<String, StoreError> {
    let t = DateTime::<Utc>::from_timestamp_millis(day_no.saturating_mul(DAY_MS))
        .ok_or_else(|| StoreError::Corrupt(format!("day {day_no} out of range")))?;
    Ok(t.format("%Y-%m-%d").to_string())
}

fn bucket_from_row(row: &AnyRow, dims: &[UsageDim]) -> Result<UsageBucket, StoreError> {
    let mut b = UsageBucket {
        requests: row.int("requests")?,
        prompt_tokens: row.int("prompt_tokens")?,
        completion_tokens: row.int("completion_tokens")?,
        cost: row.int("cost")?,
        ..UsageBucket::default()
    };
    for d in dims {
        match d {
            UsageDim::Day => b.day = Some(day_string(row.int("day_no")?)?),
            UsageDim::Model => b.model = row.opt_text("model")?,
            UsageDim::User => b.user_id = row.opt_int("user_id")?,
            UsageDim::Channel => b.channel_id = row.opt_int("channel_id")?,
        }
    }
    Ok(b)
}

impl Store {
    /// Totals of the logs with `since <= time < until`, one bucket per distinct combination of `dims`
    /// (ordered by them); no dims gives a single total bucket.
    pub async fn usage(
        &self,
        dims: &[UsageDim],
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<UsageBucket>, StoreError> {
        self.usage_of(None, dims, since, until).await
    }

    /// [`Self::usage`] of one user's requests only (`None`: everyone's).
    pub async fn usage_of(
        &self,
        user_id: Option<i64>,
        dims: &[UsageDim],
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<UsageBucket>, StoreError> {
        let mut uniq: Vec<UsageDim> = Vec::with_capacity(dims.len());
        for d in dims {
            if !uniq.contains(d) {
                uniq.push(*d);
            }
        }

        let mut qb: QueryBuilder<'_, Any> = QueryBuilder::new("SELECT ");
        for d in &uniq {
            let (expr, alias) = dim_sql(*d);
            qb.push(format!("{expr} AS {alias}, "));
        }
        qb.push(
            "CAST(COALESCE(SUM(count), 0) AS BIGINT) AS requests, \
             CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS prompt_tokens, \
             CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) AS completion_tokens, \
             CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS cost \
             FROM logs WHERE 1 = 1",
        );
        push_time_range(&mut qb, since, until);
        if let Some(user_id) = user_id {
            qb.push(" AND user_id = ").push_bind(user_id);
        }
        if !uniq.is_empty() {
            let exprs: Vec<&str> = uniq.iter().map(|d| dim_sql(*d).0).collect();
            // NULLS FIRST is SQLite's default order and must be asked for on PostgreSQL.
            let order: Vec<String> = exprs.iter().map(|e| format!("{e} NULLS FIRST")).collect();
            qb.push(format!(
                " GROUP BY {} ORDER BY {}",
                exprs.join(", "),
                order.join(", ")
            ));
        }

        let (sql, args) = finish(self.backend, &mut qb)?;
        let rows = sqlx::query_with(&sql, args).fetch_all(&self.read).await?;
        rows.iter().map(|r| bucket_from_row(r, &uniq)).collect()
    }
}
