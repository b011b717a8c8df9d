//! The operations of the endpoints' shared flow: what each one is called, served at and accepts — its uploads,
//! its default model, the texts it is estimated and counted from, whether it is billed per image.

use super::inputs::{self, invalid};
use super::multipart::Uploads;
use crate::error::ApiError;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Embeddings,
    Moderations,
    Rerank,
    /// Legacy completions: also billed for output tokens, and streamed when asked.
    Completions,
    /// Image generation: billed per image (the price of `model:size:quality`, `model:size` or `model`).
    Images,
    /// Image edits (`multipart/form-data`: `image` or `image[]` uploads, an optional `mask`, a `prompt`): billed
    /// per image like generations.
    ImageEdits,
    /// Image variations (`multipart/form-data`: one `image`): billed per image like generations.
    ImageVariations,
    /// The Responses API: billed for input and output tokens from `usage`.
    Responses,
    /// Text to speech: billed per input character (the model's input price per million characters), the audio
    /// streamed to the client as it comes.
    Speech,
    /// Speech to text (`multipart/form-data`): billed per second of audio (the model's input price per million
    /// seconds) or by tokens, as the upstream reports them, else by the file header's duration (`audio.rs`).
    Transcriptions,
    /// Speech to English text: as transcriptions.
    Translations,
}

impl Operation {
    /// Every operation; each is served at `POST /v1/{path}` ([`routes`]).
    pub(super) const ALL: [Self; 11] = [
        Self::Embeddings,
        Self::Moderations,
        Self::Rerank,
        Self::Completions,
        Self::Responses,
        Self::Speech,
        Self::Transcriptions,
        Self::Translations,
        Self::Images,
        Self::ImageEdits,
        Self::ImageVariations,
    ];

    /// The uploads of a `multipart/form-data` body, for the operations that take one rather than JSON.
    pub(super) fn uploads(self) -> Option<Uploads> {
        match self {
            Self::Transcriptions | Self::Translations => Some(Uploads {
                names: &["file"],
                required: &["file"],
                what: "the audio upload",
            }),
            Self::ImageEdits => Some(Uploads {
                names: &["image", "image[]", "mask"],
                required: &["image", "image[]"],
                what: "the image to edit",
            }),
            Self::ImageVariations => Some(Uploads {
                names: &["image"],
                required: &["image"],
                what: "the image to vary",
            }),
            _ => None,
        }
    }

    /// Whether the answer is billed per image.
    pub(super) fn is_image(self) -> bool {
        matches!(
            self,
            Self::Images | Self::ImageEdits | Self::ImageVariations
        )
    }

    pub(super) fn path(self) -> &'static str {
        match self {
            Self::Embeddings => "embeddings",
            Self::Moderations => "moderations",
            Self::Rerank => "rerank",
            Self::Completions => "completions",
            Self::Images => "images/generations",
            Self::ImageEdits => "images/edits",
            Self::ImageVariations => "images/variations",
            Self::Responses => "responses",
            Self::Speech => "audio/speech",
            Self::Transcriptions => "audio/transcriptions",
            Self::Translations => "audio/translations",
        }
    }

    /// The model when the request names none (OpenAI's default for moderations).
    pub(super) fn default_model(self) -> Option<&'static str> {
        match self {
            Self::Moderations => Some("omni-moderation-latest"),
            Self::Images | Self::ImageEdits | Self::ImageVariations => Some("dall-e-2"),
            _ => None,
        }
    }

    /// The texts to estimate (and, without upstream usage, count) and the tokens given as ids.
    pub(super) fn inputs(self, request: &Map<String, Value>) -> Result<(Vec<&str>, u64), ApiError> {
        match self {
            Self::Embeddings => inputs::texts(request.get("input"), "input"),
            Self::Completions => inputs::texts(request.get("prompt"), "prompt"),
            Self::Responses => inputs::responses(request),
            Self::Speech => inputs::speech(request),
            // The file is checked, and its length estimated, from the form itself.
            Self::Transcriptions | Self::Translations => Ok((Vec::new(), 0)),
            // The images are checked from the form itself.
            Self::ImageVariations => Ok((Vec::new(), 0)),
            Self::Images | Self::ImageEdits => match request.get("prompt") {
                Some(Value::String(p)) if !p.is_empty() => Ok((vec![p.as_str()], 0)),
                _ => Err(invalid(
                    "`prompt` is required and must be a non-empty string.",
                    "prompt",
                )),
            },
            Self::Moderations => inputs::moderation(request.get("input")),
            Self::Rerank => inputs::rerank(request),
        }
    }
}
