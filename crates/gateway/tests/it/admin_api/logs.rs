//! Logs: filters, CSV export and usage aggregation.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use store::LogRow;

use super::{assert_bad_field, assert_rfc3339, keys_of, set};
use crate::harness::{Gw, assert_status};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// User 1's key 11, "laptop": user id, key id, key name.
const LAPTOP: (i64, i64, &str) = (1, 11, "laptop");
/// User 2's key 12, "ci".
const CI: (i64, i64, &str) = (2, 12, "ci");

/// An otherwise empty row of `request_id` at `time` through `key` (user id, key id, key name).
fn row(request_id: &str, time: &str, (user_id, key_id, key_name): (i64, i64, &str)) -> LogRow {
    LogRow {
        request_id: request_id.into(),
        time: at(time),
        user_id: Some(user_id),
        key_id: Some(key_id),
        key_name: Some(key_name.into()),
        ..LogRow::default()
    }
}

fn log_rows() -> Vec<LogRow> {
    vec![
        LogRow {
            channel_id: Some(7),
            model: Some("gpt-4o".into()),
            upstream_model: Some("gpt-4o-2024-08-06".into()),
            prompt_tokens: 10,
            cached_tokens: 2,
            cache_write_tokens: 3,
            completion_tokens: 5,
            cost: 100,
            status: 200,
            stream: true,
            retries: 1,
            latency_ms: 120,
            ttft_ms: Some(30),
            client_ip: Some("10.0.0.1".into()),
            error: None,
            count: 1,
            ..row("req_a", "2024-05-01T10:00:00Z", LAPTOP)
        },
        LogRow {
            channel_id: Some(8),
            model: Some("gpt-4o-mini".into()),
            prompt_tokens: 20,
            completion_tokens: 4,
            cost: 10,
            status: 200,
            latency_ms: 80,
            ..row("req_b", "2024-05-01T12:00:00Z", LAPTOP)
        },
        LogRow {
            model: Some("gpt-4o".into()),
            status: 429,
            error: Some("quota, \"exhausted\"".into()),
            ..row("req_c", "2024-05-02T09:00:00Z", CI)
        },
    ]
}

