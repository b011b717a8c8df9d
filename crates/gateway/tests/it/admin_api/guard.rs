//! The admin guard: every route wants the admin token, and repeated bad tokens are rate limited.

use reqwest::Method;

use super::{keys_of, set};
use crate::harness::{ADMIN, Gw, assert_status};

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/channels"),
    ("POST", "/channels"),
    ("GET", "/channels/1"),
    ("PATCH", "/channels/1"),
    ("PUT", "/channels/1"),
    ("DELETE", "/channels/1"),
    ("POST", "/channels/1/test"),
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/1"),
    ("PATCH", "/users/1"),
    ("PUT", "/users/1"),
    ("DELETE", "/users/1"),
    ("POST", "/users/1/topup"),
    ("GET", "/keys"),
    ("POST", "/keys"),
    ("GET", "/keys/1"),
    ("PATCH", "/keys/1"),
    ("PUT", "/keys/1"),
    ("DELETE", "/keys/1"),
    ("GET", "/prices"),
    ("POST", "/prices"),
    ("GET", "/prices/gpt-4o"),
    ("PUT", "/prices/gpt-4o"),
    ("PATCH", "/prices/gpt-4o"),
    ("DELETE", "/prices/gpt-4o"),
    ("GET", "/groups"),
    ("POST", "/groups"),
    ("GET", "/groups/default"),
    ("PUT", "/groups/default"),
    ("PATCH", "/groups/default"),
    ("DELETE", "/groups/vip"),
    ("GET", "/logs"),
    ("GET", "/logs/export"),
    ("GET", "/usage"),
];

#[tokio::test]
async fn every_route_requires_the_admin_token() {
    let gw = Gw::bare(|s| s.auth_failure_limit = 0).await;
    for (method, path) in ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let attempts = [
            gw.admin_req(method.clone(), path),
            gw.admin_req(method.clone(), path)
                .bearer_auth("wrong-token"),
            gw.admin_req(method.clone(), path)
                .header("authorization", format!("Basic {ADMIN}")),
            gw.admin_req(method.clone(), path)
                .header("x-api-key", ADMIN),
        ];
        for req in attempts {
            let r = gw
                .send(req.header("content-type", "application/json").body("{}"))
                .await;
            assert_eq!(r.status, 401, "{method} {path}: {}", r.text);
            assert_eq!(keys_of(&r.body), set(&["error"]), "{}", r.text);
            assert_eq!(
                keys_of(&r.body["error"]),
                set(&["message", "type", "param", "code"])
            );
            assert_eq!(r.body["error"]["type"], "invalid_request_error");
            assert_eq!(r.body["error"]["code"], "invalid_admin_token");
        }
    }
    // Nothing was written by the refused calls.
    let users = gw.get("/users").await;
    assert_status(&users, 200);
    assert_eq!(users.body["total"], 0);
    let groups = gw.get("/groups").await;
    assert_eq!(groups.body["data"][0]["name"], "default");
}

#[tokio::test]
async fn repeated_bad_admin_tokens_are_rate_limited() {
    let gw = Gw::bare(|s| s.auth_failure_limit = 3).await;
    for _ in 0..3 {
        let r = gw
            .send(gw.admin_req(Method::GET, "/users").bearer_auth("guess"))
            .await;
        assert_status(&r, 401);
    }
    let r = gw
        .send(gw.admin_req(Method::GET, "/users").bearer_auth("guess"))
        .await;
    assert_status(&r, 429);
    assert_eq!(r.body["error"]["code"], "too_many_auth_failures");
}
