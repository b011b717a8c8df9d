//! `Settlement`: everything needed to turn a finished (or abandoned) request into a charge and a log row. It runs
//! in the task tracker, so the response is never held up by it and shutdown waits for it.

use crate::billing::LogSink;
use crate::billing::pricing::{TokenCounts, cost};
use crate::billing::tokenizer;
use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::observe::metrics::Metrics;
use api_types::Usage;
use serde_json::{Map, Value};
use std::sync::Arc;
use store::{LogRow, Price, Reservation};
use tokio_util::task::TaskTracker;

/// Where settlements go: the writer's queue, the task tracker (shutdown waits for it), the shared per-minute
/// windows whose token estimate a settlement corrects, and the stream gauges. Built once at start-up; a
/// settlement holds one `Arc` of it.
pub struct Books {
    pub logs: LogSink,
    pub tasks: TaskTracker,
    pub shared: Arc<cache::Shared>,
    pub metrics: Arc<Metrics>,
}

pub struct Settlement {
    pub books: Arc<Books>,
    pub meta: RequestMeta,
    pub reservation: Reservation,
    pub price: Price,
    pub multiplier: i64,
    /// Client-facing model, for the tokenizer choice.
    pub model: String,
    /// The request, kept for counting prompt tokens when the upstream reports no usage.
    pub request: Map<String, Value>,
    pub row: LogRow,
    /// Tokens counted at admission in the key's tokens-per-minute window (if it has one), replaced by the real
    /// count here.
    pub tokens_admitted: Option<u64>,
    /// Output tokens the money hold covers (all choices), when output is priced by tokens: the most the answer may
    /// be billed for, and where a stream whose upstream ignores the limit is cut.
    pub max_output_tokens: Option<u64>,
    /// Priced built-in tools (web search, code interpreter…) and what their budgets hold.
    pub tools: crate::billing::paid_tools::ToolBill,
}

/// How the answer ended, as seen by the relay.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Usage the upstream reported, if any.
    pub usage: Option<Usage>,
    /// Text delivered to the client (content, tool-call arguments), for counting when there is no usage.
    pub completion_text: String,
    pub tool_calls: u64,
    /// Built-in tool calls the answer reports (name, calls), billed at the tools' prices.
    pub builtin_calls: Vec<(String, u64)>,
    /// HTTP status as logged; 200 unless the stream failed or the client left.
    pub status: u16,
    pub error: Option<String>,
    pub ttft_ms: Option<i64>,
    /// The stream ended before its end event (client gone, upstream reset or silent, shutdown, cut at the hold):
    /// a reported usage may be a partial figure, so the output billed is the larger of it and the count of
    /// `completion_text`.
    pub ended_early: bool,
}

impl Delivered {
    /// A 200 answer whose first byte came `ttft_ms` after the request; usage and text are filled in as they come.
    pub fn answered(ttft_ms: i64) -> Self {
        Self {
            status: 200,
            ttft_ms: Some(ttft_ms),
            ..Default::default()
        }
    }

    /// The stream ends here, before its end event, logged with `status` and `error`.
    pub fn end_early(&mut self, status: u16, error: String) {
        self.status = status;
        self.error = Some(error);
        self.ended_early = true;
    }

    /// The stream failed (upstream reset, silent, unreadable): logged as the error the client is sent.
    pub fn failed(&mut self, err: &ApiError) {
        self.end_early(err.status().as_u16(), err.to_string());
    }

    /// The upstream failed mid-stream: logged as the error the client is sent, which is returned.
    pub fn upstream_failed(&mut self, err: providers::UpstreamError) -> ApiError {
        let api = ApiError::Upstream(err);
        self.failed(&api);
        api
    }

    /// The upstream sent an error event mid-stream: 502, with its text (key fragments scrubbed, at most 300
    /// characters) in the log.
    pub fn upstream_error_event(&mut self, payload: &[u8]) {
        let text = providers::scrub::secrets(&String::from_utf8_lossy(payload), None);
        let text: String = text.chars().take(300).collect();
        self.end_early(502, format!("upstream sent an error event: {text}"));
    }

    /// The client went away mid-stream: what was delivered is billed.
    pub fn client_left(&mut self) {
        self.end_early(
            499,
            "client closed the connection before the stream ended".to_owned(),
        );
    }
}

/// Settles `delivered` unless `settlement` was used already: a stream settles once, whichever way it ends.
pub fn finish_once(settlement: &mut Option<Settlement>, delivered: &mut Delivered) {
    if let Some(s) = settlement.take() {
        s.finish(std::mem::take(delivered));
    }
}

