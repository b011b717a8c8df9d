//! Upstream channels and their keys (`channel_keys`), including per-key and per-channel health.

use crate::backend::Backend;
use crate::codec::{RowExt, bool_int, now_ms, opt_json, to_json};
use crate::record::{AnyQuery, Record, Update, exec, record};
use crate::{Channel, ChannelHealth, ChannelKey, ChannelPatch, NewChannel, Store, StoreError};
use api_types::ChannelKind;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

record! {
    Channel in "channels" {
        id: int,
        name: text,
        kind: parsed,
        base_url: text,
        models: json,
        model_mapping: json,
        groups: json("group_names"),
        priority: int,
        weight: int,
        enabled: flag,
        api_version: opt_text,
        region: opt_text,
        modes: opt_json,
        headers: json,
        forward_image_urls: flag,
        health: text => |text: String| ChannelHealth::from_stored(&text),
        last_error: opt_text,
        created_at: time,
    }
    computed {
        keys: Vec::new(),
    }
}

record! {
    ChannelKey in "channel_keys" {
        id: int,
        channel_id: int,
        position: int,
        secret: text,
        healthy: flag,
        disabled_reason: opt_text,
    }
}

/// A `channels` row whose `kind` text names no [`ChannelKind`] (a database edited by hand, or written by a newer
/// version): an error for that row only (see [`ChannelKind`]'s documentation for what the store does with it).
struct UnknownKind {
    id: i64,
    name: String,
    error: String,
}

impl From<UnknownKind> for StoreError {
    fn from(u: UnknownKind) -> Self {
        StoreError::Corrupt(format!("channel {} ({}): {}", u.id, u.name, u.error))
    }
}

/// Decodes one row. The stored `kind` text becomes a [`ChannelKind`] here and nowhere else in the store (it is
/// written back as [`ChannelKind::as_str`]).
fn channel_from_row(row: &AnyRow) -> Result<Result<Channel, UnknownKind>, StoreError> {
    if let Err(error) = row.text("kind")?.parse::<ChannelKind>() {
        return Ok(Err(UnknownKind {
            id: row.int("id")?,
            name: row.text("name")?,
            error,
        }));
    }
    Channel::from_row(row).map(Ok)
}

fn name_conflict(name: &str) -> String {
    format!("channel {name}")
}

/// The rows of `T`'s table (all, or those whose `column` is `id`) in `order`.
async fn select<T: Record>(
    conn: &mut AnyConnection,
    column: &str,
    id: Option<i64>,
    order: &str,
) -> Result<Vec<AnyRow>, StoreError> {
    let filter = match id {
        Some(_) => format!(" WHERE {column} = ?"),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {} FROM {}{filter} ORDER BY {order}",
        T::COLS,
        T::TABLE
    );
    let sql = Backend::of(conn).sql(&sql).into_owned();
    let mut query = sqlx::query(&sql);
    if let Some(id) = id {
        query = query.bind(id);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

/// Channels (optionally only one id) ordered by id, each with its keys ordered by position.
async fn fetch(conn: &mut AnyConnection, id: Option<i64>) -> Result<Vec<Channel>, StoreError> {
    let rows = select::<Channel>(conn, "id", id, "id").await?;
    let mut channels = Vec::with_capacity(rows.len());
    for row in &rows {
        match channel_from_row(row)? {
            Ok(channel) => channels.push(channel),
            // One channel asked for: its error. A listing (the catalog, the admin list) goes on without it.
            Err(unknown) if id.is_some() => return Err(unknown.into()),
            Err(unknown) => tracing::warn!(
                channel = unknown.id,
                name = %unknown.name,
                "skipping channel of unknown kind: {}",
                unknown.error
            ),
        }
    }

    let mut keys: BTreeMap<i64, Vec<ChannelKey>> = BTreeMap::new();
    for row in &select::<ChannelKey>(conn, "channel_id", id, "channel_id, position").await? {
        let key = ChannelKey::from_row(row)?;
        keys.entry(key.channel_id).or_default().push(key);
    }
    for ch in &mut channels {
        ch.keys = keys.remove(&ch.id).unwrap_or_default();
    }
    Ok(channels)
}

/// All channels with their keys.
pub(crate) async fn fetch_channels(conn: &mut AnyConnection) -> Result<Vec<Channel>, StoreError> {
    fetch(conn, None).await
}

async fn fetch_one(conn: &mut AnyConnection, id: i64) -> Result<Channel, StoreError> {
    fetch(conn, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound)
}

/// Binds the columns every channel write sets first, in this order: `name` (given apart: an import may rename),
/// `kind`, `base_url`, `models`, `model_mapping`, `group_names`, `priority`, `weight`, `enabled`, `api_version`,
/// `region`.
pub(crate) fn bind_settings<'q>(
    query: AnyQuery<'q>,
    name: &'q str,
    c: &'q NewChannel,
) -> Result<AnyQuery<'q>, StoreError> {
    Ok(query
        .bind(name)
        .bind(c.kind.as_str())
        .bind(&c.base_url)
        .bind(to_json(&c.models)?)
        .bind(to_json(&c.model_mapping)?)
        .bind(to_json(&c.groups)?)
        .bind(c.priority)
        .bind(c.weight)
        .bind(bool_int(c.enabled))
        .bind(&c.api_version)
        .bind(&c.region))
}

