//! Midjourney tasks: CRUD and lookups, the exactly-once refund (also under concurrency), and leases.

#[macro_use]
mod backends;
mod common;
mod outcome;

use common::user_with_key;
use outcome::{conflict, not_found};
use serde_json::json;
use std::time::Duration;
use store::{MjTask, MjTaskUpdate, NewMjTask, Store};

fn new_task(upstream_id: &str, user_id: i64, key_id: i64, channel_id: i64) -> NewMjTask {
    NewMjTask {
        upstream_id: upstream_id.into(),
        user_id,
        key_id,
        channel_id,
        action: "IMAGINE".into(),
        status: "SUBMITTED".into(),
        progress: "0%".into(),
        cost: 100,
        ..NewMjTask::default()
    }
}

/// (user balance, user spent, key spent)
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn money(s: &Store, user_id: i64, key_id: i64) -> (i64, i64, i64) {
    let u = s.get_user(user_id).await.unwrap();
    let k = s.get_key(key_id).await.unwrap();
    (u.balance, u.spent, k.spent)
}

/// A task on channel 1 for the user and key, `cost` charged for it.
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn task_costing(
    s: &Store,
    upstream_id: &str,
    user_id: i64,
    key_id: i64,
    cost: i64,
) -> MjTask {
    let task = NewMjTask {
        cost,
        ..new_task(upstream_id, user_id, key_id, 1)
    };
    s.create_mj_task(&task).await.unwrap()
}

/// Charges `amount` to the user and key through the ledger, as a submission would.
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn charge(s: &Store, request_id: &str, user_id: i64, key_id: i64, amount: i64) {
    let r = s
        .reserve(request_id, user_id, key_id, amount, amount)
        .await
        .unwrap();
    assert_eq!(s.settle(&r, amount).await.unwrap(), amount);
}

on_each_backend!(false, #[tokio::test] async fn create_get_and_defaults(db) {
    let s = db.store().await;
    let t = s
        .create_mj_task(&NewMjTask {
            mode: Some(api_types::MjMode::Fast),
            prompt: Some("a cat".into()),
            state: Some("st".into()),
            notify_hook: Some("http://hook".into()),
            submit_time: Some(1_700_000_000_000),
            ..new_task("up-1", 1, 2, 3)
        })
        .await
        .unwrap();
    assert_eq!(
        (
            t.upstream_id.as_str(),
            t.user_id,
            t.key_id,
            t.channel_id,
            t.action.as_str()
        ),
        ("up-1", 1, 2, 3, "IMAGINE")
    );
    assert_eq!(t.buttons, json!([]));
    assert_eq!(t.properties, json!({}));
    assert_eq!((t.cost, t.refunded), (100, false));
    assert_eq!(t.submit_time, Some(1_700_000_000_000));
    assert_eq!((t.start_time, t.finish_time), (None, None));
    assert_eq!(t.created_at, t.updated_at);
    assert_eq!(s.get_mj_task(t.id).await.unwrap(), t);
    assert!(not_found(s.get_mj_task(t.id + 100).await));

    // Same upstream id on the same channel: conflict; on another channel: fine.
    assert!(conflict(s.create_mj_task(&new_task("up-1", 1, 2, 3)).await));
    let other = s.create_mj_task(&new_task("up-1", 1, 2, 4)).await.unwrap();
    assert_ne!(other.id, t.id);

    // JSON given on creation round-trips.
    let j = s
        .create_mj_task(&NewMjTask {
            buttons: json!([{"customId": "MJ::JOB::upsample::1", "label": "U1"}]),
            properties: json!({"finalPrompt": "a cat", "n": 1.5}),
            ..new_task("up-json", 1, 2, 3)
        })
        .await
        .unwrap();
    assert_eq!(s.get_mj_task(j.id).await.unwrap().buttons[0]["label"], "U1");
    assert_eq!(s.get_mj_task(j.id).await.unwrap().properties["n"], 1.5);
});

