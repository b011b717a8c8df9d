//! Prices and group multipliers from new-api's `options` rows (JSON maps stored as text):
//! `ModelRatio` (1 = 2 USD per million input tokens), `CompletionRatio` (output = input × it), `CacheRatio`
//! (cached input = input × it), `CreateCacheRatio` (prompt-cache writes = input × it), `ModelPrice` (USD per
//! request, wins over the ratios as in new-api), `AudioRatio` (realtime audio input = input × it),
//! `AudioCompletionRatio` (audio output = audio input × it; without it audio output stays unpriced, and realtime
//! refuses it) and `GroupRatio` (the group's multiplier; Tollgate's is per mille).

use super::money::Decimal;
use anyhow::{anyhow, bail};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use store::{Group, Price};

/// Micro-units per million tokens at ratio 1 (2 USD).
const RATIO_ONE: i128 = 2_000_000;
const MICRO_PER_USD: i128 = 1_000_000;

/// Audio input (`ModelRatio` × `AudioRatio`) and output (that × `AudioCompletionRatio`) prices of `model`.
fn audio_prices(
    model: &str,
    ratio: Decimal,
    audio: &Map<String, Value>,
    audio_completion: &Map<String, Value>,
    notes: &mut Vec<String>,
) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    let Some(a) = audio.get(model) else {
        return Ok((None, None));
    };
    let input = ratio
        .mul(number("AudioRatio", model, a)?)
        .ok_or_else(|| anyhow!("{model}: AudioRatio out of range"))?;
    let audio_input = micro(
        input,
        RATIO_ONE,
        &format!("{model} audio input price"),
        notes,
    )?;
    let audio_output = match audio_completion.get(model) {
        Some(c) => {
            let output = input
                .mul(number("AudioCompletionRatio", model, c)?)
                .ok_or_else(|| anyhow!("{model}: AudioCompletionRatio out of range"))?;
            Some(micro(
                output,
                RATIO_ONE,
                &format!("{model} audio output price"),
                notes,
            )?)
        }
        None => {
            notes.push(format!(
                "{model}: AudioRatio without AudioCompletionRatio: audio output left unpriced (refused on realtime)"
            ));
            None
        }
    };
    Ok((Some(audio_input), audio_output))
}

fn map(options: &HashMap<&str, &str>, name: &str) -> anyhow::Result<Option<Map<String, Value>>> {
    let Some(text) = options
        .get(name)
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        _ => bail!("options row {name:?}: the value is not a JSON object"),
    }
}

fn number(option: &str, model: &str, v: &Value) -> anyhow::Result<Decimal> {
    Decimal::from_json(v)
        .ok_or_else(|| anyhow!("options row {option:?}: {model:?} is not a number: {v}"))
}

/// `value × factor` in whole micro-units, noting a rounding.
fn micro(value: Decimal, factor: i128, what: &str, notes: &mut Vec<String>) -> anyhow::Result<i64> {
    let (n, exact) = value
        .times(factor)
        .ok_or_else(|| anyhow!("{what}: out of range"))?;
    if !exact {
        notes.push(format!("{what}: rounded to {n} micro-units"));
    }
    Ok(n)
}

