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
    #[error("{path} is part of the OpenAI API but this gateway does not offer it.")]
    NotImplemented { path: String },
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

    /// (status, `type`, `code`).
    fn parts(&self) -> (StatusCode, &'static str, Option<&str>) {
        use StatusCode as S;
        match self {
            Self::InvalidRequest { code, .. } => (S::BAD_REQUEST, "invalid_request_error", *code),
            Self::BodyTooLarge { .. } => (
                S::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                Some("request_too_large"),
            ),
            Self::BodyTimeout(_) => (
                S::REQUEST_TIMEOUT,
                "invalid_request_error",
                Some("request_timeout"),
            ),
            Self::MissingKey => (
                S::UNAUTHORIZED,
                "invalid_request_error",
                Some("missing_api_key"),
            ),
            Self::InvalidKey { .. } => (
                S::UNAUTHORIZED,
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            Self::KeyExpired { .. } => (
                S::UNAUTHORIZED,
                "invalid_request_error",
                Some("api_key_expired"),
            ),
            Self::KeyDisabled { .. } => (
                S::UNAUTHORIZED,
                "invalid_request_error",
                Some("api_key_disabled"),
            ),
            Self::UserDisabled => (
                S::UNAUTHORIZED,
                "invalid_request_error",
                Some("user_disabled"),
            ),
            Self::IpNotAllowed { .. } => (S::FORBIDDEN, "permission_error", Some("ip_not_allowed")),
            Self::ModelNotAllowed { .. } => {
                (S::FORBIDDEN, "permission_error", Some("model_not_allowed"))
            }
            Self::ModelNotFound { .. } => (
                S::NOT_FOUND,
                "invalid_request_error",
                Some("model_not_found"),
            ),
            Self::ModelNotPriced { .. } => {
                (S::FORBIDDEN, "permission_error", Some("model_not_priced"))
            }
            Self::NoChannel { .. } => (
                S::SERVICE_UNAVAILABLE,
                "server_error",
                Some("no_available_channel"),
            ),
            Self::RouteNotFound { .. } => {
                (S::NOT_FOUND, "invalid_request_error", Some("unknown_url"))
            }
            Self::NotImplemented { .. } => (
                S::NOT_IMPLEMENTED,
                "invalid_request_error",
                Some("not_implemented"),
            ),
            Self::MethodNotAllowed { .. } => (
                S::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                Some("method_not_allowed"),
            ),
            Self::InsufficientQuota(_) => (
                S::TOO_MANY_REQUESTS,
                "insufficient_quota",
                Some("insufficient_quota"),
            ),
            Self::TooManyAuthFailures { .. } => (
                S::TOO_MANY_REQUESTS,
                "rate_limit_error",
                Some("too_many_auth_failures"),
            ),
            Self::RateLimited { .. } | Self::TokenRateLimited { .. } => (
                S::TOO_MANY_REQUESTS,
                "rate_limit_error",
                Some("rate_limit_exceeded"),
            ),
            Self::Upstream(e) => upstream_parts(e),
            Self::AdminUnauthorized => (
                S::UNAUTHORIZED,
                "invalid_request_error",
                Some("invalid_admin_token"),
            ),
            Self::MetricsUnauthorized => (
                S::UNAUTHORIZED,
                "invalid_request_error",
                Some("invalid_metrics_token"),
            ),
            Self::SessionRequired => (
                S::UNAUTHORIZED,
                "invalid_request_error",
                Some("session_required"),
            ),
            Self::SessionInvalid => (
                S::UNAUTHORIZED,
                "invalid_request_error",
                Some("session_expired"),
            ),
            Self::LoginFailed => (
                S::UNAUTHORIZED,
                "invalid_request_error",
                Some("invalid_credentials"),
            ),
            Self::TooManyLoginFailures { .. } => (
                S::TOO_MANY_REQUESTS,
                "rate_limit_error",
                Some("too_many_login_failures"),
            ),
            Self::TooManyRegistrations { .. } => (
                S::TOO_MANY_REQUESTS,
                "rate_limit_error",
                Some("too_many_registrations"),
            ),
            Self::PasswordCheckBusy { .. } => {
                (S::SERVICE_UNAVAILABLE, "server_error", Some("login_busy"))
            }
            Self::UnsupportedMediaType { .. } => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request_error",
                Some("unsupported_media_type"),
            ),
            Self::CsrfFailed => (S::FORBIDDEN, "permission_error", Some("csrf_failed")),
            Self::Forbidden(_) => (S::FORBIDDEN, "permission_error", Some("forbidden")),
            Self::OperatorLimit { .. } => {
                (S::FORBIDDEN, "permission_error", Some("operator_limit"))
            }
            Self::KeyLimitReached { .. } => {
                (S::FORBIDDEN, "permission_error", Some("key_limit_reached"))
            }
            Self::KeyWritesLimited { .. } => (
                S::TOO_MANY_REQUESTS,
                "rate_limit_error",
                Some("rate_limit_exceeded"),
            ),
            Self::NotFound { .. } => (S::NOT_FOUND, "invalid_request_error", Some("not_found")),
            Self::Conflict(_) => (S::CONFLICT, "invalid_request_error", Some("conflict")),
            Self::Unavailable(_) => (S::SERVICE_UNAVAILABLE, "server_error", Some("unavailable")),
            Self::Internal(_) => (S::INTERNAL_SERVER_ERROR, "server_error", None),
        }
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut resp = (
            status,
            [(http::header::CONTENT_TYPE, "application/json")],
            self.body().to_json_bytes(),
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
