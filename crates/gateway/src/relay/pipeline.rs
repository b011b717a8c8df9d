//! The relay of an OpenAI chat object, shared by every chat-shaped route (chat, `/v1/messages`, `/v1/responses`
//! through chat): validate, admit (`admission`: permission, price, limits, the hold and the output limit it pays
//! for), fail over across channels (`failover`), and hand the answer — a whole body or a `UsageTap` stream — to the
//! route, which only encodes it for its client.

use super::admission::{self, Admitted, Ask, OutputAsk};
use super::attempt::{self, Answer};
use super::failover::{self, Failover, Route};
use super::in_flight::InFlight;
use super::thinking::Thinking;
use crate::billing::estimate;
use crate::billing::paid_tools::ToolBill;
use crate::billing::settle::{Delivered, Settlement};
use crate::error::ApiError;
use crate::routing::selector;
use crate::streaming::encode::ChunkEncoder;
use crate::streaming::tap::UsageTap;
use crate::streaming::thinking_blocks::{self, Kept};
use api_types::ChannelKind;
use api_types::Usage;
use api_types::chat::ChatRequestHead;
use bytes::Bytes;
use providers::{UpstreamCtx, UpstreamError};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::convert::Infallible;
use std::future::Future;
use std::ops::ControlFlow;

/// The answer ready to be encoded for the client: in OpenAI form, or the route's native answer `N`.
pub enum Relayed<N> {
    /// A complete `chat.completion` body.
    Plain(Bytes),
    Stream(Box<UsageTap>),
    /// The route's own protocol, relayed untouched ([`Native::Relayed`]).
    Native(N),
}

/// What the client sent, besides the OpenAI chat object `run` works on.
pub enum Original<N> {
    /// An OpenAI chat body, byte for byte: forwarded as it is to OpenAI-compatible channels when the gateway
    /// changes nothing in it (same model upstream, no `stream_options` to add, no output limit to write), instead of
    /// re-encoding the object.
    OpenAi(Bytes),
    /// The client's body in the route's own protocol, relayed untouched to the channels that speak it.
    Native(N),
    /// Only the parsed object counts: every adapter encodes it.
    Parsed,
}

/// A route's own protocol, relayed untouched to the channels that speak it: `/v1/messages` to anthropic channels
/// (`messages::passthrough::MessagesBody`). Routes that only speak OpenAI chat (chat, Responses through chat) use
/// [`Infallible`], so for them a native answer is a case the types rule out.
pub trait Native: Send + Sync {
    /// The upstream's untouched answer, as the attempt got it.
    type Raw: Send;
    /// What the route gets back to encode.
    type Relayed;
    /// Priced server tools the body carries (held and billed whichever channel serves it).
    fn tools(&self) -> ToolBill;
    /// Writes the affordable output limit into the body.
    fn limit_output(&mut self, limit: u64);
    /// Whether a channel of `kind` takes the body as it is.
    fn serves(&self, kind: ChannelKind) -> bool;
    /// The thinking budget the body asks of the channels that take it, when the chat object's effort may say less
    /// (Gemini's own `thinkingBudget`): the hold covers the larger.
    fn thinking_budget(&self) -> Option<u64> {
        None
    }
    fn call(
        &self,
        ctx: &UpstreamCtx,
        upstream_model: &str,
        stream: bool,
    ) -> impl Future<Output = Result<Self::Raw, UpstreamError>> + Send;
    /// Hands the answer to the route, its settlement done or attached to the stream.
    fn relay(raw: Self::Raw, settlement: Settlement, ttft_ms: i64) -> Self::Relayed;
}

impl Native for Infallible {
    type Raw = Infallible;
    type Relayed = Infallible;
    fn tools(&self) -> ToolBill {
        match *self {}
    }
    fn limit_output(&mut self, _: u64) {
        match *self {}
    }
    fn serves(&self, _: ChannelKind) -> bool {
        match *self {}
    }
    async fn call(&self, _: &UpstreamCtx, _: &str, _: bool) -> Result<Infallible, UpstreamError> {
        match *self {}
    }
    fn relay(raw: Infallible, _: Settlement, _: i64) -> Infallible {
        match raw {}
    }
}

