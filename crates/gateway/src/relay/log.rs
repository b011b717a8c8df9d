//! Building the one log row each request gets.

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
