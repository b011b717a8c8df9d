//! Image uploads: `POST /v1/images/edits` and `/v1/images/variations` as OpenAI answers them for DALL·E 2.

use super::audio::form_fields;
use super::endpoints::PNG_1X1;
use serde_json::{Value, json};

/// The first bytes of a PNG file (DALL·E 2 takes only PNG uploads).
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// The multipart form of an edit (`edit`) or a variation, answered with `n` images (default 1) as URLs, or as
/// `b64_json` when `response_format` asks; errors as OpenAI words them.
pub(crate) fn image_upload(raw: &[u8], content_type: &str, edit: bool) -> Result<Value, String> {
    let fields = form_fields(raw, content_type).ok_or("could not parse multipart form")?;
    let text = |name: &str| {
        fields
            .iter()
            .find(|(n, file, _)| n == name && !*file)
            .map(|(_, _, data)| String::from_utf8_lossy(data).into_owned())
    };
    let images: Vec<&[u8]> = fields
        .iter()
        .filter(|(n, file, _)| *file && (n == "image" || n == "image[]"))
        .map(|(_, _, data)| *data)
        .collect();
    if images.is_empty() {
        return Err("'image' is a required property".to_owned());
    }
    if images.iter().any(|data| !data.starts_with(PNG)) {
        return Err(
            "Invalid input image - format must be in ['RGBA', 'LA', 'L'], got RGB.".to_owned(),
        );
    }
    text("model").ok_or("you must provide a model parameter")?;
    let prompt = text("prompt").unwrap_or_default();
    if edit && prompt.is_empty() {
        return Err("'prompt' is a required property".to_owned());
    }
    let n: u64 = match text("n") {
        Some(n) => n
            .parse()
            .map_err(|_| format!("'{n}' is not of type 'integer' - 'n'"))?,
        None => 1,
    };
    let b64 = text("response_format").as_deref() == Some("b64_json");
    let data: Vec<Value> = (0..n)
        .map(|i| {
            if b64 {
                json!({"b64_json": PNG_1X1})
            } else {
                json!({"url": format!("https://images.example.invalid/edit-{i}.png")})
            }
        })
        .collect();
    Ok(json!({"created": 1_718_000_000u64, "data": data}))
}
