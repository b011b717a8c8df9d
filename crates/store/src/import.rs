//! Writing rows brought in from another gateway (`tollgate import`): the whole plan in ONE transaction, so bad
//! data or a failed write leaves nothing half-imported, and a dry run is the same transaction rolled back (its
//! counts are exactly what a real run would do). `import_ids` remembers which row each source row became, so a
//! second run updates those rows instead of adding new ones.

use crate::backend::Backend;
use crate::codec::{RowExt, bool_int, now_ms, opt_json, to_json, to_ms};
use crate::record::{Upsert, upsert_in};
use crate::{Group, NewApiKey, NewChannel, NewMjTask, NewUser, Price, Store, StoreError};
use sqlx::AnyConnection;
use std::collections::HashMap;

/// Everything to import, already converted to Tollgate's records.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    /// Names the source system in `import_ids` (e.g. `new-api`).
    pub source: String,
    pub groups: Vec<Group>,
    pub prices: Vec<Price>,
    pub users: Vec<ImportedUser>,
    pub channels: Vec<ImportedChannel>,
    pub keys: Vec<ImportedKey>,
    pub codes: Vec<ImportedCode>,
    pub mj_tasks: Vec<ImportedMjTask>,
}

#[derive(Debug, Clone)]
pub struct ImportedUser {
    pub source_id: i64,
    pub user: NewUser,
    /// Settled spend in the source, set on the first import only (afterwards Tollgate counts its own).
    pub spent: i64,
}