on_each_backend!(false, #[tokio::test] async fn find_and_list_for_user(db) {
    let s = db.store().await;
    let a1 = s.create_mj_task(&new_task("a1", 1, 10, 1)).await.unwrap();
    let a2 = s.create_mj_task(&new_task("a2", 1, 10, 1)).await.unwrap();
    let b1 = s.create_mj_task(&new_task("b1", 2, 20, 1)).await.unwrap();
    // Another channel reused `a1` for the same user: the newest wins.
    let a1_newer = s.create_mj_task(&new_task("a1", 1, 10, 2)).await.unwrap();

    assert_eq!(
        s.find_mj_task_for_user(1, "a2").await.unwrap(),
        Some(a2.clone())
    );
    assert_eq!(
        s.find_mj_task_for_user(1, "a1").await.unwrap(),
        Some(a1_newer.clone())
    );
    assert_eq!(s.find_mj_task_for_user(1, "b1").await.unwrap(), None);
    assert_eq!(s.find_mj_task_for_user(2, "a1").await.unwrap(), None);
    assert_eq!(s.find_mj_task_for_user(1, "nope").await.unwrap(), None);
    assert_eq!(
        s.find_mj_task_for_user(2, "b1").await.unwrap(),
        Some(b1.clone())
    );

    let ids: Vec<String> = ["a2", "b1", "nope", "a1", "a2"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let got = s.list_mj_tasks_for_user(1, &ids).await.unwrap();
    assert_eq!(got, vec![a2.clone(), a1_newer.clone()]);
    assert!(s.list_mj_tasks_for_user(1, &[]).await.unwrap().is_empty());
    assert_eq!(
        s.list_mj_tasks_for_user(2, &ids).await.unwrap(),
        vec![b1.clone()]
    );

    // Admin listing: newest first, with totals.
    let (all, total) = s.list_mj_tasks(None, None, 10, 0).await.unwrap();
    assert_eq!(total, 4);
    assert_eq!(
        all.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![a1_newer.id, b1.id, a2.id, a1.id]
    );
    let (page, total) = s.list_mj_tasks(Some(1), None, 1, 1).await.unwrap();
    assert_eq!((total, page), (3, vec![a2.clone()]));
    let (submitted, total) = s
        .list_mj_tasks(Some(1), Some("SUBMITTED"), 10, 0)
        .await
        .unwrap();
    assert_eq!((total, submitted.len()), (3, 3));
    let (none, total) = s.list_mj_tasks(None, Some("SUCCESS"), 10, 0).await.unwrap();
    assert_eq!((total, none.len()), (0, 0));
});

on_each_backend!(false, #[tokio::test] async fn list_for_user_handles_many_ids(db) {
    let s = db.store().await;
    for i in 0..1200 {
        s.create_mj_task(&new_task(&format!("t{i}"), 1, 1, 1))
            .await
            .unwrap();
    }
    let ids: Vec<String> = (0..1200).rev().map(|i| format!("t{i}")).collect();
    let got = s.list_mj_tasks_for_user(1, &ids).await.unwrap();
    assert_eq!(
        got.iter()
            .map(|t| t.upstream_id.clone())
            .collect::<Vec<_>>(),
        ids
    );
});

