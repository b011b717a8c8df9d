//! The Realtime API over a WebSocket, as much as the tests need: `GET …/v1/realtime?model=…` (OpenAI, `Authorization:
//! Bearer`) and `GET …/openai/realtime?api-version=…&deployment=…` (Azure, `api-key`). The upgrade is recorded like
//! any request and refused with the next scripted [`Behavior::Status`] if one is queued first; then the session
//! speaks the GA protocol: `session.created` on connect (text output), `session.updated` for `session.update`,
//! `conversation.item.added`/`.done` for `conversation.item.create`, and for each `response.create` the next
//! scripted reply streamed as `response.created`, `response.output_item.added`, text deltas (or audio and transcript
//! deltas when audio output is asked), `response.output_text.done`, `response.done` with a usage that honours
//! `max_output_tokens` (fewer output tokens, `status: "incomplete"`, reason `max_output_tokens`). A scripted status
//! answers a `response.create` with an `error` event. Each client event is recorded as a `WS` request (its JSON the
//! body) on the same path; `input_audio_buffer.append` counts 10 audio input tokens, and with turn detection on
//! (`session.audio.input.turn_detection`) `input_audio_buffer.commit` starts a response itself, as server VAD does.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::Recorded;
use crate::check::query_param;
use crate::script::{Behavior, Reply};
use crate::server::Shared;

/// The upgrade: recorded, the key checked, a queued status played, else the session.
pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let azure = path.ends_with("/openai/realtime");
    let (accepted, refused) = {
        let mut script = shared.lock();
        script.requests.push(Recorded {
            method: "GET".to_owned(),
            path: path.clone(),
            query: query.clone(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: Value::Null,
            raw_body: bytes::Bytes::new(),
        });
        let refused = match script.queue.front() {
            Some(Behavior::Status { status, body }) => Some((*status, body.clone())),
            _ => None,
        };
        if refused.is_some() {
            script.queue.pop_front();
        }
        (script.accepted_keys.clone(), refused)
    };
    let key = if azure {
        headers.get("api-key").and_then(|v| v.to_str().ok())
    } else {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
    };
    if let Some(keys) = accepted
        && !key.is_some_and(|k| keys.iter().any(|a| a == k))
    {
        let body = json!({"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    if let Some((status, body)) = refused {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    let model = if azure {
        query_param(&query, "deployment")
    } else {
        query_param(&query, "model")
    }
    .unwrap_or("gpt-realtime")
    .to_owned();
    ws.on_upgrade(move |socket| session(shared, socket, path, model))
}

/// What the session remembers.
struct Session {
    model: String,
    audio: bool,
    max_output_tokens: Option<u64>,
    audio_in: u64,
    /// Turn detection is on: a committed audio buffer is answered without a `response.create`, as server VAD does.
    vad: bool,
    items: u64,
    responses: u64,
}

async fn session(shared: Arc<Shared>, mut socket: WebSocket, path: String, model: String) {
    let mut s = Session {
        model,
        audio: false,
        max_output_tokens: None,
        audio_in: 0,
        vad: false,
        items: 0,
        responses: 0,
    };
    if send(
        &mut socket,
        json!({"type": "session.created", "event_id": "event_1", "session": s.describe()}),
    )
    .await
    .is_err()
    {
        return;
    }
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            if matches!(message, Message::Close(_)) {
                return;
            }
            continue;
        };
        let event: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
        shared.lock().requests.push(Recorded {
            method: "WS".to_owned(),
            path: path.clone(),
            query: String::new(),
            headers: Vec::new(),
            body: event.clone(),
            raw_body: bytes::Bytes::from(text.as_str().to_owned()),
        });
        let played = match event.get("type").and_then(Value::as_str) {
            Some("session.update") => s.update(&mut socket, &event).await,
            Some("conversation.item.create") => s.item(&mut socket, &event).await,
            Some("input_audio_buffer.append") => {
                s.audio_in += 10;
                Ok(())
            }
            Some("response.create") => {
                let behavior = next(&shared);
                s.respond(&mut socket, &event, behavior).await
            }
            Some("input_audio_buffer.commit") if s.vad => {
                let behavior = next(&shared);
                s.respond(&mut socket, &json!({}), behavior).await
            }
            _ => Ok(()),
        };
        if played.is_err() {
            return;
        }
    }
}

impl Session {
    fn describe(&self) -> Value {
        let modalities = if self.audio {
            json!(["audio"])
        } else {
            json!(["text"])
        };
        json!({
            "type": "realtime",
            "object": "realtime.session",
            "id": "sess_mock",
            "model": self.model,
            "output_modalities": modalities,
            "max_output_tokens": self.max_output_tokens.map_or(json!("inf"), Value::from),
        })
    }

    async fn update(&mut self, socket: &mut WebSocket, event: &Value) -> Result<(), axum::Error> {
        let session = &event["session"];
        if let Some(audio) = asks_audio(session) {
            self.audio = audio;
        }
        let vad = session
            .pointer("/audio/input/turn_detection")
            .or_else(|| session.get("turn_detection"));
        if let Some(vad) = vad {
            self.vad = !vad.is_null();
        }
        if let Some(n) = session.get("max_output_tokens") {
            self.max_output_tokens = n.as_u64();
        }
        send(
            socket,
            json!({"type": "session.updated", "event_id": "event_2", "session": self.describe()}),
        )
        .await
    }

