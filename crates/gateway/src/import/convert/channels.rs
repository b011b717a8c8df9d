//! Channels: new-api's channel types to Tollgate kinds, keys, model lists and mappings, groups, API versions.

use super::*;
use api_types::ChannelKind;

/// Tollgate's kind for a channel type, or `None` (imported disabled) with the type's name.
pub(super) fn kind_of(flavour: Flavour, channel_type: i64) -> Result<ChannelKind, String> {
    match (flavour, channel_type) {
        (_, 1) => Ok(ChannelKind::OpenAi),
        (_, 3) => Ok(ChannelKind::Azure),
        (_, 14) => Ok(ChannelKind::Anthropic),
        (_, 24) => Ok(ChannelKind::Gemini),
        // "AWS Claude" in both: Anthropic models on Bedrock, the key `AK|SK|REGION`.
        (_, 33) => Ok(ChannelKind::Bedrock),
        (Flavour::NewApi, 2 | 5) => Ok(ChannelKind::Midjourney),
        (Flavour::NewApi, 41) | (Flavour::OneApi, 42) => Ok(ChannelKind::Vertex),
        (f, t) => Err(match (f, t) {
            (Flavour::NewApi, 36) => "Suno".to_owned(),
            (Flavour::NewApi, 43) | (Flavour::OneApi, 36) => "DeepSeek".to_owned(),
            (Flavour::NewApi, 48) | (Flavour::OneApi, 45) => "xAI".to_owned(),
            (_, 8) => "Custom".to_owned(),
            (_, 20) => "OpenRouter".to_owned(),
            (_, t) => format!("type {t}"),
        }),
    }
}

pub(super) fn default_base_url(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::OpenAi => "https://api.openai.com",
        ChannelKind::Anthropic => "https://api.anthropic.com",
        ChannelKind::Gemini => "https://generativelanguage.googleapis.com",
        // Bedrock: the endpoint of the key's region, chosen per request.
        ChannelKind::Azure
        | ChannelKind::Midjourney
        | ChannelKind::Bedrock
        | ChannelKind::Vertex => "",
    }
}

/// The Bedrock model id new-api sends for a Claude model name (its `relay/channel/aws` table), so an imported
/// AWS channel asks Bedrock for what new-api asked.
fn bedrock_model_id(model: &str) -> Option<&'static str> {
    const IDS: [(&str, &str); 12] = [
        ("claude-instant-1.2", "anthropic.claude-instant-v1"),
        ("claude-2.0", "anthropic.claude-v2"),
        ("claude-2.1", "anthropic.claude-v2:1"),
        (
            "claude-3-sonnet-20240229",
            "anthropic.claude-3-sonnet-20240229-v1:0",
        ),
        (
            "claude-3-opus-20240229",
            "anthropic.claude-3-opus-20240229-v1:0",
        ),
        (
            "claude-3-haiku-20240307",
            "anthropic.claude-3-haiku-20240307-v1:0",
        ),
        (
            "claude-3-5-sonnet-20240620",
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
        ),
        (
            "claude-3-5-sonnet-20241022",
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
        ),
        (
            "claude-3-5-haiku-20241022",
            "anthropic.claude-3-5-haiku-20241022-v1:0",
        ),
        (
            "claude-3-7-sonnet-20250219",
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
        ),
        (
            "claude-sonnet-4-20250514",
            "anthropic.claude-sonnet-4-20250514-v1:0",
        ),
        (
            "claude-opus-4-20250514",
            "anthropic.claude-opus-4-20250514-v1:0",
        ),
    ];
    IDS.iter()
        .find(|(name, _)| *name == model)
        .map(|(_, id)| *id)
}

/// A Bedrock channel's mapping: the source's own, then new-api's id for each listed Claude model it leaves out. Other
/// kinds keep theirs as it is.
fn with_bedrock_ids(
    kind: ChannelKind,
    models: &[String],
    mut mapping: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    if kind != ChannelKind::Bedrock {
        return mapping;
    }
    for model in models {
        if let (false, Some(id)) = (mapping.contains_key(model), bedrock_model_id(model)) {
            mapping.insert(model.clone(), id.to_owned());
        }
    }
    mapping
}

/// Why a Bedrock channel's keys cannot serve (new-api's API-key mode, `KEY|REGION`, has no SigV4 secret).
fn bedrock_key_problem(keys: &[String]) -> Option<String> {
    keys.iter()
        .find_map(|k| providers::bedrock::credentials::Credentials::parse(k).err())
        .map(|why| format!("imported disabled: {why}"))
}

