//! Midjourney tasks: record on submit, update from upstream polls, look up per user, refund once.

use crate::backend::finish;
use crate::codec::{RowExt, now_ms, to_json};
use crate::record::{Record, Update, and_eq, exec, record};
use crate::{MjTask, MjTaskUpdate, NewMjTask, Store, StoreError};
use serde_json::Value;
use sqlx::{Any, QueryBuilder};
use std::collections::{HashMap, HashSet};

const MJ_COLS: &str = MjTask::COLS;

/// Statuses after which upstream will not change a task any more.
const FINISHED: &str = "('SUCCESS', 'FAILURE', 'CANCEL')";
const MAX_LIMIT: i64 = 1000;
/// Ids per `IN (...)` list, far below SQLite's parameter limit.
const IDS_PER_QUERY: usize = 500;

record! {
    MjTask in "mj_tasks" {
        id: int,
        upstream_id: text,
        user_id: int,
        key_id: int,
        channel_id: int,
        action: text,
        mode: opt_parsed,
        prompt: opt_text,
        prompt_en: opt_text,
        description: opt_text,
        state: opt_text,
        status: text,
        progress: text,
        image_url: opt_text,
        fail_reason: opt_text,
        buttons: json,
        properties: json,
        notify_hook: opt_text,
        submit_time: opt_int,
        start_time: opt_int,
        finish_time: opt_int,
        cost: int,
        refunded: flag,
        created_at: time,
        updated_at: time,
    }
}

/// JSON text of `v`, with `Null` stored as `empty` (`[]` or `{}`).
fn json_or(v: &Value, empty: &str) -> Result<String, StoreError> {
    if v.is_null() {
        Ok(empty.to_owned())
    } else {
        to_json(v)
    }
}

impl Store {
    /// Records a submitted task (not refunded, `created_at = updated_at = now`). `Conflict` when the
    /// channel already has a task with this `upstream_id`.
    pub async fn create_mj_task(&self, t: &NewMjTask) -> Result<MjTask, StoreError> {
        let mut conn = self.write.acquire().await?;
        let id = insert_mj_task(&mut conn, t).await?;
        let row = sqlx::query(&self.sql(&format!("SELECT {MJ_COLS} FROM mj_tasks WHERE id = ?")))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        MjTask::from_row(&row)
    }

    /// `NotFound` if there is no task with this id.
    pub async fn get_mj_task(&self, id: i64) -> Result<MjTask, StoreError> {
        self.get_by("id", id).await
    }