#[tokio::test]
async fn logs_filters_export_and_usage() {
    // The rows are from 2024: keep them (the default 90-day retention would delete them at start).
    let gw = Gw::bare(|s| s.log_retention_days = None).await;
    gw.state.store.insert_logs(&log_rows()).await.unwrap();

    let all = gw.get("/logs").await;
    assert_status(&all, 200);
    assert_eq!(all.body["total"], 3);
    let rows = all.body["data"].as_array().unwrap();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["req_c", "req_b", "req_a"], "newest first");
    let a = &rows[2];
    assert_eq!(
        keys_of(a),
        set(&[
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
            "cache_write_tokens",
            "completion_tokens",
            "cost",
            "status",
            "stream",
            "retries",
            "latency_ms",
            "ttft_ms",
            "client_ip",
            "error",
            "count"
        ])
    );
    assert_rfc3339(&a["time"]);
    assert_eq!(at(a["time"].as_str().unwrap()), at("2024-05-01T10:00:00Z"));
    assert_eq!(a["upstream_model"], "gpt-4o-2024-08-06");
    assert_eq!(a["cached_tokens"], 2);
    assert_eq!(a["cache_write_tokens"], 3);
    assert_eq!(a["stream"], true);
    assert_eq!(a["ttft_ms"], 30);
    assert_eq!(a["client_ip"], "10.0.0.1");
    assert_eq!(a["error"], Value::Null);
    assert_eq!(a["count"], 1);

    let count = |path: String| {
        let gw = &gw;
        async move {
            let r = gw.get(&path).await;
            assert_status(&r, 200);
            let ids: Vec<String> = r.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["request_id"].as_str().unwrap().to_owned())
                .collect();
            (r.body["total"].as_i64().unwrap(), ids)
        }
    };
    assert_eq!(count("/logs?user_id=1".into()).await.0, 2);
    assert_eq!(count("/logs?key_id=12".into()).await.1, ["req_c"]);
    assert_eq!(
        count("/logs?model=gpt-4o".into()).await.1,
        ["req_c", "req_a"]
    );
    assert_eq!(count("/logs?channel_id=8".into()).await.1, ["req_b"]);
    assert_eq!(count("/logs?status=429".into()).await.1, ["req_c"]);
    assert_eq!(count("/logs?request_id=req_b".into()).await.1, ["req_b"]);
    assert_eq!(
        count("/logs?since=2024-05-01T11:00:00Z&until=2024-05-02T00:00:00%2B00:00".into())
            .await
            .1,
        ["req_b"]
    );
    assert_eq!(count("/logs?since=2024-05-02".into()).await.1, ["req_c"]);
    let (total, page) = count("/logs?limit=1&offset=1".into()).await;
    assert_eq!((total, page), (3, vec!["req_b".to_owned()]));
    assert_eq!(
        count("/logs?user_id=1&model=gpt-4o-mini".into()).await.1,
        ["req_b"]
    );
    assert_bad_field(&gw.get("/logs?since=yesterday").await, "since");
    assert_bad_field(&gw.get("/logs?until=2024-13-01T00:00:00Z").await, "until");
    assert_bad_field(&gw.get("/logs?user_id=alice").await, "user_id");
    assert_bad_field(&gw.get("/logs?user=1").await, "user");
    assert_bad_field(
        &gw.get("/logs?since=2024-05-02T00:00:00Z&until=2024-05-01T00:00:00Z")
            .await,
        "until",
    );

    // CSV export with the same filters.
    let csv = gw.get("/logs/export").await;
    assert_status(&csv, 200);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "request_id,time,user_id,key_id,key_name,channel_id,model,upstream_model,prompt_tokens,cached_tokens,\
         completion_tokens,cost,status,stream,retries,latency_ms,ttft_ms,client_ip,error,count,cache_write_tokens"
    );
    assert_eq!(lines.len(), 4);
    // Each check of a row, and the row: the newest first with its quoted error; the cached one, ending with its
    // count, then its cache writes.
    for (holds, row) in [
        (lines[1].starts_with("req_c,2024-05-02T09:00:00"), lines[1]),
        (
            lines[1].ends_with(",\"quota, \"\"exhausted\"\"\",1,0"),
            lines[1],
        ),
        (
            lines[3].contains(
                ",laptop,7,gpt-4o,gpt-4o-2024-08-06,10,2,5,100,200,true,1,120,30,10.0.0.1,",
            ),
            lines[3],
        ),
        (lines[3].ends_with(",1,3"), lines[3]),
    ] {
        assert!(holds, "{row}");
    }
    let filtered = gw.get("/logs/export?user_id=2").await;
    assert_eq!(filtered.text.lines().count(), 2);
    assert_bad_field(&gw.get("/logs/export?since=soon").await, "since");

    // Usage.
    let by_day_model = gw.get("/usage?group_by=day,model").await;
    assert_status(&by_day_model, 200);
    let buckets = by_day_model.body["data"].as_array().unwrap();
    assert_eq!(buckets.len(), 3);
    assert_eq!(
        keys_of(&buckets[0]),
        set(&[
            "day",
            "model",
            "requests",
            "prompt_tokens",
            "completion_tokens",
            "cost"
        ])
    );
    assert_eq!(
        buckets[0],
        json!({"day": "2024-05-01", "model": "gpt-4o", "requests": 1, "prompt_tokens": 10, "completion_tokens": 5, "cost": 100})
    );
    assert_eq!(buckets[2]["day"], "2024-05-02");
    let by_user = gw.get("/usage?group_by=user").await;
    assert_eq!(
        by_user.body["data"],
        json!([
            {"user_id": 1, "requests": 2, "prompt_tokens": 30, "completion_tokens": 9, "cost": 110},
            {"user_id": 2, "requests": 1, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0}
        ])
    );
    let by_channel = gw
        .get("/usage?group_by=channel&since=2024-05-01T11:00:00Z")
        .await;
    assert_eq!(
        by_channel.body["data"],
        json!([
            {"channel_id": null, "requests": 1, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0},
            {"channel_id": 8, "requests": 1, "prompt_tokens": 20, "completion_tokens": 4, "cost": 10}
        ])
    );
    let total = gw.get("/usage").await;
    assert_eq!(
        total.body["data"],
        json!([{"requests": 3, "prompt_tokens": 30, "completion_tokens": 9, "cost": 110}])
    );
    assert_bad_field(&gw.get("/usage?group_by=week").await, "group_by");
    assert_bad_field(&gw.get("/usage?until=never").await, "until");
}
