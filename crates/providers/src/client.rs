//! The upstream HTTP client every adapter sends through: [`UpstreamClient`] builds an [`UpstreamRequest`] (method,
//! URL, headers, a body of bytes) and sends it, and an [`UpstreamResponse`] gives back status, headers and the body
//! as it arrives.
//!
//! Two engines behind one type (issue 17, part 2):
//! - **direct** — hyper-util's pooled client over hyper-rustls (HTTP/1.1, or HTTP/2 where TLS negotiates it; the
//!   webpki roots and the ring provider, which is what reqwest's `rustls-tls` used). Every request of a relay pays
//!   only for hyper: reqwest parsed each URL twice more, boxed the body twice and ran a redirect layer the gateway
//!   never used (measured: 10–15 % of a relayed request's CPU, `docs/performance.md`).
//! - **proxied** — reqwest, when the environment names an outbound proxy (`HTTPS_PROXY`, `HTTP_PROXY`,
//!   `ALL_PROXY`, upper or lower case): reqwest reads those variables (and `NO_PROXY`) exactly as before, so an
//!   operator who sends upstream traffic through a proxy keeps doing so.
//!
//! Redirects are never followed (an API answers where it is asked). Headers are set per request, so a signature
//! or an access token computed for one request (SigV4, OAuth) goes on that request alone.

use crate::error::error_chain;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri};
use http_body_util::{BodyDataStream, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::Arc;
use std::time::Duration;

/// Why a body stopped before its end (a broken connection, a protocol error): free of URLs and headers.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// The environment variables that name an outbound proxy (reqwest reads the same ones).
const PROXY_VARS: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The upstream HTTP client; cheap to clone (one pool shared by every clone).
#[derive(Clone)]
pub struct UpstreamClient(Arc<Engine>);

#[expect(
    clippy::large_enum_variant,
    reason = "one per process, behind the client's Arc"
)]
enum Engine {
    Direct(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
    Proxied(reqwest::Client),
}

impl std::fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match *self.0 {
            Engine::Direct(_) => "UpstreamClient(direct)",
            Engine::Proxied(_) => "UpstreamClient(proxied)",
        })
    }
}

impl UpstreamClient {
    /// The client for this process: proxied when the environment names a proxy, direct otherwise.
    pub fn new(connect_timeout: Duration) -> Result<Self, String> {
        if proxy_configured(|name| std::env::var_os(name)) {
            Self::proxied(connect_timeout)
        } else {
            Self::direct(connect_timeout, None)
        }
    }

    /// The hyper-util engine. `roots` replaces the webpki roots (tests trust their own certificate).
    pub fn direct(
        connect_timeout: Duration,
        roots: Option<rustls::RootCertStore>,
    ) -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = match roots {
            None => hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(provider)
                .map_err(|e| e.to_string())?,
            Some(roots) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            ),
        };
        let connector = tls
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        // The timer makes the idle timeout take effect (hyper-util reaps idle connections only with one).
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(connector);
        Ok(Self(Arc::new(Engine::Direct(client))))
    }

    /// The reqwest engine, which honours the proxy variables of the environment.
    pub fn proxied(connect_timeout: Duration) -> Result<Self, String> {
        reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(POOL_IDLE)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map(|c| Self(Arc::new(Engine::Proxied(c))))
            .map_err(|e| e.to_string())
    }

    /// Whether requests go through reqwest and the environment's proxy.
    pub fn is_proxied(&self) -> bool {
        matches!(*self.0, Engine::Proxied(_))
    }

    /// A POST to `url` (parsed once: a relay posts to the same few URLs again and again).
    pub fn post(&self, url: &str) -> UpstreamRequest {
        self.request(Method::POST, cached_uri(url))
    }

    /// A GET of `url` (model lists, task polls: URLs that differ, so not cached).
    pub fn get(&self, url: impl AsRef<str>) -> UpstreamRequest {
        self.request(Method::GET, parse_uri(url.as_ref()))
    }

    fn request(&self, method: Method, uri: Result<Uri, String>) -> UpstreamRequest {
        let (uri, fault) = match uri {
            Ok(uri) => (uri, None),
            Err(e) => (Uri::default(), Some(format!("invalid upstream URL: {e}"))),
        };
        UpstreamRequest {
            client: self.clone(),
            method,
            uri,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            fault,
        }
    }

    /// Sends `req` and resolves with the response head (the body follows as it arrives).
    pub(crate) async fn send(&self, req: UpstreamRequest) -> Result<UpstreamResponse, SendError> {
        if let Some(fault) = req.fault {
            return Err(SendError::Build(fault));
        }
        match &*self.0 {
            Engine::Direct(client) => {
                let mut out = http::Request::new(Full::new(req.body));
                *out.method_mut() = req.method;
                *out.uri_mut() = req.uri;
                *out.headers_mut() = req.headers;
                let resp = client
                    .request(out)
                    .await
                    .map_err(|e| SendError::Connect(error_chain(&e)))?;
                let (head, body) = resp.into_parts();
                let body = BodyDataStream::new(body)
                    .map(|r| r.map_err(BodyError::from))
                    .boxed();
                Ok(UpstreamResponse::new(head.status, head.headers, body))
            }
            Engine::Proxied(client) => {
                let resp = client
                    .request(req.method, req.uri.to_string())
                    .headers(req.headers)
                    .body(req.body)
                    .send()
                    .await
                    .map_err(|e| SendError::Connect(error_chain(&e.without_url())))?;
                let (status, headers) = (resp.status(), resp.headers().clone());
                let body = resp
                    .bytes_stream()
                    .map(|r| r.map_err(|e| BodyError::from(e.without_url())))
                    .boxed();
                Ok(UpstreamResponse::new(status, headers, body))
            }
        }
    }
}

