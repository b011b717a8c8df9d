//! Users: CRUD, top-ups and validation.

use serde_json::json;

use super::{assert_bad_field, assert_bad_posts, assert_rfc3339, keys_of, set};
use crate::harness::{Gw, assert_status, error_message};
use crate::support::strs;

#[tokio::test]
async fn users_crud_topup_and_validation() {
    let gw = Gw::bare(|_| {}).await;
    let password = "correct-horse-battery";
    let created = gw
        .post(
            "/users",
            json!({"name": "alice", "password": password, "balance": 1000}),
        )
        .await;
    assert_status(&created, 201);
    let u = &created.body;
    assert_eq!(
        keys_of(u),
        set(&[
            "id",
            "name",
            "group",
            "balance",
            "remaining",
            "spent",
            "enabled",
            "role",
            "created_at"
        ])
    );
    assert_eq!(u["name"], "alice");
    assert_eq!(u["role"], "user");
    assert_eq!(u["group"], "default");
    assert_eq!(u["balance"], 1000);
    assert_eq!(u["remaining"], 1000);
    assert_eq!(u["spent"], 0);
    assert_eq!(u["enabled"], true);
    assert_rfc3339(&u["created_at"]);
    let id = u["id"].as_i64().unwrap();
    let stored = gw.state.store.get_user(id).await.unwrap();
    let hash = stored.password_hash.unwrap();
    assert!(gateway::auth::password::verify(password, &hash));
    assert!(gw.state.catalog.snapshot().user(id).is_some());

    // Top-ups, both ways.
    let topped = gw
        .post(&format!("/users/{id}/topup"), json!({"amount": 500}))
        .await;
    assert_status(&topped, 200);
    assert_eq!(topped.body["balance"], 1500);
    assert_eq!(topped.body["remaining"], 1500);
    let deducted = gw
        .post(&format!("/users/{id}/topup"), json!({"amount": -200}))
        .await;
    assert_eq!(deducted.body["balance"], 1300);
    assert_eq!(gw.state.catalog.snapshot().user(id).unwrap().balance, 1300);
    assert_bad_field(
        &gw.post(&format!("/users/{id}/topup"), json!({"amount": 0}))
            .await,
        "amount",
    );
    assert_bad_field(
        &gw.post(&format!("/users/{id}/topup"), json!({"amount": "lots"}))
            .await,
        "amount",
    );
    assert_bad_field(
        &gw.post(&format!("/users/{id}/topup"), json!({"amount": 1.5}))
            .await,
        "amount",
    );
    assert_bad_field(
        &gw.post(&format!("/users/{id}/topup"), json!({})).await,
        "amount",
    );
    assert_status(
        &gw.post("/users/999/topup", json!({"amount": 5})).await,
        404,
    );
    // A top-up past what a 64-bit balance holds is refused and changes nothing.
    assert_bad_field(
        &gw.post(&format!("/users/{id}/topup"), json!({"amount": i64::MAX}))
            .await,
        "amount",
    );
    assert_eq!(gw.state.store.get_user(id).await.unwrap().balance, 1300);
    // Roles: `admin` or `user`, nothing else.
    let promoted = gw
        .patch(&format!("/users/{id}"), json!({"role": "admin"}))
        .await;
    assert_eq!(promoted.body["role"], "admin");
    assert_status(
        &gw.patch(&format!("/users/{id}"), json!({"role": "root"}))
            .await,
        400,
    );
    let demoted = gw
        .patch(&format!("/users/{id}"), json!({"role": "user"}))
        .await;
    assert_eq!(demoted.body["role"], "user");

    // Groups must exist; moving to an existing one works.
    assert_bad_field(
        &gw.post("/users", json!({"name": "bob", "group": "gold"}))
            .await,
        "group",
    );
    assert_status(
        &gw.post("/groups", json!({"name": "vip", "multiplier": 800}))
            .await,
        201,
    );
    let moved = gw
        .patch(
            &format!("/users/{id}"),
            json!({"group": "vip", "enabled": false}),
        )
        .await;
    assert_status(&moved, 200);
    assert_eq!(moved.body["group"], "vip");
    assert_eq!(moved.body["enabled"], false);
    assert_eq!(moved.body["balance"], 1300);
    let put = gw
        .put(
            &format!("/users/{id}"),
            json!({"balance": 42, "password": null}),
        )
        .await;
    assert_eq!(put.body["balance"], 42);
    assert_eq!(put.body["group"], "vip");
    let stored = gw.state.store.get_user(id).await.unwrap();
    assert!(stored.password_hash.is_none());

    // Validation and conflicts.
    assert_bad_posts(
        &gw,
        "/users",
        &[
            (json!({"name": "bob", "password": "short"}), "password"),
            (json!({"name": "bob", "balance": "10"}), "balance"),
            (json!({"name": "bob", "balance": -1}), "balance"),
            (json!({"balance": 1}), "name"),
            (json!({"name": "bob", "is_admin": true}), "is_admin"),
        ],
    )
    .await;
    let dup = gw.post("/users", json!({"name": "alice"})).await;
    assert_status(&dup, 409);
    assert!(error_message(&dup.body).contains("alice"));
    assert_status(&gw.get("/users/999").await, 404);
    assert_status(&gw.patch("/users/999", json!({"enabled": true})).await, 404);

    // Paging.
    for name in ["bob", "carol", "dave"] {
        assert_status(&gw.post("/users", json!({"name": name})).await, 201);
    }
    let page = gw.get("/users?limit=2&offset=1").await;
    assert_status(&page, 200);
    assert_eq!(page.body["total"], 4);
    let names = strs(&page.body["data"], "name");
    assert_eq!(names, ["bob", "carol"]);
    assert_bad_field(&gw.get("/users?limit=abc").await, "limit");
    assert_bad_field(&gw.get("/users?limit=0").await, "limit");
    assert_bad_field(&gw.get("/users?offset=-1").await, "offset");
    assert_bad_field(&gw.get("/users?limt=5").await, "limt");

    let deleted = gw.delete(&format!("/users/{id}")).await;
    assert_status(&deleted, 204);
    assert_status(&gw.get(&format!("/users/{id}")).await, 404);
    assert!(gw.state.catalog.snapshot().user(id).is_none());

    gw.assert_never_seen(password);
    gw.assert_never_seen("$argon2");
    gw.assert_never_seen("password_hash");
}