on_each_backend!(false, #[tokio::test] async fn unfinished_and_update_round_trip(db) {
    let s = db.store().await;
    let mut ids = Vec::new();
    for (i, status) in [
        "NOT_START",
        "SUCCESS",
        "SUBMITTED",
        "FAILURE",
        "IN_PROGRESS",
        "CANCEL",
        "MODAL",
    ]
    .iter()
    .enumerate()
    {
        let t = s
            .create_mj_task(&NewMjTask {
                status: (*status).into(),
                ..new_task(&format!("u{i}"), 1, 1, 1)
            })
            .await
            .unwrap();
        ids.push(t.id);
    }
    let open = |v: Vec<store::MjTask>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        open(s.unfinished_mj_tasks(100).await.unwrap()),
        vec![ids[0], ids[2], ids[4], ids[6]]
    );
    assert_eq!(
        open(s.unfinished_mj_tasks(2).await.unwrap()),
        vec![ids[0], ids[2]]
    );

    let before = s.get_mj_task(ids[0]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let after = s
        .update_mj_task(
            ids[0],
            &MjTaskUpdate {
                status: Some("SUCCESS".into()),
                progress: Some("100%".into()),
                image_url: Some(Some("https://cdn/x.png".into())),
                fail_reason: Some(None),
                buttons: Some(json!([{"customId": "a"}])),
                properties: Some(json!({"k": "v"})),
                prompt_en: Some(Some("a cat".into())),
                description: Some(Some("/imagine a cat".into())),
                start_time: Some(Some(10)),
                finish_time: Some(Some(20)),
            },
        )
        .await
        .unwrap();
    assert_eq!(after.status, "SUCCESS");
    assert_eq!(after.progress, "100%");
    assert_eq!(after.image_url.as_deref(), Some("https://cdn/x.png"));
    assert_eq!(after.fail_reason, None);
    assert_eq!(after.buttons, json!([{"customId": "a"}]));
    assert_eq!(after.properties, json!({"k": "v"}));
    assert_eq!(after.prompt_en.as_deref(), Some("a cat"));
    assert_eq!(after.description.as_deref(), Some("/imagine a cat"));
    assert_eq!((after.start_time, after.finish_time), (Some(10), Some(20)));
    assert!(after.updated_at > before.updated_at);
    assert_eq!(after.created_at, before.created_at);
    assert_eq!(s.get_mj_task(ids[0]).await.unwrap(), after);
    assert_eq!(
        open(s.unfinished_mj_tasks(100).await.unwrap()),
        vec![ids[2], ids[4], ids[6]]
    );

    // An empty update only touches updated_at; `Some(None)` clears; Null JSON becomes empty.
    let same = s
        .update_mj_task(ids[0], &MjTaskUpdate::default())
        .await
        .unwrap();
    assert_eq!(
        (same.status.as_str(), same.image_url),
        ("SUCCESS", after.image_url)
    );
    let cleared = s
        .update_mj_task(
            ids[0],
            &MjTaskUpdate {
                image_url: Some(None),
                buttons: Some(serde_json::Value::Null),
                finish_time: Some(None),
                ..MjTaskUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (cleared.image_url, cleared.buttons, cleared.finish_time),
        (None, json!([]), None)
    );
    assert!(not_found(s.update_mj_task(9999, &MjTaskUpdate::default()).await));
});

on_each_backend!(false, #[tokio::test] async fn refund_is_exact_and_once(db) {
    let s = db.store().await;
    let (u, k) = user_with_key(&s, "a", 1000, None).await;
    charge(&s, "r1", u.id, k.id, 300).await;
    assert_eq!(money(&s, u.id, k.id).await, (700, 300, 300));
    let t = task_costing(&s, "x", u.id, k.id, 120).await;

    assert!(s.refund_mj_task(t.id).await.unwrap());
    assert_eq!(money(&s, u.id, k.id).await, (820, 180, 180));
    assert!(s.get_mj_task(t.id).await.unwrap().refunded);

    // Twice: nothing moves.
    assert!(!s.refund_mj_task(t.id).await.unwrap());
    assert_eq!(money(&s, u.id, k.id).await, (820, 180, 180));

    // Cost 0: nothing to give back.
    let free = task_costing(&s, "free", u.id, k.id, 0).await;
    assert!(!s.refund_mj_task(free.id).await.unwrap());
    assert!(!s.get_mj_task(free.id).await.unwrap().refunded);
    assert_eq!(money(&s, u.id, k.id).await, (820, 180, 180));

    assert!(not_found(s.refund_mj_task(9999).await));
});