    /// The task a user sees under `upstream_id` (newest if several channels reused an id); None if it is not theirs.
    pub async fn find_mj_task_for_user(
        &self,
        user_id: i64,
        upstream_id: &str,
    ) -> Result<Option<MjTask>, StoreError> {
        let row = sqlx::query(&self.sql(&format!(
            "SELECT {MJ_COLS} FROM mj_tasks WHERE user_id = ? AND upstream_id = ? \
             ORDER BY id DESC LIMIT 1"
        )))
        .bind(user_id)
        .bind(upstream_id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(MjTask::from_row).transpose()
    }

    /// The user's tasks among `upstream_ids`, in order of first appearance there (each id once, the newest
    /// task when several channels reused it). Unknown ids and other users' tasks are left out.
    pub async fn list_mj_tasks_for_user(
        &self,
        user_id: i64,
        upstream_ids: &[String],
    ) -> Result<Vec<MjTask>, StoreError> {
        let mut seen = HashSet::new();
        let wanted: Vec<&str> = upstream_ids
            .iter()
            .map(String::as_str)
            .filter(|id| seen.insert(*id))
            .collect();

        let mut newest: HashMap<String, MjTask> = HashMap::new();
        let mut tx = self.read_tx().await?;
        for chunk in wanted.chunks(IDS_PER_QUERY) {
            let mut qb: QueryBuilder<'_, Any> =
                QueryBuilder::new(format!("SELECT {MJ_COLS} FROM mj_tasks WHERE user_id = "));
            qb.push_bind(user_id).push(" AND upstream_id IN (");
            let mut ids = qb.separated(", ");
            for id in chunk {
                ids.push_bind(*id);
            }
            qb.push(") ORDER BY id");
            let (sql, args) = finish(self.backend, &mut qb)?;
            for row in sqlx::query_with(&sql, args).fetch_all(&mut *tx).await? {
                // Ascending ids: a later row (newer task) replaces an earlier one.
                let task = MjTask::from_row(&row)?;
                newest.insert(task.upstream_id.clone(), task);
            }
        }
        tx.commit().await?;
        Ok(wanted
            .into_iter()
            .filter_map(|id| newest.remove(id))
            .collect())
    }

    /// Unfinished tasks (status not in SUCCESS, FAILURE, CANCEL), oldest first, at most `limit`.
    pub async fn unfinished_mj_tasks(&self, limit: i64) -> Result<Vec<MjTask>, StoreError> {
        let rows = sqlx::query(&self.sql(&format!(
            "SELECT {MJ_COLS} FROM mj_tasks WHERE status NOT IN {FINISHED} ORDER BY id LIMIT ?"
        )))
        .bind(limit.max(0))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(MjTask::from_row).collect()
    }

    /// Applies the fields that are `Some` and sets `updated_at`; returns the new row. `NotFound` if the
    /// task is gone.
    pub async fn update_mj_task(&self, id: i64, u: &MjTaskUpdate) -> Result<MjTask, StoreError> {
        let json = |v: &Option<Value>, empty| v.as_ref().map(|v| json_or(v, empty)).transpose();
        let mut update = Update::new("mj_tasks");
        update
            .set("status", u.status.clone())
            .set("progress", u.progress.clone())
            .set("image_url", u.image_url.clone())
            .set("fail_reason", u.fail_reason.clone())
            .set("buttons", json(&u.buttons, "[]")?)
            .set("properties", json(&u.properties, "{}")?)
            .set("prompt_en", u.prompt_en.clone())
            .set("description", u.description.clone())
            .set("start_time", u.start_time)
            .set("finish_time", u.finish_time)
            .set("updated_at", Some(now_ms()));
        update.returning(self, id, |_| String::new()).await
    }

    /// Gives a task's cost back to its user AND key exactly once: in one write transaction, only if the
    /// task is not refunded yet and its cost is above 0, `users.balance += cost`, `users.spent -= cost`
    /// (not below 0), `api_keys.spent -= cost` (not below 0; skipped if the key is gone) and the task is
    /// marked refunded. A deleted user gets nothing, but the task is still marked.
    ///
    /// Returns true if it refunded now, false if it had already been refunded (or cost 0); `NotFound`
    /// if there is no such task. Concurrent calls refund once: the guarded `UPDATE … WHERE refunded = 0`
    /// claims the task, and only the claimant moves money.
    pub async fn refund_mj_task(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let claimed = sqlx::query(&self.sql(
            "UPDATE mj_tasks SET refunded = 1, updated_at = ? \
             WHERE id = ? AND refunded = 0 AND cost > 0 RETURNING user_id, key_id, cost",
        ))
        .bind(now_ms())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = claimed else {
            let exists: Option<i64> =
                sqlx::query_scalar(&self.sql("SELECT id FROM mj_tasks WHERE id = ?"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return match exists {
                Some(_) => Ok(false),
                None => Err(StoreError::NotFound),
            };
        };
        let user_id = row.int("user_id")?;
        let key_id = row.int("key_id")?;
        let cost = row.int("cost")?;

        // CASE rather than MAX(a, b): the same SQL runs on PostgreSQL.
        let sql = "UPDATE users SET balance = balance + ?, \
                   spent = CASE WHEN spent > ? THEN spent - ? ELSE 0 END WHERE id = ?";
        exec(&mut tx, sql, (cost, cost, cost, user_id)).await?;
        let sql = "UPDATE api_keys SET spent = CASE WHEN spent > ? THEN spent - ? ELSE 0 END WHERE id = ?";
        exec(&mut tx, sql, (cost, cost, key_id)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Admin listing: newest first (by id), optionally one user's tasks and/or one status, `limit` clamped to 1..=1000,
    /// plus the total for that filter.
    pub async fn list_mj_tasks(
        &self,
        user_id: Option<i64>,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<MjTask>, i64), StoreError> {
        let filter = |qb: &mut QueryBuilder<'_, Any>| {
            qb.push(" WHERE 1 = 1");
            and_eq(qb, "user_id", user_id);
            and_eq(qb, "status", status.map(str::to_owned));
        };
        let limit = limit.clamp(1, MAX_LIMIT);
        self.page(filter, "id DESC", limit, offset).await
    }
}

/// Inserts a task on `conn` (which may be inside a transaction); returns its id. `Conflict` when the channel
/// already has a task with this `upstream_id`.
pub(crate) async fn insert_mj_task(
    conn: &mut sqlx::AnyConnection,
    t: &NewMjTask,
) -> Result<i64, StoreError> {
    let now = now_ms();
    let sql = crate::backend::Backend::of(conn)
        .sql(
            "INSERT INTO mj_tasks (upstream_id, user_id, key_id, channel_id, action, mode, prompt, \
         state, status, progress, buttons, properties, notify_hook, submit_time, cost, \
         refunded, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id",
        )
        .into_owned();
    sqlx::query_scalar(&sql)
        .bind(&t.upstream_id)
        .bind(t.user_id)
        .bind(t.key_id)
        .bind(t.channel_id)
        .bind(&t.action)
        .bind(t.mode.map(api_types::MjMode::as_str))
        .bind(&t.prompt)
        .bind(&t.state)
        .bind(&t.status)
        .bind(&t.progress)
        .bind(json_or(&t.buttons, "[]")?)
        .bind(json_or(&t.properties, "{}")?)
        .bind(&t.notify_hook)
        .bind(t.submit_time)
        .bind(t.cost)
        .bind(now)
        .bind(now)
        .fetch_one(conn)
        .await
        .map_err(|e| {
            StoreError::from_write(e, |_| {
                format!("mj task {} on channel {}", t.upstream_id, t.channel_id)
            })
        })
}
