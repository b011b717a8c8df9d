//! The event pump of one session: every client event goes upstream and every upstream event to the client
//! untouched, except those Tollgate acts on —
//!
//! - client `response.create`: refused with `conversation_already_has_active_response` while a response is open;
//!   refused when it (or the session) asks for audio the model has no price for; else its hold is taken first
//!   and its `response.max_output_tokens` lowered to what the hold pays for, and with nothing affordable the client
//!   gets `insufficient_quota` and the session ends; every `response.create` after the first counts against the
//!   key's per-minute limits (`rate_limit_exceeded` refuses that response only);
//! - client `session.update` asking for unpriced audio and `input_audio_buffer.append` without an audio input
//!   price: refused with an `error` event, not forwarded; so are a `session.update` that turns on input audio
//!   transcription and `transcription_session.update` (the upstream bills transcription outside any response);
//! - upstream `response.created` / text deltas / `response.done`: the open response's first byte, delivered text
//!   and usage, settled at `response.done`.
//!
//! The session ends when either side closes or errs, or after [`IDLE`] without a message either way; its open
//! response is then settled for what was delivered (refunded if nothing was) and the session's row written.

use super::bill::{Pending, Reported};
use super::events;
use super::upgrade::Session;
use super::upstream::Upstream;
use crate::auth::rate_limits;
use crate::billing::tokenizer;
use crate::relay::admission;
use crate::relay::in_flight::InFlight;
use axum::extract::ws::{self, WebSocket};
use futures::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Up;

/// A session with no message in either direction for this long is closed.
const IDLE: Duration = Duration::from_secs(300);

/// What one client event becomes.
enum Verdict {
    /// Sent upstream (as it came, or rewritten).
    Forward(String),
    /// Not sent upstream: this `error` event goes to the client instead.
    Refuse(String),
    /// This `error` event goes to the client and the session ends.
    Close(String),
}

/// How the session ended, for its row.
struct Ended {
    status: u16,
    error: Option<String>,
}

struct Pump {
    session: Session,
    flight: InFlight,
    /// The response whose hold is taken and not yet settled.
    pending: Option<Pending>,
    responses: u32,
    totals: Reported,
    /// Tokens of the conversation so far (the next response's input estimate).
    context: u64,
    /// The session's output modalities include audio (as the upstream last reported, or the client asked).
    session_audio: bool,
    /// The session's own `max_output_tokens`, if the client set a number.
    session_limit: Option<u64>,
}

/// Runs one session to its end, then settles and logs it.
pub async fn run(session: Session, flight: InFlight, client: WebSocket, upstream: Upstream) {
    let _open = session.state.metrics.realtime_session_opened();
    let mut pump = Pump {
        session,
        flight,
        pending: None,
        responses: 0,
        totals: Reported::default(),
        context: 0,
        session_audio: false,
        session_limit: None,
    };
    let ended = pump.relay(client, upstream).await;
    pump.finish(ended).await;
}

impl Pump {
    async fn relay(&mut self, mut client: WebSocket, mut upstream: Upstream) -> Ended {
        loop {
            let closing = self.session.state.closing.clone();
            let next = tokio::time::timeout(IDLE, async {
                tokio::select! {
                    m = client.next() => Some(Err(m)),
                    m = upstream.next() => Some(Ok(m)),
                    () = closing.cancelled() => None,
                }
            })
            .await;
            let step = match next {
                Ok(None) => Err(ended(503, "the gateway is shutting down")),
                Err(_) => {
                    let text =
                        events::error("idle_timeout", "The session was idle too long.", None, None);
                    let _ = client.send(ws::Message::Text(text.into())).await;
                    Err(ended(408, "realtime session idle"))
                }
                Ok(Some(Err(from_client))) => {
                    self.on_client(from_client, &mut client, &mut upstream)
                        .await
                }
                Ok(Some(Ok(from_upstream))) => {
                    self.on_upstream(from_upstream, &mut client, &mut upstream)
                        .await
                }
            };
            if let Err(end) = step {
                let _ = client.send(ws::Message::Close(None)).await;
                let _ = upstream.close(None).await;
                return end;
            }
        }
    }

