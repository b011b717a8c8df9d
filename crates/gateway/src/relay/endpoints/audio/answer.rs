//! The upstream's transcription answer: what it reports (the bill) and its text rendered again in the format the
//! client asked for when the gateway asked the upstream for another one (`verbose_json` or `json`).

use super::super::usage::reported_usage;
use api_types::Usage;
use bytes::Bytes;
use serde_json::{Value, json};

/// `response_format`, a closed set (OpenAI's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Text,
    Srt,
    Vtt,
    VerboseJson,
    DiarizedJson,
}

impl Format {
    pub(super) fn parse(value: Option<&str>) -> Option<Self> {
        Some(match value.unwrap_or("json") {
            "json" => Self::Json,
            "text" => Self::Text,
            "srt" => Self::Srt,
            "vtt" => Self::Vtt,
            "verbose_json" => Self::VerboseJson,
            "diarized_json" => Self::DiarizedJson,
            _ => return None,
        })
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Text => "text",
            Self::Srt => "srt",
            Self::Vtt => "vtt",
            Self::VerboseJson => "verbose_json",
            Self::DiarizedJson => "diarized_json",
        }
    }
}

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

/// Whole seconds, rounded up, as a usage of that many input units.
fn seconds(s: f64) -> Option<Usage> {
    if !s.is_finite() || s <= 0.0 || s > 1e12 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "positive, rounded up, far below 2^53"
    )]
    let units = s.ceil() as u64;
    Some(Usage {
        prompt_tokens: units,
        total_tokens: units,
        ..Default::default()
    })
}

/// What a JSON answer reports: `usage` (`{"type":"duration","seconds"}` or `{"type":"tokens",…}`), else a
/// verbose answer's `duration`.
fn reported_json(v: &Value) -> Option<Usage> {
    let usage = v.get("usage");
    if usage.and_then(|u| u.get("type")).and_then(Value::as_str) == Some("duration") {
        return usage?
            .get("seconds")
            .and_then(Value::as_f64)
            .and_then(seconds);
    }
    if let Some(u) = usage {
        let bytes = serde_json::to_vec(&json!({ "usage": u })).ok()?;
        if let Some(tokens) = reported_usage(&bytes) {
            return Some(tokens);
        }
    }
    v.get("duration").and_then(Value::as_f64).and_then(seconds)
}

/// What the answer reports: a JSON answer's, or the last reporting event of a stream (`transcript.text.done`).
pub(super) fn reported(body: &[u8]) -> Option<Usage> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return reported_json(&v);
    }
    let text = std::str::from_utf8(body).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find_map(|v| reported_json(&v))
}

/// The text of a JSON answer.
pub(super) fn text_of(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("text").and_then(Value::as_str).map(str::to_owned)
}

/// `text` as the `text` format answers it.
pub(super) fn plain(text: &str) -> (String, Bytes) {
    (TEXT.to_owned(), Bytes::from(format!("{text}\n")))
}

/// A `verbose_json` answer in `format`, billed `units` seconds: `json` (text and usage, as whisper-1 answers
/// it), `text`, `srt` and `vtt` (one cue per segment, or one for the whole text), or as it came.
pub(super) fn render(verbose: &Value, body: Bytes, format: Format, units: u64) -> (String, Bytes) {
    let text = verbose.get("text").and_then(Value::as_str).unwrap_or("");
    match format {
        Format::Json => (
            JSON.to_owned(),
            Bytes::from(
                json!({"text": text, "usage": {"type": "duration", "seconds": units}}).to_string(),
            ),
        ),
        Format::Text => plain(text),
        Format::Srt | Format::Vtt => (TEXT.to_owned(), Bytes::from(cues(verbose, format))),
        Format::VerboseJson | Format::DiarizedJson => (JSON.to_owned(), body),
    }
}

