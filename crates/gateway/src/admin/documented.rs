//! What many admin and self-service operations share, declared once as types that are both what a handler
//! accepts and what the OpenAPI document says: query-parameter sets ([`utoipa::IntoParams`]; a handler accepts
//! exactly the names of the sets it documents, through [`Accepts`]) and refusal sets
//! ([`utoipa::IntoResponses`]) that an operation lists beside its own responses.

use super::schemas::ErrorBody;
use chrono::{DateTime, Utc};
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;

/// The query-parameter sets an operation documents, whose names are all it accepts (a tuple of
/// [`IntoParams`] types: `(LogFilters, Page)`).
pub trait Accepts {
    fn names() -> Vec<String>;
}

fn names_of<P: IntoParams>() -> impl Iterator<Item = String> {
    P::into_params(|| Some(ParameterIn::Query))
        .into_iter()
        .map(|p| p.name)
}

/// `Accepts` for tuples of `IntoParams` sets.
macro_rules! accepts_tuple {
    ($($set:ident),+) => {
        impl<$($set: IntoParams),+> Accepts for ($($set,)+) {
            fn names() -> Vec<String> {
                let mut names = Vec::new();
                $(names.extend(names_of::<$set>());)+
                names
            }
        }
    };
}
accepts_tuple!(A);
accepts_tuple!(A, B);
accepts_tuple!(A, B, C);
accepts_tuple!(A, B, C, D);

/// A time range: `since` inclusive, `until` exclusive.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimeRange {
    /// From this time on (inclusive); RFC 3339 or `YYYY-MM-DD`
    pub since: Option<DateTime<Utc>>,
    /// Before this time (exclusive); RFC 3339 or `YYYY-MM-DD`
    pub until: Option<DateTime<Utc>>,
}

/// The request-log filters a user and the operator share (with a [`TimeRange`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogFilters {
    /// Only this request
    pub request_id: Option<String>,
    /// Only this key's requests
    pub key_id: Option<i64>,
    /// Only this model
    pub model: Option<String>,
    /// Only this HTTP status
    pub status: Option<i64>,
}

/// The request-log filters only the operator has.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogScope {
    /// Only this user's requests
    pub user_id: Option<i64>,
    /// Only this channel's requests
    pub channel_id: Option<i64>,
}

/// A read refused for its query: a parameter it does not know or cannot read.
#[derive(utoipa::IntoResponses)]
pub enum BadQuery {
    /// Unknown or invalid query parameter (named in `param`)
    #[response(status = 400)]
    BadQuery(ErrorBody),
}

/// A self-service read refused: no usable session, or the admin token's (which has no account).
#[derive(utoipa::IntoResponses)]
pub enum SessionRefusals {
    /// Not logged in, or the session expired or the account is disabled
    #[response(status = 401)]
    NotLoggedIn(ErrorBody),
    /// The session is the admin token's, which has no account
    #[response(status = 403)]
    AdminSession(ErrorBody),
}

/// A self-service write without a usable session (its 403 is the operation's own: it names the CSRF token and
/// what else that write forbids).
#[derive(utoipa::IntoResponses)]
pub enum NotLoggedIn {
    /// Not logged in, or the session expired or the account is disabled
    #[response(status = 401)]
    NotLoggedIn(ErrorBody),
}

/// A write whose body is over `--max-body-bytes`.
#[derive(utoipa::IntoResponses)]
pub enum TooLarge {
    /// Body over the size limit
    #[response(status = 413)]
    TooLarge(ErrorBody),
}

/// A self-service key write over the per-user budget.
#[derive(utoipa::IntoResponses)]
pub enum KeyWritesLimited {
    /// Too many key changes this minute (`rate_limit_exceeded`)
    #[response(status = 429)]
    TooMany(ErrorBody),
}

/// A login-page form (`/api/auth/…`) refused for its body.
#[derive(utoipa::IntoResponses)]
pub enum FormRefusals {
    /// Body over the size limit
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body is not `application/json`
    #[response(status = 415)]
    NotJson(ErrorBody),
}
