//! `/v1/audio/transcriptions` and `/translations`: what the upstream is asked and what the answer costs (issue
//! 15). The bill is what the upstream reports, never the file's size alone, by the upstream model ([`Metering`]):
//!
//! - the gpt-4o-transcribe family reports `usage` tokens in its JSON answer (and in a stream's
//!   `transcript.text.done`): a client's `text` is asked as `json` and turned back into text; `srt`, `vtt` and
//!   `verbose_json` (which these models do not offer) are a 400;
//! - Whisper offers `verbose_json`: it is asked for whatever the client chose, its `duration` is the bill, and the
//!   answer is rendered back in the client's format (`answer.rs`);
//! - any other model: the `usage` its JSON answer reports, else the duration the file's own header states
//!   (`duration.rs`). **A file whose duration cannot be read is refused up front** (400 naming `file`, "cannot
//!   determine the audio duration") when such a model may serve it, rather than under-billed.
//!
//! The hold covers the header's duration, else the longest the file can play: its size at 6 kbit/s (the lowest
//! rate Opus encodes, the most compact format the upstreams accept). An answer that reports nothing is billed
//! the header's duration, else what was held. The form sent upstream is re-encoded from the checked fields.

mod answer;
mod duration;

use super::inputs::invalid;
use super::multipart::Form;
use crate::error::ApiError;
use answer::Format;
use api_types::Usage;
use bytes::Bytes;

/// The most compact audio the upstreams take: Opus at 6 kbit/s, 750 bytes a second.
const MIN_BYTES_PER_SECOND: u64 = 750;
/// Input audio tokens a second of the gpt-4o-transcribe family (OpenAI meters 100 ms a token).
const AUDIO_TOKENS_PER_SECOND: u64 = 10;
/// Output text tokens a second of speech the hold allows (fast speech is about 4 tokens a second).
const TEXT_TOKENS_PER_SECOND: u64 = 8;

/// How an upstream model's transcription is metered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metering {
    /// `usage` tokens (the gpt-4o-transcribe family).
    Tokens,
    /// The `duration` of a `verbose_json` answer (Whisper).
    VerboseDuration,
    /// A reported `usage`, else the file header's duration.
    Header,
}

impl Metering {
    fn of(upstream_model: &str) -> Self {
        let m = upstream_model.to_ascii_lowercase();
        if m.starts_with("gpt-") && m.contains("transcribe") {
            Self::Tokens
        } else if m.contains("whisper") {
            Self::VerboseDuration
        } else {
            Self::Header
        }
    }
}

/// A checked upload, ready to be sent to any of the candidate upstream models and billed.
pub(super) struct Plan {
    form: Form,
    /// What the client asked for.
    format: Format,
    /// The duration the file's header states.
    header_seconds: Option<u64>,
    /// The header's duration, else the longest the file can play.
    bound_seconds: u64,
    /// The `prompt` field's tokens, bounded from above (bytes / 3).
    prompt_tokens: u64,
    meterings: Vec<Metering>,
}

/// What the answer costs and what the client receives.
pub(super) struct Billed {
    pub(super) usage: Usage,
    pub(super) content_type: String,
    pub(super) body: Bytes,
}

impl Plan {
    /// Checks `form` against every upstream model that may serve it.
    pub(super) fn new<'a>(
        form: Form,
        upstream_models: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ApiError> {
        let format = Format::parse(form.field("response_format")).ok_or_else(|| {
            invalid(
                "`response_format` must be one of json, text, srt, verbose_json, vtt, diarized_json.",
                "response_format",
            )
        })?;
        let mut meterings: Vec<Metering> = upstream_models.into_iter().map(Metering::of).collect();
        meterings.dedup();
        let file: &[u8] = form.upload("file").map_or(&[], |b| b.as_ref());
        let header_seconds = duration::seconds(file);
        for metering in &meterings {
            check(*metering, format, header_seconds)?;
        }
        let size = file.len() as u64;
        let prompt_tokens = form
            .field("prompt")
            .map_or(0, |p| (p.len() as u64).div_ceil(3));
        Ok(Self {
            bound_seconds: header_seconds
                .unwrap_or_else(|| size.div_ceil(MIN_BYTES_PER_SECOND))
                .max(1),
            form,
            format,
            header_seconds,
            prompt_tokens,
            meterings,
        })
    }

