//! Prices and groups.

use serde_json::{Value, json};

use super::{assert_bad_field, assert_bad_posts};
use crate::harness::{Gw, assert_status, error_message};
use crate::support::strs;

#[tokio::test]
async fn prices_and_groups() {
    let gw = Gw::bare(|_| {}).await;
    let created = gw
        .post(
            "/prices",
            json!({"model": "gpt-4o", "input_per_million": 2_500_000, "output_per_million": 10_000_000}),
        )
        .await;
    assert_status(&created, 201);
    assert_eq!(
        created.body,
        json!({"model": "gpt-4o", "input_per_million": 2_500_000, "cached_input_per_million": null, "cache_write_per_million": null, "cache_write_1h_per_million": null, "audio_input_per_million": null, "audio_output_per_million": null, "output_per_million": 10_000_000, "per_request": null, "max_output_tokens": null})
    );
    assert_status(
        &gw.post("/prices", json!({"model": "*", "per_request": 10}))
            .await,
        201,
    );
    let default = gw.get("/prices/*").await;
    assert_status(&default, 200);
    assert_eq!(default.body["per_request"], 10);
    assert!(gw.state.catalog.snapshot().price("unknown-model").is_some());

    // Model names with a slash; PUT replaces, PATCH merges.
    let path = "/prices/meta-llama/Llama-3-70b";
    let put = gw
        .put(
            path,
            json!({"input_per_million": 100, "output_per_million": 200}),
        )
        .await;
    assert_status(&put, 201);
    assert_eq!(put.body["model"], "meta-llama/Llama-3-70b");
    let patched = gw.patch(path, json!({"output_per_million": 300})).await;
    assert_status(&patched, 200);
    assert_eq!(patched.body["input_per_million"], 100);
    assert_eq!(patched.body["output_per_million"], 300);
    let cleared = gw.patch(path, json!({"input_per_million": null})).await;
    assert_eq!(cleared.body["input_per_million"], Value::Null);
    assert_eq!(cleared.body["output_per_million"], 300);
    let replaced = gw
        .put(
            path,
            json!({"model": "meta-llama/Llama-3-70b", "per_request": 7}),
        )
        .await;
    assert_status(&replaced, 200);
    assert_eq!(replaced.body["output_per_million"], Value::Null);
    assert_eq!(replaced.body["per_request"], 7);
    assert_eq!(gw.get(path).await.body["per_request"], 7);
    let list = gw.get("/prices").await;
    assert_eq!(list.body["total"], 3);

    assert_bad_posts(
        &gw,
        "/prices",
        &[
            (
                json!({"model": "x", "input_per_million": -1}),
                "input_per_million",
            ),
            (json!({"model": "x"}), "per_million"),
            (json!({"model": "x", "per_request": null}), "per_request"),
            (json!({"input_per_million": 1}), "model"),
            (
                json!({"model": "x", "output_per_million": "1"}),
                "output_per_million",
            ),
        ],
    )
    .await;
    assert_bad_field(
        &gw.put("/prices/a", json!({"model": "b", "per_request": 1}))
            .await,
        "model",
    );
    assert_status(&gw.delete(path).await, 204);
    assert_status(&gw.get(path).await, 404);
    assert_status(&gw.delete(path).await, 404);

    // Groups.
    let vip = gw
        .post("/groups", json!({"name": "vip", "multiplier": 1500}))
        .await;
    assert_status(&vip, 201);
    assert_eq!(
        vip.body,
        json!({"name": "vip", "multiplier": 1500, "rpm_limit": null, "tpm_limit": null})
    );
    assert_eq!(gw.state.catalog.snapshot().multiplier("vip"), 1500);
    let dup = gw
        .post("/groups", json!({"name": "vip", "multiplier": 1}))
        .await;
    assert_status(&dup, 409);
    assert_eq!(dup.body["error"]["code"], "conflict");
    let changed = gw.put("/groups/vip", json!({"multiplier": 800})).await;
    assert_status(&changed, 200);
    assert_eq!(changed.body["multiplier"], 800);
    assert_eq!(gw.state.catalog.snapshot().multiplier("vip"), 800);
    let unchanged = gw.patch("/groups/vip", json!({})).await;
    assert_eq!(unchanged.body["multiplier"], 800);
    let new = gw.patch("/groups/staff", json!({"multiplier": 0})).await;
    assert_status(&new, 201);
    let groups = gw.get("/groups").await;
    assert_eq!(groups.body["total"], 3);
    let names = strs(&groups.body["data"], "name");
    assert_eq!(names, ["default", "staff", "vip"]);
    assert_eq!(gw.get("/groups/default").await.body["multiplier"], 1000);

    assert_bad_posts(
        &gw,
        "/groups",
        &[
            (json!({"name": "x", "multiplier": -1}), "multiplier"),
            (json!({"name": "x", "multiplier": 1.5}), "multiplier"),
            (json!({"name": "has space"}), "name"),
        ],
    )
    .await;
    assert_bad_field(
        &gw.put("/groups/vip", json!({"name": "gold"})).await,
        "name",
    );
    assert_status(&gw.get("/groups/nope").await, 404);

    // A group in use cannot go; the default group never.
    assert_status(
        &gw.post("/users", json!({"name": "ann", "group": "vip"}))
            .await,
        201,
    );
    let busy = gw.delete("/groups/vip").await;
    assert_status(&busy, 409);
    assert!(error_message(&busy.body).contains("vip"));
    assert_status(&gw.delete("/groups/default").await, 409);
    assert_status(&gw.delete("/groups/staff").await, 204);
    assert_status(&gw.delete("/groups/staff").await, 404);
}