#[derive(Debug, Clone)]
pub struct ImportedChannel {
    pub source_id: i64,
    pub channel: NewChannel,
    /// Why it arrives disabled (shown as the channel's last error), e.g. a provider Tollgate has no adapter for.
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ImportedKey {
    pub source_id: i64,
    pub user_source_id: i64,
    /// `user_id` is filled in from the imported user; `spend_cap` is ignored in favour of `remaining`.
    pub key: NewApiKey,
    /// What the key may still spend (`None` = unlimited). Becomes the cap above what the key has spent.
    pub remaining: Option<i64>,
    /// What the key spent in the source, set on the first import only (afterwards Tollgate counts its own).
    pub spent: i64,
}

#[derive(Debug, Clone)]
pub struct ImportedCode {
    pub code: String,
    pub amount: i64,
}

#[derive(Debug, Clone)]
pub struct ImportedMjTask {
    pub source_id: i64,
    pub user_source_id: i64,
    pub channel_source_id: i64,
    /// `user_id` and `channel_id` are filled in from the imported rows.
    pub task: NewMjTask,
}

/// What happened to one table's rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableCount {
    pub created: u64,
    pub updated: u64,
    /// Left as they were (a code already redeemed here, a task whose user or channel did not come along).
    pub skipped: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ImportOutcome {
    /// In write order: groups, prices, users, channels, keys, codes, mj_tasks.
    pub tables: Vec<(&'static str, TableCount)>,
    /// Things the operator should know (renamed rows, skipped tasks).
    pub notes: Vec<String>,
    /// Whether the transaction was committed (false for a dry run).
    pub committed: bool,
}

/// Reports progress: table name, rows done, rows in the table.
pub type Progress<'a> = &'a mut (dyn FnMut(&'static str, u64, u64) + Send);

struct Tx<'c> {
    conn: &'c mut AnyConnection,
    backend: Backend,
    source: &'c str,
}

impl Tx<'_> {
    async fn mapped(&mut self, kind: &str, source_id: i64) -> Result<Option<i64>, StoreError> {
        let sql = self.backend.sql(
            "SELECT target_id FROM import_ids WHERE source = ? AND kind = ? AND source_id = ?",
        );
        Ok(sqlx::query_scalar(&sql)
            .bind(self.source)
            .bind(kind)
            .bind(source_id.to_string())
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    async fn remember(
        &mut self,
        kind: &str,
        source_id: i64,
        target: i64,
    ) -> Result<(), StoreError> {
        let sql = self.backend.sql(
            "INSERT INTO import_ids (source, kind, source_id, target_id) VALUES (?, ?, ?, ?) \
             ON CONFLICT (source, kind, source_id) DO UPDATE SET target_id = excluded.target_id",
        );
        sqlx::query(&sql)
            .bind(self.source)
            .bind(kind)
            .bind(source_id.to_string())
            .bind(target)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// The id of the row of `table` named `name` (column `column`), if any.
    async fn id_by(
        &mut self,
        table: &str,
        column: &str,
        value: &str,
    ) -> Result<Option<i64>, StoreError> {
        let sql = format!("SELECT id FROM {table} WHERE {column} = ?");
        Ok(sqlx::query_scalar(&self.backend.sql(&sql))
            .bind(value)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    /// Whether a row of `table` other than `existing` has `value` in `column` (a unique column).
    async fn taken(
        &mut self,
        table: &str,
        column: &str,
        value: &str,
        existing: Option<i64>,
    ) -> Result<bool, StoreError> {
        let other = self.id_by(table, column, value).await?;
        Ok(other.is_some_and(|other| Some(other) != existing))
    }

    /// The mapped row, if the mapping exists and the row still does.
    async fn existing(
        &mut self,
        kind: &str,
        table: &str,
        source_id: i64,
    ) -> Result<Option<i64>, StoreError> {
        let Some(id) = self.mapped(kind, source_id).await? else {
            return Ok(None);
        };
        let sql = format!("SELECT id FROM {table} WHERE id = ?");
        Ok(sqlx::query_scalar(&self.backend.sql(&sql))
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?)
    }

    /// Whether `table` has a row whose `column` is `value`.
    async fn has(&mut self, table: &str, column: &str, value: &str) -> Result<bool, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?");
        let n: i64 = sqlx::query_scalar(&self.backend.sql(&sql))
            .bind(value)
            .fetch_one(&mut *self.conn)
            .await?;
        Ok(n > 0)
    }
}

impl Store {
    /// Writes `plan` in one transaction; commits only when `commit` (else it is a dry run and rolls back).
    pub async fn apply_import(
        &self,
        plan: &ImportPlan,
        commit: bool,
        progress: Progress<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut out = ImportOutcome::default();
        let mut t = Tx {
            conn: &mut tx,
            backend: self.backend,
            source: &plan.source,
        };
        out.tables.push((
            "groups",
            upserted(&mut t, "groups", &plan.groups, progress).await?,
        ));
        out.tables.push((
            "prices",
            upserted(&mut t, "prices", &plan.prices, progress).await?,
        ));
        let (count, users) = users(&mut t, &plan.users, progress).await?;
        out.tables.push(("users", count));
        let (count, channels) = self
            .channels(&mut t, &plan.channels, &mut out.notes, progress)
            .await?;
        out.tables.push(("channels", count));
        out.tables.push((
            "keys",
            keys(&mut t, &plan.keys, &users, &mut out.notes, progress).await?,
        ));
        out.tables
            .push(("codes", codes(&mut t, &plan.codes, progress).await?));
        let count = mj_tasks(
            &mut t,
            &plan.mj_tasks,
            &users,
            &channels,
            &mut out.notes,
            progress,
        )
        .await?;
        out.tables.push(("mj_tasks", count));
        if commit {
            tx.commit().await?;
            out.committed = true;
        } else {
            tx.rollback().await?;
        }
        Ok(out)
    }

    async fn channels(
        &self,
        t: &mut Tx<'_>,
        rows: &[ImportedChannel],
        notes: &mut Vec<String>,
        progress: Progress<'_>,
    ) -> Result<(TableCount, HashMap<i64, i64>), StoreError> {
        let mut count = TableCount::default();
        let mut ids = HashMap::new();
        for (i, row) in rows.iter().enumerate() {
            let c = &row.channel;
            let existing = t.existing("channel", "channels", row.source_id).await?;
            // Channel names need not be unique in the source; here they must, so a taken name gets a suffix.
            let mut name = c.name.clone();
            if t.taken("channels", "name", &name, existing).await? {
                name = format!("{} ({} #{})", c.name, t.source, row.source_id);
                notes.push(format!(
                    "channel {} (#{}) is named {name:?}: the name was taken",
                    c.name, row.source_id
                ));
            }
            let health = if row.note.is_some() {
                crate::ChannelHealth::Unhealthy
            } else {
                crate::ChannelHealth::Healthy
            }
            .as_str();
            // The same values in the same order for both statements; the last parameter is the row's id
            // (update) or its creation time (insert).
            let sql = t.backend.sql(if existing.is_some() {
                "UPDATE channels SET name = ?, kind = ?, base_url = ?, models = ?, model_mapping = ?, \
                 group_names = ?, priority = ?, weight = ?, enabled = ?, api_version = ?, region = ?, \
                 health = ?, last_error = ? WHERE id = ? RETURNING id"
            } else {
                "INSERT INTO channels (name, kind, base_url, models, model_mapping, group_names, \
                 priority, weight, enabled, api_version, region, health, last_error, modes, headers, \
                 forward_image_urls, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '{}', 0, ?) RETURNING id"
            });
            let written = crate::channels::bind_settings(sqlx::query(&sql), &name, c)?
                .bind(health)
                .bind(&row.note)
                .bind(existing.unwrap_or_else(now_ms))
                .fetch_one(&mut *t.conn)
                .await?;
            let id = written.int("id")?;
            if existing.is_some() {
                sqlx::query(
                    &t.backend
                        .sql("DELETE FROM channel_keys WHERE channel_id = ?"),
                )
                .bind(id)
                .execute(&mut *t.conn)
                .await?;
                count.updated += 1;
            } else {
                t.remember("channel", row.source_id, id).await?;
                count.created += 1;
            }
            crate::channels::insert_keys(t.conn, id, &self.seal_keys(&c.keys)?).await?;
            ids.insert(row.source_id, id);
            progress("channels", i as u64 + 1, rows.len() as u64);
        }
        Ok((count, ids))
    }
}

/// Groups or prices: each inserted or replaced on its key, counted as updated when the key existed.
async fn upserted<T: Upsert>(
    t: &mut Tx<'_>,
    label: &'static str,
    rows: &[T],
    progress: Progress<'_>,
) -> Result<TableCount, StoreError> {
    let mut count = TableCount::default();
    for (i, row) in rows.iter().enumerate() {
        if t.has(T::TABLE, T::KEY, row.key()).await? {
            count.updated += 1;
        } else {
            count.created += 1;
        }
        upsert_in(t.conn, row).await?;
        progress(label, i as u64 + 1, rows.len() as u64);
    }
    Ok(count)
}

/// Users: a name already used by a user who did not come from this source is a conflict (names are logins).
async fn users(
    t: &mut Tx<'_>,
    rows: &[ImportedUser],
    progress: Progress<'_>,
) -> Result<(TableCount, HashMap<i64, i64>), StoreError> {
    let mut count = TableCount::default();
    let mut ids = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let u = &row.user;
        let existing = t.existing("user", "users", row.source_id).await?;
        if t.taken("users", "name", &u.name, existing).await? {
            return Err(StoreError::Conflict(format!(
                "user {} (source id {}): a Tollgate user of that name, not imported from {},",
                u.name, row.source_id, t.source
            )));
        }
        let role = if u.admin { "admin" } else { "user" };
        let id = match existing {
            Some(id) => {
                let sql = t.backend.sql(
                    "UPDATE users SET name = ?, password_hash = ?, group_name = ?, balance = ?, enabled = ?, \
                     role = ? WHERE id = ?",
                );
                sqlx::query(&sql)
                    .bind(&u.name)
                    .bind(&u.password_hash)
                    .bind(&u.group)
                    .bind(u.balance)
                    .bind(bool_int(u.enabled))
                    .bind(role)
                    .bind(id)
                    .execute(&mut *t.conn)
                    .await?;
                count.updated += 1;
                id
            }
            None => {
                let sql = t.backend.sql(
                    "INSERT INTO users (name, password_hash, group_name, balance, spent, enabled, role, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                );
                let id: i64 = sqlx::query_scalar(&sql)
                    .bind(&u.name)
                    .bind(&u.password_hash)
                    .bind(&u.group)
                    .bind(u.balance)
                    .bind(row.spent)
                    .bind(bool_int(u.enabled))
                    .bind(role)
                    .bind(now_ms())
                    .fetch_one(&mut *t.conn)
                    .await?;
                t.remember("user", row.source_id, id).await?;
                count.created += 1;
                id
            }
        };
        ids.insert(row.source_id, id);
        progress("users", i as u64 + 1, rows.len() as u64);
    }
    Ok((count, ids))
}

/// Keys keep their secret (only its hash is stored). The cap becomes what the key has spent (the source's count on
/// the first import, Tollgate's own afterwards) plus what the source says is left, so a re-run just before the
/// switch-over carries the latest remainder.
async fn keys(
    t: &mut Tx<'_>,
    rows: &[ImportedKey],
    users: &HashMap<i64, i64>,
    notes: &mut Vec<String>,
    progress: Progress<'_>,
) -> Result<TableCount, StoreError> {
    let mut count = TableCount::default();
    for (i, row) in rows.iter().enumerate() {
        progress("keys", i as u64 + 1, rows.len() as u64);
        let Some(&user_id) = users.get(&row.user_source_id) else {
            count.skipped += 1;
            continue;
        };
        let k = &row.key;
        let existing = t.existing("key", "api_keys", row.source_id).await?;
        if t.taken("api_keys", "key_hash", &k.key_hash, existing)
            .await?
        {
            return Err(StoreError::Conflict(format!(
                "key #{} ({}): a Tollgate key with the same secret, not imported from {},",
                row.source_id, k.name, t.source
            )));
        }
        let mut name = k.name.clone();
        let sql = t
            .backend
            .sql("SELECT id FROM api_keys WHERE user_id = ? AND name = ?");
        let same_name: Option<i64> = sqlx::query_scalar(&sql)
            .bind(user_id)
            .bind(&name)
            .fetch_optional(&mut *t.conn)
            .await?;
        if same_name.is_some() && same_name != existing {
            name = format!("{} #{}", k.name, row.source_id);
            notes.push(format!(
                "key #{} of user #{} is named {name:?}: the user already has a key named {:?}",
                row.source_id, row.user_source_id, k.name
            ));
        }
        let spent: i64 = match existing {
            Some(id) => {
                let sql = t.backend.sql("SELECT spent FROM api_keys WHERE id = ?");
                sqlx::query_scalar(&sql)
                    .bind(id)
                    .fetch_one(&mut *t.conn)
                    .await?
            }
            None => row.spent,
        };
        let cap = row.remaining.map(|r| r.saturating_add(spent));
        // The same values in the same order for both statements; the last parameter is the row's id (update)
        // or its creation time (insert).
        let sql = t.backend.sql(if existing.is_some() {
            "UPDATE api_keys SET user_id = ?, name = ?, key_hash = ?, prefix = ?, enabled = ?, models = ?, \
             spend_cap = ?, expires_at = ?, ip_allowlist = ? WHERE id = ? RETURNING id"
        } else {
            "INSERT INTO api_keys (user_id, name, key_hash, prefix, enabled, models, spend_cap, \
             expires_at, ip_allowlist, spent, reserved, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?) RETURNING id"
        });
        let id: i64 = sqlx::query_scalar(&sql)
            .bind(user_id)
            .bind(&name)
            .bind(&k.key_hash)
            .bind(&k.prefix)
            .bind(bool_int(k.enabled))
            .bind(opt_json(k.models.as_ref())?)
            .bind(cap)
            .bind(k.expires_at.map(to_ms))
            .bind(to_json(&k.ip_allowlist)?)
            .bind(existing.unwrap_or_else(now_ms))
            .fetch_one(&mut *t.conn)
            .await?;
        if existing.is_some() {
            count.updated += 1;
        } else {
            let sql = t.backend.sql("UPDATE api_keys SET spent = ? WHERE id = ?");
            sqlx::query(&sql)
                .bind(spent)
                .bind(id)
                .execute(&mut *t.conn)
                .await?;
            t.remember("key", row.source_id, id).await?;
            count.created += 1;
        }
    }
    Ok(count)
}

/// Unused codes: new ones are added; one still unused here gets the source's amount; a redeemed one stays.
async fn codes(
    t: &mut Tx<'_>,
    rows: &[ImportedCode],
    progress: Progress<'_>,
) -> Result<TableCount, StoreError> {
    let mut count = TableCount::default();
    for (i, c) in rows.iter().enumerate() {
        progress("codes", i as u64 + 1, rows.len() as u64);
        let sql = t
            .backend
            .sql("SELECT redeemed_by FROM redemption_codes WHERE code = ?");
        let found: Option<Option<i64>> = sqlx::query_scalar(&sql)
            .bind(&c.code)
            .fetch_optional(&mut *t.conn)
            .await?;
        match found {
            None => {
                let sql = t.backend.sql(
                    "INSERT INTO redemption_codes (code, amount, created_at) VALUES (?, ?, ?)",
                );
                sqlx::query(&sql)
                    .bind(&c.code)
                    .bind(c.amount)
                    .bind(now_ms())
                    .execute(&mut *t.conn)
                    .await?;
                count.created += 1;
            }
            Some(None) => {
                let sql = t
                    .backend
                    .sql("UPDATE redemption_codes SET amount = ? WHERE code = ?");
                sqlx::query(&sql)
                    .bind(c.amount)
                    .bind(&c.code)
                    .execute(&mut *t.conn)
                    .await?;
                count.updated += 1;
            }
            Some(Some(_)) => count.skipped += 1,
        }
    }
    Ok(count)
}

/// Unfinished Midjourney tasks, so the poller carries on with them (and refunds them if they fail).
async fn mj_tasks(
    t: &mut Tx<'_>,
    rows: &[ImportedMjTask],
    users: &HashMap<i64, i64>,
    channels: &HashMap<i64, i64>,
    notes: &mut Vec<String>,
    progress: Progress<'_>,
) -> Result<TableCount, StoreError> {
    let mut count = TableCount::default();
    for (i, row) in rows.iter().enumerate() {
        progress("mj_tasks", i as u64 + 1, rows.len() as u64);
        let (Some(&user_id), Some(&channel_id)) = (
            users.get(&row.user_source_id),
            channels.get(&row.channel_source_id),
        ) else {
            notes.push(format!(
                "Midjourney task #{} skipped: its user or channel was not imported",
                row.source_id
            ));
            count.skipped += 1;
            continue;
        };
        let task = &row.task;
        match t.existing("mj_task", "mj_tasks", row.source_id).await? {
            Some(id) => {
                let sql = t.backend.sql(
                    "UPDATE mj_tasks SET status = ?, progress = ?, updated_at = ? WHERE id = ?",
                );
                sqlx::query(&sql)
                    .bind(&task.status)
                    .bind(&task.progress)
                    .bind(now_ms())
                    .bind(id)
                    .execute(&mut *t.conn)
                    .await?;
                count.updated += 1;
            }
            None => {
                let imported = NewMjTask {
                    user_id,
                    channel_id,
                    ..task.clone()
                };
                let id = crate::mj_tasks::insert_mj_task(t.conn, &imported).await?;
                t.remember("mj_task", row.source_id, id).await?;
                count.created += 1;
            }
        }
    }
    Ok(count)
}
