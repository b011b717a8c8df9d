//! Midjourney tasks: record on submit, update from upstream polls, look up per user, refund once.

use crate::backend::finish;
use crate::codec::{RowExt, now_ms, to_json};
use crate::{MjTask, MjTaskUpdate, NewMjTask, Store, StoreError};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, QueryBuilder};
use std::collections::{HashMap, HashSet};

const MJ_COLS: &str = "id, upstream_id, user_id, key_id, channel_id, action, mode, prompt, \
                       prompt_en, description, state, status, progress, image_url, fail_reason, \
                       buttons, properties, notify_hook, submit_time, start_time, finish_time, \
                       cost, refunded, created_at, updated_at";

/// Statuses after which upstream will not change a task any more.
const FINISHED: &str = "('SUCCESS', 'FAILURE', 'CANCEL')";
const MAX_LIMIT: i64 = 1000;
/// Ids per `IN (...)` list, far below SQLite's parameter limit.
const IDS_PER_QUERY: usize = 500;

fn mj_from_row(row: &AnyRow) -> Result<MjTask, StoreError> {
    Ok(MjTask {
        id: row.int("id")?,
        upstream_id: row.text("upstream_id")?,
        user_id: row.int("user_id")?,
        key_id: row.int("key_id")?,
        channel_id: row.int("channel_id")?,
        action: row.text("action")?,
        mode: row.opt_text("mode")?,
        prompt: row.opt_text("prompt")?,
        prompt_en: row.opt_text("prompt_en")?,
        description: row.opt_text("description")?,
        state: row.opt_text("state")?,
        status: row.text("status")?,
        progress: row.text("progress")?,
        image_url: row.opt_text("image_url")?,
        fail_reason: row.opt_text("fail_reason")?,
        buttons: row.json("buttons")?,
        properties: row.json("properties")?,
        notify_hook: row.opt_text("notify_hook")?,
        submit_time: row.opt_int("submit_time")?,
        start_time: row.opt_int("start_time")?,
        finish_time: row.opt_int("finish_time")?,
        cost: row.int("cost")?,
        refunded: row.flag("refunded")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
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
        mj_from_row(&row)
    }

    /// `NotFound` if there is no task with this id.
    pub async fn get_mj_task(&self, id: i64) -> Result<MjTask, StoreError> {
        let row = sqlx::query(&self.sql(&format!("SELECT {MJ_COLS} FROM mj_tasks WHERE id = ?")))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        mj_from_row(&row)
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
        row.as_ref().map(mj_from_row).transpose()
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
                let task = mj_from_row(&row)?;
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
        rows.iter().map(mj_from_row).collect()
    }

    /// Applies the fields that are `Some` and sets `updated_at`; returns the new row. `NotFound` if the
    /// task is gone.
    pub async fn update_mj_task(&self, id: i64, u: &MjTaskUpdate) -> Result<MjTask, StoreError> {
        let mut qb: QueryBuilder<'_, Any> = QueryBuilder::new("UPDATE mj_tasks SET ");
        let mut sets = qb.separated(", ");
        if let Some(v) = &u.status {
            sets.push("status = ").push_bind_unseparated(v.clone());
        }
        if let Some(v) = &u.progress {
            sets.push("progress = ").push_bind_unseparated(v.clone());
        }
        if let Some(v) = &u.image_url {
            sets.push("image_url = ").push_bind_unseparated(v.clone());
        }
        if let Some(v) = &u.fail_reason {
            sets.push("fail_reason = ").push_bind_unseparated(v.clone());
        }
        if let Some(v) = &u.buttons {
            sets.push("buttons = ")
                .push_bind_unseparated(json_or(v, "[]")?);
        }
        if let Some(v) = &u.properties {
            sets.push("properties = ")
                .push_bind_unseparated(json_or(v, "{}")?);
        }
        if let Some(v) = &u.prompt_en {
            sets.push("prompt_en = ").push_bind_unseparated(v.clone());
        }
        if let Some(v) = &u.description {
            sets.push("description = ").push_bind_unseparated(v.clone());
        }
        if let Some(v) = u.start_time {
            sets.push("start_time = ").push_bind_unseparated(v);
        }
        if let Some(v) = u.finish_time {
            sets.push("finish_time = ").push_bind_unseparated(v);
        }
        sets.push("updated_at = ").push_bind_unseparated(now_ms());
        qb.push(" WHERE id = ")
            .push_bind(id)
            .push(format!(" RETURNING {MJ_COLS}"));
        let (sql, args) = finish(self.backend, &mut qb)?;
        let row = sqlx::query_with(&sql, args)
            .fetch_optional(&self.write)
            .await?
            .ok_or(StoreError::NotFound)?;
        mj_from_row(&row)
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
        sqlx::query(&self.sql(
            "UPDATE users SET balance = balance + ?, \
             spent = CASE WHEN spent > ? THEN spent - ? ELSE 0 END WHERE id = ?",
        ))
        .bind(cost)
        .bind(cost)
        .bind(cost)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&self.sql(
            "UPDATE api_keys SET spent = CASE WHEN spent > ? THEN spent - ? ELSE 0 END WHERE id = ?",
        ))
        .bind(cost)
        .bind(cost)
        .bind(key_id)
        .execute(&mut *tx)
        .await?;
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
        let mut conditions = Vec::new();
        if user_id.is_some() {
            conditions.push("user_id = ?");
        }
        if status.is_some() {
            conditions.push("status = ?");
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) FROM mj_tasks{filter}");
        let count_sql = self.sql(&count_sql);
        let mut count = sqlx::query_scalar(&count_sql);
        let page_sql =
            format!("SELECT {MJ_COLS} FROM mj_tasks{filter} ORDER BY id DESC LIMIT ? OFFSET ?");
        let page_sql = self.sql(&page_sql);
        let mut page = sqlx::query(&page_sql);
        if let Some(uid) = user_id {
            count = count.bind(uid);
            page = page.bind(uid);
        }
        if let Some(st) = status {
            count = count.bind(st.to_owned());
            page = page.bind(st.to_owned());
        }
        let mut tx = self.read_tx().await?;
        let total: i64 = count.fetch_one(&mut *tx).await?;
        let rows = page
            .bind(limit.clamp(1, MAX_LIMIT))
            .bind(offset.max(0))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let tasks = rows.iter().map(mj_from_row).collect::<Result<_, _>>()?;
        Ok((tasks, total))
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
        .bind(&t.mode)
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
