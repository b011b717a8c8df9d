//! The `usage` object of chat completions (and of the final usage chunk of a stream).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// Only its `audio_tokens` are read (realtime audio output); absent unless there are some.
    #[serde(default, skip_serializing_if = "no_audio")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
}

/// The output's details Tollgate bills: audio tokens (part of `completion_tokens`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionTokensDetails {
    #[serde(default)]
    pub audio_tokens: u64,
}

fn no_audio(d: &Option<CompletionTokensDetails>) -> bool {
    d.is_none_or(|d| d.audio_tokens == 0)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    #[serde(default)]
    pub cached_tokens: u64,
    /// Prompt tokens written to the provider's prompt cache (Anthropic `cache_creation_input_tokens`), the 1-hour
    /// ones included; Tollgate's own field, absent when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
    /// Of those, written for one hour (`cache_creation.ephemeral_1h_input_tokens`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_1h_tokens: u64,
    /// Audio input tokens (part of `prompt_tokens`; realtime), absent when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub audio_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    pub fn cached_tokens(&self) -> u64 {
        self.prompt_tokens_details.map_or(0, |d| d.cached_tokens)
    }

    pub fn audio_input_tokens(&self) -> u64 {
        self.prompt_tokens_details.map_or(0, |d| d.audio_tokens)
    }

    pub fn audio_output_tokens(&self) -> u64 {
        self.completion_tokens_details.map_or(0, |d| d.audio_tokens)
    }

    pub fn cache_write_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .map_or(0, |d| d.cache_write_tokens)
    }

    pub fn cache_write_1h_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .map_or(0, |d| d.cache_write_1h_tokens)
    }
}