    /// One client message: relayed, answered, or the end of the session.
    async fn on_client(
        &mut self,
        message: Option<Result<ws::Message, axum::Error>>,
        client: &mut WebSocket,
        upstream: &mut Upstream,
    ) -> Result<(), Ended> {
        let up = match message {
            None | Some(Ok(ws::Message::Close(_))) => return Err(ended(200, "")),
            Some(Err(e)) => return Err(ended(499, &format!("client connection failed: {e}"))),
            Some(Ok(ws::Message::Text(text))) => match self.client_event(text.as_str()).await {
                Verdict::Forward(text) => Up::Text(text.into()),
                Verdict::Refuse(event) => {
                    return send(client, event).await;
                }
                Verdict::Close(event) => {
                    let _ = send(client, event).await;
                    return Err(ended(429, "insufficient quota for the next response"));
                }
            },
            Some(Ok(ws::Message::Binary(b))) => Up::Binary(b),
            // Pings are answered by the WebSocket layer.
            Some(Ok(ws::Message::Ping(_) | ws::Message::Pong(_))) => return Ok(()),
        };
        upstream
            .send(up)
            .await
            .map_err(|e| ended(502, &format!("upstream connection failed: {e}")))
    }

    /// One upstream message: noted for the bill and relayed untouched.
    async fn on_upstream(
        &mut self,
        message: Option<Result<Up, tokio_tungstenite::tungstenite::Error>>,
        client: &mut WebSocket,
        upstream: &mut Upstream,
    ) -> Result<(), Ended> {
        let down = match message {
            None | Some(Ok(Up::Close(_))) => return Err(ended(200, "")),
            Some(Err(e)) => {
                let text = events::error(
                    "upstream_error",
                    "The upstream connection failed.",
                    None,
                    None,
                );
                let _ = send(client, text).await;
                return Err(ended(502, &format!("upstream connection failed: {e}")));
            }
            Some(Ok(Up::Text(text))) => {
                if let Err(refusal) = self.upstream_event(text.as_str()).await {
                    // A response the upstream started itself (server VAD) that the account cannot pay for.
                    let cancel = serde_json::json!({"type": "response.cancel"}).to_string();
                    let _ = upstream.send(Up::Text(cancel.into())).await;
                    let _ = send(client, refusal).await;
                    return Err(ended(429, "insufficient quota for the next response"));
                }
                ws::Message::Text(text.as_str().into())
            }
            Some(Ok(Up::Binary(b))) => ws::Message::Binary(b),
            Some(Ok(Up::Ping(_) | Up::Pong(_) | Up::Frame(_))) => return Ok(()),
        };
        client
            .send(down)
            .await
            .map_err(|e| ended(499, &format!("client connection failed: {e}")))
    }

    /// A client text event: what Tollgate does with it.
    async fn client_event(&mut self, text: &str) -> Verdict {
        // What goes upstream is the event as read here: a name the client repeats (`type`, `session`…) cannot
        // carry one value past these checks and another to an upstream parser that keeps the first.
        let Ok(mut event) = serde_json::from_str::<Map<String, Value>>(text) else {
            return Verdict::Refuse(not_an_object());
        };
        let id = event.get("event_id").cloned();
        match events::kind(&event) {
            Some("response.create") => self.response_create(&mut event, id.as_ref()).await,
            Some("session.update") => {
                let session = event.get("session");
                if let Some(param) = events::asks_transcription(session) {
                    return Verdict::Refuse(no_transcription(param, id.as_ref()));
                }
                if let Some(limit) = events::output_limit(session) {
                    self.session_limit = limit;
                }
                match events::asks_audio(session) {
                    Some(true) if !self.audio_output_priced() => {
                        Verdict::Refuse(no_audio(id.as_ref()))
                    }
                    _ => forward(&event),
                }
            }
            Some("transcription_session.update") => {
                Verdict::Refuse(no_transcription("session", id.as_ref()))
            }
            Some("input_audio_buffer.append") => {
                if !self.audio_input_priced() {
                    return Verdict::Refuse(no_audio(id.as_ref()));
                }
                let audio = event
                    .get("audio")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                self.context = self.context.saturating_add(events::audio_tokens(audio));
                forward(&event)
            }
            Some("conversation.item.create") => {
                let item = events::item_text(&event);
                self.context = self
                    .context
                    .saturating_add(tokenizer::count_text(&self.session.admission.model, &item));
                forward(&event)
            }
            _ => forward(&event),
        }
    }

