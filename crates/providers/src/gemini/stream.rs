//! Gemini `streamGenerateContent?alt=sse` events → OpenAI `chat.completion.chunk` payloads. Each event is a
//! complete `GenerateContentResponse` holding only the new text; function calls arrive whole, so each becomes
//! one tool-call delta with its full arguments. Gemini sends no `[DONE]`: when the body ends, the finish chunk of
//! every choice and then the usage chunk (from the last `usageMetadata`, which is cumulative) close the stream.

use super::response::{
    CandidateOutput, Identity, candidate_output, finish_reason, parse_response, random_token, usage,
};
use super::wire::UsageMetadata;
use crate::ChunkStream;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::sse::SseEvent;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};

#[derive(Default)]
struct ChoiceState {
    tool_calls: u32,
    finish: Option<String>,
}

/// The state of one streamed answer: which choices have started, their tool-call counts and finish reasons, and
/// the latest usage.
pub struct StreamMapper {
    model: String,
    identity: Option<Identity>,
    choices: BTreeMap<u32, ChoiceState>,
    usage: Option<UsageMetadata>,
    blocked: bool,
}

impl StreamMapper {
    /// `model` names the answer when Gemini sends no `modelVersion`.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            identity: None,
            choices: BTreeMap::new(),
            usage: None,
            blocked: false,
        }
    }

    /// One SSE `data` payload → the chunks it yields (possibly none).
    pub fn map_event(&mut self, data: &[u8]) -> Result<Vec<Bytes>, UpstreamError> {
        let not_a_response = "upstream sent a stream event that is not a Gemini response";
        let resp = parse_response(data, not_a_response)?;
        if self.identity.is_none() {
            let model = resp.model_version.as_deref().unwrap_or(&self.model);
            self.identity = Some(Identity::new(resp.response_id.as_deref(), model));
        }
        if resp.usage_metadata.is_some() {
            self.usage = resp.usage_metadata;
        }
        let mut out = Vec::new();
        if resp
            .prompt_feedback
            .as_ref()
            .is_some_and(|f| f.block_reason.is_some())
        {
            self.blocked = true;
            self.start_choice(0, &mut out);
        }
        for (i, candidate) in resp.candidates.iter().enumerate() {
            let index = candidate
                .index
                .unwrap_or(u32::try_from(i).unwrap_or(u32::MAX));
            self.start_choice(index, &mut out);
            let CandidateOutput {
                text,
                reasoning,
                calls,
            } = candidate_output(candidate);
            if !reasoning.is_empty() {
                out.push(self.chunk(index, json!({ "reasoning_content": reasoning }), None));
            }
            if !text.is_empty() {
                out.push(self.chunk(index, json!({ "content": text }), None));
            }
            for mut call in calls {
                let state = self.choices.entry(index).or_default();
                if let Value::Object(c) = &mut call {
                    c.insert("index".to_owned(), json!(state.tool_calls));
                }
                state.tool_calls += 1;
                out.push(self.chunk(index, json!({ "tool_calls": [call] }), None));
            }
            if let Some(reason) = &candidate.finish_reason {
                self.choices.entry(index).or_default().finish = Some(reason.clone());
            }
        }
        Ok(out)
    }

    /// The closing chunks once the body has ended: a finish chunk per choice, then the usage chunk (left out when
    /// Gemini reported no usage at all, so the gateway counts tokens itself instead of billing zero).
    pub fn finish(&mut self) -> Result<Vec<Bytes>, UpstreamError> {
        if self.identity.is_none() {
            return Err(UpstreamError::new(
                UpstreamErrorKind::Protocol,
                "upstream closed the stream without sending an event",
            ));
        }
        let mut out = Vec::new();
        for (&index, state) in &self.choices {
            let reason = match (&state.finish, self.blocked && index == 0) {
                (None, true) => "content_filter",
                (finish, _) => finish_reason(finish.as_deref(), state.tool_calls > 0),
            };
            out.push(self.chunk(index, json!({}), Some(reason)));
        }
        if let Some(meta) = &self.usage {
            let id = self.identity();
            let chunk = json!({
                "id": id.id, "object": "chat.completion.chunk", "created": id.created, "model": id.model,
                "choices": [], "usage": usage(meta),
            });
            out.push(Bytes::from(chunk.to_string()));
        }
        Ok(out)
    }

    /// The role chunk the first time a choice shows up.
    fn start_choice(&mut self, index: u32, out: &mut Vec<Bytes>) {
        if self.choices.contains_key(&index) {
            return;
        }
        self.choices.insert(index, ChoiceState::default());
        out.push(self.chunk(index, json!({ "role": "assistant", "content": "" }), None));
    }

    fn identity(&self) -> Identity {
        self.identity.clone().unwrap_or_else(|| Identity {
            id: format!("chatcmpl-{}", random_token()),
            created: 0,
            model: self.model.clone(),
        })
    }

    fn chunk(&self, index: u32, delta: Value, finish: Option<&str>) -> Bytes {
        let id = self.identity();
        let chunk = json!({
            "id": id.id, "object": "chat.completion.chunk", "created": id.created, "model": id.model,
            "choices": [{ "index": index, "delta": delta, "logprobs": null, "finish_reason": finish }],
        });
        Bytes::from(chunk.to_string())
    }
}

type Events = BoxStream<'static, Result<SseEvent, UpstreamError>>;

/// Upstream SSE events → OpenAI chunk payloads, closed with finish and usage chunks when the body ends.
pub fn gemini_chunks(events: Events, model: &str) -> ChunkStream {
    let state = (events, StreamMapper::new(model), VecDeque::new(), false);
    futures::stream::unfold(
        state,
        |(mut events, mut mapper, mut queue, mut done)| async move {
            loop {
                if let Some(item) = queue.pop_front() {
                    return Some((item, (events, mapper, queue, done)));
                }
                if done {
                    return None;
                }
                let mapped = match events.next().await {
                    Some(Ok(ev)) => mapper.map_event(&ev.data),
                    Some(Err(e)) => Err(e),
                    None => {
                        done = true;
                        mapper.finish()
                    }
                };
                match mapped {
                    Ok(chunks) => queue.extend(chunks.into_iter().map(Ok)),
                    Err(e) => {
                        queue.push_back(Err(e));
                        done = true;
                    }
                }
            }
        },
    )
    .boxed()
}