    /// The (input, output) units the hold covers: the most any candidate may bill.
    pub(super) fn hold(&self) -> (u64, u64) {
        self.meterings
            .iter()
            .map(|m| self.held(*m))
            .fold((1, 0), |(p, c), (p2, c2)| (p.max(p2), c.max(c2)))
    }

    fn held(&self, metering: Metering) -> (u64, u64) {
        match metering {
            Metering::Tokens => (
                self.bound_seconds * AUDIO_TOKENS_PER_SECOND + self.prompt_tokens,
                self.bound_seconds * TEXT_TOKENS_PER_SECOND,
            ),
            Metering::VerboseDuration | Metering::Header => (self.bound_seconds, 0),
        }
    }

    /// The form for `upstream_model`: the checked fields with its name and the format it is asked in.
    pub(super) fn encode(&self, upstream_model: &str) -> (String, Bytes) {
        let metering = Metering::of(upstream_model);
        let format = match (metering, self.format) {
            (Metering::Tokens, Format::Text) => Format::Json,
            (Metering::VerboseDuration, _) => Format::VerboseJson,
            (_, asked) => asked,
        };
        // Whisper ignores `stream`; leaving it out makes sure the answer is the verbose JSON to read.
        let dropped = |name: &str| {
            name == "model"
                || name == "response_format"
                || (name == "stream" && metering == Metering::VerboseDuration)
        };
        let mut fields = vec![
            ("model".to_owned(), upstream_model.to_owned()),
            ("response_format".to_owned(), format.name().to_owned()),
        ];
        fields.extend(
            self.form
                .fields
                .iter()
                .filter(|(n, _)| !dropped(n))
                .cloned(),
        );
        self.form.encode(&fields)
    }

    /// What `upstream_model`'s answer costs, and the answer in the client's format.
    pub(super) fn bill(&self, upstream_model: &str, content_type: String, body: Bytes) -> Billed {
        let metering = Metering::of(upstream_model);
        let reported = answer::reported(&body);
        let usage = reported.unwrap_or_else(|| {
            tracing::warn!(upstream_model, "the transcription answer reports no usage");
            let (prompt, completion) = match (metering, self.header_seconds) {
                (Metering::Tokens, _) | (_, None) => self.held(metering),
                (_, Some(seconds)) => (seconds, 0),
            };
            Usage {
                prompt_tokens: prompt,
                completion_tokens: completion,
                total_tokens: prompt + completion,
                ..Default::default()
            }
        });
        let (content_type, body) = match (metering, self.format) {
            (Metering::VerboseDuration, format) => {
                match serde_json::from_slice::<serde_json::Value>(&body) {
                    Ok(verbose) => answer::render(&verbose, body, format, usage.prompt_tokens),
                    Err(_) => (content_type, body),
                }
            }
            (Metering::Tokens, Format::Text) => match answer::text_of(&body) {
                Some(text) => answer::plain(&text),
                None => (content_type, body),
            },
            _ => (content_type, body),
        };
        Billed {
            usage,
            content_type,
            body,
        }
    }
}

/// Refuses what `metering` could not bill or answer.
fn check(metering: Metering, format: Format, header: Option<u64>) -> Result<(), ApiError> {
    match (metering, format) {
        (Metering::Tokens, Format::Srt | Format::Vtt | Format::VerboseJson)
        | (Metering::VerboseDuration, Format::DiarizedJson) => Err(invalid(
            &format!(
                "`response_format` {} is not offered by this model.",
                format.name()
            ),
            "response_format",
        )),
        (Metering::Header, _) if header.is_none() => Err(invalid(
            "Cannot determine the audio duration of `file`; send WAV, MP3, FLAC, Ogg (Opus or Vorbis) or MP4/M4A \
             audio.",
            "file",
        )),
        _ => Ok(()),
    }
}