pub(crate) async fn insert_keys(
    conn: &mut AnyConnection,
    channel_id: i64,
    secrets: &[String],
) -> Result<(), StoreError> {
    for (position, secret) in (0_i64..).zip(secrets) {
        let sql = "INSERT INTO channel_keys (channel_id, position, secret, healthy, disabled_reason) \
                   VALUES (?, ?, ?, 1, NULL)";
        exec(conn, sql, (channel_id, position, secret.clone())).await?;
    }
    Ok(())
}

impl Store {
    /// Encrypts upstream channel keys at rest from now on (see [`crate::secrets`]).
    pub fn with_cipher(mut self, cipher: crate::secrets::SecretCipher) -> Self {
        self.cipher = Some(std::sync::Arc::new(cipher));
        self
    }

    pub(crate) fn seal_keys(&self, keys: &[String]) -> Result<Vec<String>, StoreError> {
        match &self.cipher {
            Some(c) => keys.iter().map(|k| c.seal(k)).collect(),
            None => Ok(keys.to_vec()),
        }
    }

    pub(crate) fn open_keys(&self, channels: &mut [Channel]) -> Result<(), StoreError> {
        for key in channels.iter_mut().flat_map(|c| c.keys.iter_mut()) {
            key.secret = match &self.cipher {
                Some(c) => c.open(&key.secret)?,
                None if crate::secrets::is_sealed(&key.secret) => {
                    return Err(StoreError::Corrupt(
                        "upstream channel keys are encrypted at rest; set TOLLGATE_SECRET_KEY to read them".into(),
                    ));
                }
                None => continue,
            };
        }
        Ok(())
    }

