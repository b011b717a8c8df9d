//! Request logs: batched insert, every filter, paging and totals, retention, and usage aggregation.

#[macro_use]
mod backends;

use backends::TestDb;
use chrono::{DateTime, Duration, TimeZone, Utc};
use store::{LogFilter, LogRow, Store, UsageBucket, UsageDim};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 23, 0, 0).unwrap()
}

/// 12 rows, one every 30 minutes from t0 (so they span 2025-03-01 and 2025-03-02):
/// models alternate a/b, users 1/2/3 in turn, channel 7 for even i else 8, status 500 for i % 4 == 3.
fn rows() -> Vec<LogRow> {
    (0..12_i64)
        .map(|i| LogRow {
            request_id: format!("req-{i}"),
            time: t0() + Duration::minutes(30 * i),
            user_id: Some(1 + i % 3),
            key_id: Some(10 + i % 3),
            key_name: Some("k".into()),
            channel_id: Some(if i % 2 == 0 { 7 } else { 8 }),
            model: Some(if i % 2 == 0 { "a" } else { "b" }.into()),
            upstream_model: Some("up".into()),
            prompt_tokens: 10 * i,
            cached_tokens: i,
            cache_write_tokens: i / 2,
            completion_tokens: i,
            cost: 100 + i,
            status: if i % 4 == 3 { 500 } else { 200 },
            stream: i % 2 == 1,
            retries: i % 2,
            latency_ms: 50,
            ttft_ms: (i % 2 == 1).then_some(20),
            client_ip: Some("127.0.0.1".into()),
            error: (i % 4 == 3).then(|| "boom".into()),
            count: 1,
        })
        .collect()
}

#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn seeded(db: &TestDb) -> Store {
    let s = db.store().await;
    s.insert_logs(&rows()).await.unwrap();
    s.insert_logs(&[]).await.unwrap();
    s
}

fn ids(rows: &[LogRow]) -> Vec<&str> {
    rows.iter().map(|r| r.request_id.as_str()).collect()
}

fn filter() -> LogFilter {
    LogFilter {
        limit: 100,
        ..LogFilter::default()
    }
}

/// [`filter`]'s page of `limit` rows from `offset`.
fn page(limit: i64, offset: i64) -> LogFilter {
    LogFilter {
        limit,
        offset,
        ..filter()
    }
}

/// The rows `f` picks and how many there are in all.
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn query(s: &Store, f: LogFilter) -> (Vec<LogRow>, i64) {
    s.query_logs(&f).await.unwrap()
}

on_each_backend!(false, #[tokio::test] async fn query_round_trip_and_order(db) {
    let s = seeded(db).await;
    let (got, total) = query(&s, filter()).await;
    assert_eq!(total, 12);
    let mut want = rows();
    want.reverse();
    assert_eq!(got, want);
});

on_each_backend!(false, #[tokio::test] async fn query_each_filter(db) {
    let s = seeded(db).await;
    let cases: Vec<(LogFilter, Vec<&str>)> = vec![
        (
            LogFilter {
                request_id: Some("req-4".into()),
                ..filter()
            },
            vec!["req-4"],
        ),
        (
            LogFilter {
                user_id: Some(2),
                ..filter()
            },
            vec!["req-10", "req-7", "req-4", "req-1"],
        ),
        (
            LogFilter {
                key_id: Some(12),
                ..filter()
            },
            vec!["req-11", "req-8", "req-5", "req-2"],
        ),
        (
            LogFilter {
                model: Some("b".into()),
                status: Some(200),
                ..filter()
            },
            vec!["req-9", "req-5", "req-1"],
        ),
        (
            LogFilter {
                channel_id: Some(7),
                user_id: Some(1),
                ..filter()
            },
            vec!["req-6", "req-0"],
        ),
        (
            LogFilter {
                status: Some(500),
                ..filter()
            },
            vec!["req-11", "req-7", "req-3"],
        ),
        (
            LogFilter {
                since: Some(t0() + Duration::minutes(60)),
                until: Some(t0() + Duration::minutes(150)),
                ..filter()
            },
            vec!["req-4", "req-3", "req-2"],
        ),
    ];
    for (f, want) in cases {
        let (got, total) = query(&s, f.clone()).await;
        assert_eq!(ids(&got), want, "filter {f:?}");
        assert_eq!(total, i64::try_from(want.len()).unwrap());
    }
});

on_each_backend!(false, #[tokio::test] async fn paging_and_limit_clamp(db) {
    let s = seeded(db).await;
    let (got, total) = query(&s, page(3, 2)).await;
    assert_eq!((ids(&got), total), (vec!["req-9", "req-8", "req-7"], 12));
    let of_a = LogFilter {
        model: Some("a".into()),
        ..page(4, 4)
    };
    let (got, total) = query(&s, of_a).await;
    assert_eq!((ids(&got), total), (vec!["req-2", "req-0"], 6));
    let (got, _) = query(&s, page(0, 0)).await;
    assert_eq!(ids(&got), ["req-11"]);
    let (got, _) = query(&s, page(-5, -1)).await;
    assert_eq!(ids(&got), ["req-11"]);

    // More than 1000 rows: the limit is capped.
    let many: Vec<LogRow> = (0..1005)
        .map(|i| LogRow {
            request_id: format!("m-{i}"),
            time: t0(),
            status: 200,
            ..LogRow::default()
        })
        .collect();
    s.insert_logs(&many).await.unwrap();
    let (got, total) = query(&s, page(5000, 0)).await;
    assert_eq!((got.len(), total), (1000, 1017));
    // Same time: newest insert first.
    let until = LogFilter {
        until: Some(t0() + Duration::minutes(1)),
        ..page(2, 0)
    };
    let (got, _) = query(&s, until).await;
    assert_eq!(ids(&got), ["m-1004", "m-1003"]);
});

