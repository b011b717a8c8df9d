//! new-api / one-api rows → Tollgate records (the whole plan is built and checked before anything is written).
//! Bad source data is an error naming the row; what Tollgate cannot carry is a note in the report.
//!
//! Semantics kept (see `../shared/reference/new-api.md` §2–7): quota → micro-units exactly; a token's secret is
//! `sk-` + its stored key (hashed here, like every Tollgate key); its remaining quota becomes the key's cap,
//! `unlimited_quota` none; `expired_time` −1 never expires; status 2/3 (disabled, expired) keys are disabled,
//! status 4 (exhausted) stays enabled with a cap of 0 so a top-up revives it as in new-api; channel weight `w`
//! becomes `w + 10`, new-api's own smoothing, so weight-0 channels keep their share of traffic.

use super::money::{Decimal, quota_to_micro};
use super::source::{Kind, SourceRow};
use crate::auth::token::{display_prefix, hash_key};
use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use store::{
    ImportPlan, ImportedChannel, ImportedCode, ImportedKey, ImportedMjTask, ImportedUser,
    NewApiKey, NewChannel, NewMjTask, NewUser,
};

/// Which project wrote the database: their channel type numbers differ above the common ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    NewApi,
    OneApi,
}

impl Flavour {
    pub fn name(self) -> &'static str {
        match self {
            Self::NewApi => "new-api",
            Self::OneApi => "one-api",
        }
    }
}

pub const USERS: &[(&str, Kind)] = &[
    ("id", Kind::Int),
    ("username", Kind::Text),
    ("password", Kind::Text),
    ("role", Kind::Int),
    ("status", Kind::Int),
    ("quota", Kind::Int),
    ("used_quota", Kind::Int),
    ("group", Kind::Text),
    ("deleted_at", Kind::Present),
];
pub const CHANNELS: &[(&str, Kind)] = &[
    ("id", Kind::Int),
    ("type", Kind::Int),
    ("key", Kind::Text),
    ("name", Kind::Text),
    ("status", Kind::Int),
    ("base_url", Kind::Text),
    ("other", Kind::Text),
    ("models", Kind::Text),
    ("group", Kind::Text),
    ("model_mapping", Kind::Text),
    ("priority", Kind::Int),
    ("weight", Kind::Int),
    ("other_info", Kind::Text),
    ("config", Kind::Text),
    ("param_override", Kind::Text),
    ("status_code_mapping", Kind::Text),
    ("header_override", Kind::Text),
];
pub const ABILITIES: &[(&str, Kind)] = &[
    ("group", Kind::Text),
    ("model", Kind::Text),
    ("channel_id", Kind::Int),
];
pub const TOKENS: &[(&str, Kind)] = &[
    ("id", Kind::Int),
    ("user_id", Kind::Int),
    ("key", Kind::Text),
    ("status", Kind::Int),
    ("name", Kind::Text),
    ("expired_time", Kind::Int),
    ("remain_quota", Kind::Int),
    ("used_quota", Kind::Int),
    ("unlimited_quota", Kind::Int),
    ("model_limits_enabled", Kind::Int),
    ("model_limits", Kind::Text),
    ("models", Kind::Text),
    ("allow_ips", Kind::Text),
    ("subnet", Kind::Text),
    ("group", Kind::Text),
    ("deleted_at", Kind::Present),
];
pub const OPTIONS: &[(&str, Kind)] = &[("key", Kind::Text), ("value", Kind::Text)];
pub const REDEMPTIONS: &[(&str, Kind)] = &[
    ("id", Kind::Int),
    ("key", Kind::Text),
    ("status", Kind::Int),
    ("quota", Kind::Int),
    ("expired_time", Kind::Int),
    ("deleted_at", Kind::Present),
];
pub const MIDJOURNEYS: &[(&str, Kind)] = &[
    ("id", Kind::Int),
    ("user_id", Kind::Int),
    ("mj_id", Kind::Text),
    ("action", Kind::Text),
    ("prompt", Kind::Text),
    ("state", Kind::Text),
    ("submit_time", Kind::Int),
    ("status", Kind::Text),
    ("progress", Kind::Text),
    ("channel_id", Kind::Int),
    ("quota", Kind::Int),
    ("buttons", Kind::Text),
    ("properties", Kind::Text),
];