    /// Re-seals every channel key that is plaintext or sealed with an earlier key, with the current key.
    /// Returns how many were re-sealed. Run at start-up, which makes a key rotation complete.
    pub async fn reseal_channel_keys(&self) -> Result<u64, StoreError> {
        let Some(cipher) = &self.cipher else {
            return Ok(0);
        };
        let mut tx = self.write_tx().await?;
        let rows: Vec<(i64, String)> =
            sqlx::query_as(&self.sql("SELECT id, secret FROM channel_keys"))
                .fetch_all(&mut *tx)
                .await?;
        let mut n = 0;
        for (id, stored) in rows {
            if cipher.is_current(&stored) {
                continue;
            }
            let sealed = cipher.seal(&cipher.open(&stored)?)?;
            let sql = "UPDATE channel_keys SET secret = ? WHERE id = ?";
            exec(&mut tx, sql, (sealed, id)).await?;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Ordered by id, keys ordered by position.
    pub async fn list_channels(&self) -> Result<Vec<Channel>, StoreError> {
        let mut tx = self.read_tx().await?;
        let mut channels = fetch_channels(&mut tx).await?;
        self.open_keys(&mut channels)?;
        tx.commit().await?;
        Ok(channels)
    }

    pub async fn get_channel(&self, id: i64) -> Result<Channel, StoreError> {
        let mut tx = self.read_tx().await?;
        let mut channel = fetch_one(&mut tx, id).await?;
        self.open_keys(std::slice::from_mut(&mut channel))?;
        tx.commit().await?;
        Ok(channel)
    }

    /// The id of the channel named `name`, without decoding its row (which may be of an unknown kind; see
    /// [`ChannelKind`]).
    pub async fn channel_id_by_name(&self, name: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar(&self.sql("SELECT id FROM channels WHERE name = ?"))
            .bind(name)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn get_channel_by_name(&self, name: &str) -> Result<Channel, StoreError> {
        let mut tx = self.read_tx().await?;
        let id: i64 = sqlx::query_scalar(&self.sql("SELECT id FROM channels WHERE name = ?"))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut channel = fetch_one(&mut tx, id).await?;
        self.open_keys(std::slice::from_mut(&mut channel))?;
        tx.commit().await?;
        Ok(channel)
    }

    /// Channel and keys in one transaction; starts healthy. `Conflict` on a taken name.
    pub async fn create_channel(&self, c: &NewChannel) -> Result<Channel, StoreError> {
        let mut tx = self.write_tx().await?;
        let sql = self.sql(
            "INSERT INTO channels (name, kind, base_url, models, model_mapping, group_names, \
             priority, weight, enabled, api_version, region, modes, headers, forward_image_urls, \
             health, last_error, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'healthy', NULL, ?) RETURNING id",
        );
        let row = bind_settings(sqlx::query(&sql), &c.name, c)?
            .bind(opt_json(c.modes.as_ref())?)
            .bind(to_json(&c.headers)?)
            .bind(bool_int(c.forward_image_urls))
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::from_write(e, |_| name_conflict(&c.name)))?;
        let id = row.int("id")?;
        insert_keys(&mut tx, id, &self.seal_keys(&c.keys)?).await?;
        let mut channel = fetch_one(&mut tx, id).await?;
        self.open_keys(std::slice::from_mut(&mut channel))?;
        tx.commit().await?;
        Ok(channel)
    }

    /// Applies the fields that are `Some` in one transaction. Replacing the keys also resets the
    /// channel to healthy with no last error.
    pub async fn update_channel(&self, id: i64, p: &ChannelPatch) -> Result<Channel, StoreError> {
        let mut update = Update::new("channels");
        update
            .set("name", p.name.clone())
            .set("kind", p.kind.map(|v| v.as_str().to_owned()))
            .set("base_url", p.base_url.clone())
            .set("models", p.models.as_ref().map(to_json).transpose()?)
            .set(
                "model_mapping",
                p.model_mapping.as_ref().map(to_json).transpose()?,
            )
            .set("group_names", p.groups.as_ref().map(to_json).transpose()?)
            .set("priority", p.priority)
            .set("weight", p.weight)
            .set("enabled", p.enabled.map(bool_int))
            .set("api_version", p.api_version.clone())
            .set("region", p.region.clone())
            .set(
                "modes",
                p.modes.as_ref().map(|v| opt_json(v.as_ref())).transpose()?,
            )
            .set("headers", p.headers.as_ref().map(to_json).transpose()?)
            .set("forward_image_urls", p.forward_image_urls.map(bool_int));
        if p.keys.is_some() {
            update.raw("health = 'healthy'").raw("last_error = NULL");
        }

        let mut tx = self.write_tx().await?;
        let name = p.name.as_deref().unwrap_or_default();
        update.execute(&mut tx, id, |_| name_conflict(name)).await?;
        if let Some(keys) = &p.keys {
            let sql = "DELETE FROM channel_keys WHERE channel_id = ?";
            exec(&mut tx, sql, (id,)).await?;
            insert_keys(&mut tx, id, &self.seal_keys(keys)?).await?;
        }
        let mut channel = fetch_one(&mut tx, id).await?;
        self.open_keys(std::slice::from_mut(&mut channel))?;
        tx.commit().await?;
        Ok(channel)
    }

    /// Deletes the channel; its keys go with it (cascade).
    pub async fn delete_channel(&self, id: i64) -> Result<(), StoreError> {
        self.delete_by("channels", "id", id).await
    }

    /// Marks one channel key in or out of rotation. The reason is kept only while unhealthy.
    pub async fn set_channel_key_health(
        &self,
        channel_key_id: i64,
        healthy: bool,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let reason = if healthy { None } else { reason };
        let mut update = Update::new("channel_keys");
        update
            .set("healthy", Some(bool_int(healthy)))
            .set("disabled_reason", Some(reason.map(str::to_owned)));
        update.run(self, channel_key_id).await
    }

    /// Sets the channel's health word (`healthy`/`unhealthy`) and last error.
    pub async fn set_channel_health(
        &self,
        channel_id: i64,
        health: ChannelHealth,
        last_error: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut update = Update::new("channels");
        update
            .set("health", Some(health.as_str().to_owned()))
            .set("last_error", Some(last_error.map(str::to_owned)));
        update.run(self, channel_id).await
    }
}