on_each_backend!(false, #[tokio::test] async fn retention_deletes_old_rows(db) {
    let s = seeded(db).await;
    assert_eq!(
        s.delete_logs_before(t0() + Duration::minutes(90))
            .await
            .unwrap(),
        3
    );
    let (got, total) = query(&s, filter()).await;
    assert_eq!(total, 9);
    assert_eq!(got.last().unwrap().request_id, "req-3");
});

fn totals(requests: i64, prompt: i64, completion: i64, cost: i64) -> UsageBucket {
    UsageBucket {
        requests,
        prompt_tokens: prompt,
        completion_tokens: completion,
        cost,
        ..UsageBucket::default()
    }
}

/// `bucket` as the bucket of `model`.
fn in_model(model: &str, bucket: UsageBucket) -> UsageBucket {
    UsageBucket {
        model: Some(model.into()),
        ..bucket
    }
}

/// `bucket` as the bucket of `day`.
fn in_day(day: &str, bucket: UsageBucket) -> UsageBucket {
    UsageBucket {
        day: Some(day.into()),
        ..bucket
    }
}

on_each_backend!(false, #[tokio::test] async fn usage_grouping(db) {
    let s = seeded(db).await;
    // i = 0..12: prompt 10*i (sum 660), completion i (sum 66), cost 100+i (sum 1266).
    assert_eq!(
        s.usage(&[], None, None).await.unwrap(),
        [totals(12, 660, 66, 1266)]
    );

    let by_model = s.usage(&[UsageDim::Model], None, None).await.unwrap();
    // a: i even (0+2+..+10 = 30), b: i odd (36).
    assert_eq!(
        by_model,
        [
            in_model("a", totals(6, 300, 30, 630)),
            in_model("b", totals(6, 360, 36, 636)),
        ]
    );

    // 23:00 and 23:30 fall on 03-01, the rest on 03-02.
    let by_day = s.usage(&[UsageDim::Day], None, None).await.unwrap();
    assert_eq!(
        by_day,
        [
            in_day("2025-03-01", totals(2, 10, 1, 201)),
            in_day("2025-03-02", totals(10, 650, 65, 1065)),
        ]
    );

    let both = s
        .usage(&[UsageDim::Day, UsageDim::Model, UsageDim::Day], None, None)
        .await
        .unwrap();
    assert_eq!(both.len(), 4);
    assert_eq!(
        both[0],
        in_day("2025-03-01", in_model("a", totals(1, 0, 0, 100)))
    );

    let by_user_channel = s
        .usage(&[UsageDim::User, UsageDim::Channel], None, None)
        .await
        .unwrap();
    assert_eq!(by_user_channel.len(), 6);
    assert_eq!(
        (by_user_channel[0].user_id, by_user_channel[0].channel_id),
        (Some(1), Some(7))
    );

    // [since, until): rows 2, 3, 4.
    let window = s
        .usage(
            &[],
            Some(t0() + Duration::minutes(60)),
            Some(t0() + Duration::minutes(150)),
        )
        .await
        .unwrap();
    assert_eq!(window, [totals(3, 90, 9, 309)]);
    let empty = s
        .usage(&[UsageDim::Model], Some(t0() + Duration::days(30)), None)
        .await
        .unwrap();
    assert!(empty.is_empty());

    // One user's usage is that user's share of the totals.
    let by_user = s.usage(&[UsageDim::User], None, None).await.unwrap();
    let first = &by_user[0];
    let own = s.usage_of(first.user_id, &[], None, None).await.unwrap();
    assert_eq!(
        own,
        [totals(first.requests, first.prompt_tokens, first.completion_tokens, first.cost)]
    );
    assert!(first.requests < 12);
});

on_each_backend!(false, #[tokio::test] async fn folded_refusals_add_to_their_row_count(db) {
    let s = seeded(db).await;
    let refusal = LogRow {
        request_id: "req-refused".into(),
        time: t0(),
        status: 401,
        ..LogRow::default()
    };
    assert_eq!(refusal.count, 1, "a row stands for one request by default");
    s.insert_logs(std::slice::from_ref(&refusal)).await.unwrap();
    s.add_log_counts(&[("req-refused".into(), 41), ("req-refused".into(), 958)])
        .await
        .unwrap();
    s.add_log_counts(&[]).await.unwrap();
    let refused = LogFilter {
        request_id: Some("req-refused".into()),
        ..filter()
    };
    let (got, _) = query(&s, refused).await;
    assert_eq!(got[0].count, 1000);
    // Usage counts the requests a row stands for: 12 seeded rows plus 1000 refusals.
    let all = s.usage(&[], None, None).await.unwrap();
    assert_eq!(all[0].requests, 1012);
});
