//! Native relay for the Gemini routes on gemini channels: the client's own `generateContent` body goes upstream
//! for the channel's name of the model, and the answer comes back untouched (the gateway reads only the usage and
//! the delivered text, for the bill: `streaming::gemini::GeminiEvents`).

use super::request::field;
use crate::billing::paid_tools::ToolBill;
use crate::billing::settle::{Delivered, Settlement};
use crate::relay::pipeline::Native;
use crate::streaming::gemini::GeminiEvents;
use crate::streaming::native::{EventProtocol, NativeTap};
use api_types::ChannelKind;
use bytes::Bytes;
use providers::gemini::native::{self, NativeAnswer};
use providers::{UpstreamCtx, UpstreamError, UpstreamErrorKind};
use serde_json::{Map, Value};

/// A `generateContent` body as the client sent it.
pub struct GenerateBody {
    pub body: Map<String, Value>,
}

/// What the Gemini routes encode: the response body, or the events relayed as they come.
pub enum NativeGeneration {
    Plain(Bytes),
    Stream(Box<NativeTap<GeminiEvents>>),
}

/// The object under `camel` (or its snake_case name) in `o`, created as `camel` when absent or not an object.
fn object_mut<'a>(
    o: &'a mut Map<String, Value>,
    camel: &str,
    snake: &str,
) -> &'a mut Map<String, Value> {
    let key = if o.contains_key(snake) && !o.contains_key(camel) {
        snake
    } else {
        camel
    };
    let slot = o
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// `generationConfig.thinkingConfig.thinkingBudget` of a body, if it is a number.
fn budget(body: &Map<String, Value>) -> Option<i64> {
    let config = field(body, "generationConfig")?.as_object()?;
    let thinking = field(config, "thinkingConfig")?.as_object()?;
    field(thinking, "thinkingBudget")?.as_i64()
}

impl Native for GenerateBody {
    type Raw = NativeAnswer;
    type Relayed = NativeGeneration;

    fn tools(&self) -> ToolBill {
        // Built-in tools (Google Search…) are refused by the conversion, before admission.
        ToolBill::default()
    }

    /// `maxOutputTokens` counts thinking, so the client's own is lowered to `limit` (the output the hold pays
    /// for, budget included) and never raised. A thinking budget the hold leaves no answer token for is turned off
    /// (`thinkingBudget: 0`), and the answer comes without thinking. A dynamic budget (-1) stays: the limit bounds
    /// it.
    fn limit_output(&mut self, limit: u64) {
        let unaffordable = budget(&self.body).is_some_and(|b| b > 0 && b.unsigned_abs() >= limit);
        let config = object_mut(&mut self.body, "generationConfig", "generation_config");
        // The client's own limit counts thinking too: it is lowered, never raised.
        let own = field(config, "maxOutputTokens").and_then(Value::as_u64);
        config.remove("max_output_tokens");
        let limit = own.map_or(limit, |own| own.min(limit));
        config.insert("maxOutputTokens".to_owned(), Value::from(limit));
        if unaffordable {
            let thinking = object_mut(config, "thinkingConfig", "thinking_config");
            thinking.remove("thinking_budget");
            thinking.insert("thinkingBudget".to_owned(), Value::from(0));
        }
    }

    fn serves(&self, kind: ChannelKind) -> bool {
        kind == ChannelKind::Gemini
    }

    /// `thinkingBudget` as sent (the chat object's effort, for other channels, tops out at `high`'s budget).
    fn thinking_budget(&self) -> Option<u64> {
        budget(&self.body).and_then(|b| u64::try_from(b).ok())
    }

    async fn call(
        &self,
        ctx: &UpstreamCtx,
        upstream_model: &str,
        stream: bool,
    ) -> Result<NativeAnswer, UpstreamError> {
        let body = serde_json::to_vec(&self.body).map_err(|e| {
            UpstreamError::new(
                UpstreamErrorKind::Protocol,
                format!("cannot encode request: {e}"),
            )
        })?;
        native::send_native(ctx, upstream_model, Bytes::from(body), stream).await
    }

    fn relay(raw: NativeAnswer, settlement: Settlement, ttft_ms: i64) -> NativeGeneration {
        match raw {
            NativeAnswer::Plain(body) => {
                let mut delivered = Delivered::answered(ttft_ms);
                let mut events = GeminiEvents::default();
                events.inspect(&body, &mut delivered);
                delivered.usage = events.usage();
                settlement.finish(delivered);
                NativeGeneration::Plain(body)
            }
            NativeAnswer::Stream { first, rest } => NativeGeneration::Stream(Box::new(
                NativeTap::new(GeminiEvents::default(), first, rest, settlement, ttft_ms),
            )),
        }
    }
}