/// Relays an OpenAI chat object. On `Ok`, the log row and the hold belong to the settlement; on `Err`, the caller
/// hands the error to `InFlight::fail`. `encoder` says how a stream is written for this client. The state and the
/// request are `flight`'s.
pub async fn run<N: Native>(
    admitted: &Admitted,
    mut request: Map<String, Value>,
    flight: &mut InFlight,
    encoder: impl FnOnce(&ChatRequestHead) -> ChunkEncoder,
    original: Original<N>,
) -> Result<Relayed<N::Relayed>, ApiError> {
    // Owned (an `Arc`): `flight` is written to below.
    let state = flight.state().clone();
    let tools = match &original {
        Original::Native(native) => native.tools(),
        _ => ToolBill::default(),
    };
    let head = ChatRequestHead::from_object(&request).map_err(|e| ApiError::InvalidRequest {
        message: e.message,
        param: Some(e.param),
        code: None,
    })?;
    super::image_limit::check_chat(&state.settings, &request)?;
    let asked_reasoning = request.contains_key("reasoning");
    let native_budget = match &original {
        Original::Native(native) => native.thinking_budget(),
        _ => None,
    };
    let thinking = Thinking::read(
        &mut request,
        &head.model,
        &admitted.snap,
        &admitted.caller.user.group,
    )?
    .map(|t| t.at_least(native_budget));
    flight.row.stream = head.stream;
    let model = head.model.as_str();
    let output = OutputAsk::Tokens {
        requested: thinking.map_or(head.max_tokens, |t| t.ask(head.max_tokens)),
        choices: head.n,
    };
    let admission = admission::admit(
        admitted,
        flight,
        Ask {
            prompt_tokens: estimate::prompt_tokens(&request),
            fixed: tools.hold,
            ..Ask::new(
                model,
                admitted.snap.price(model).cloned(),
                &selector::usable,
                output,
            )
        },
    )
    .await?;
    let mut original = original;
    // With thinking, what the hold pays for is always written: the upstream must not think past it. A chat object
    // gets the answer's share; a native body (whose limit counts its own thinking) the whole.
    let (limit, native_limit) = match (thinking, admission.output_held) {
        (Some(t), Some(held)) => {
            let paid = held / head.n.max(1);
            (Some(t.fit(&mut request, paid)), Some(paid))
        }
        _ => (admission.output_limit, admission.output_limit),
    };
    if let Some(limit) = limit {
        limit_chat_output(&mut request, limit, model);
    }
    if let (Some(limit), Original::Native(native)) = (native_limit, &mut original) {
        native.limit_output(limit);
    }
    let original = match original {
        // Usage or a limit is added below: the client's bytes no longer say what is sent.
        Original::OpenAi(_)
            if (head.stream && !head.include_usage) || limit.is_some() || asked_reasoning =>
        {
            Original::Parsed
        }
        other => other,
    };
    if head.stream {
        // The bill is then exact; the tap strips the extra chunk again if the client did not ask.
        ask_for_usage(&mut request);
    }
    let route = Route {
        model,
        group: &admission.group,
        serves: &selector::usable,
        pinned: None,
        retry_protocol_errors: head.stream,
    };
    // A client that dropped the thinking blocks of its last tool-use turn gets them back from the gateway's copy,
    // for the channels that read them.
    let user = admitted.caller.user.id;
    let mut restored = match thinking {
        Some(_) => thinking_blocks::restored(&state.shared, user, &request).await,
        None => None,
    };
    let mut failover = Failover::new(&state, &admitted.snap, route);
    let served = loop {
        let Some(t) = failover.next_try() else {
            break Err(failover.exhausted());
        };
        let body = match &mut restored {
            Some(r) if thinking_blocks::read_by(t.channel.channel.kind) => r,
            _ => &mut request,
        };
        let result = attempt::chat(&t, body, head.stream, &original, model).await;
        if let ControlFlow::Break(done) = failover.record(t, result) {
            break done;
        }
    };
    let served = failover::noted(flight, served)?;
    request.insert("model".to_owned(), Value::String(head.model.clone()));
    let settlement = flight.settlement(admission, request, tools)?;
    let ttft_ms = flight.meta().elapsed_ms();
    Ok(match served.answer {
        Answer::Plain(body) => {
            if let Some(kept) = Kept::of_completion(&body) {
                kept.keep(&settlement.books, Some(user));
            }
            settlement.finish(delivered_from_body(&body, ttft_ms));
            Relayed::Plain(body)
        }
        Answer::Stream { first, rest } => {
            let tap = UsageTap::new(first, rest, encoder(&head), settlement, ttft_ms);
            Relayed::Stream(Box::new(tap))
        }
        Answer::Native(raw) => Relayed::Native(N::relay(raw, settlement, ttft_ms)),
    })
}