on_each_backend!(false, #[tokio::test] async fn refund_never_drives_spent_below_zero(db) {
    let s = db.store().await;
    let (u, k) = user_with_key(&s, "a", 1000, None).await;
    charge(&s, "r1", u.id, k.id, 50).await;
    let t = task_costing(&s, "x", u.id, k.id, 80).await;
    assert!(s.refund_mj_task(t.id).await.unwrap());
    assert_eq!(money(&s, u.id, k.id).await, (1030, 0, 0));
});

on_each_backend!(false, #[tokio::test] async fn refund_with_key_deleted_still_refunds_user(db) {
    let s = db.store().await;
    let (u, k) = user_with_key(&s, "a", 1000, None).await;
    charge(&s, "r1", u.id, k.id, 200).await;
    let t = task_costing(&s, "x", u.id, k.id, 200).await;
    s.delete_key(k.id).await.unwrap();
    assert!(s.refund_mj_task(t.id).await.unwrap());
    let user = s.get_user(u.id).await.unwrap();
    assert_eq!((user.balance, user.spent), (1000, 0));
    assert!(!s.refund_mj_task(t.id).await.unwrap());
    assert_eq!(s.get_user(u.id).await.unwrap().balance, 1000);
});

on_each_backend!(false, #[tokio::test] async fn refund_with_user_deleted_marks_the_task(db) {
    let s = db.store().await;
    let (u, k) = user_with_key(&s, "a", 1000, None).await;
    let t = s
        .create_mj_task(&new_task("x", u.id, k.id, 1))
        .await
        .unwrap();
    s.delete_user(u.id).await.unwrap();
    assert!(s.refund_mj_task(t.id).await.unwrap());
    assert!(s.get_mj_task(t.id).await.unwrap().refunded);
    assert!(!s.refund_mj_task(t.id).await.unwrap());
});

on_each_backend!(true, #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn concurrent_refunds_refund_once(db) {
    let s = db.store().await;
    let (u, k) = user_with_key(&s, "a", 1000, None).await;
    charge(&s, "r1", u.id, k.id, 400).await;
    let t = task_costing(&s, "x", u.id, k.id, 150).await;

    let calls: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.refund_mj_task(t.id).await })
        })
        .collect();
    let mut refunded = 0;
    for c in calls {
        if c.await.unwrap().unwrap() {
            refunded += 1;
        }
    }
    assert_eq!(refunded, 1);
    assert_eq!(money(&s, u.id, k.id).await, (750, 250, 250));
    s.close().await;
});

on_each_backend!(false, #[tokio::test] async fn lease_is_exclusive_until_expiry_and_extends_for_its_holder(db) {
    let s = db.store().await;
    // `short` is generous so a loaded CI machine never lets a lease lapse between two consecutive
    // statements; the sleeps outlast it.
    let short = Duration::from_millis(1500);
    let past_short = Duration::from_millis(1700);
    let long = Duration::from_secs(60);

    assert!(s.try_acquire_lease("poller", "a", short).await.unwrap());
    assert!(!s.try_acquire_lease("poller", "b", long).await.unwrap());
    // Other names are independent.
    assert!(s.try_acquire_lease("other", "b", long).await.unwrap());

    // a's lease runs out: b takes over and a is refused.
    tokio::time::sleep(past_short).await;
    assert!(s.try_acquire_lease("poller", "b", short).await.unwrap());
    assert!(!s.try_acquire_lease("poller", "a", long).await.unwrap());

    // b extends its lease: past the original expiry, a is still refused.
    assert!(s.try_acquire_lease("poller", "b", long).await.unwrap());
    tokio::time::sleep(past_short).await;
    assert!(!s.try_acquire_lease("poller", "a", long).await.unwrap());

    // Only the holder can release; then anyone may take it.
    assert!(!s.release_lease("poller", "a").await.unwrap());
    assert!(s.release_lease("poller", "b").await.unwrap());
    assert!(s.try_acquire_lease("poller", "a", long).await.unwrap());
});
