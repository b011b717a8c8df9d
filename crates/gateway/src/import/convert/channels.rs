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
        (Flavour::NewApi, 2 | 5) => Ok(ChannelKind::Midjourney),
        (Flavour::NewApi, 41) | (Flavour::OneApi, 42) => Ok(ChannelKind::Vertex),
        (f, t) => Err(match (f, t) {
            (Flavour::NewApi, 33) | (Flavour::OneApi, 33) => "AWS Bedrock".to_owned(),
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
        ChannelKind::Azure | ChannelKind::Midjourney | ChannelKind::Vertex => "",
    }
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
