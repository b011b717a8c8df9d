//! Building the one log row each request gets — except refusals before any key is known, which the log writer
//! folds into one row per client address, status and minute (see [`before_any_key`]).

use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use store::LogRow;

pub fn draft(meta: &RequestMeta, stream: bool) -> LogRow {
    LogRow {
        request_id: meta.id.clone(),
        time: meta.started_at,
        client_ip: Some(meta.client_ip.to_string()),
        stream,
        ..Default::default()
    }
}

/// Marks the row as failed with the error the client received.
pub fn fail(row: &mut LogRow, meta: &RequestMeta, err: &ApiError) {
    row.status = i64::from(err.status().as_u16());
    row.error = Some(err.to_string());
    row.latency_ms = meta.elapsed_ms();
    row.cost = 0;
}

/// A refusal of a caller Tollgate knows nothing about yet — no key or an unknown one, an address over the
/// failed-auth limit, a route that does not exist: anyone can send these by the million, so their rows are
/// folded (`LogSink::push_refusal`). A known key that is refused (disabled, expired, wrong address) keeps its row.
pub fn before_any_key(err: &ApiError) -> bool {
    matches!(
        err,
        ApiError::MissingKey
            | ApiError::InvalidKey { .. }
            | ApiError::TooManyAuthFailures { .. }
            | ApiError::RouteNotFound { .. }
            | ApiError::NotImplemented { .. }
            | ApiError::MethodNotAllowed { .. }
    )
}
