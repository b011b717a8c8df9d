//! Small helpers the scenarios share beside the harness: reading JSON answers (one field of every item of an
//! array, the item with a given field), the usual start with a first reply, and requests several files send (an
//! admin GET, a GET with one header, a raw chat body, a chat upload that stops half way).

use crate::harness::{Gw, KEY};
use mock_upstream::{Behavior, MockUpstream, Reply};
use serde_json::Value;

/// The string `field` of every item of the array `list`, in order; panics when `list` is no array or an item's
/// `field` is no string.
pub fn strs<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    items(list)
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("no string {field} in {item}"))
        })
        .collect()
}

/// The first item of the array `list` whose `field` is `value`; panics when there is none.
pub fn find<'a>(list: &'a Value, field: &str, value: &str) -> &'a Value {
    items(list)
        .iter()
        .find(|item| item[field] == value)
        .unwrap_or_else(|| panic!("no item with {field} = {value:?} in {list}"))
}

/// The items of the array `list`; panics when it is no array.
pub fn items(list: &Value) -> &[Value] {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
}

/// `GET /api/admin{path}` as the operator: asserts a 200 and returns the JSON answer.
pub async fn admin_get(gw: &Gw, path: &str) -> Value {
    let resp = gw.admin(reqwest::Method::GET, path, None).await;
    assert_eq!(resp.status(), 200, "GET /api/admin{path}");
    resp.json().await.unwrap()
}

/// The usual deployment ([`Gw::default`]), its mock answering the first request with `reply`.
pub async fn replying(reply: Reply) -> (Gw, MockUpstream) {
    let (gw, mock) = Gw::default().await;
    mock.push(Behavior::Reply(reply));
    (gw, mock)
}

/// Bob's key.
pub const BOB: &str = "sk-bob00000000000000000000000000000000000000000000001";

/// `GET path` with one more header, `name: value`.
pub async fn get_with_header(
    gw: &Gw,
    path: &str,
    (name, value): (&str, &str),
) -> reqwest::Response {
    gw.http
        .get(gw.url(path))
        .header(name, value)
        .send()
        .await
        .unwrap()
}

/// A raw connection to `gw` that has sent Alice's chat request head, promising `content_length` bytes of body,
/// and only `body_start` of them.
pub async fn partial_chat(
    gw: &Gw,
    content_length: usize,
    body_start: &str,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut sock = tokio::net::TcpStream::connect(gw.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\n\r\n{body_start}"
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock
}

/// Alice's chat request with `body` sent as it is, JSON or not.
pub async fn chat_raw(gw: &Gw, body: &'static str) -> reqwest::Response {
    gw.http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}