/// Everything read from the source.
#[derive(Debug, Default)]
pub struct SourceData {
    pub users: Vec<SourceRow>,
    pub channels: Vec<SourceRow>,
    pub abilities: Vec<SourceRow>,
    pub tokens: Vec<SourceRow>,
    pub options: Vec<SourceRow>,
    pub redemptions: Vec<SourceRow>,
    pub midjourneys: Vec<SourceRow>,
    pub log_rows: i64,
    /// Whether the tokens table has new-api's `model_limits` column.
    pub has_model_limits: bool,
}

impl SourceData {
    pub fn flavour(&self) -> Flavour {
        if self.has_model_limits {
            Flavour::NewApi
        } else {
            Flavour::OneApi
        }
    }
}

/// What the operator should read before (dry run) or after an import.
#[derive(Debug, Default)]
pub struct Report {
    /// Rows left behind on purpose, by table (soft-deleted, used codes, finished tasks, …).
    pub left_behind: BTreeMap<&'static str, u64>,
    /// Things that could not be carried over as they were, one line each.
    pub notes: Vec<String>,
}

impl Report {
    fn leave(&mut self, table: &'static str) {
        *self.left_behind.entry(table).or_default() += 1;
    }
}

struct Converter {
    quota_per_unit: Decimal,
    report: Report,
}

impl Converter {
    /// Quota → micro-units; reports a value that does not convert exactly.
    fn money(&mut self, quota: i64, what: &dyn Fn() -> String) -> anyhow::Result<i64> {
        let (micro, exact) = quota_to_micro(quota, self.quota_per_unit)
            .ok_or_else(|| anyhow!("{}: quota {quota} is out of range", what()))?;
        if !exact {
            self.report.notes.push(format!(
                "{}: quota {quota} rounded to {micro} micro-units",
                what()
            ));
        }
        Ok(micro)
    }
}

fn split(list: &str, separators: &[char]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    list.split(separators)
        .map(str::trim)
        .filter(|s| !s.is_empty() && seen.insert(s.to_owned()))
        .map(str::to_owned)
        .collect()
}

fn json_object(row: &SourceRow, col: &str) -> anyhow::Result<Option<Map<String, Value>>> {
    let Some(text) = row.nonblank(col) else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(Value::Null) => Ok(None),
        _ => bail!("{}: {col} is not a JSON object: {text:?}", row.at()),
    }
}