    /// `response.create`: one response at a time, audio only where priced, and its hold before it goes upstream.
    async fn response_create(
        &mut self,
        event: &mut Map<String, Value>,
        id: Option<&Value>,
    ) -> Verdict {
        if self.pending.is_some() {
            return Verdict::Refuse(events::error(
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress. Wait until the response is finished before creating a new one.",
                None,
                id,
            ));
        }
        let response = event.get("response");
        let audio = events::asks_audio(response).unwrap_or(self.session_audio);
        if audio && !self.audio_output_priced() {
            return Verdict::Refuse(no_audio(id));
        }
        let requested = events::output_limit(response).unwrap_or(self.session_limit);
        if let Err(refusal) = self.admit_rate(requested, id).await {
            return Verdict::Refuse(refusal);
        }
        match self.hold(requested, id).await {
            Ok(limit) => {
                if let Some(limit) = limit {
                    write_limit(event, limit);
                }
                Verdict::Forward(Value::Object(std::mem::take(event)).to_string())
            }
            Err(refusal) => Verdict::Close(refusal),
        }
    }

    /// Counts a `response.create` after the session's first against the key's requests and tokens per minute (the
    /// upgrade counted the first), so a session is no way around them: over a limit, the response is refused with
    /// an `error` event (`rate_limit_exceeded`) and the session goes on. Tokens count at the estimate (context and
    /// asked output).
    async fn admit_rate(&self, requested: Option<u64>, id: Option<&Value>) -> Result<(), String> {
        if self.responses == 0 {
            return Ok(());
        }
        let s = &self.session;
        let tokens = self.context.saturating_add(requested.unwrap_or(0));
        let snapshot = s.state.catalog.snapshot();
        rate_limits::admit(
            &s.state.shared,
            &snapshot,
            &s.caller.key.key,
            &s.caller.user.group,
            tokens,
        )
        .await
        .map(drop)
        .map_err(|e| {
            let code = e.body().error.code;
            events::error(
                code.as_deref().unwrap_or("rate_limit_exceeded"),
                &e.to_string(),
                None,
                id,
            )
        })
    }

    /// Takes the next response's hold (it becomes the pending response): the output limit to write when it is below
    /// what was asked, or the `error` event (`insufficient_quota`) that ends the session.
    async fn hold(
        &mut self,
        requested: Option<u64>,
        id: Option<&Value>,
    ) -> Result<Option<u64>, String> {
        self.responses = self.responses.saturating_add(1);
        let s = &self.session;
        let request_id = format!("{}.{}", s.meta.id, self.responses);
        let held = admission::hold_again(
            &s.state,
            &request_id,
            &s.caller,
            &s.admission,
            self.context,
            requested,
        )
        .await;
        let held = held.map_err(|e| {
            let code = e
                .body()
                .error
                .code
                .unwrap_or_else(|| "insufficient_quota".to_owned());
            events::error(&code, &e.to_string(), None, id)
        })?;
        let limit = held.output_limit;
        self.pending = Some(Pending::new(s, &self.flight.row, self.responses, held));
        Ok(limit)
    }

