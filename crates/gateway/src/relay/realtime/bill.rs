//! The money of each response: its hold ([`crate::relay::admission::hold_again`], taken before its
//! `response.create` goes upstream), its settlement at `response.done` from the reported usage (output never
//! billed beyond the hold, as on chat), and its log row. A response that never reaches `response.done` — the
//! client left, the upstream failed, the session ended — is settled when its [`Pending`] is dropped: billed for the
//! text delivered so far (the tokenizer's count), or refunded when nothing was, so no hold outlives its session.

use super::upgrade::Session;
use crate::billing::settle::{Delivered, Settlement, finish_once};
use crate::http::meta::RequestMeta;
use crate::relay::admission::Held;
use api_types::Usage;
use api_types::usage::{CompletionTokensDetails, PromptTokensDetails};
use serde_json::{Map, Value};
use std::time::Instant;
use store::LogRow;

/// The tokens one `response.done` reports (`response.usage`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reported {
    /// All input tokens (text, audio, cached alike).
    pub input: u64,
    /// Of the input, read from the cache.
    pub cached: u64,
    /// Of the input, audio.
    pub audio_input: u64,
    /// All output tokens.
    pub output: u64,
    /// Of the output, audio.
    pub audio_output: u64,
}

impl Reported {
    /// The usage of a `response.done` event's `response`, when it has one.
    pub fn read(response: Option<&Value>) -> Option<Self> {
        let usage = response?.get("usage")?.as_object()?;
        let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
        let input_details = usage.get("input_token_details");
        let output_details = usage.get("output_token_details");
        let detail = |d: Option<&Value>, name: &str| n(d.and_then(|d| d.get(name)));
        Some(Self {
            input: n(usage.get("input_tokens")),
            cached: detail(input_details, "cached_tokens"),
            audio_input: detail(input_details, "audio_tokens"),
            output: n(usage.get("output_tokens")),
            audio_output: detail(output_details, "audio_tokens"),
        })
    }

    /// The same tokens as chat usage, which the settlement bills.
    fn usage(self) -> Usage {
        Usage {
            prompt_tokens: self.input,
            completion_tokens: self.output,
            total_tokens: self.input.saturating_add(self.output),
            prompt_tokens_details: Some(PromptTokensDetails {
                cached_tokens: self.cached,
                audio_tokens: self.audio_input,
                ..PromptTokensDetails::default()
            }),
            completion_tokens_details: Some(CompletionTokensDetails {
                audio_tokens: self.audio_output,
            }),
        }
    }

    pub fn add(&mut self, other: Self) {
        self.input = self.input.saturating_add(other.input);
        self.cached = self.cached.saturating_add(other.cached);
        self.audio_input = self.audio_input.saturating_add(other.audio_input);
        self.output = self.output.saturating_add(other.output);
        self.audio_output = self.audio_output.saturating_add(other.audio_output);
    }
}

/// A response whose hold is taken and not yet settled.
pub struct Pending {
    settlement: Option<Settlement>,
    delivered: Delivered,
    started: Instant,
    /// The upstream announced it (`response.created`).
    pub created: bool,
}

impl Pending {
    /// Response `n` of `session`, billed on a row like the session's `template` under its own request id.
    pub fn new(session: &Session, template: &LogRow, n: u32, held: Held) -> Self {
        let meta = RequestMeta {
            id: format!("{}.{n}", session.meta.id),
            client_ip: session.meta.client_ip,
            started: Instant::now(),
            started_at: chrono::Utc::now(),
        };
        let row = LogRow {
            request_id: meta.id.clone(),
            time: meta.started_at,
            stream: true,
            ..template.clone()
        };
        let settlement = Settlement {
            books: session.state.books.clone(),
            meta,
            reservation: held.reservation,
            price: session.admission.price.clone(),
            multiplier: session.admission.multiplier,
            model: session.admission.model.clone(),
            request: Map::new(),
            row,
            tokens_admitted: None,
            max_output_tokens: held.output_held,
            tools: crate::billing::paid_tools::ToolBill::default(),
        };
        Self {
            settlement: Some(settlement),
            delivered: Delivered::default(),
            started: Instant::now(),
            created: false,
        }
    }

    /// The upstream announced the response: its first byte, for the row's `ttft_ms`.
    pub fn created(&mut self) {
        if !self.created {
            self.created = true;
            let ms = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
            self.delivered.ttft_ms = Some(ms);
        }
    }

    /// Output text (or an audio transcript) reached the client: billed by count if no usage ever comes.
    pub fn delivered(&mut self, text: &str) {
        self.delivered.completion_text.push_str(text);
    }

    /// `response.done`: billed from its usage (output within the hold), else from what was delivered.
    pub fn done(mut self, reported: Option<Reported>, status: Option<&str>) {
        self.delivered.status = 200;
        match reported {
            Some(r) => self.delivered.usage = Some(r.usage()),
            None => self.delivered.end_early(
                502,
                "the upstream's response.done reported no usage".to_owned(),
            ),
        }
        if let Some(status) = status.filter(|s| *s != "completed") {
            self.delivered.error = Some(format!("response {status}"));
        }
        finish_once(&mut self.settlement, &mut self.delivered);
    }

    /// The response ends without `response.done`: billed for what was delivered (nothing: refunded).
    pub fn end(mut self, status: u16, error: &str) {
        self.delivered.end_early(status, error.to_owned());
        finish_once(&mut self.settlement, &mut self.delivered);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.settlement.is_some() {
            self.delivered.client_left();
            finish_once(&mut self.settlement, &mut self.delivered);
        }
    }
}
