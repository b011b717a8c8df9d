//! `multipart/form-data` bodies of the audio endpoints: read with `multer` (the parser axum uses) to learn the
//! `model` and the file's size, and written again (plainly: each part's headers and bytes
//! between boundaries, RFC 7578) only when the upstream must see another model name.

use super::inputs::invalid;
use crate::error::ApiError;
use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderMap;

/// One part as it came.
pub(super) struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

/// A parsed form: its parts in order, and the request's content type (with its boundary).
pub(super) struct Form {
    parts: Vec<Part>,
    pub(super) content_type: String,
}

impl Form {
    /// Parses `body` with the boundary of the request's `Content-Type`.
    pub(super) async fn parse(headers: &HeaderMap, body: Bytes) -> Result<Self, ApiError> {
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let content_type = content_type.to_owned();
        let boundary = multer::parse_boundary(&content_type).map_err(|_| {
            invalid(
                "This endpoint takes `multipart/form-data` with a `file` and a `model`.",
                "file",
            )
        })?;
        let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut parts = Vec::new();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(invalid(&format!("Malformed multipart body: {e}."), "file")),
            };
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(ToString::to_string);
            let data = field
                .bytes()
                .await
                .map_err(|e| invalid(&format!("Malformed multipart body: {e}."), "file"))?;
            parts.push(Part {
                name,
                file_name,
                content_type,
                data,
            });
        }
        Ok(Self {
            parts,
            content_type,
        })
    }

    /// The text fields as a JSON object, so they are checked like a JSON body's (`model`, …).
    pub(super) fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        self.parts
            .iter()
            .filter(|p| p.file_name.is_none())
            .filter_map(|p| {
                let text = std::str::from_utf8(&p.data).ok()?;
                Some((p.name.clone(), serde_json::Value::String(text.to_owned())))
            })
            .collect()
    }

    /// The audio's length in seconds as the hold estimates it before the upstream says: its size at 128 kbit/s
    /// (16,000 bytes a second, a common MP3/M4A rate; slower-coded files are under-estimated and settled exactly
    /// when the upstream reports the duration). A form without a `file` is refused.
    pub(super) fn estimated_seconds(&self) -> Result<u64, ApiError> {
        let len = self
            .file_len()
            .ok_or_else(|| invalid("`file` (the audio upload) is required.", "file"))?;
        Ok((len as u64).div_ceil(16_000).max(1))
    }

    /// The size of the uploaded `file`.
    fn file_len(&self) -> Option<usize> {
        self.parts
            .iter()
            .find(|p| p.name == "file" && p.file_name.is_some())
            .map(|p| p.data.len())
    }

    /// The form again with `model` set to `model`: (content type, body).
    pub(super) fn with_model(&self, model: &str) -> (String, Bytes) {
        let boundary = format!("tollgate-{}", uuid::Uuid::new_v4().simple());
        let mut out = BytesMut::new();
        for p in &self.parts {
            out.put_slice(format!("--{boundary}\r\n").as_bytes());
            let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
            if let Some(f) = &p.file_name {
                disposition.push_str(&format!("; filename=\"{}\"", f.replace('"', "")));
            }
            out.put_slice(disposition.as_bytes());
            out.put_slice(b"\r\n");
            if let Some(ct) = &p.content_type {
                out.put_slice(format!("Content-Type: {ct}\r\n").as_bytes());
            }
            out.put_slice(b"\r\n");
            if p.name == "model" && p.file_name.is_none() {
                out.put_slice(model.as_bytes());
            } else {
                out.put_slice(&p.data);
            }
            out.put_slice(b"\r\n");
        }
        out.put_slice(format!("--{boundary}--\r\n").as_bytes());
        (
            format!("multipart/form-data; boundary={boundary}"),
            out.freeze(),
        )
    }
}
