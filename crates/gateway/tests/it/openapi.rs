//! `GET /api/openapi.json`: the generated OpenAPI document covers every admin and self-service route with the
//! right methods, path parameters and security, and every `$ref` in it resolves.

use crate::harness::Gw;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};

/// The admin (`/api/admin`) and self-service (`/api`) routes PRODUCT §6 promises, with their methods. The routers
/// and the document come from one declaration (`openapi::routes`); this list is the contract they are held to.
/// `/api/admin/prices/{*model}` is a wildcard route; OpenAPI spells it `{model}`.
const ROUTES: &[(&str, &[&str])] = &[
    ("/api/admin/channels", &["get", "post"]),
    (
        "/api/admin/channels/{id}",
        &["get", "patch", "put", "delete"],
    ),
    ("/api/admin/channels/fetch-models", &["post"]),
    ("/api/admin/channels/{id}/test", &["post"]),
    ("/api/admin/users", &["get", "post"]),
    ("/api/admin/users/{id}", &["get", "patch", "put", "delete"]),
    ("/api/admin/users/{id}/topup", &["post"]),
    ("/api/admin/keys", &["get", "post"]),
    ("/api/admin/keys/{id}", &["get", "patch", "put", "delete"]),
    ("/api/admin/prices", &["get", "post"]),
    (
        "/api/admin/prices/{model}",
        &["get", "put", "patch", "delete"],
    ),
    ("/api/admin/groups", &["get", "post"]),
    (
        "/api/admin/groups/{name}",
        &["get", "put", "patch", "delete"],
    ),
    ("/api/admin/logs", &["get"]),
    ("/api/admin/logs/export", &["get"]),
    ("/api/admin/usage", &["get"]),
    ("/api/admin/codes", &["get", "post"]),
    ("/api/admin/codes/export", &["get"]),
    ("/api/admin/codes/{id}", &["delete"]),
    ("/api/admin/mj/tasks", &["get"]),
    ("/api/auth/options", &["get"]),
    ("/api/auth/login", &["post"]),
    ("/api/auth/register", &["post"]),
    ("/api/auth/session", &["get"]),
    ("/api/auth/logout", &["post"]),
    ("/api/me", &["get"]),
    ("/api/keys", &["get", "post"]),
    ("/api/keys/{id}", &["get", "patch", "put", "delete"]),
    ("/api/logs", &["get"]),
    ("/api/usage", &["get"]),
    ("/api/redeem", &["post"]),
    ("/api/playground/models", &["get"]),
    ("/api/playground/chat/completions", &["post"]),
];

