//! What a request may cost and how it is answered: the output budget the hold covers, streaming, and the price of
//! an image by size and quality.

use super::Operation;
use super::inputs::invalid;
use crate::error::ApiError;
use crate::relay::admission::OutputAsk;
use serde_json::{Map, Value};

/// What the request asks of the answer: its size budget and whether (and how) it streams.
pub(super) struct Shape {
    /// The output the hold covers: legacy completions' `max_tokens` (default 16) × `n`, Responses'
    /// `max_output_tokens` (else the model's ceiling); nothing for the other operations.
    pub(super) output: OutputAsk,
    /// The request field that carries the output limit upstream.
    limit_field: Option<&'static str>,
    pub(super) stream: bool,
    /// The client asked for the usage chunk itself.
    pub(super) client_wants_usage: bool,
    /// The request must be re-encoded to ask the upstream for usage.
    pub(super) add_usage: bool,
    /// Images asked for (`n`, image operations only).
    pub(super) images: u64,
}

impl Shape {
    pub(super) fn of(op: Operation, request: &Map<String, Value>) -> Result<Self, ApiError> {
        let positive = |name: &str, default: u64| match request.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|n| *n >= 1)
                .ok_or_else(|| invalid(&format!("`{name}` must be a positive integer."), name)),
        };
        let plain = Self {
            output: OutputAsk::Nothing,
            limit_field: None,
            stream: false,
            client_wants_usage: false,
            add_usage: false,
            images: 0,
        };
        if op.is_image() {
            let images = positive("n", 1)?;
            if images > 10 {
                return Err(invalid("`n` must be between 1 and 10.", "n"));
            }
            if request.get("stream").and_then(Value::as_bool) == Some(true) {
                return Err(invalid(
                    "Streamed image generation is not relayed; leave `stream` unset.",
                    "stream",
                ));
            }
            return Ok(Self { images, ..plain });
        }
        if op == Operation::Responses {
            let stream = stream_flag(request)?;
            let requested = match request.get("max_output_tokens") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                    invalid(
                        "`max_output_tokens` must be a positive integer.",
                        "max_output_tokens",
                    )
                })?),
            };
            // Responses streams report usage in `response.completed`: nothing to ask for.
            return Ok(Self {
                output: OutputAsk::Tokens {
                    requested,
                    choices: 1,
                },
                limit_field: Some("max_output_tokens"),
                stream,
                ..plain
            });
        }
        if op != Operation::Completions {
            return Ok(plain);
        }
        let max_tokens = positive("max_tokens", 16)?;
        let n = positive("n", 1)?;
        let stream = stream_flag(request)?;
        let client_wants_usage = request
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true);
        Ok(Self {
            output: OutputAsk::Tokens {
                requested: Some(max_tokens),
                choices: n,
            },
            limit_field: Some("max_tokens"),
            stream,
            client_wants_usage,
            add_usage: stream && !client_wants_usage,
            images: 0,
        })
    }
}

impl Shape {
    /// The request field and value that carry the affordable output limit (per choice) upstream, if one is due.
    pub(super) fn output_limit(&self, limit: Option<u64>) -> Option<(&'static str, u64)> {
        self.limit_field.zip(limit)
    }
}

/// `stream`: absent or null is false; anything but a boolean is refused.
fn stream_flag(request: &Map<String, Value>) -> Result<bool, ApiError> {
    match request.get("stream") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid("`stream` must be a boolean.", "stream")),
    }
}

/// The price of one image: `model:size:quality`, then `model:size`, then `model` (then the default `*`), with a
/// per-request price multiplied by the number of images asked for, so the hold and the bill are exact.
pub(super) fn image_price(
    snap: &crate::catalog::Snapshot,
    model: &str,
    request: &Map<String, Value>,
    images: u64,
) -> Option<store::Price> {
    let text = |k: &str| {
        request
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let mut names = Vec::new();
    if let Some(size) = text("size") {
        if let Some(quality) = text("quality") {
            names.push(format!("{model}:{size}:{quality}"));
        }
        names.push(format!("{model}:{size}"));
    }
    let mut price = names
        .iter()
        .find_map(|n| snap.price_exact(n))
        .or_else(|| snap.price(model))
        .cloned()?;
    if let Some(each) = price.per_request {
        price.per_request = Some(each.saturating_mul(i64::try_from(images).unwrap_or(i64::MAX)));
    }
    Some(price)
}
