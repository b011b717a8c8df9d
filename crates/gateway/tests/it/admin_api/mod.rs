//! The admin REST API over real HTTP: the admin guard, CRUD of every resource with PRODUCT §6's field names,
//! secrets never echoed, field-named 400s, catalog refresh on writes, logs/usage queries and channel tests.
//!
//! Each test starts a bare gateway ([`Gw::bare`](crate::harness::Gw::bare): nothing declared) and goes through
//! the harness's recording admin calls ([`Gw::get`](crate::harness::Gw::get) and friends), so that
//! [`Gw::assert_never_seen`](crate::harness::Gw::assert_never_seen) can prove a secret never left in a response.

mod channels;
mod guard;
mod keys;
mod logs;
mod prices_groups;
mod users;

use chrono::DateTime;
use serde_json::Value;
use std::collections::BTreeSet;

use crate::harness::{Gw, Resp};

fn keys_of(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// A 400 in the OpenAI shape whose `param` (or message) names `field`.
#[track_caller]
fn assert_bad_field(r: &Resp, field: &str) {
    assert_eq!(r.status, 400, "expected 400 naming `{field}`: {}", r.text);
    assert_eq!(
        r.body["error"]["type"], "invalid_request_error",
        "{}",
        r.text
    );
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        r.body["error"]["param"] == field || message.contains(field),
        "error does not name `{field}`: {}",
        r.text
    );
}

/// Each of `cases` (a body and the field it gets wrong) posted to `path` is a 400 naming that field.
async fn assert_bad_posts(gw: &Gw, path: &str, cases: &[(Value, &str)]) {
    for (body, field) in cases {
        assert_bad_field(&gw.post(path, body.clone()).await, field);
    }
}

fn assert_rfc3339(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    assert!(DateTime::parse_from_rfc3339(s).is_ok(), "not RFC 3339: {s}");
}