/// Asks a chat stream to end with its usage chunk (`stream_options.include_usage`), keeping the client's other
/// stream options.
pub fn ask_for_usage(request: &mut Map<String, Value>) {
    let options = request
        .entry("stream_options")
        .or_insert_with(|| Value::Object(Map::default()));
    if let Value::Object(o) = options {
        o.insert("include_usage".to_owned(), Value::Bool(true));
    }
}

/// Writes the affordable output limit into a chat object: the field the client used is lowered (both when it sent
/// both); without one, reasoning families get `max_completion_tokens` and the others `max_tokens`. Adapters carry
/// it over (Anthropic `max_tokens`, Gemini `maxOutputTokens`).
pub fn limit_chat_output(request: &mut Map<String, Value>, limit: u64, model: &str) {
    let mut written = false;
    for field in ["max_completion_tokens", "max_tokens"] {
        if request.get(field).is_some_and(|v| !v.is_null()) {
            request.insert(field.to_owned(), Value::from(limit));
            written = true;
        }
    }
    if !written {
        let field = if providers::ceilings::takes_max_completion_tokens(model) {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        request.insert(field.to_owned(), Value::from(limit));
    }
}

#[derive(Deserialize)]
struct PlainAnswer {
    #[serde(default)]
    choices: Vec<PlainChoice>,
}

#[derive(Deserialize)]
struct PlainChoice {
    #[serde(default)]
    message: Option<PlainMessage>,
}

#[derive(Deserialize)]
struct PlainMessage {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    tool_calls: Option<Vec<Value>>,
}

/// Only the answer's usage: the rest is skipped without being built (the common case, an upstream that reports it).
#[derive(Deserialize)]
struct UsageOnly {
    #[serde(default)]
    usage: Option<Usage>,
}

fn delivered_from_body(body: &[u8], ttft_ms: i64) -> Delivered {
    let mut d = Delivered::answered(ttft_ms);
    d.usage = serde_json::from_slice::<UsageOnly>(body)
        .ok()
        .and_then(|a| a.usage)
        .filter(|u| u.prompt_tokens + u.completion_tokens > 0);
    if d.usage.is_some() {
        return d;
    }
    // No usage: the answer's text is counted instead.
    let Ok(answer) = serde_json::from_slice::<PlainAnswer>(body) else {
        return d;
    };
    for m in answer.choices.into_iter().filter_map(|c| c.message) {
        if let Some(Value::String(s)) = m.content {
            d.completion_text.push_str(&s);
        }
        for call in m.tool_calls.unwrap_or_default() {
            d.tool_calls += 1;
            if let Some(args) = call.pointer("/function/arguments").and_then(Value::as_str) {
                d.completion_text.push_str(args);
            }
        }
    }
    d
}