pub fn groups(
    options: &HashMap<&str, &str>,
    used: &BTreeSet<String>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<Group>> {
    let ratios = map(options, "GroupRatio")?.unwrap_or_default();
    let mut out: BTreeMap<String, Group> = BTreeMap::new();
    for (name, ratio) in &ratios {
        let ratio = number("GroupRatio", name, ratio)?;
        let multiplier = micro(ratio, 1000, &format!("group {name:?} ratio"), notes)?;
        out.insert(
            name.clone(),
            Group {
                name: name.clone(),
                multiplier,
                ..Default::default()
            },
        );
    }
    for name in used {
        if !out.contains_key(name) {
            notes.push(format!("group {name:?} has no GroupRatio: imported at ×1"));
            out.insert(
                name.clone(),
                Group {
                    name: name.clone(),
                    multiplier: 1000,
                    ..Default::default()
                },
            );
        }
    }
    Ok(out.into_values().collect())
}

pub fn prices(
    options: &HashMap<&str, &str>,
    served: &BTreeSet<String>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<Price>> {
    let model_ratio = map(options, "ModelRatio")?;
    if model_ratio.is_none() {
        notes.push(
            "options has no ModelRatio: the source used new-api's built-in ratios, which are not in its database"
                .to_owned(),
        );
    }
    let model_ratio = model_ratio.unwrap_or_default();
    let completion = map(options, "CompletionRatio")?.unwrap_or_default();
    let cache = map(options, "CacheRatio")?.unwrap_or_default();
    let cache_write = map(options, "CreateCacheRatio")?.unwrap_or_default();
    let audio = map(options, "AudioRatio")?.unwrap_or_default();
    let audio_completion = map(options, "AudioCompletionRatio")?.unwrap_or_default();
    let per_request = map(options, "ModelPrice")?.unwrap_or_default();
    let mut out: BTreeMap<String, Price> = BTreeMap::new();
    let mut without_completion = Vec::new();
    for (model, ratio) in &model_ratio {
        if per_request.contains_key(model) {
            continue;
        }
        let ratio = number("ModelRatio", model, ratio)?;
        let input = micro(ratio, RATIO_ONE, &format!("{model} input price"), notes)?;
        let output = match completion.get(model) {
            Some(cr) => {
                let product = ratio
                    .mul(number("CompletionRatio", model, cr)?)
                    .ok_or_else(|| anyhow!("{model}: completion ratio out of range"))?;
                micro(product, RATIO_ONE, &format!("{model} output price"), notes)?
            }
            None => {
                without_completion.push(model.clone());
                input
            }
        };
        let relative = |lane: &str, ratios: &Map<String, Value>, notes: &mut Vec<String>| {
            let Some(r) = ratios.get(model) else {
                return Ok(None);
            };
            let product = ratio
                .mul(number(lane, model, r)?)
                .ok_or_else(|| anyhow!("{model}: {lane} out of range"))?;
            micro(product, RATIO_ONE, &format!("{model} {lane} price"), notes).map(Some)
        };
        let cached = relative("CacheRatio", &cache, notes)?;
        let write = relative("CreateCacheRatio", &cache_write, notes)?;
        let (audio_input, audio_output) =
            audio_prices(model, ratio, &audio, &audio_completion, notes)?;
        out.insert(
            model.clone(),
            Price {
                model: model.clone(),
                input_per_million: Some(input),
                cached_input_per_million: cached,
                cache_write_per_million: write,
                audio_input_per_million: audio_input,
                audio_output_per_million: audio_output,
                output_per_million: Some(output),
                ..Price::default()
            },
        );
    }
    for (model, usd) in &per_request {
        let usd = number("ModelPrice", model, usd)?;
        let n = micro(
            usd,
            MICRO_PER_USD,
            &format!("{model} price per request"),
            notes,
        )?;
        out.insert(
            model.clone(),
            Price {
                model: model.clone(),
                per_request: Some(n),
                ..Default::default()
            },
        );
    }
    if !without_completion.is_empty() {
        notes.push(format!(
            "no CompletionRatio for {}: output priced as input (new-api may have applied a built-in ratio; check)",
            without_completion.join(", ")
        ));
    }
    let unpriced: Vec<&str> = served
        .iter()
        .filter(|m| !out.contains_key(*m))
        .map(String::as_str)
        .collect();
    if !unpriced.is_empty() {
        notes.push(format!(
            "served but not priced (Tollgate refuses unpriced models until you price them): {}",
            unpriced.join(", ")
        ));
    }
    Ok(out.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_become_exact_prices() {
        let options: HashMap<&str, &str> = [
            (
                "ModelRatio",
                r#"{"gpt-4o":1.25,"gpt-4o-mini":0.075,"odd":1}"#,
            ),
            ("CompletionRatio", r#"{"gpt-4o":4,"gpt-4o-mini":4}"#),
            ("CacheRatio", r#"{"gpt-4o":0.5}"#),
            ("CreateCacheRatio", r#"{"gpt-4o":1.25}"#),
            ("AudioRatio", r#"{"gpt-4o":16}"#),
            ("AudioCompletionRatio", r#"{"gpt-4o":2}"#),
            ("ModelPrice", r#"{"mj_imagine":0.1,"odd":0.02}"#),
            ("GroupRatio", r#"{"default":1,"vip":0.8}"#),
        ]
        .into_iter()
        .collect();
        let mut notes = Vec::new();
        let served: BTreeSet<String> = ["gpt-4o".to_owned(), "unpriced".to_owned()].into();
        let prices = prices(&options, &served, &mut notes).unwrap();
        let p = |m: &str| prices.iter().find(|p| p.model == m).unwrap().clone();
        assert_eq!(
            (
                p("gpt-4o").input_per_million,
                p("gpt-4o").output_per_million,
                p("gpt-4o").cached_input_per_million
            ),
            (Some(2_500_000), Some(10_000_000), Some(1_250_000))
        );
        assert_eq!(p("gpt-4o").cache_write_per_million, Some(3_125_000));
        assert_eq!(p("gpt-4o-mini").cache_write_per_million, None);
        assert_eq!(p("gpt-4o").audio_input_per_million, Some(40_000_000));
        assert_eq!(p("gpt-4o").audio_output_per_million, Some(80_000_000));
        assert_eq!(p("gpt-4o-mini").audio_input_per_million, None);
        assert_eq!(p("gpt-4o-mini").input_per_million, Some(150_000));
        assert_eq!(p("mj_imagine").per_request, Some(100_000));
        // A fixed price wins over a ratio, as in new-api.
        assert_eq!(
            (p("odd").per_request, p("odd").input_per_million),
            (Some(20_000), None)
        );
        assert!(notes.iter().any(|n| n.contains("unpriced")), "{notes:?}");
        let used: BTreeSet<String> = ["svip".to_owned()].into();
        let groups = groups(&options, &used, &mut notes).unwrap();
        let m: Vec<(&str, i64)> = groups
            .iter()
            .map(|g| (g.name.as_str(), g.multiplier))
            .collect();
        assert_eq!(m, [("default", 1000), ("svip", 1000), ("vip", 800)]);
    }
}