    async fn item(&mut self, socket: &mut WebSocket, event: &Value) -> Result<(), axum::Error> {
        self.items += 1;
        let mut item = event["item"].clone();
        if let Some(o) = item.as_object_mut() {
            o.entry("id")
                .or_insert(json!(format!("item_{}", self.items)));
            o.insert("status".to_owned(), json!("completed"));
        }
        send(socket, json!({"type": "conversation.item.added", "event_id": "event_3", "previous_item_id": null, "item": item})).await?;
        send(socket, json!({"type": "conversation.item.done", "event_id": "event_4", "previous_item_id": null, "item": item})).await
    }

    async fn respond(
        &mut self,
        socket: &mut WebSocket,
        event: &Value,
        behavior: Behavior,
    ) -> Result<(), axum::Error> {
        let reply = match behavior {
            Behavior::Reply(r) => r,
            Behavior::Status { body, .. } => {
                return send(socket, json!({"type": "error", "event_id": "event_err", "error": {"type": "invalid_request_error", "code": "scripted", "message": body, "param": null}})).await;
            }
            Behavior::Hang => return Ok(()),
            _ => Reply::default(),
        };
        self.responses += 1;
        let id = format!("resp_{}", self.responses);
        let response = &event["response"];
        let audio = asks_audio(response).unwrap_or(self.audio);
        let limit = response
            .get("max_output_tokens")
            .map(Value::as_u64)
            .unwrap_or(self.max_output_tokens);
        let (prompt, completion, cached) = reply.usage.unwrap_or((9, 12, 0));
        let output = limit.map_or(completion, |l| completion.min(l));
        let truncated = output < completion;
        let text = reply.text.clone().unwrap_or_default();
        let text: String = if truncated {
            text.chars()
                .take(usize::try_from(output).unwrap_or(usize::MAX))
                .collect()
        } else {
            text
        };
        send(socket, json!({"type": "response.created", "event_id": "event_5", "response": {"id": id, "object": "realtime.response", "status": "in_progress", "output": []}})).await?;
        send(socket, json!({"type": "response.output_item.added", "event_id": "event_6", "response_id": id, "output_index": 0, "item": {"id": "item_out", "type": "message", "role": "assistant", "content": []}})).await?;
        let pieces = split(&text, reply.pieces);
        for piece in &pieces {
            if reply.chunk_delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(reply.chunk_delay_ms)).await;
            }
            if audio {
                send(socket, json!({"type": "response.output_audio.delta", "event_id": "event_7", "response_id": id, "item_id": "item_out", "output_index": 0, "content_index": 0, "delta": "AAAA"})).await?;
                send(socket, json!({"type": "response.output_audio_transcript.delta", "event_id": "event_8", "response_id": id, "item_id": "item_out", "output_index": 0, "content_index": 0, "delta": piece})).await?;
            } else {
                send(socket, json!({"type": "response.output_text.delta", "event_id": "event_7", "response_id": id, "item_id": "item_out", "output_index": 0, "content_index": 0, "delta": piece})).await?;
            }
        }
        if !audio {
            send(socket, json!({"type": "response.output_text.done", "event_id": "event_9", "response_id": id, "item_id": "item_out", "output_index": 0, "content_index": 0, "text": text})).await?;
        }
        let (status, details) = if truncated {
            (
                "incomplete",
                json!({"type": "incomplete", "reason": "max_output_tokens"}),
            )
        } else {
            ("completed", Value::Null)
        };
        let audio_in = std::mem::take(&mut self.audio_in);
        let (text_out, audio_out) = if audio { (0, output) } else { (output, 0) };
        let usage = json!({
            "total_tokens": prompt + audio_in + output,
            "input_tokens": prompt + audio_in,
            "output_tokens": output,
            "input_token_details": {"text_tokens": prompt, "audio_tokens": audio_in, "cached_tokens": cached},
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        });
        send(socket, json!({"type": "response.done", "event_id": "event_10", "response": {"id": id, "object": "realtime.response", "status": status, "status_details": details, "output": [{"id": "item_out", "type": "message", "role": "assistant", "content": [{"type": if audio {"output_audio"} else {"output_text"}, "text": text}]}], "usage": usage}})).await
    }
}

/// The next scripted behaviour, else the default.
fn next(shared: &Shared) -> Behavior {
    let mut script = shared.lock();
    script
        .queue
        .pop_front()
        .unwrap_or_else(|| script.default.clone())
}

fn asks_audio(object: &Value) -> Option<bool> {
    let list = object
        .get("output_modalities")
        .or_else(|| object.get("modalities"))?
        .as_array()?;
    Some(list.iter().any(|m| m.as_str() == Some("audio")))
}

/// `text` in `n` pieces of about equal length (at least one).
fn split(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(n.max(1)).max(1);
    let pieces: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
    if pieces.is_empty() {
        vec![String::new()]
    } else {
        pieces
    }
}

async fn send(socket: &mut WebSocket, event: Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(event.to_string().into())).await
}
