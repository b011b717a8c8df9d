//! `UpstreamError`: why an upstream attempt failed, and what the gateway should do about it (retry elsewhere,
//! take the key out of rotation, or just report).

use std::time::Duration;

/// An error and its sources in one line (hyper's own text is only "client error (Connect)"; the cause follows).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamErrorKind {
    /// TCP/TLS connect failed or the connection broke before an answer.
    Connect,
    /// No response head within the first-byte timeout.
    FirstByteTimeout(Duration),
    /// The stream or body went silent longer than the idle timeout.
    IdleTimeout(Duration),
    /// The upstream answered with a non-success status.
    Status(u16),
    /// The upstream answered 2xx with something that is not the protocol (non-JSON body, broken SSE, cut stream).
    Protocol,
    /// The request cannot be converted for this provider (a refused image URL, an unsupported part): the client's
    /// to fix, so never retried.
    InvalidInput,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UpstreamError {
    pub kind: UpstreamErrorKind,
    /// Human-readable, free of secrets.
    pub message: String,
    /// The upstream's own error `type`/`code` when it sent an OpenAI-style error body.
    pub error_type: Option<String>,
    pub code: Option<String>,
}

impl UpstreamError {
    pub fn new(kind: UpstreamErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            error_type: None,
            code: None,
        }
    }

    /// An error answer of `status`: `upstream returned HTTP {status}`, then the upstream's own message when it
    /// gave a non-empty one.
    pub fn from_status(status: u16, message: Option<&str>) -> Self {
        let text = match message.filter(|m| !m.is_empty()) {
            Some(m) => format!("upstream returned HTTP {status}: {m}"),
            None => format!("upstream returned HTTP {status}"),
        };
        Self::new(UpstreamErrorKind::Status(status), text)
    }

    pub fn status(&self) -> Option<u16> {
        match self.kind {
            UpstreamErrorKind::Status(s) => Some(s),
            _ => None,
        }
    }

    /// Worth trying another channel: nothing reached the client yet and the cause is likely this upstream's.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            UpstreamErrorKind::Connect | UpstreamErrorKind::FirstByteTimeout(_) => true,
            UpstreamErrorKind::Status(s) => s == 408 || s == 429 || s >= 500 || self.disables_key(),
            UpstreamErrorKind::IdleTimeout(_)
            | UpstreamErrorKind::Protocol
            | UpstreamErrorKind::InvalidInput => false,
        }
    }

    /// The upstream says this secret is bad or out of money: take the key out of rotation until a probe passes.
    pub fn disables_key(&self) -> bool {
        let quota_exhausted = self.error_type.as_deref() == Some("insufficient_quota")
            || self.code.as_deref() == Some("insufficient_quota")
            || matches!(
                self.code.as_deref(),
                Some("invalid_api_key" | "account_deactivated" | "billing_not_active")
            );
        match self.kind {
            UpstreamErrorKind::Status(401 | 403) => true,
            UpstreamErrorKind::Status(_) => quota_exhausted,
            _ => false,
        }
    }
}
