//! `multipart/form-data` bodies of the upload endpoints (audio transcriptions, image edits and variations): read
//! with `multer` (the parser axum uses) into the checked fields and uploads, and written again from those (each
//! part's headers and bytes between boundaries, RFC 7578) — the upstream never sees the client's raw bytes, so it
//! reads what was checked.
//!
//! A single-value field given twice (`model`, `prompt`, `response_format`, `file`, `image`, …) is a 400 naming it:
//! the gateway and the upstream could otherwise read different copies. Array fields, named `name[]`
//! (`timestamp_granularities[]`, `include[]`, `image[]`), may repeat, up to [`MAX_UPLOADS`] uploads. Text fields
//! must be UTF-8, and only the operation's upload fields may be (and must be) uploads.

use super::inputs::invalid;
use crate::error::ApiError;
use crate::http::header_text;
use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderMap;

/// Most uploads one form may carry (OpenAI takes up to 16 images for an edit).
const MAX_UPLOADS: usize = 16;

/// Which fields of a form are uploads, and which of them must be there.
#[derive(Debug, Clone, Copy)]
pub(super) struct Uploads {
    /// Field names that carry uploads (`file`; `image`, `image[]`, `mask`).
    pub(super) names: &'static [&'static str],
    /// At least one of these must be present.
    pub(super) required: &'static [&'static str],
    /// What the error calls the required upload ("the audio upload").
    pub(super) what: &'static str,
}

/// An uploaded file: its name, type and bytes.
pub(super) struct Upload {
    file_name: String,
    content_type: Option<String>,
    pub(super) data: Bytes,
}

/// A parsed and checked form: its text fields and its uploads, each in order.
pub(super) struct Form {
    pub(super) fields: Vec<(String, String)>,
    pub(super) uploads: Vec<(String, Upload)>,
}

/// Whether a field may repeat (`name[]`, OpenAI's array fields).
fn is_array(name: &str) -> bool {
    name.ends_with("[]")
}

impl Form {
    /// Parses `body` with the boundary of the request's `Content-Type`, refusing repeated single-value fields,
    /// non-UTF-8 text, uploads under other names than `allowed`'s, text under those, and a form without a
    /// required upload.
    pub(super) async fn parse(
        headers: &HeaderMap,
        body: Bytes,
        allowed: Uploads,
    ) -> Result<Self, ApiError> {
        let content_type = header_text(headers, http::header::CONTENT_TYPE).unwrap_or_default();
        let boundary = multer::parse_boundary(content_type).map_err(|_| {
            invalid(
                &format!(
                    "This endpoint takes `multipart/form-data` with `{}`.",
                    allowed.required[0]
                ),
                allowed.required[0],
            )
        })?;
        let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let malformed = |e: multer::Error| {
            invalid(
                &format!("Malformed multipart body: {e}."),
                allowed.required[0],
            )
        };
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut uploads: Vec<(String, Upload)> = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(malformed)? {
            let name = field.name().unwrap_or_default().to_owned();
            let seen =
                uploads.iter().any(|(n, _)| *n == name) || fields.iter().any(|(n, _)| *n == name);
            if seen && !is_array(&name) {
                return Err(invalid(
                    &format!("`{name}` is given more than once; send it once."),
                    &name,
                ));
            }
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(ToString::to_string);
            let data = field.bytes().await.map_err(malformed)?;
            match (allowed.names.contains(&name.as_str()), file_name) {
                (true, Some(file_name)) => {
                    if uploads.len() == MAX_UPLOADS {
                        return Err(invalid(
                            &format!("At most {MAX_UPLOADS} files may be uploaded at once."),
                            &name,
                        ));
                    }
                    let upload = Upload {
                        file_name,
                        content_type,
                        data,
                    };
                    uploads.push((name, upload));
                }
                (true, None) => {
                    return Err(invalid(
                        &format!("`{name}` must be an uploaded file."),
                        &name,
                    ));
                }
                (false, Some(_)) => {
                    return Err(invalid(
                        &format!(
                            "`{name}` must be a text field; only {} may be uploads.",
                            allowed.names.join(", ")
                        ),
                        &name,
                    ));
                }
                (false, None) => {
                    let text = String::from_utf8(data.to_vec())
                        .map_err(|_| invalid(&format!("`{name}` must be UTF-8 text."), &name))?;
                    fields.push((name, text));
                }
            }
        }
        if !uploads
            .iter()
            .any(|(n, _)| allowed.required.contains(&n.as_str()))
        {
            let name = allowed.required[0];
            return Err(invalid(
                &format!("`{name}` ({}) is required.", allowed.what),
                name,
            ));
        }
        Ok(Self { fields, uploads })
    }

    /// The bytes of the first upload named `name`.
    pub(super) fn upload(&self, name: &str) -> Option<&Bytes> {
        self.uploads
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, u)| &u.data)
    }

    /// The text fields as a JSON object, so they are checked like a JSON body's (`model`, …); an array field
    /// appears with its last value.
    pub(super) fn object(&self) -> serde_json::Map<String, serde_json::Value> {
        self.fields
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
            .collect()
    }

    /// The single-value field `name`.
    pub(super) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A new form of `fields` and this form's uploads: (content type, body).
    pub(super) fn encode(&self, fields: &[(String, String)]) -> (String, Bytes) {
        let boundary = format!("tollgate-{}", uuid::Uuid::new_v4().simple());
        let mut out = BytesMut::new();
        let head = |out: &mut BytesMut, name: &str| {
            out.put_slice(format!("--{boundary}\r\n").as_bytes());
            out.put_slice(
                format!("Content-Disposition: form-data; name=\"{}\"", escape(name)).as_bytes(),
            );
        };
        for (name, value) in fields {
            head(&mut out, name);
            out.put_slice(b"\r\n\r\n");
            out.put_slice(value.as_bytes());
            out.put_slice(b"\r\n");
        }
        for (name, file) in &self.uploads {
            head(&mut out, name);
            out.put_slice(format!("; filename=\"{}\"\r\n", escape(&file.file_name)).as_bytes());
            let content_type = file
                .content_type
                .as_deref()
                .unwrap_or("application/octet-stream");
            out.put_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
            out.put_slice(&file.data);
            out.put_slice(b"\r\n");
        }
        out.put_slice(format!("--{boundary}--\r\n").as_bytes());
        (
            format!("multipart/form-data; boundary={boundary}"),
            out.freeze(),
        )
    }
}

/// A name or file name inside a quoted `Content-Disposition` parameter, escaped as browsers do (WHATWG), so no
/// value can end the quote or the header line.
fn escape(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}
