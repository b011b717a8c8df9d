//! Scripted behaviours: what the mock answers to the next chat completion request.
//!
//! Both types also read from JSON, for the control endpoint `POST /__mock/script` (see the `control` module): a
//! behaviour is an object tagged by `kind` (`reply`, `status`, `delay`, `hang`, `non_json`, `garbage_stream`,
//! `cut_after`, `error_event_after`, `stall_after`) with the variant's fields beside it, e.g.
//! `{"kind":"reply","text":"hi","usage":[3,1,0]}` or `{"kind":"delay","ms":50,"then":{"kind":"hang"}}`; a reply's
//! fields left out keep [`Reply::default`]'s values, and an unknown field is refused.

/// The assistant text the mock answers with when nothing else was scripted.
pub const DEFAULT_TEXT: &str = "Hello there, how may I assist you today?";

/// What the mock does with one chat completion request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Behavior {
    /// Success: plain JSON or SSE depending on the request's `"stream"` field.
    Reply(Reply),
    /// Answer this status with this raw body (content-type `application/json`).
    Status {
        /// HTTP status code (an invalid code is answered as 500).
        status: u16,
        /// Raw response body.
        body: String,
    },
    /// Wait before sending the response headers, then behave as `then`.
    Delay {
        /// Milliseconds to wait before the headers.
        ms: u64,
        /// What to do after the wait.
        then: Box<Behavior>,
    },
    /// Never answer; the connection stays open until the client gives up.
    Hang,
    /// 200 with an HTML body (`text/html`) instead of JSON.
    NonJson,
    /// 200 `text/event-stream` whose first event is not JSON, then `[DONE]`.
    GarbageStream,
    /// Stream: send the first N SSE events of the default reply, then abort the
    /// connection (never `[DONE]`). Non-stream: send headers and half the body, then abort.
    CutAfter {
        /// How many SSE events are sent before the abort.
        events: usize,
    },
    /// Stream: send the first N SSE events of the default reply, then one `data: {body}` event (an error object, as
    /// OpenAI sends mid-stream) and end. Non-stream: 500 with `body`.
    ErrorEventAfter {
        /// How many SSE events are sent before the error event.
        events: usize,
        /// The error event's JSON.
        body: String,
    },
    /// Stream: send the first N SSE events of the default reply, then send nothing more
    /// while keeping the connection open. Non-stream: headers and half the body, then stall.
    StallAfter {
        /// How many SSE events are sent before the stall.
        events: usize,
    },
}

impl Behavior {
    /// Shorthand for [`Behavior::Status`].
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self::Status {
            status,
            body: body.into(),
        }
    }

    /// Shorthand for [`Behavior::Delay`].
    pub fn delay(ms: u64, then: Behavior) -> Self {
        Self::Delay {
            ms,
            then: Box::new(then),
        }
    }
}

impl Default for Behavior {
    fn default() -> Self {
        Self::Reply(Reply::default())
    }
}

/// A successful completion: the assistant message, usage and streaming pace.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Reply {
    /// Assistant content (`None` gives `"content": null`).
    pub text: Option<String>,
    /// Tool calls as (function name, arguments JSON text); if non-empty the OpenAI content is null and the finish
    /// reason is `tool_calls` (Anthropic: a text block first if there is text, then one `tool_use` block per call).
    pub tool_calls: Vec<(String, String)>,
    /// (prompt_tokens, completion_tokens, cached_tokens); `None` = no usage reported at all.
    pub usage: Option<(u64, u64, u64)>,
    /// Pause between streamed events, in milliseconds.
    pub chunk_delay_ms: u64,
    /// How many content deltas the text is split into when streaming.
    pub pieces: usize,
    /// Reasoning produced before the answer: OpenAI `reasoning_content`, an Anthropic `thinking` block; streamed
    /// in `pieces` deltas. `None`: no reasoning.
    pub reasoning: Option<String>,
    /// OpenAI streams: the usage rides on the last chunk that has `choices` (as the LiteLLM proxy sends it)
    /// instead of a usage-only chunk of its own.
    pub usage_on_last_choice: bool,
    /// OpenAI streams with several tool calls: every call's opening delta first, then the argument fragments of all
    /// calls interleaved (call 0 part 1, call 1 part 1, call 0 part 2, …) — legal, and a client must assemble them by
    /// `index`. Otherwise (the default) each call's fragments follow its opening delta.
    pub interleave_tool_args: bool,
    /// Anthropic: prompt tokens written to the prompt cache for five minutes and for one hour (part of the
    /// prompt, reported as `cache_creation_input_tokens` and `cache_creation.ephemeral_{5m,1h}_input_tokens`).
    pub cache_write: (u64, u64),
}

impl Default for Reply {
    fn default() -> Self {
        Self::text(DEFAULT_TEXT)
    }
}

impl Reply {
    /// A text answer with usage (9, 12, 0), streamed in 3 pieces.
    pub fn text(s: &str) -> Reply {
        Reply {
            text: Some(s.to_owned()),
            tool_calls: Vec::new(),
            usage: Some((9, 12, 0)),
            chunk_delay_ms: 0,
            pieces: 3,
            reasoning: None,
            usage_on_last_choice: false,
            interleave_tool_args: false,
            cache_write: (0, 0),
        }
    }

    /// A single tool call answer (content null, finish reason `tool_calls`).
    pub fn tool_call(name: &str, args: &str) -> Reply {
        Reply {
            text: None,
            tool_calls: vec![(name.to_owned(), args.to_owned())],
            ..Reply::text("")
        }
    }

    /// Adds one more tool call.
    pub fn and_tool_call(mut self, name: &str, args: &str) -> Reply {
        self.text = None;
        self.tool_calls.push((name.to_owned(), args.to_owned()));
        self
    }

    /// Sets prompt and completion tokens (cached tokens are kept, 0 by default).
    pub fn usage(mut self, prompt: u64, completion: u64) -> Reply {
        let cached = self.usage.map_or(0, |u| u.2);
        self.usage = Some((prompt, completion, cached));
        self
    }

    /// Sets the cached prompt tokens.
    pub fn cached(mut self, n: u64) -> Reply {
        let (p, c, _) = self.usage.unwrap_or((9, 12, 0));
        self.usage = Some((p, c, n));
        self
    }

    /// Anthropic: prompt tokens written to the cache for five minutes and for one hour.
    pub fn cache_write(mut self, five_minutes: u64, one_hour: u64) -> Reply {
        self.cache_write = (five_minutes, one_hour);
        self
    }

    /// The upstream reports no usage at all.
    pub fn no_usage(mut self) -> Reply {
        self.usage = None;
        self
    }

    /// Pause between streamed events.
    pub fn delay_ms(mut self, ms: u64) -> Reply {
        self.chunk_delay_ms = ms;
        self
    }

    /// Number of content deltas when streaming (at least 1).
    pub fn pieces(mut self, n: usize) -> Reply {
        self.pieces = n.max(1);
        self
    }

    /// Reasoning before the answer (OpenAI `reasoning_content`, Anthropic `thinking`).
    pub fn reasoning(mut self, text: &str) -> Reply {
        self.reasoning = Some(text.to_owned());
        self
    }

    /// OpenAI streams: usage on the last chunk with `choices`, LiteLLM style, not on a chunk of its own.
    pub fn usage_on_last_choice(mut self) -> Reply {
        self.usage_on_last_choice = true;
        self
    }

    /// OpenAI streams: the tool calls' argument fragments interleaved across calls (see the field).
    pub fn interleave_tool_args(mut self) -> Reply {
        self.interleave_tool_args = true;
        self
    }
}