fn time_from_secs(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// Builds the plan from what was read; `source` names it in `import_ids`.
pub fn plan(data: &SourceData) -> anyhow::Result<(ImportPlan, Report)> {
    let options: HashMap<&str, &str> = data
        .options
        .iter()
        .filter_map(|o| Some((o.text("key")?, o.text("value")?)))
        .collect();
    let quota_per_unit = match options.get("QuotaPerUnit") {
        Some(v) => Decimal::parse(v)
            .filter(|d| d.times(1).is_some_and(|(n, _)| n > 0))
            .ok_or_else(|| anyhow!("options: QuotaPerUnit is not a positive number: {v:?}"))?,
        None => Decimal::from_int(500_000),
    };
    let mut c = Converter {
        quota_per_unit,
        report: Report::default(),
    };
    let flavour = data.flavour();
    let mut plan = ImportPlan {
        source: flavour.name().to_owned(),
        ..Default::default()
    };

    plan.users = users(&mut c, flavour, &data.users)?;
    let imported_users: HashMap<i64, &str> = plan
        .users
        .iter()
        .map(|u| (u.source_id, u.user.group.as_str()))
        .collect();
    plan.channels = channels(&mut c, flavour, &data.channels, &data.abilities)?;
    plan.keys = keys(&mut c, &data.tokens, &imported_users)?;
    plan.codes = codes(&mut c, &data.redemptions)?;
    plan.mj_tasks = mj_tasks(&mut c, &data.midjourneys)?;
    let used_groups: BTreeSet<String> = plan
        .users
        .iter()
        .map(|u| u.user.group.clone())
        .chain(
            plan.channels
                .iter()
                .flat_map(|ch| ch.channel.groups.clone()),
        )
        .collect();
    plan.groups = super::prices::groups(&options, &used_groups, &mut c.report.notes)?;
    let served: BTreeSet<String> = plan
        .channels
        .iter()
        .flat_map(|ch| ch.channel.models.clone())
        .collect();
    plan.prices = super::prices::prices(&options, &served, &mut c.report.notes)?;
    c.report.notes.push(
        "never carried: request logs, top-up orders, affiliate data, e-mails and OAuth logins, management access \
         tokens, per-token groups"
            .to_owned(),
    );
    if data.log_rows > 0 {
        c.report.notes.push(format!(
            "{} request log rows are not imported: the history stays in the source database",
            data.log_rows
        ));
    }
    Ok((plan, c.report))
}

fn users(
    c: &mut Converter,
    flavour: Flavour,
    rows: &[SourceRow],
) -> anyhow::Result<Vec<ImportedUser>> {
    let mut out = Vec::new();
    for row in rows {
        // new-api soft-deletes; one-api marks a deleted user with status 3 (and renames it).
        let deleted =
            row.flag("deleted_at") || (flavour == Flavour::OneApi && row.int("status") == Some(3));
        if deleted {
            c.report.leave("users");
            continue;
        }
        let id = row
            .int("id")
            .ok_or_else(|| anyhow!("{}: no id", row.at()))?;
        let name = row
            .nonblank("username")
            .ok_or_else(|| anyhow!("{}: no username", row.at()))?
            .to_owned();
        let at = || format!("user {name} (id={id})");
        let balance = c.money(row.int("quota").unwrap_or(0), &at)?;
        let spent = c.money(row.int("used_quota").unwrap_or(0), &at)?;
        // new-api stores bcrypt hashes; the dashboard login verifies them as they are.
        let password_hash = row
            .nonblank("password")
            .filter(|p| p.starts_with("$2"))
            .map(str::to_owned);
        out.push(ImportedUser {
            source_id: id,
            spent,
            user: NewUser {
                name,
                password_hash,
                group: row.nonblank("group").unwrap_or("default").to_owned(),
                balance,
                enabled: row.int("status") == Some(1),
                // 10 admin, 100 root.
                admin: row.int("role").unwrap_or(0) >= 10,
            },
        });
    }
    Ok(out)
}

/// Tollgate's kind for a channel type, or `None` (imported disabled) with the type's name.
fn kind_of(flavour: Flavour, channel_type: i64) -> Result<&'static str, String> {
    match (flavour, channel_type) {
        (_, 1) => Ok("openai"),
        (_, 3) => Ok("azure"),
        (_, 14) => Ok("anthropic"),
        (_, 24) => Ok("gemini"),
        (Flavour::NewApi, 2 | 5) => Ok("midjourney"),
        (f, t) => Err(match (f, t) {
            (Flavour::NewApi, 33) | (Flavour::OneApi, 33) => "AWS Bedrock".to_owned(),
            (Flavour::NewApi, 36) => "Suno".to_owned(),
            (Flavour::NewApi, 41) | (Flavour::OneApi, 42) => "Vertex AI".to_owned(),
            (Flavour::NewApi, 43) | (Flavour::OneApi, 36) => "DeepSeek".to_owned(),
            (Flavour::NewApi, 48) | (Flavour::OneApi, 45) => "xAI".to_owned(),
            (_, 8) => "Custom".to_owned(),
            (_, 20) => "OpenRouter".to_owned(),
            (_, t) => format!("type {t}"),
        }),
    }
}

fn default_base_url(kind: &str) -> &'static str {
    match kind {
        "openai" => "https://api.openai.com",
        "anthropic" => "https://api.anthropic.com",
        "gemini" => "https://generativelanguage.googleapis.com",
        _ => "",
    }
}

/// A channel's keys: one a line, or a JSON array; none is an error.
fn channel_keys(row: &SourceRow) -> anyhow::Result<Vec<String>> {
    let at = row.at();
    let key_text = row.text("key").unwrap_or_default().trim();
    let keys: Vec<String> = if key_text.starts_with('[') {
        serde_json::from_str::<Vec<Value>>(key_text)
            .with_context(|| format!("{at}: key looks like a JSON array but is not one"))?
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect()
    } else {
        split(key_text, &['\n', '\r'])
    };
    if keys.is_empty() {
        bail!("{at}: the channel has no key");
    }
    Ok(keys)
}