/// Self-service routes anyone may call (no session).
const PUBLIC: &[&str] = &[
    "/api/auth/options",
    "/api/auth/login",
    "/api/auth/register",
    "/api/auth/logout",
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The `{name}` placeholders of a path template.
fn placeholders(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// Every `$ref` anywhere under `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The security requirements of an operation as sets of scheme names (any one set suffices).
fn security(op: &Value) -> Vec<BTreeSet<String>> {
    op["security"]
        .as_array()
        .map(|reqs| {
            reqs.iter()
                .map(|r| r.as_object().unwrap().keys().cloned().collect())
                .collect()
        })
        .unwrap_or_default()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[tokio::test]
async fn the_openapi_document_covers_every_admin_and_self_service_route() {
    let (gw, _mock) = Gw::default().await;
    // Public: no token, no session.
    let resp = gw.get_anon("/api/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let doc: Value = resp.json().await.unwrap();

    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "openapi version {version}");
    assert_eq!(doc["info"]["title"], "Tollgate admin API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    let paths = doc["paths"].as_object().unwrap();
    let documented: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = ROUTES.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        documented,
        expected,
        "documented paths differ from the routers' (missing: {:?}, extra: {:?})",
        expected.difference(&documented).collect::<Vec<_>>(),
        documented.difference(&expected).collect::<Vec<_>>(),
    );

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["type"], "apiKey");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "tollgate_session");
    assert_eq!(schemes["csrf"]["in"], "header");
    assert_eq!(schemes["csrf"]["name"], "X-CSRF-Token");

    let mut operation_ids = HashSet::new();
    for (path, methods) in ROUTES {
        let item = paths[*path].as_object().unwrap();
        let got: BTreeSet<&str> = METHODS
            .iter()
            .copied()
            .filter(|m| item.contains_key(*m))
            .collect();
        let want: BTreeSet<&str> = methods.iter().copied().collect();
        assert_eq!(got, want, "methods of {path}");

        for method in *methods {
            let op = &item[*method];
            let what = format!("{} {path}", method.to_uppercase());

            let id = op["operationId"].as_str().unwrap().to_owned();
            assert!(
                operation_ids.insert(id.clone()),
                "{what}: operationId {id} used twice"
            );

            // Each `{name}` in the path is a required path parameter of the operation.
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for name in placeholders(path) {
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                    "{what}: path parameter `{name}` is not declared: {params:?}"
                );
            }

            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{what}: no success response"
            );
            for (status, resp) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        resp["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{what}: {status} does not answer an ErrorBody"
                    );
                }
            }

            let reqs = security(op);
            let write = *method != "get";
            if path.starts_with("/api/admin/") {
                assert!(
                    reqs.contains(&set(&["bearer"])),
                    "{what}: no bearer: {reqs:?}"
                );
                let session = if write {
                    set(&["session", "csrf"])
                } else {
                    set(&["session"])
                };
                assert!(
                    reqs.contains(&session),
                    "{what}: wants {session:?}: {reqs:?}"
                );
                assert!(responses.contains_key("401"), "{what}: no 401");
                assert!(responses.contains_key("403"), "{what}: no 403");
            } else if PUBLIC.contains(path) {
                assert!(reqs.is_empty(), "{what} is public: {reqs:?}");
            } else {
                let session = if write {
                    set(&["session", "csrf"])
                } else {
                    set(&["session"])
                };
                if *path == "/api/redeem" {
                    assert_eq!(reqs, vec![session, set(&["api_key"])], "{what}");
                } else {
                    assert_eq!(reqs, vec![session], "{what}");
                }
                assert!(responses.contains_key("401"), "{what}: no 401");
            }
        }
    }

    // Every documented operation is served: without credentials it is refused or answered, never 404/405.
    for (path, item) in paths {
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = gw.http.request(m, gw.url(&concrete)).send().await.unwrap();
            let status = resp.status().as_u16();
            assert!(
                status != 404 && status != 405,
                "{method} {concrete} is documented but answers {status}"
            );
        }
    }

    // A few statuses the handlers are known to answer.
    let status_of = |path: &str, method: &str, status: &str| {
        doc["paths"][path][method]["responses"]
            .get(status)
            .is_some()
    };
    assert!(status_of("/api/admin/channels", "post", "201"));
    assert!(status_of("/api/admin/channels/{id}", "delete", "204"));
    assert!(status_of("/api/admin/channels/{id}", "get", "404"));
    assert!(status_of("/api/admin/groups", "post", "409"));
    assert!(status_of("/api/admin/groups/{name}", "delete", "409"));
    assert!(status_of("/api/admin/keys", "post", "400"));
    assert!(status_of("/api/auth/register", "post", "201"));
    assert!(status_of("/api/auth/logout", "post", "204"));
    assert_eq!(
        doc["paths"]["/api/admin/keys"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/KeyInput"
    );
    let list_params: BTreeSet<&str> = doc["paths"]["/api/admin/logs"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        list_params,
        BTreeSet::from([
            "request_id",
            "user_id",
            "key_id",
            "model",
            "channel_id",
            "status",
            "since",
            "until",
            "limit",
            "offset"
        ])
    );

    // Every `$ref` names a schema the document defines.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "ErrorBody",
        "ChannelView",
        "KeyList",
        "LogRow",
        "Price",
        "Group",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // The error body mirrors `api_types::ErrorBody`, whose fields are always present (`null` when unset).
    assert_eq!(
        schemas["ErrorObject"]["required"],
        serde_json::json!(["message", "type", "param", "code"])
    );
    // A channel's kind is one of the texts of `ChannelKind`.
    assert_eq!(
        schemas["ChannelView"]["properties"]["kind"],
        serde_json::json!({"type": "string", "enum": ["openai", "azure", "anthropic", "gemini", "midjourney", "vertex", "bedrock"]})
    );
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "suspiciously few $refs: {}", all.len());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("$ref {r} is not a component schema"));
        assert!(schemas.contains_key(name), "$ref {r} does not resolve");
    }
}