/// Whether `var` names a non-empty proxy variable.
fn proxy_configured(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    PROXY_VARS
        .iter()
        .any(|name| var(name).is_some_and(|v| !v.is_empty()))
}

/// The most upstream URLs kept parsed. A deployment sends to a handful (each channel's base URL and a route's path);
/// past this many, URLs are parsed each time.
const PARSED_URLS: usize = 1024;

/// `url` as a request URI, from a cache: the same few URLs are used for every request.
fn cached_uri(url: &str) -> Result<Uri, String> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, PoisonError, RwLock};
    static URIS: LazyLock<RwLock<HashMap<Box<str>, Uri>>> = LazyLock::new(Default::default);
    if let Some(parsed) = URIS.read().unwrap_or_else(PoisonError::into_inner).get(url) {
        return Ok(parsed.clone());
    }
    let parsed = parse_uri(url)?;
    let mut uris = URIS.write().unwrap_or_else(PoisonError::into_inner);
    if uris.len() < PARSED_URLS {
        uris.insert(url.into(), parsed.clone());
    }
    Ok(parsed)
}

/// `url` as an absolute http(s) request URI.
fn parse_uri(url: &str) -> Result<Uri, String> {
    let parsed: Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    match parsed.scheme_str() {
        Some("http" | "https") if parsed.host().is_some() => Ok(parsed),
        _ => Err("not an absolute http(s) URL".to_owned()),
    }
}

/// Why a request got no response head.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The request could not be built (a URL or header the adapter was given is invalid).
    Build(String),
    /// Connecting or sending failed, or the connection broke before the head.
    Connect(String),
}

/// A request being built: the adapter adds its key, the channel's headers and the body.
pub struct UpstreamRequest {
    client: UpstreamClient,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    /// The first thing that made this request invalid; reported when it is sent.
    fault: Option<String>,
}

impl UpstreamRequest {
    /// Adds `name: value` (a name or value that is not valid HTTP fails the request when it is sent; the value is
    /// never echoed, as it may be a secret).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(mut value)) => {
                value.set_sensitive(is_secret(&name));
                self.headers.append(name, value);
            }
            _ => {
                self.fault
                    .get_or_insert_with(|| format!("invalid value for upstream header `{name}`"));
            }
        }
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_auth(self, token: &str) -> Self {
        self.header(AUTHORIZATION.as_str(), &format!("Bearer {token}"))
    }

    /// The request body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends it with its own client.
    pub(crate) async fn send(self) -> Result<UpstreamResponse, SendError> {
        let client = self.client.clone();
        client.send(self).await
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }
}

/// Headers that carry a channel's secret (hyper then keeps them out of its HPACK tables).
fn is_secret(name: &HeaderName) -> bool {
    name == AUTHORIZATION || name.as_str().contains("key") || name.as_str().contains("secret")
}

/// An upstream's answer: its head, and its body as it arrives.
pub struct UpstreamResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: BoxStream<'static, Result<Bytes, BodyError>>,
}

impl std::fmt::Debug for UpstreamResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamResponse")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl UpstreamResponse {
    pub fn new(
        status: StatusCode,
        headers: HeaderMap,
        body: BoxStream<'static, Result<Bytes, BodyError>>,
    ) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body's bytes as they arrive.
    pub fn bytes_stream(self) -> BoxStream<'static, Result<Bytes, BodyError>> {
        self.body
    }
}

#[cfg(test)]
mod tests;
