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
use crate::auth::key_format::{display_prefix, hash_key};
use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use store::{
    ImportPlan, ImportedChannel, ImportedCode, ImportedKey, ImportedMjTask, ImportedUser,
    NewApiKey, NewChannel, NewMjTask, NewUser,
};

mod accounts;
mod channels;
mod tasks;

use accounts::{keys, users};
use channels::channels;
use tasks::{codes, mj_tasks};

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

const USER_COLUMNS: &[(&str, Kind)] = &[
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
const CHANNEL_COLUMNS: &[(&str, Kind)] = &[
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
const ABILITY_COLUMNS: &[(&str, Kind)] = &[
    ("group", Kind::Text),
    ("model", Kind::Text),
    ("channel_id", Kind::Int),
];
const TOKEN_COLUMNS: &[(&str, Kind)] = &[
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
const OPTION_COLUMNS: &[(&str, Kind)] = &[("key", Kind::Text), ("value", Kind::Text)];
const REDEMPTION_COLUMNS: &[(&str, Kind)] = &[
    ("id", Kind::Int),
    ("key", Kind::Text),
    ("status", Kind::Int),
    ("quota", Kind::Int),
    ("expired_time", Kind::Int),
    ("deleted_at", Kind::Present),
];
const MIDJOURNEY_COLUMNS: &[(&str, Kind)] = &[
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

/// A source table: its name, the columns read (each with how it is read), and those this schema must have.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    pub required: &'static [&'static str],
}

impl Table {
    const fn new(
        name: &'static str,
        columns: &'static [(&'static str, Kind)],
        required: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            columns,
            required,
        }
    }
}

pub const USERS: Table = Table::new("users", USER_COLUMNS, &["id", "username", "quota"]);
pub const CHANNELS: Table = Table::new("channels", CHANNEL_COLUMNS, &["id", "type", "key"]);
pub const ABILITIES: Table = Table::new("abilities", ABILITY_COLUMNS, &[]);
pub const TOKENS: Table = Table::new("tokens", TOKEN_COLUMNS, &["id", "user_id", "key"]);
pub const OPTIONS: Table = Table::new("options", OPTION_COLUMNS, &["key", "value"]);
pub const REDEMPTIONS: Table = Table::new("redemptions", REDEMPTION_COLUMNS, &[]);
pub const MIDJOURNEYS: Table = Table::new("midjourneys", MIDJOURNEY_COLUMNS, &[]);

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

#[cfg(test)]
mod tests {
    use super::accounts::allowlist;
    use super::channels::kind_of;
    use super::*;
    use api_types::ChannelKind;

    #[test]
    fn channel_types_map_by_flavour() {
        assert_eq!(kind_of(Flavour::NewApi, 2), Ok(ChannelKind::Midjourney));
        // one-api's type 2 is API2D, not Midjourney.
        assert!(kind_of(Flavour::OneApi, 2).is_err());
        assert_eq!(kind_of(Flavour::OneApi, 14), Ok(ChannelKind::Anthropic));
        assert_eq!(kind_of(Flavour::NewApi, 43), Err("DeepSeek".to_owned()));
        assert_eq!(kind_of(Flavour::NewApi, 33), Ok(ChannelKind::Bedrock));
        assert_eq!(kind_of(Flavour::NewApi, 41), Ok(ChannelKind::Vertex));
        assert_eq!(kind_of(Flavour::OneApi, 42), Ok(ChannelKind::Vertex));
    }

    #[test]
    fn a_service_account_key_is_one_key_whatever_its_lines() {
        let json = "{\n  \"type\": \"service_account\",\n  \"project_id\": \"p\"\n}";
        let row = SourceRow::test("channels", &[("id", 9)], &[("key", json)]);
        assert_eq!(super::channels::channel_keys(&row).unwrap(), [json]);
        let lines = SourceRow::test("channels", &[("id", 9)], &[("key", "sk-a\nsk-b")]);
        assert_eq!(
            super::channels::channel_keys(&lines).unwrap(),
            ["sk-a", "sk-b"]
        );
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
