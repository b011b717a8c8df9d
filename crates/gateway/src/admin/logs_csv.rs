//! `GET /api/admin/logs/export`: the filtered log rows as CSV (RFC 4180), newest first, at most 100 000 rows.
//! Text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) are prefixed with `'`.

use super::extract::{MAX_LIMIT, Params};
use super::logs::{Filters, filter};
use crate::error::ApiError;
use crate::state::AppState;
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use store::{LogFilter, LogRow};

const MAX_ROWS: usize = 100_000;

const COLUMNS: [&str; 21] = [
    "request_id",
    "time",
    "user_id",
    "key_id",
    "key_name",
    "channel_id",
    "model",
    "upstream_model",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "cost",
    "status",
    "stream",
    "retries",
    "latency_ms",
    "ttft_ms",
    "client_ip",
    "error",
    "count",
    "cache_write_tokens",
];

/// The filtered log rows as CSV (RFC 4180), newest first, at most `MAX_ROWS`.
pub(super) async fn export(state: &AppState, params: Params) -> Result<Response, ApiError> {
    let mut f = filter(params.accepts::<Filters>()?)?;
    // Pin the end of the range so rows written while paging do not shift the pages.
    f.until = Some(f.until.map_or_else(Utc::now, |u| u.min(Utc::now())));
    f.limit = MAX_LIMIT;
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    let mut written = 0;
    while written < MAX_ROWS {
        let (rows, _) = state
            .store
            .query_logs(&LogFilter {
                offset: i64::try_from(written).unwrap_or(i64::MAX),
                ..f.clone()
            })
            .await?;
        for row in rows.iter().take(MAX_ROWS - written) {
            write_row(&mut out, row);
        }
        written += rows.len();
        if rows.len() < usize::try_from(MAX_LIMIT).unwrap_or(usize::MAX) {
            break;
        }
    }
    Ok(csv_attachment("tollgate-logs.csv", out))
}

/// `csv` as a download named `filename` (an ASCII name without quotes).
pub fn csv_attachment(filename: &str, csv: String) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (http::header::CONTENT_DISPOSITION, disposition.as_str()),
        ],
        csv,
    )
        .into_response()
}

fn write_row(out: &mut String, r: &LogRow) {
    let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let cells = [
        text(&r.request_id),
        r.time.to_rfc3339_opts(SecondsFormat::Millis, true),
        num(r.user_id),
        num(r.key_id),
        r.key_name.as_deref().map(text).unwrap_or_default(),
        num(r.channel_id),
        r.model.as_deref().map(text).unwrap_or_default(),
        r.upstream_model.as_deref().map(text).unwrap_or_default(),
        r.prompt_tokens.to_string(),
        r.cached_tokens.to_string(),
        r.completion_tokens.to_string(),
        r.cost.to_string(),
        r.status.to_string(),
        r.stream.to_string(),
        r.retries.to_string(),
        r.latency_ms.to_string(),
        num(r.ttft_ms),
        r.client_ip.as_deref().map(text).unwrap_or_default(),
        r.error.as_deref().map(text).unwrap_or_default(),
        r.count.to_string(),
        r.cache_write_tokens.to_string(),
    ];
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

/// One text cell: formula-neutralised, quoted when it holds a separator, quote or line break.
fn text(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn quotes_and_neutralises_cells() {
        assert_eq!(text("gpt-4o"), "gpt-4o");
        assert_eq!(text("a,b"), "\"a,b\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("=cmd()"), "'=cmd()");
        assert_eq!(text("line\nbreak"), "\"line\nbreak\"");
    }
}
