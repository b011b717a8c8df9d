//! `ApiError`: every way a request can fail, turned into the OpenAI error JSON in exactly one place.
//! Status, `type` and `code` come from one exhaustive match, so a new variant forces a decision.

use api_types::ErrorBody;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use providers::{UpstreamError, UpstreamErrorKind};
use std::time::Duration;
use store::{QuotaShortfall, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    InvalidRequest {
        message: String,
        param: Option<String>,
        code: Option<&'static str>,
    },
    #[error("Request body is larger than the limit of {limit} bytes.")]
    BodyTooLarge { limit: usize },
    #[error("The request body did not arrive within {0:?}.")]
    BodyTimeout(Duration),
    #[error("You didn't provide an API key. Send it as `Authorization: Bearer sk-...`.")]
    MissingKey,
    #[error("Incorrect API key provided: {masked}.")]
    InvalidKey { masked: String },
    #[error("The API key `{name}` has expired.")]
    KeyExpired { name: String },
    #[error("The API key `{name}` is disabled.")]
    KeyDisabled { name: String },
    #[error("The account that owns this API key is disabled.")]
    UserDisabled,
    #[error("Requests from {ip} are not allowed for this API key.")]
    IpNotAllowed { ip: String },
    #[error("The model `{model}` is not available for this key.")]
    ModelNotAllowed { model: String },
    #[error("The model `{model}` does not exist or you do not have access to it.")]
    ModelNotFound { model: String },
    #[error(
        "The model `{model}` has no price configured; the operator must set one before it can be used."
    )]
    ModelNotPriced { model: String },
    #[error("No upstream channel is available for the model `{model}` right now.")]
    NoChannel { model: String },
    #[error("Unknown route: {method} {path}.")]
    RouteNotFound { method: String, path: String },
    /// A route of an API Tollgate speaks (`api`: "OpenAI", "Gemini") that it does not offer.
    #[error("{path} is part of the {api} API but this gateway does not offer it.")]
    NotImplemented { path: String, api: &'static str },
    #[error("Method {method} is not allowed on {path}.")]
    MethodNotAllowed { method: String, path: String },
    #[error("Insufficient quota: {0}.")]
    InsufficientQuota(QuotaShortfall),
    #[error("Too many failed authentication attempts from this address; retry in {}s.", .retry_after.as_secs().max(1))]
    TooManyAuthFailures { retry_after: Duration },
    #[error("Rate limit reached for this API key: {limit} requests per minute; retry in {}s.", .retry_after.as_secs().max(1))]
    RateLimited { limit: i64, retry_after: Duration },
    #[error("Rate limit reached for this API key: {limit} tokens per minute; retry in {}s.", .retry_after.as_secs().max(1))]
    TokenRateLimited { limit: i64, retry_after: Duration },
    /// The text is scrubbed of anything shaped like a credential, whichever path built the error.
    #[error("{}", providers::scrub::secrets(&.0.message, None))]
    Upstream(UpstreamError),
    #[error("Invalid or missing admin token.")]
    AdminUnauthorized,
    #[error("`/metrics` needs `Authorization: Bearer <metrics token>`.")]
    MetricsUnauthorized,
    #[error("You are not logged in.")]
    SessionRequired,
    #[error("Your session has expired or was ended; log in again.")]
    SessionInvalid,
    #[error("Wrong username or password.")]
    LoginFailed,
    #[error("Too many failed logins to this account from this address; retry in {}s.", .retry_after.as_secs().max(1))]
    TooManyLoginFailures { retry_after: Duration },
    #[error("Too many registrations from this address; retry in {}s.", .retry_after.as_secs().max(1))]
    TooManyRegistrations { retry_after: Duration },
    #[error("Too many logins are being checked right now; retry in {}s.", .retry_after.as_secs().max(1))]
    PasswordCheckBusy { retry_after: Duration },
    #[error("This endpoint accepts only `Content-Type: {expected}`.")]
    UnsupportedMediaType { expected: &'static str },
    #[error("Missing or wrong `X-CSRF-Token` header for this session.")]
    CsrfFailed,
    #[error("{0}")]
    Forbidden(String),
    /// A key owner tried to loosen or remove a limit the operator set (self-service keys); `field` is the param.
    #[error(
        "`{field}` on this key was set by the operator: you may tighten it, not loosen or remove it."
    )]
    OperatorLimit { field: &'static str },
    #[error("You already have {max} API keys, the most allowed; delete one first.")]
    KeyLimitReached { max: usize },
    #[error("Too many changes to your API keys: at most {limit} a minute; retry in {}s.", .retry_after.as_secs().max(1))]
    KeyWritesLimited { limit: u64, retry_after: Duration },
    #[error("{what} not found.")]
    NotFound { what: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("Internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(message: impl Into<String>, param: Option<&str>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
            param: param.map(str::to_owned),
            code: None,
        }
    }

    /// (status, `type`, `code`): the type follows the status (403 `permission_error`, 429 `rate_limit_error`,
    /// 5xx `server_error`, else `invalid_request_error`), but for running out of money and 501.
    fn parts(&self) -> (StatusCode, &'static str, Option<&str>) {
        if let Self::Upstream(e) = self {
            return upstream_parts(e);
        }
        let status = self.status_code();
        let kind = match (self, status.as_u16()) {
            (Self::InsufficientQuota(_), _) => "insufficient_quota",
            (Self::NotImplemented { .. }, _) => "invalid_request_error",
            (_, 403) => "permission_error",
            (_, 429) => "rate_limit_error",
            (_, 500..) => "server_error",
            _ => "invalid_request_error",
        };
        (status, kind, self.code())
    }

    fn status_code(&self) -> StatusCode {
        use StatusCode as S;
        match self {
            Self::Upstream(e) => upstream_parts(e).0,
            Self::InvalidRequest { .. } => S::BAD_REQUEST,
            Self::BodyTooLarge { .. } => S::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout(_) => S::REQUEST_TIMEOUT,
            Self::MissingKey
            | Self::InvalidKey { .. }
            | Self::KeyExpired { .. }
            | Self::KeyDisabled { .. }
            | Self::UserDisabled
            | Self::AdminUnauthorized
            | Self::MetricsUnauthorized
            | Self::SessionRequired
            | Self::SessionInvalid
            | Self::LoginFailed => S::UNAUTHORIZED,
            Self::IpNotAllowed { .. }
            | Self::ModelNotAllowed { .. }
            | Self::ModelNotPriced { .. }
            | Self::CsrfFailed
            | Self::Forbidden(_)
            | Self::OperatorLimit { .. }
            | Self::KeyLimitReached { .. } => S::FORBIDDEN,
            Self::RouteNotFound { .. } | Self::NotFound { .. } | Self::ModelNotFound { .. } => {
                S::NOT_FOUND
            }
            Self::NotImplemented { .. } => S::NOT_IMPLEMENTED,
            Self::UnsupportedMediaType { .. } => S::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed { .. } => S::METHOD_NOT_ALLOWED,
            Self::InsufficientQuota(_)
            | Self::TooManyAuthFailures { .. }
            | Self::RateLimited { .. }
            | Self::TokenRateLimited { .. }
            | Self::TooManyLoginFailures { .. }
            | Self::TooManyRegistrations { .. }
            | Self::KeyWritesLimited { .. } => S::TOO_MANY_REQUESTS,
            Self::PasswordCheckBusy { .. } | Self::Unavailable(_) | Self::NoChannel { .. } => {
                S::SERVICE_UNAVAILABLE
            }
            Self::Conflict(_) => S::CONFLICT,
            Self::Internal(_) => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable `code` of the error body.
    fn code(&self) -> Option<&str> {
        Some(match self {
            Self::Upstream(e) => return upstream_parts(e).2,
            Self::InvalidRequest { code, .. } => return *code,
            Self::BodyTooLarge { .. } => "request_too_large",
            Self::BodyTimeout(_) => "request_timeout",
            Self::MissingKey => "missing_api_key",
            Self::InvalidKey { .. } => "invalid_api_key",
            Self::KeyExpired { .. } => "api_key_expired",
            Self::KeyDisabled { .. } => "api_key_disabled",
            Self::UserDisabled => "user_disabled",
            Self::IpNotAllowed { .. } => "ip_not_allowed",
            Self::ModelNotAllowed { .. } => "model_not_allowed",
            Self::ModelNotPriced { .. } => "model_not_priced",
            Self::ModelNotFound { .. } => "model_not_found",
            Self::NoChannel { .. } => "no_available_channel",
            Self::RouteNotFound { .. } => "unknown_url",
            Self::NotImplemented { .. } => "not_implemented",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::InsufficientQuota(_) => "insufficient_quota",
            Self::TooManyAuthFailures { .. } => "too_many_auth_failures",
            Self::RateLimited { .. } | Self::TokenRateLimited { .. } => "rate_limit_exceeded",
            Self::AdminUnauthorized => "invalid_admin_token",
            Self::MetricsUnauthorized => "invalid_metrics_token",
            Self::SessionRequired => "session_required",
            Self::SessionInvalid => "session_expired",
            Self::LoginFailed => "invalid_credentials",
            Self::TooManyLoginFailures { .. } => "too_many_login_failures",
            Self::TooManyRegistrations { .. } => "too_many_registrations",
            Self::PasswordCheckBusy { .. } => "login_busy",
            Self::CsrfFailed => "csrf_failed",
            Self::Forbidden(_) => "forbidden",
            Self::OperatorLimit { .. } => "operator_limit",
            Self::KeyLimitReached { .. } => "key_limit_reached",
            Self::KeyWritesLimited { .. } => "rate_limit_exceeded",
            Self::NotFound { .. } => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => return None,
        })
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn param(&self) -> Option<&str> {
        match self {
            Self::InvalidRequest { param, .. } => param.as_deref(),
            Self::ModelNotAllowed { .. }
            | Self::ModelNotFound { .. }
            | Self::ModelNotPriced { .. } => Some("model"),
            Self::OperatorLimit { field } => Some(field),
            _ => None,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (_, kind, code) = self.parts();
        ErrorBody::new(self.to_string(), kind, self.param(), code)
    }

    /// The Anthropic error `type` for this failure (used on `/v1/messages`).
    pub fn anthropic_type(&self) -> &'static str {
        match self.status().as_u16() {
            400 | 405 | 408 | 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            529 => "overloaded_error",
            _ => "api_error",
        }
    }

    /// The `google.rpc.Code` name Google's APIs give with this status (the Gemini routes' error shape).
    pub fn google_status(&self) -> &'static str {
        match self.status().as_u16() {
            400 | 405 | 408 | 413 | 422 => "INVALID_ARGUMENT",
            401 => "UNAUTHENTICATED",
            403 => "PERMISSION_DENIED",
            404 => "NOT_FOUND",
            409 => "ABORTED",
            429 => "RESOURCE_EXHAUSTED",
            499 => "CANCELLED",
            501 => "UNIMPLEMENTED",
            502 | 503 | 529 => "UNAVAILABLE",
            504 => "DEADLINE_EXCEEDED",
            _ => "INTERNAL",
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::TooManyAuthFailures { retry_after }
            | Self::TooManyLoginFailures { retry_after }
            | Self::TooManyRegistrations { retry_after }
            | Self::PasswordCheckBusy { retry_after }
            | Self::RateLimited { retry_after, .. }
            | Self::TokenRateLimited { retry_after, .. }
            | Self::KeyWritesLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// Upstream failures: a client mistake the upstream caught (400, 404, 413, 422) keeps its status so the client sees
/// what it did wrong; everything else is the gateway's problem (502/503/504), never the upstream's 401 (that would
/// tell the client its own key is bad).
fn upstream_parts(e: &UpstreamError) -> (StatusCode, &'static str, Option<&str>) {
    use StatusCode as S;
    match e.kind {
        UpstreamErrorKind::FirstByteTimeout(_) | UpstreamErrorKind::IdleTimeout(_) => {
            (S::GATEWAY_TIMEOUT, "server_error", Some("upstream_timeout"))
        }
        UpstreamErrorKind::Connect => {
            (S::BAD_GATEWAY, "server_error", Some("upstream_unreachable"))
        }
        UpstreamErrorKind::Protocol => (
            S::BAD_GATEWAY,
            "server_error",
            Some("bad_upstream_response"),
        ),
        UpstreamErrorKind::InvalidInput => (
            S::BAD_REQUEST,
            "invalid_request_error",
            Some("unsupported_input"),
        ),
        UpstreamErrorKind::Status(s @ (400 | 404 | 413 | 422)) => (
            S::from_u16(s).unwrap_or(S::BAD_REQUEST),
            "invalid_request_error",
            e.code.as_deref().or(Some("upstream_rejected_request")),
        ),
        UpstreamErrorKind::Status(429) => (
            S::TOO_MANY_REQUESTS,
            "rate_limit_error",
            Some("upstream_rate_limited"),
        ),
        UpstreamErrorKind::Status(401 | 403) => {
            (S::BAD_GATEWAY, "server_error", Some("upstream_auth_failed"))
        }
        UpstreamErrorKind::Status(_) => (S::BAD_GATEWAY, "server_error", Some("upstream_error")),
    }
}

/// The error body shapes of the APIs Tollgate speaks: each route answers its failures in its own protocol's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// `{"error":{"message","type","param","code"}}`.
    OpenAi,
    /// `{"type":"error","error":{"type","message"}}` (`/v1/messages`).
    Anthropic,
    /// `{"error":{"code","message","status"}}` (the Gemini routes).
    Google,
}

impl ApiError {
    /// The error's body in `shape`.
    pub fn body_in(&self, shape: ErrorShape) -> Vec<u8> {
        match shape {
            ErrorShape::OpenAi => self.body().to_json_bytes(),
            ErrorShape::Anthropic => serde_json::json!({
                "type": "error",
                "error": {"type": self.anthropic_type(), "message": self.to_string()},
            })
            .to_string()
            .into_bytes(),
            ErrorShape::Google => serde_json::json!({
                "error": {
                    "code": self.status().as_u16(),
                    "message": self.message_naming_param(),
                    "status": self.google_status(),
                },
            })
            .to_string()
            .into_bytes(),
        }
    }

    /// The message, naming the field at fault when the shape has no `param` of its own to say it (Google's).
    fn message_naming_param(&self) -> String {
        match self {
            Self::InvalidRequest {
                param: Some(param), ..
            } if !self.to_string().contains(param.as_str()) => {
                format!("{self} (at '{param}')")
            }
            _ => self.to_string(),
        }
    }

    /// The error as a response in `shape`: its status, the body, and `Retry-After` when waiting helps.
    pub fn render(&self, shape: ErrorShape) -> Response {
        let mut resp = (
            self.status(),
            [(http::header::CONTENT_TYPE, "application/json")],
            self.body_in(shape),
        )
            .into_response();
        if let Some(after) = self.retry_after()
            && let Ok(v) = HeaderValue::from_str(&after.as_secs().max(1).to_string())
        {
            resp.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.render(ErrorShape::OpenAi)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound {
                what: "Record".to_owned(),
            },
            StoreError::Conflict(what) => Self::Conflict(format!("{what} already exists.")),
            StoreError::InsufficientQuota(s) => Self::InsufficientQuota(s),
            StoreError::Overflow => Self::invalid(
                "The amount would take the balance past the largest value it can hold.",
                Some("amount"),
            ),
            other => {
                tracing::error!(error = %other, "store error");
                Self::Unavailable(
                    "The gateway's database is unavailable; try again shortly.".to_owned(),
                )
            }
        }
    }
}
