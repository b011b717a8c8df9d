//! Request logs: batched insert, adding to the `count` of folded refusal rows, filtered newest-first paging,
//! retention delete.

use crate::backend::{Backend, finish};
use crate::codec::{bool_int, to_ms};
use crate::record::{Record, and_eq, record};
use crate::{LogFilter, LogRow, Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::{Any, AnyConnection, QueryBuilder};

record! {
    LogRow in "logs" {
        request_id: text,
        time: time,
        user_id: opt_int,
        key_id: opt_int,
        key_name: opt_text,
        channel_id: opt_int,
        model: opt_text,
        upstream_model: opt_text,
        prompt_tokens: int,
        cached_tokens: int,
        cache_write_tokens: int,
        completion_tokens: int,
        cost: int,
        status: int,
        stream: flag,
        retries: int,
        latency_ms: int,
        ttft_ms: opt_int,
        client_ip: opt_text,
        error: opt_text,
        count: int,
    }
}

const COLS: &str = LogRow::COLS;
const MAX_LIMIT: i64 = 1000;

/// Appends ` WHERE ...` for the filter's set fields (time range is `[since, until)`).
fn push_where(qb: &mut QueryBuilder<'_, Any>, f: &LogFilter) {
    qb.push(" WHERE 1 = 1");
    and_eq(qb, "request_id", f.request_id.clone());
    and_eq(qb, "user_id", f.user_id);
    and_eq(qb, "key_id", f.key_id);
    and_eq(qb, "model", f.model.clone());
    and_eq(qb, "channel_id", f.channel_id);
    and_eq(qb, "status", f.status);
    push_time_range(qb, f.since, f.until);
}

/// Appends ` AND time >= since AND time < until` for the bounds that are set.
pub(crate) fn push_time_range(
    qb: &mut QueryBuilder<'_, Any>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) {
    if let Some(t) = since {
        qb.push(" AND time >= ").push_bind(to_ms(t));
    }
    if let Some(t) = until {
        qb.push(" AND time < ").push_bind(to_ms(t));
    }
}

/// Most rows per multi-row INSERT (a power of two): 20 binds each stays far below SQLite's limit of 32766
/// parameters.
const ROWS_PER_INSERT: usize = 256;

/// Splits `n` rows into statement sizes that are powers of two (256, 128, …, 1). Each size is one SQL text, so
/// the connection's prepared-statement cache holds at most nine INSERTs; a statement per batch size (1 to 512)
/// would fill it with up to 100 large programs, tens of MB of memory.
fn chunk_sizes(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if n == 0 {
            return None;
        }
        let size = if n >= ROWS_PER_INSERT {
            ROWS_PER_INSERT
        } else {
            1 << n.ilog2()
        };
        n -= size;
        Some(size)
    })
}

/// Inserts rows inside the caller's transaction, several per statement.
pub(crate) async fn insert_rows(
    conn: &mut AnyConnection,
    rows: &[&LogRow],
) -> Result<(), StoreError> {
    let mut rest = rows;
    for size in chunk_sizes(rows.len()) {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut qb: QueryBuilder<'_, Any> =
            QueryBuilder::new(format!("INSERT INTO logs ({COLS}) "));
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(&r.request_id)
                .push_bind(to_ms(r.time))
                .push_bind(r.user_id)
                .push_bind(r.key_id)
                .push_bind(&r.key_name)
                .push_bind(r.channel_id)
                .push_bind(&r.model)
                .push_bind(&r.upstream_model)
                .push_bind(r.prompt_tokens)
                .push_bind(r.cached_tokens)
                .push_bind(r.cache_write_tokens)
                .push_bind(r.completion_tokens)
                .push_bind(r.cost)
                .push_bind(r.status)
                .push_bind(bool_int(r.stream))
                .push_bind(r.retries)
                .push_bind(r.latency_ms)
                .push_bind(r.ttft_ms)
                .push_bind(&r.client_ip)
                .push_bind(&r.error)
                .push_bind(r.count);
        });
        let (sql, args) = finish(Backend::of(conn), &mut qb)?;
        sqlx::query_with(&sql, args).execute(&mut *conn).await?;
    }
    Ok(())
}

impl Store {
    /// Inserts all rows in one transaction.
    pub async fn insert_logs(&self, rows: &[LogRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        let refs: Vec<&LogRow> = rows.iter().collect();
        insert_rows(&mut tx, &refs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds `n` to the `count` of the row of each `(request_id, n)`, in one transaction: the requests folded
    /// into a refusal row after it was written.
    pub async fn add_log_counts(&self, counts: &[(String, i64)]) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        let sql = self.sql("UPDATE logs SET count = count + ? WHERE request_id = ?");
        let mut tx = self.write_tx().await?;
        for (request_id, n) in counts {
            sqlx::query(&sql)
                .bind(*n)
                .bind(request_id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Rows matching the filter, newest first (time desc, id desc), `limit` clamped to 1..=1000,
    /// plus the number of rows the filter matches in total.
    pub async fn query_logs(&self, f: &LogFilter) -> Result<(Vec<LogRow>, i64), StoreError> {
        let filter = |qb: &mut QueryBuilder<'_, Any>| push_where(qb, f);
        let limit = f.limit.clamp(1, MAX_LIMIT);
        self.page(filter, "time DESC, id DESC", limit, f.offset)
            .await
    }

    /// Retention: deletes rows with `time < t`, returning how many went.
    pub async fn delete_logs_before(&self, t: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(&self.sql("DELETE FROM logs WHERE time < ?"))
            .bind(to_ms(t))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_are_powers_of_two_that_add_up() {
        for n in [0, 1, 2, 3, 7, 255, 256, 257, 511, 512, 1000] {
            let sizes: Vec<usize> = chunk_sizes(n).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(
                sizes
                    .iter()
                    .all(|s| s.is_power_of_two() && *s <= ROWS_PER_INSERT)
            );
        }
        assert_eq!(chunk_sizes(300).collect::<Vec<_>>(), [256, 32, 8, 4]);
    }
}