/// The segments (start, end, text), or the whole text from 0 to `duration`.
fn segments(verbose: &Value) -> Vec<(f64, f64, String)> {
    let number = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let listed: Vec<_> = verbose
        .get("segments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            let text = s.get("text").and_then(Value::as_str).unwrap_or("");
            (number(s, "start"), number(s, "end"), text.trim().to_owned())
        })
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    let text = verbose.get("text").and_then(Value::as_str).unwrap_or("");
    vec![(0.0, number(verbose, "duration"), text.trim().to_owned())]
}

/// SubRip or WebVTT cues of the answer's segments.
fn cues(verbose: &Value, format: Format) -> String {
    let vtt = format == Format::Vtt;
    let mut out = String::from(if vtt { "WEBVTT\n\n" } else { "" });
    for (i, (start, end, text)) in segments(verbose).into_iter().enumerate() {
        if !vtt {
            out.push_str(&format!("{}\n", i + 1));
        }
        let (start, end) = (timestamp(start, vtt), timestamp(end, vtt));
        out.push_str(&format!("{start} --> {end}\n{text}\n\n"));
    }
    out
}

/// `HH:MM:SS,mmm` (SubRip) or `HH:MM:SS.mmm` (WebVTT).
fn timestamp(seconds: f64, vtt: bool) -> String {
    let ms = if seconds.is_finite() && seconds > 0.0 {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "positive and clamped far below 2^53"
        )]
        let ms = (seconds.min(1e9) * 1000.0).round() as u64;
        ms
    } else {
        0
    };
    let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let sep = if vtt { '.' } else { ',' };
    format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_answer_reports() {
        let units = |b: &[u8]| reported(b).map(|u| (u.prompt_tokens, u.completion_tokens));
        assert_eq!(
            units(br#"{"text":"hi","usage":{"type":"duration","seconds":7}}"#),
            Some((7, 0))
        );
        assert_eq!(units(br#"{"text":"hi","duration":2.2}"#), Some((3, 0)));
        let tokens = br#"{"text":"hi","usage":{"type":"tokens","input_tokens":12,"input_token_details":{"audio_tokens":10,"text_tokens":2},"output_tokens":3,"total_tokens":15}}"#;
        assert_eq!(units(tokens), Some((12, 3)));
        let stream = b"data: {\"type\":\"transcript.text.delta\",\"delta\":\"hi\"}\n\n\
            data: {\"type\":\"transcript.text.done\",\"text\":\"hi\",\"usage\":{\"type\":\"tokens\",\"input_tokens\":20,\"output_tokens\":4,\"total_tokens\":24}}\n\n";
        assert_eq!(units(stream), Some((20, 4)));
        assert_eq!(units(b"1\n00:00:00,000 --> 00:00:01,000\nhi"), None);
        assert_eq!(units(br#"{"text":"hi"}"#), None);
    }

    #[test]
    fn renders_verbose_answers_in_the_asked_format() {
        let verbose = json!({"text": " Hello. World.", "duration": 3725.5, "segments": [
            {"start": 0.0, "end": 1.25, "text": " Hello."},
            {"start": 3723.0, "end": 3725.5, "text": " World."}]});
        let body = Bytes::from(verbose.to_string());
        let out = |f| {
            let (ct, b) = render(&verbose, body.clone(), f, 3726);
            (ct, String::from_utf8(b.to_vec()).unwrap())
        };
        assert_eq!(out(Format::Text).1, " Hello. World.\n");
        assert_eq!(
            out(Format::Srt).1,
            "1\n00:00:00,000 --> 00:00:01,250\nHello.\n\n2\n01:02:03,000 --> 01:02:05,500\nWorld.\n\n"
        );
        assert_eq!(
            out(Format::Vtt).1,
            "WEBVTT\n\n00:00:00.000 --> 00:00:01.250\nHello.\n\n01:02:03.000 --> 01:02:05.500\nWorld.\n\n"
        );
        let json: Value = serde_json::from_str(&out(Format::Json).1).unwrap();
        assert_eq!(
            json,
            json!({"text": " Hello. World.", "usage": {"type": "duration", "seconds": 3726}})
        );
        assert_eq!(out(Format::VerboseJson).1, verbose.to_string());
    }
}