/// `model_mapping`: a JSON object of strings; any other value names the entry at fault.
fn model_mapping(row: &SourceRow) -> anyhow::Result<BTreeMap<String, String>> {
    let at = row.at();
    json_object(row, "model_mapping")?
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            other => Err(anyhow!(
                "{at}: model_mapping[{k:?}] is not a string: {other}"
            )),
        })
        .collect()
}

/// The API version of an Azure or Gemini channel: new-api keeps it in `other`, one-api in its `config` JSON.
fn api_version(row: &SourceRow) -> Option<String> {
    row.nonblank("other").map(str::to_owned).or_else(|| {
        json_object(row, "config")
            .ok()
            .flatten()
            .and_then(|c| {
                c.get("api_version")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .filter(|v| !v.is_empty())
    })
}

fn channels(
    c: &mut Converter,
    flavour: Flavour,
    rows: &[SourceRow],
    abilities: &[SourceRow],
) -> anyhow::Result<Vec<ImportedChannel>> {
    let mut models_by_channel: HashMap<i64, Vec<String>> = HashMap::new();
    for a in abilities {
        if let (Some(id), Some(model)) = (a.int("channel_id"), a.nonblank("model")) {
            let list = models_by_channel.entry(id).or_default();
            if !list.iter().any(|m| m == model) {
                list.push(model.to_owned());
            }
        }
    }
    let mut names: HashMap<String, u32> = HashMap::new();
    let mut out = Vec::new();
    for row in rows {
        let id = row
            .int("id")
            .ok_or_else(|| anyhow!("{}: no id", row.at()))?;
        let at = row.at();
        let source_name = row
            .nonblank("name")
            .map_or_else(|| format!("channel-{id}"), str::to_owned);
        // Names must be unique here; a repeated one gets its source id.
        let seen = names.entry(source_name.clone()).or_default();
        *seen += 1;
        let name = if *seen > 1 {
            c.report.notes.push(format!(
                "channel {source_name:?} (id={id}) is imported as \"{source_name} #{id}\": the name repeats"
            ));
            format!("{source_name} #{id}")
        } else {
            source_name.clone()
        };
        let channel_type = row.int("type").unwrap_or(0);
        let (kind, mut note) = match kind_of(flavour, channel_type) {
            Ok(kind) => (kind, None),
            Err(type_name) => (
                "openai",
                Some(format!(
                    "imported disabled: {} channel {type_name} has no Tollgate adapter; enable it only if its \
                     base URL speaks the OpenAI API",
                    flavour.name()
                )),
            ),
        };
        let status = row.int("status").unwrap_or(1);
        if status == 3 && note.is_none() {
            let reason = json_object(row, "other_info").ok().flatten().and_then(|o| {
                o.get("status_reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            note = Some(match reason {
                Some(r) => format!("auto-disabled in {}: {r}", flavour.name()),
                None => format!("auto-disabled in {}", flavour.name()),
            });
        }
        if let Some(n) = &note {
            c.report
                .notes
                .push(format!("channel {name:?} (id={id}): {n}"));
        }
        for (col, what) in [
            ("param_override", "parameter overrides"),
            ("status_code_mapping", "status code mapping"),
            ("header_override", "header overrides"),
        ] {
            if row.nonblank(col).is_some_and(|v| v != "{}" && v != "null") {
                c.report.notes.push(format!(
                    "channel {name:?} (id={id}): its {what} ({col}) are not carried"
                ));
            }
        }
        let keys = channel_keys(row)?;
        let mut models = split(row.text("models").unwrap_or_default(), &[',']);
        if models.is_empty() {
            models = models_by_channel.remove(&id).unwrap_or_default();
        }
        let model_mapping = model_mapping(row)?;
        let mut groups = split(row.text("group").unwrap_or_default(), &[',']);
        if groups.is_empty() {
            groups.push("default".to_owned());
        }
        let base_url = row.nonblank("base_url").map_or_else(
            || default_base_url(kind).to_owned(),
            |u| u.trim_end_matches('/').to_owned(),
        );
        if kind == "azure" && base_url.is_empty() {
            bail!("{at}: an Azure channel needs its endpoint in base_url");
        }
        let api_version = match kind {
            "azure" | "gemini" => api_version(row),
            _ => None,
        };
        out.push(ImportedChannel {
            source_id: id,
            note: note.clone(),
            channel: NewChannel {
                name,
                kind: kind.to_owned(),
                base_url,
                keys,
                models,
                model_mapping,
                groups,
                priority: row.int("priority").unwrap_or(0),
                weight: row.int("weight").unwrap_or(0).max(0).saturating_add(10),
                enabled: status == 1 && note.is_none(),
                api_version,
                ..Default::default()
            },
        });
    }
    Ok(out)
}

/// IPs and CIDRs as Tollgate stores them (CIDR). An entry that is neither is an error: dropping it could turn
/// a list of one into "any address".
fn allowlist(row: &SourceRow) -> anyhow::Result<Vec<String>> {
    let text = row
        .nonblank("allow_ips")
        .or_else(|| row.nonblank("subnet"))
        .unwrap_or_default();
    split(text, &['\n', '\r', ',', ' '])
        .into_iter()
        .map(|entry| {
            if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                return Ok(net.to_string());
            }
            entry
                .parse::<std::net::IpAddr>()
                .map(|ip| ipnet::IpNet::from(ip).to_string())
                .map_err(|_| {
                    anyhow!(
                        "{}: {entry:?} in its IP allowlist is not an IP address or CIDR",
                        row.at()
                    )
                })
        })
        .collect()
}

fn keys(
    c: &mut Converter,
    rows: &[SourceRow],
    users: &HashMap<i64, &str>,
) -> anyhow::Result<Vec<ImportedKey>> {
    let mut names: HashMap<(i64, String), u32> = HashMap::new();
    let mut out = Vec::new();
    for row in rows {
        if row.flag("deleted_at") {
            c.report.leave("tokens");
            continue;
        }
        let id = row
            .int("id")
            .ok_or_else(|| anyhow!("{}: no id", row.at()))?;
        let user_id = row.int("user_id").unwrap_or(0);
        let Some(user_group) = users.get(&user_id) else {
            c.report.notes.push(format!(
                "token id={id} left behind: its user (id={user_id}) is not imported"
            ));
            c.report.leave("tokens");
            continue;
        };
        let key = row
            .nonblank("key")
            .ok_or_else(|| anyhow!("{}: no key", row.at()))?;
        let secret = if key.starts_with("sk-") {
            key.to_owned()
        } else {
            format!("sk-{key}")
        };
        let base_name = row
            .nonblank("name")
            .map_or_else(|| format!("key-{id}"), str::to_owned);
        let seen = names.entry((user_id, base_name.clone())).or_default();
        *seen += 1;
        let name = if *seen > 1 {
            format!("{base_name} #{id}")
        } else {
            base_name
        };
        if let Some(group) = row.nonblank("group")
            && group != *user_group
        {
            c.report.notes.push(format!(
                "token id={id}: its own group {group:?} is not carried (keys use their user's group, {user_group:?})"
            ));
        }
        let models = if row.int("model_limits_enabled").is_some() {
            row.flag("model_limits_enabled")
                .then(|| split(row.text("model_limits").unwrap_or_default(), &[',']))
        } else {
            Some(split(row.text("models").unwrap_or_default(), &[',']))
        }
        .filter(|m| !m.is_empty());
        let at = || format!("token id={id}");
        let remaining = if row.flag("unlimited_quota") {
            None
        } else {
            Some(c.money(row.int("remain_quota").unwrap_or(0).max(0), &at)?)
        };
        let spent = c.money(row.int("used_quota").unwrap_or(0).max(0), &at)?;
        let expires_at = match row.int("expired_time") {
            Some(t) if t > 0 => Some(
                time_from_secs(t)
                    .ok_or_else(|| anyhow!("{}: expired_time {t} is not a time", row.at()))?,
            ),
            _ => None,
        };
        // 1 enabled, 4 exhausted (the cap of 0 refuses it until a top-up); 2 disabled, 3 expired.
        let enabled = matches!(row.int("status"), Some(1 | 4) | None);
        out.push(ImportedKey {
            source_id: id,
            user_source_id: user_id,
            remaining,
            spent,
            key: NewApiKey {
                user_id: 0,
                name,
                key_hash: hash_key(&secret),
                prefix: display_prefix(&secret),
                enabled,
                models,
                spend_cap: None,
                expires_at,
                ip_allowlist: allowlist(row)?,
                rpm_limit: None,
                tpm_limit: None,
            },
        });
    }
    Ok(out)
}

fn codes(c: &mut Converter, rows: &[SourceRow]) -> anyhow::Result<Vec<ImportedCode>> {
    let now = Utc::now().timestamp();
    let mut out = Vec::new();
    for row in rows {
        let expired = row.int("expired_time").is_some_and(|t| t > 0 && t < now);
        if row.flag("deleted_at") || row.int("status") != Some(1) || expired {
            c.report.leave("redemptions");
            continue;
        }
        let code = row
            .nonblank("key")
            .ok_or_else(|| anyhow!("{}: no key", row.at()))?
            .to_owned();
        let at = || row.at();
        let amount = c.money(row.int("quota").unwrap_or(0), &at)?;
        if amount <= 0 {
            bail!("{}: an unused code worth {amount}", row.at());
        }
        out.push(ImportedCode { code, amount });
    }
    Ok(out)
}

fn mj_tasks(c: &mut Converter, rows: &[SourceRow]) -> anyhow::Result<Vec<ImportedMjTask>> {
    let mut out = Vec::new();
    for row in rows {
        let status = row.nonblank("status").unwrap_or("NOT_START").to_owned();
        let progress = row.nonblank("progress").unwrap_or("0%").to_owned();
        if matches!(status.as_str(), "SUCCESS" | "FAILURE") || progress == "100%" {
            c.report.leave("midjourneys");
            continue;
        }
        let id = row
            .int("id")
            .ok_or_else(|| anyhow!("{}: no id", row.at()))?;
        let Some(upstream_id) = row.nonblank("mj_id") else {
            // new-api fails such tasks itself: there is nothing to poll.
            c.report.notes.push(format!(
                "Midjourney task id={id} left behind: it has no upstream task id"
            ));
            c.report.leave("midjourneys");
            continue;
        };
        let json = |col: &str, default: Value| {
            row.nonblank(col)
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .filter(|v| !v.is_null())
                .unwrap_or(default)
        };
        let at = || format!("Midjourney task id={id}");
        out.push(ImportedMjTask {
            source_id: id,
            user_source_id: row.int("user_id").unwrap_or(0),
            channel_source_id: row.int("channel_id").unwrap_or(0),
            task: NewMjTask {
                upstream_id: upstream_id.to_owned(),
                user_id: 0,
                key_id: 0,
                channel_id: 0,
                action: row.nonblank("action").unwrap_or("IMAGINE").to_owned(),
                mode: None,
                prompt: row.text("prompt").map(str::to_owned),
                state: row.text("state").map(str::to_owned),
                status,
                progress,
                properties: json("properties", Value::Object(Map::new())),
                buttons: json("buttons", Value::Array(Vec::new())),
                notify_hook: None,
                submit_time: row.int("submit_time"),
                cost: c.money(row.int("quota").unwrap_or(0), &at)?,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_types_map_by_flavour() {
        assert_eq!(kind_of(Flavour::NewApi, 2), Ok("midjourney"));
        // one-api's type 2 is API2D, not Midjourney.
        assert!(kind_of(Flavour::OneApi, 2).is_err());
        assert_eq!(kind_of(Flavour::OneApi, 14), Ok("anthropic"));
        assert_eq!(kind_of(Flavour::NewApi, 43), Err("DeepSeek".to_owned()));
    }

    #[test]
    fn allowlists_become_cidrs_and_bad_entries_are_errors() {
        let row = SourceRow::test(
            "tokens",
            &[("id", 3)],
            &[("allow_ips", "127.0.0.1\n10.0.0.0/8 ::1")],
        );
        assert_eq!(
            allowlist(&row).unwrap(),
            ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
        );
        let bad = SourceRow::test("tokens", &[("id", 4)], &[("allow_ips", "localhost")]);
        let err = allowlist(&bad).unwrap_err().to_string();
        assert!(
            err.contains("tokens row id=4") && err.contains("localhost"),
            "{err}"
        );
    }
}
