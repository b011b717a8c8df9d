//! Anthropic thinking blocks kept by tool-call id (issue 18): an answer that thinks and then calls tools carries its
//! blocks back as `thinking_blocks`, and Anthropic wants them again at the head of that assistant turn when the
//! client returns the tool results. A client that drops unknown fields loses them; so the gateway keeps them too,
//! under the caller's user and each tool call's id, for an hour — in Redis when configured, so whichever instance
//! serves the next turn restores them — and puts them back into the turn that lacks them, for the channels that
//! read them (Anthropic Messages: `anthropic`, `vertex`, `bedrock`).
//!
//! Keys are per user: a client naming another user's tool-call id finds nothing.

use crate::billing::settle::Books;
use api_types::ChannelKind;
use serde_json::{Map, Value};
use std::time::Duration;

/// How long kept blocks wait for the turn that returns the tool results.
const KEEP_FOR: Duration = Duration::from_secs(3600);
/// Blocks larger than this (as JSON) are not kept.
const MAX_KEPT_BYTES: usize = 256 * 1024;

/// The thinking blocks of one answer and the ids of the tool calls it made.
#[derive(Debug, Default)]
pub struct Kept {
    pub blocks: Vec<Value>,
    pub tool_call_ids: Vec<String>,
}

impl Kept {
    /// Whether an assistant turn returned to the gateway would need these.
    pub fn worth_keeping(&self) -> bool {
        !self.blocks.is_empty() && !self.tool_call_ids.is_empty()
    }

    /// The blocks and tool calls of a whole `chat.completion` body (its first choice), if it has both. The body is
    /// only parsed when it mentions `thinking_blocks`.
    pub fn of_completion(body: &[u8]) -> Option<Kept> {
        let needle = b"\"thinking_blocks\"";
        if !body.windows(needle.len()).any(|w| w == needle) {
            return None;
        }
        let v: Value = serde_json::from_slice(body).ok()?;
        let message = v.pointer("/choices/0/message")?;
        let kept = Kept {
            blocks: message.get("thinking_blocks")?.as_array()?.clone(),
            tool_call_ids: call_ids(message),
        };
        kept.worth_keeping().then_some(kept)
    }

    /// Keeps the blocks under each tool call's id for `user`, on the task tracker (the answer never waits).
    pub fn keep(self, books: &Books, user: Option<i64>) {
        let Some(user) = user.filter(|_| self.worth_keeping()) else {
            return;
        };
        let Ok(json) = serde_json::to_string(&self.blocks) else {
            return;
        };
        if json.len() > MAX_KEPT_BYTES {
            return;
        }
        let shared = books.shared.clone();
        books.tasks.spawn(async move {
            for id in &self.tool_call_ids {
                shared.remember(&key(user, id), &json, KEEP_FOR).await;
            }
        });
    }
}

fn key(user: i64, tool_call_id: &str) -> String {
    format!("thinking:{user}:{tool_call_id}")
}

fn call_ids(message: &Value) -> Vec<String> {
    let calls = message.get("tool_calls").and_then(Value::as_array);
    calls
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Whether a channel of `kind` reads `thinking_blocks` (it speaks Anthropic Messages).
pub fn read_by(kind: ChannelKind) -> bool {
    matches!(
        kind,
        ChannelKind::Anthropic | ChannelKind::Vertex | ChannelKind::Bedrock
    )
}

/// `request` with the kept blocks put back into its last assistant turn with tool calls, when that turn lacks
/// them and blocks were kept for it; `None` when there is nothing to restore.
pub async fn restored(
    shared: &cache::Shared,
    user: i64,
    request: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    let messages = request.get("messages")?.as_array()?;
    let (at, turn) = messages.iter().enumerate().rev().find(|(_, m)| {
        m.get("role").and_then(Value::as_str) == Some("assistant")
            && m.get("tool_calls")
                .and_then(Value::as_array)
                .is_some_and(|c| !c.is_empty())
    })?;
    if turn.get("thinking_blocks").is_some_and(|b| !b.is_null()) {
        return None;
    }
    let first = call_ids(turn).into_iter().next()?;
    let kept = shared.recall(&key(user, &first)).await?;
    let blocks: Value = serde_json::from_str(&kept).ok()?;
    let mut out = request.clone();
    let turn = out
        .get_mut("messages")?
        .as_array_mut()?
        .get_mut(at)?
        .as_object_mut()?;
    turn.insert("thinking_blocks".to_owned(), blocks);
    Some(out)
}
