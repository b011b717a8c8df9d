//! The upstream WebSocket of a session: OpenAI `{base}/v1/realtime?model={upstream model}` with
//! `Authorization: Bearer {key}` (and `OpenAI-Beta` only when the client sent it), or Azure
//! `{resource}/openai/realtime?api-version=…&deployment=…` with `api-key`; the channel's extra headers on both.
//! A refused handshake becomes an `UpstreamError` with the upstream's status, so the failover loop retries 5xx, 429
//! and rejected keys exactly as it does for HTTP attempts.

use crate::relay::failover::Try;
use api_types::ChannelKind;
use http::{HeaderName, HeaderValue};
use providers::{UpstreamError, UpstreamErrorKind};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, http::Request};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Upstream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The Azure `api-version` when the channel names none.
const AZURE_API_VERSION: &str = "2025-04-01-preview";

/// Opens the upstream WebSocket of `t`'s channel within its first-byte timeout.
pub async fn connect(
    t: &Try,
    beta: Option<&HeaderValue>,
    max_message: usize,
) -> Result<Upstream, UpstreamError> {
    let request = request(t, beta)?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    let timeout = t.ctx.first_byte_timeout;
    let opened = tokio::time::timeout(
        timeout,
        tokio_tungstenite::connect_async_with_config(request, Some(config), true),
    )
    .await;
    match opened {
        Err(_) => Err(UpstreamError::new(
            UpstreamErrorKind::FirstByteTimeout(timeout),
            "the upstream did not accept the WebSocket in time",
        )),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(answer))) => {
            let body = answer
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned());
            Err(UpstreamError::from_status(
                answer.status().as_u16(),
                body.as_deref(),
            ))
        }
        Ok(Err(e)) => Err(UpstreamError::new(
            UpstreamErrorKind::Connect,
            format!("upstream WebSocket: {e}"),
        )),
    }
}

/// The handshake request for `t`'s channel.
fn request(t: &Try, beta: Option<&HeaderValue>) -> Result<Request<()>, UpstreamError> {
    let ctx = &t.ctx;
    let model = encode(&t.upstream_model);
    let url = match t.channel.channel.kind {
        ChannelKind::Azure => {
            let version = ctx.api_version.as_deref().unwrap_or(AZURE_API_VERSION);
            format!(
                "{}/openai/realtime?api-version={}&deployment={model}",
                ctx.base_url.trim_end_matches('/'),
                encode(version)
            )
        }
        _ => format!("{}?model={model}", ctx.url("/v1/realtime")),
    };
    let url = match url.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some(("http", rest)) => format!("ws://{rest}"),
        _ => url,
    };
    let invalid = |what: &str| {
        UpstreamError::new(
            UpstreamErrorKind::InvalidInput,
            format!("the channel's realtime {what} is not valid"),
        )
    };
    let mut request = url.into_client_request().map_err(|_| invalid("URL"))?;
    let headers = request.headers_mut();
    for (name, value) in &ctx.extra_headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("header"))?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid("header"))?;
        headers.insert(name, value);
    }
    let (name, secret) = match t.channel.channel.kind {
        ChannelKind::Azure => ("api-key", ctx.api_key.clone()),
        _ => ("authorization", format!("Bearer {}", ctx.api_key)),
    };
    let mut secret = HeaderValue::from_str(&secret).map_err(|_| invalid("key"))?;
    secret.set_sensitive(true);
    headers.insert(name, secret);
    if let Some(beta) = beta {
        headers.insert("openai-beta", beta.clone());
    }
    Ok(request)
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