impl Settlement {
    /// Bills and logs the request. When the upstream reported usage and no tokens-per-minute window needs
    /// correcting — the common case — everything happens here, without a task: the ledger settles in memory and
    /// the entry goes onto the writer's queue. Counting tokens (a tokenizer) or correcting a shared window
    /// (possibly Redis) runs in the task tracker instead, so the response never waits for it.
    pub fn finish(mut self, delivered: Delivered) {
        if delivered.usage.is_none() || delivered.ended_early || self.tokens_admitted.is_some() {
            let tasks = self.books.tasks.clone();
            let span = crate::http::meta::span(&self.meta);
            tasks.spawn(tracing::Instrument::instrument(self.run(delivered), span));
            return;
        }
        let (row, actual, _) = self.bill(delivered);
        if let Some(queue) = self
            .books
            .logs
            .push_charged_nowait(row, &self.reservation, actual)
        {
            self.books.tasks.spawn(queue);
        }
    }

    /// The tokens used: the upstream's usage, else the tokenizer's count; for a stream that ended early, the
    /// larger of the reported output and the count of what was delivered. Not limited by the hold.
    pub fn tokens(&self, d: &Delivered) -> TokenCounts {
        // 7 per tool call covers the call framing the text does not show (new-api counts the same).
        let counted = || tokenizer::count_text(&self.model, &d.completion_text) + 7 * d.tool_calls;
        match d.usage {
            Some(u) => TokenCounts {
                prompt: u.prompt_tokens,
                cached: u.cached_tokens(),
                cache_write: u.cache_write_tokens(),
                cache_write_1h: u.cache_write_1h_tokens(),
                audio_input: u.audio_input_tokens(),
                audio_output: u.audio_output_tokens(),
                completion: if d.ended_early {
                    u.completion_tokens.max(counted())
                } else {
                    u.completion_tokens
                },
            },
            None => TokenCounts {
                prompt: tokenizer::count_prompt(&self.model, &self.request),
                completion: counted(),
                ..TokenCounts::default()
            },
        }
    }

    /// The tokens charged: [`Self::tokens`] with the output limited to the hold's `max_output_tokens`.
    pub fn billed_tokens(&self, d: &Delivered) -> TokenCounts {
        let mut t = self.tokens(d);
        if let Some(cap) = self.max_output_tokens {
            t.completion = t.completion.min(cap);
        }
        t
    }

    async fn run(mut self, d: Delivered) {
        let (row, actual, used) = self.bill(d);
        if let Some(key_id) = row.key_id {
            crate::auth::rate_limits::settle(
                &self.books.shared,
                key_id,
                self.tokens_admitted,
                used,
            )
            .await;
        }
        // The writer settles the hold and stores the row in one transaction; `row.cost` becomes the charge.
        self.books
            .logs
            .push_charged(row, &self.reservation, actual)
            .await;
    }

    /// The finished log row, the amount to charge and the tokens used.
    fn bill(&mut self, d: Delivered) -> (LogRow, i64, u64) {
        let anything_delivered = !d.completion_text.is_empty() || d.tool_calls > 0;
        let mut tokens = if d.usage.is_some() || d.status == 200 || anything_delivered {
            self.tokens(&d)
        } else {
            // Failed before any content reached the client: the request costs nothing.
            TokenCounts::default()
        };
        let mut error = d.error;
        if let Some(cap) = self
            .max_output_tokens
            .filter(|cap| tokens.completion > *cap)
        {
            // The hold covers `cap` output tokens and the client asked for no more: the excess is the upstream's.
            error = error.or(Some(format!(
                "upstream ignored the output limit ({} > {cap})",
                tokens.completion
            )));
            tokens.completion = cap;
        }
        let served = d.usage.is_some() || d.status == 200 || anything_delivered;
        // A per-request price (an image, a Midjourney-style action) is due for a served request even when no
        // tokens were counted; token prices with no tokens cost nothing.
        let actual =
            if !served || (tokens == TokenCounts::default() && self.price.per_request.is_none()) {
                0
            } else {
                cost(&self.price, tokens, self.multiplier)
            };
        let tools = crate::billing::paid_tools::charge(&self.tools, &d.builtin_calls);
        let actual = actual.saturating_add(crate::billing::pricing::with_multiplier(
            tools,
            self.multiplier,
        ));
        let mut row = std::mem::take(&mut self.row);
        row.prompt_tokens = i64::try_from(tokens.prompt).unwrap_or(i64::MAX);
        row.cached_tokens = i64::try_from(tokens.cached).unwrap_or(i64::MAX);
        row.cache_write_tokens = i64::try_from(tokens.cache_write).unwrap_or(i64::MAX);
        row.completion_tokens = i64::try_from(tokens.completion).unwrap_or(i64::MAX);
        row.status = i64::from(d.status);
        row.error = error;
        row.ttft_ms = d.ttft_ms;
        row.latency_ms = self.meta.elapsed_ms();
        (row, actual, tokens.prompt + tokens.completion)
    }
}
