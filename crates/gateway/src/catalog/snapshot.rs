//! One immutable view of everything routing and auth need, with the indexes built once per load.

use super::KeyHealth;
use super::enforced::enforced;
use ipnet::IpNet;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use store::{ApiKey, Channel, Price, User};

pub struct KeyEntry {
    /// The key as enforced: each limit the tighter of the operator's and the owner's (see `enforced`).
    pub key: ApiKey,
    pub networks: Vec<IpNet>,
}

pub struct ChannelEntry {
    pub channel: Channel,
    /// Round-robin position over the channel's healthy keys; carried across reloads.
    pub next_key: Arc<AtomicUsize>,
    /// Health decided in memory ahead of the store (see `key_health.rs`); carried across reloads.
    pub key_health: Arc<KeyHealth>,
}

impl ChannelEntry {
    /// Next healthy upstream secret, in turn. `None` when every key is out of rotation.
    pub fn pick_key(&self) -> Option<&store::ChannelKey> {
        let healthy: Vec<&store::ChannelKey> = self
            .channel
            .keys
            .iter()
            .filter(|k| self.key_healthy(k))
            .collect();
        if healthy.is_empty() {
            return None;
        }
        let i = self.next_key.fetch_add(1, Ordering::Relaxed);
        healthy.get(i % healthy.len()).copied()
    }

    pub fn has_healthy_key(&self) -> bool {
        self.channel.keys.iter().any(|k| self.key_healthy(k))
    }

    /// Whether `key` is in rotation: a health decision not yet persisted wins over the stored flag.
    pub fn key_healthy(&self, key: &store::ChannelKey) -> bool {
        self.key_health.is_healthy(key.id, key.healthy)
    }

    /// The model name sent upstream.
    pub fn upstream_model<'a>(&'a self, model: &'a str) -> &'a str {
        self.channel
            .model_mapping
            .get(model)
            .map_or(model, String::as_str)
    }
}

#[derive(Default, Clone)]
pub struct Snapshot {
    keys_by_hash: HashMap<[u8; 32], Arc<KeyEntry>>,
    users: HashMap<i64, User>,
    groups: HashMap<String, store::Group>,
    prices: HashMap<String, Price>,
    channels: Vec<Arc<ChannelEntry>>,
    /// model → channels listing it (any group, any state), in channel id order.
    by_model: HashMap<String, Vec<Arc<ChannelEntry>>>,
}

impl Snapshot {
    pub fn build(data: store::Catalog, previous: Option<&Snapshot>) -> Self {
        let prev_rr: HashMap<i64, (Arc<AtomicUsize>, Arc<KeyHealth>)> = previous
            .map(|p| {
                p.channels
                    .iter()
                    .map(|c| (c.channel.id, (c.next_key.clone(), c.key_health.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let mut channels = Vec::with_capacity(data.channels.len());
        let mut by_model: HashMap<String, Vec<Arc<ChannelEntry>>> = HashMap::new();
        for channel in data.channels {
            let (next_key, key_health) = prev_rr.get(&channel.id).cloned().unwrap_or_default();
            let entry = Arc::new(ChannelEntry {
                channel,
                next_key,
                key_health,
            });
            for m in &entry.channel.models {
                by_model.entry(m.clone()).or_default().push(entry.clone());
            }
            channels.push(entry);
        }
        let mut snap = Self {
            keys_by_hash: HashMap::with_capacity(data.keys.len()),
            users: data.users.into_iter().map(|u| (u.id, u)).collect(),
            groups: data
                .groups
                .into_iter()
                .map(|g| (g.name.clone(), g))
                .collect(),
            prices: data
                .prices
                .into_iter()
                .map(|p| (p.model.clone(), p))
                .collect(),
            channels,
            by_model,
        };
        // After users and groups: a key's enforced rates fall back to its owner's group defaults.
        for key in data.keys {
            snap.put_key(&key);
        }
        snap
    }

    /// Adds or replaces `key` (as stored: operator's fields plus the owner's), indexed by its hash.
    pub fn put_key(&mut self, key: &ApiKey) {
        let mut hash = [0u8; 32];
        if hex::decode_to_slice(&key.key_hash, &mut hash).is_err() {
            tracing::warn!(
                key_id = key.id,
                "skipping API key with a malformed stored hash"
            );
            return;
        }
        let group = self
            .users
            .get(&key.user_id)
            .map_or("", |u| u.group.as_str());
        let key = enforced(key, self.group_limits(group));
        let networks = key
            .ip_allowlist
            .iter()
            .filter_map(|c| parse_cidr(c))
            .collect();
        self.keys_by_hash
            .insert(hash, Arc::new(KeyEntry { key, networks }));
    }

    /// Drops the key with this stored (hex) hash, if indexed.
    pub fn remove_key(&mut self, key_hash: &str) {
        let mut hash = [0u8; 32];
        if hex::decode_to_slice(key_hash, &mut hash).is_ok() {
            self.keys_by_hash.remove(&hash);
        }
    }

    pub fn key_by_hash(&self, hash: &[u8; 32]) -> Option<&Arc<KeyEntry>> {
        self.keys_by_hash.get(hash)
    }

    pub fn user(&self, id: i64) -> Option<&User> {
        self.users.get(&id)
    }

    /// Per-mille multiplier of a group; an unknown group counts as ×1.
    pub fn multiplier(&self, group: &str) -> i64 {
        self.groups.get(group).map_or(1000, |g| g.multiplier)
    }

    /// The group's default (requests, tokens) per minute for keys without their own limits.
    pub fn group_limits(&self, group: &str) -> (Option<i64>, Option<i64>) {
        self.groups
            .get(group)
            .map_or((None, None), |g| (g.rpm_limit, g.tpm_limit))
    }

    /// The price stored under exactly this name (no default).
    pub fn price_exact(&self, model: &str) -> Option<&Price> {
        self.prices.get(model)
    }

    /// The model's price, else the operator's default (`*`).
    pub fn price(&self, model: &str) -> Option<&Price> {
        self.prices.get(model).or_else(|| self.prices.get("*"))
    }

    pub fn channels(&self) -> &[Arc<ChannelEntry>] {
        &self.channels
    }

    pub fn channel(&self, id: i64) -> Option<&Arc<ChannelEntry>> {
        self.channels.iter().find(|c| c.channel.id == id)
    }

    /// Channels that list `model` and serve `group`, whatever their state.
    pub fn channels_for<'a>(
        &'a self,
        model: &str,
        group: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ChannelEntry>> + 'a {
        self.by_model
            .get(model)
            .into_iter()
            .flatten()
            .filter(move |c| c.channel.groups.iter().any(|g| g == group))
    }

    /// Every model some channel of `group` lists, with the channel kind that serves it first, sorted by name.
    pub fn models_for_group(&self, group: &str) -> Vec<(&str, &Arc<ChannelEntry>)> {
        let mut out: Vec<(&str, &Arc<ChannelEntry>)> = self
            .by_model
            .iter()
            .filter_map(|(m, chans)| {
                chans
                    .iter()
                    .find(|c| c.channel.enabled && c.channel.groups.iter().any(|g| g == group))
                    .map(|c| (m.as_str(), c))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }
}

/// A CIDR or a bare address (as a /32 or /128).
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}