/// A channel's keys: one a line, or a JSON array; a service-account JSON object (Vertex AI) is one key whatever
/// its lines. None is an error.
pub(super) fn channel_keys(row: &SourceRow) -> anyhow::Result<Vec<String>> {
    let at = row.at();
    let key_text = row.text("key").unwrap_or_default().trim();
    let keys: Vec<String> = if key_text.starts_with('{') {
        vec![key_text.to_owned()]
    } else if key_text.starts_with('[') {
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
pub(super) fn model_mapping(row: &SourceRow) -> anyhow::Result<BTreeMap<String, String>> {
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
pub(super) fn api_version(row: &SourceRow) -> Option<String> {
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

pub(super) fn channels(
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
                ChannelKind::OpenAi,
                Some(format!(
                    "imported disabled: {} channel {type_name} has no Tollgate adapter; enable it only if its \
                     base URL speaks the OpenAI API",
                    flavour.name()
                )),
            ),
        };
        let keys = channel_keys(row)?;
        if kind == ChannelKind::Bedrock && note.is_none() {
            note = bedrock_key_problem(&keys);
        }
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
        let mut models = split(row.text("models").unwrap_or_default(), &[',']);
        if models.is_empty() {
            models = models_by_channel.remove(&id).unwrap_or_default();
        }
        let model_mapping = with_bedrock_ids(kind, &models, model_mapping(row)?);
        let mut groups = split(row.text("group").unwrap_or_default(), &[',']);
        if groups.is_empty() {
            groups.push("default".to_owned());
        }
        let base_url = row.nonblank("base_url").map_or_else(
            || default_base_url(kind).to_owned(),
            |u| u.trim_end_matches('/').to_owned(),
        );
        if kind == ChannelKind::Azure && base_url.is_empty() {
            bail!("{at}: an Azure channel needs its endpoint in base_url");
        }
        let api_version = match kind {
            ChannelKind::Azure | ChannelKind::Gemini => api_version(row),
            _ => None,
        };
        // new-api keeps a Vertex channel's region in `other` (a region name, or a JSON map per model).
        let region = (kind == ChannelKind::Vertex)
            .then(|| row.nonblank("other"))
            .flatten()
            .and_then(|r| crate::config::validate::region(r.trim()).ok());
        out.push(ImportedChannel {
            source_id: id,
            note: note.clone(),
            channel: NewChannel {
                name,
                kind,
                base_url,
                keys,
                models,
                model_mapping,
                groups,
                priority: row.int("priority").unwrap_or(0),
                weight: row.int("weight").unwrap_or(0).max(0).saturating_add(10),
                enabled: status == 1 && note.is_none(),
                api_version,
                region,
                modes: None,
                headers: BTreeMap::new(),
                forward_image_urls: false,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws_row(key: &str, models: &str, mapping: &str) -> SourceRow {
        SourceRow::test(
            "channels",
            &[("id", 9), ("type", 33), ("status", 1)],
            &[
                ("name", "aws"),
                ("key", key),
                ("models", models),
                ("model_mapping", mapping),
            ],
        )
    }

    fn convert(row: &SourceRow) -> (ImportedChannel, Vec<String>) {
        let mut c = Converter {
            quota_per_unit: Decimal::from_int(500_000),
            report: Report::default(),
        };
        let mut out = channels(&mut c, Flavour::NewApi, std::slice::from_ref(row), &[]).unwrap();
        (out.remove(0), c.report.notes)
    }

    #[test]
    fn aws_claude_becomes_an_enabled_bedrock_channel_with_new_apis_model_ids() {
        let row = aws_row(
            "AKIAEXAMPLE|wJalrXUtnFEMI/K7MDENG|us-west-2",
            "claude-3-5-sonnet-20240620,claude-3-haiku-20240307,my-claude",
            r#"{"my-claude":"us.anthropic.claude-3-7-sonnet-20250219-v1:0"}"#,
        );
        let (ch, notes) = convert(&row);
        assert_eq!(ch.channel.kind, ChannelKind::Bedrock);
        assert!(ch.channel.enabled && ch.note.is_none(), "{notes:?}");
        assert_eq!(
            ch.channel.keys,
            ["AKIAEXAMPLE|wJalrXUtnFEMI/K7MDENG|us-west-2"]
        );
        assert_eq!(ch.channel.base_url, "");
        let mapping = &ch.channel.model_mapping;
        assert_eq!(
            mapping["claude-3-5-sonnet-20240620"],
            "anthropic.claude-3-5-sonnet-20240620-v1:0"
        );
        assert_eq!(
            mapping["claude-3-haiku-20240307"],
            "anthropic.claude-3-haiku-20240307-v1:0"
        );
        assert_eq!(
            mapping["my-claude"],
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
        );
    }

    #[test]
    fn an_api_key_mode_aws_channel_is_imported_disabled_without_its_secret_in_the_note() {
        let (ch, notes) = convert(&aws_row(
            "bedrock-api-key-secret|us-east-1",
            "claude-2.1",
            "",
        ));
        assert_eq!(ch.channel.kind, ChannelKind::Bedrock);
        assert!(!ch.channel.enabled);
        let note = ch.note.unwrap();
        assert!(
            note.starts_with("imported disabled: a bedrock key is"),
            "{note}"
        );
        assert!(
            !notes.concat().contains("bedrock-api-key-secret"),
            "{notes:?}"
        );
    }
}
