//! `/v1/images/edits` and `/v1/images/variations` (issue 18): the upload's checks and the form sent upstream. Billed
//! per image like generations (`shape::image_price`, `n` from the form).
//!
//! Every upload must be an image by its first bytes (PNG, JPEG or WebP; the `mask` PNG, as OpenAI requires), so a
//! client cannot pass other files through to the operator's account. Streaming is refused as on generations: the
//! answer is one JSON body. The form sent upstream is re-encoded from the checked fields and uploads, with the
//! channel's model name.

use super::inputs::invalid;
use super::multipart::Form;
use crate::error::ApiError;
use bytes::Bytes;
use serde_json::{Map, Value};

/// `form` when its uploads are images and it does not ask for a stream.
pub(super) fn checked(form: Form) -> Result<Form, ApiError> {
    for (name, upload) in &form.uploads {
        let kind = providers::media::sniff(&upload.data);
        let fits = match name.as_str() {
            "mask" => kind == Some("image/png"),
            _ => matches!(kind, Some("image/png" | "image/jpeg" | "image/webp")),
        };
        if !fits {
            let wanted = if name == "mask" {
                "a PNG image"
            } else {
                "a PNG, JPEG or WebP image"
            };
            return Err(invalid(&format!("`{name}` must be {wanted}."), name));
        }
    }
    if form.field("stream").is_some_and(|s| s != "false") {
        return Err(invalid(
            "Streamed image edits are not relayed; leave `stream` unset.",
            "stream",
        ));
    }
    Ok(form)
}

/// The form's `n` as a number, as a JSON body would carry it (form fields are text); any other text stays, to be
/// refused by the shape's check.
pub(super) fn numbers(request: &mut Map<String, Value>) {
    if let Some(n) = request
        .get("n")
        .and_then(Value::as_str)
        .and_then(|n| n.parse::<u64>().ok())
    {
        request.insert("n".to_owned(), Value::from(n));
    }
}

/// The form for a channel that calls the model `upstream_model`: (content type, body).
pub(super) fn encode(form: &Form, upstream_model: &str) -> (String, Bytes) {
    let mut fields = vec![("model".to_owned(), upstream_model.to_owned())];
    fields.extend(form.fields.iter().filter(|(n, _)| n != "model").cloned());
    form.encode(&fields)
}