    /// An upstream text event: noted for the open response's bill.
    /// A response the upstream started without a `response.create` (server VAD turn detection) takes its hold
    /// here; `Err` carries the refusal when the account cannot pay for it.
    async fn upstream_event(&mut self, text: &str) -> Result<(), String> {
        let Ok(event) = serde_json::from_str::<Map<String, Value>>(text) else {
            return Ok(());
        };
        match events::kind(&event) {
            Some("session.created" | "session.updated") => {
                if let Some(audio) = events::asks_audio(event.get("session")) {
                    self.session_audio = audio;
                }
            }
            Some("response.created") => {
                if self.pending.is_none() {
                    self.hold(self.session_limit, None).await?;
                }
                if let Some(p) = &mut self.pending {
                    p.created();
                }
            }
            Some(
                "response.output_text.delta"
                | "response.text.delta"
                | "response.output_audio_transcript.delta"
                | "response.audio_transcript.delta",
            ) => {
                if let (Some(p), Some(delta)) = (
                    &mut self.pending,
                    event.get("delta").and_then(Value::as_str),
                ) {
                    p.delivered(delta);
                }
            }
            Some("response.done") => self.response_done(&event),
            // The upstream refused the response before creating it: its hold goes back.
            Some("error") if self.pending.as_ref().is_some_and(|p| !p.created) => {
                if let Some(p) = self.pending.take() {
                    p.end(400, "the upstream refused the response");
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `response.done`: the open response is settled from its usage.
    fn response_done(&mut self, event: &Map<String, Value>) {
        let response = event.get("response");
        let reported = Reported::read(response);
        if let Some(r) = reported {
            self.totals.add(r);
            // The next response's input is this one's input and output, and what is added after.
            self.context = r.input.saturating_add(r.output);
        }
        let status = response
            .and_then(|r| r.get("status"))
            .and_then(Value::as_str);
        match self.pending.take() {
            Some(p) => p.done(reported, status),
            None => tracing::warn!("realtime: a response.done without a held response.create"),
        }
    }

    fn audio_output_priced(&self) -> bool {
        crate::billing::pricing::audio_priced(&self.session.admission.price).1
    }

    fn audio_input_priced(&self) -> bool {
        crate::billing::pricing::audio_priced(&self.session.admission.price).0
    }

    /// The open response is settled for what was delivered, and the session's own row written (cost 0: its
    /// responses have their rows) with its totals; the session's hold goes back with it.
    async fn finish(mut self, ended: Ended) {
        if let Some(p) = self.pending.take() {
            p.end(
                ended.status.max(499),
                ended
                    .error
                    .as_deref()
                    .unwrap_or("the session ended during the response"),
            );
        }
        let Ok((mut row, reservation)) = self.flight.hand_over() else {
            return;
        };
        let t = self.totals;
        row.prompt_tokens = i64::try_from(t.input).unwrap_or(i64::MAX);
        row.cached_tokens = i64::try_from(t.cached).unwrap_or(i64::MAX);
        row.completion_tokens = i64::try_from(t.output).unwrap_or(i64::MAX);
        row.status = 200;
        row.latency_ms = self.session.meta.elapsed_ms();
        let note = format!("realtime session: {} responses", self.responses);
        row.error = Some(match ended.error {
            Some(e) => format!("{note}; ended: {e}"),
            None => note,
        });
        self.session
            .state
            .logs
            .push_charged(row, &reservation, 0)
            .await;
    }
}

/// Lowers the response's output limit (GA `max_output_tokens`, or the beta name if the client used it).
fn write_limit(event: &mut Map<String, Value>, limit: u64) {
    let response = event
        .entry("response")
        .or_insert_with(|| Value::Object(Map::new()));
    if !response.is_object() {
        *response = Value::Object(Map::new());
    }
    if let Some(r) = response.as_object_mut() {
        let name = if r.contains_key("max_response_output_tokens") {
            "max_response_output_tokens"
        } else {
            "max_output_tokens"
        };
        r.insert(name.to_owned(), Value::from(limit));
    }
}

/// A client event forwarded as Tollgate read it.
fn forward(event: &Map<String, Value>) -> Verdict {
    match serde_json::to_string(event) {
        Ok(text) => Verdict::Forward(text),
        Err(_) => Verdict::Refuse(not_an_object()),
    }
}

fn not_an_object() -> String {
    events::error(
        "invalid_json",
        "A client event must be a JSON object.",
        None,
        None,
    )
}

fn no_audio(id: Option<&Value>) -> String {
    events::error(
        "audio_not_priced",
        "Audio is not available for this model on this gateway: it has no audio price.",
        Some("modalities"),
        id,
    )
}

/// Input transcription is billed by the upstream apart from any response (in `conversation.item.input_audio_
/// transcription.completed`), outside the holds this pump takes, so it is refused rather than served unbilled.
fn no_transcription(param: &str, id: Option<&Value>) -> String {
    events::error(
        "transcription_not_supported",
        "Input audio transcription is not available on this gateway: the upstream bills it apart from responses, \
         where no hold covers it. Leave it unset (null).",
        Some(param),
        id,
    )
}

fn ended(status: u16, error: &str) -> Ended {
    Ended {
        status,
        error: (!error.is_empty()).then(|| error.to_owned()),
    }
}

async fn send(client: &mut WebSocket, event: String) -> Result<(), Ended> {
    client
        .send(ws::Message::Text(event.into()))
        .await
        .map_err(|e| ended(499, &format!("client connection failed: {e}")))
}
