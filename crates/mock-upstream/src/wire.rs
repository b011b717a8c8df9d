//! The five wire formats behind one interface, so every scripted behaviour (replies, cuts, stalls, garbage)
//! plays the same on each provider route.

use bytes::Bytes;
use serde_json::Value;

use crate::script::Reply;
use crate::{anthropic, azure, bedrock, gemini, openai};

/// Which protocol a chat request spoke, with what its answer needs.
#[derive(Debug, Clone)]
pub(crate) enum Wire {
    OpenAi(openai::Ctx),
    Azure(openai::Ctx),
    Anthropic(anthropic::Ctx),
    Gemini(gemini::Ctx),
    /// Anthropic Messages on Bedrock: the same `message`, the stream in event-stream frames.
    Bedrock(anthropic::Ctx),
}

impl Wire {
    /// The request asked for a stream.
    pub fn stream(&self) -> bool {
        match self {
            Wire::OpenAi(c) | Wire::Azure(c) => c.stream,
            Wire::Anthropic(c) | Wire::Bedrock(c) => c.stream,
            Wire::Gemini(c) => c.stream,
        }
    }

    /// The non-streamed answer.
    pub fn body(&self, reply: &Reply) -> Value {
        match self {
            Wire::OpenAi(c) => openai::completion(c, reply),
            Wire::Azure(c) => azure::completion(c, reply),
            Wire::Anthropic(c) | Wire::Bedrock(c) => anthropic::message(c, reply),
            Wire::Gemini(c) => gemini::generate(c, reply),
        }
    }

    /// Every event of the streamed answer, terminator included.
    pub fn events(&self, reply: &Reply) -> Vec<Bytes> {
        match self {
            Wire::OpenAi(c) => openai::stream_events(c, reply),
            Wire::Azure(c) => azure::stream_events(c, reply),
            Wire::Anthropic(c) => anthropic::stream_events(c, reply),
            Wire::Gemini(c) => gemini::stream_events(c, reply),
            Wire::Bedrock(c) => bedrock::stream_frames(c, reply),
        }
    }

    /// Content type of the streamed answer (Gemini without `alt=sse` streams a JSON array).
    pub fn stream_type(&self) -> &'static str {
        match self {
            Wire::Gemini(c) if !c.sse => "application/json",
            Wire::Bedrock(_) => bedrock::EVENT_STREAM,
            _ => "text/event-stream",
        }
    }

    /// A stream body whose first event is not JSON.
    pub fn garbage(&self) -> Bytes {
        match self {
            Wire::OpenAi(_) | Wire::Azure(_) => {
                Bytes::from_static(b"data: {not json\n\ndata: [DONE]\n\n")
            }
            Wire::Anthropic(_) => anthropic::garbage(),
            Wire::Gemini(_) => gemini::garbage(),
            Wire::Bedrock(_) => bedrock::garbage(),
        }
    }

    /// `body` as one more stream event: a `data:` event, or on Bedrock an `internalServerException` frame.
    pub fn error_event(&self, body: &str) -> Bytes {
        match self {
            Wire::Bedrock(_) => bedrock::exception_frame(body),
            _ => Bytes::from(format!("data: {body}\n\n")),
        }
    }
}
