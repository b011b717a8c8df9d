//! Fixture tests: the JSON shapes the proxy dialects send, the status/body matrix, URLs, and the requests built
//! (against a canned one-shot HTTP server and the midjourney-proxy mock).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;

use super::*;
use crate::test_support::read_request;

fn ctx(base: &str) -> UpstreamCtx {
    UpstreamCtx {
        extra_headers: BTreeMap::from([("x-extra".to_owned(), "1".to_owned())]),
        ..crate::test_support::ctx(base, "mj-secret")
    }
}

/// The seed's fetch answer (plus dialect, trimmed to two buttons).
const SEED_TASK: &str = r#"{"id":"172666xxxxxxxx0","action":"IMAGINE","customId":"","botType":"",
 "prompt":"cute cat girl --niji 5","promptEn":"cute cat girl --niji 5","description":"Submit success","state":"",
 "submitTime":1726667730879,"startTime":1726667732086,"finishTime":1726667765372,"imageUrl":"https://xxxxxxxx",
 "status":"SUCCESS","progress":"100%","failReason":"","buttons":[
 {"customId":"MJ::JOB::upsample::1::bab70970-d663-464b-bf49-1d0d766064c3","emoji":"","label":"U1","type":2,"style":2},
 {"customId":"MJ::JOB::reroll::0::bab70970-d663-464b-bf49-1d0d766064c3::SOLO","emoji":"🔄","label":"","type":2,"style":2}],
 "maskBase64":"","properties":{"finalPrompt":"cute cat girl --niji 5","finalZhPrompt":""}}"#;

#[test]
fn submit_result_shapes() {
    let seed = br#"{"code":1,"description":"Submit success","result":"1726667730xxxxx0",
        "properties":{"discordChannelId":"128581658337xxxxx8","discordInstanceId":"1557366047791xxxxx4"}}"#;
    let r = response::submit_result(200, seed).unwrap();
    assert_eq!(r.code, code::SUCCESS);
    assert_eq!(r.task_id(), Some("1726667730xxxxx0"));
    assert_eq!(r.properties["discordInstanceId"], "1557366047791xxxxx4");
    assert!(r.has_task());

    // A numeric id, a string code, no description or properties.
    let r = response::submit_result(200, br#"{"code":"22","result":1710670579419505}"#).unwrap();
    assert_eq!((r.code, r.description.as_str()), (22, ""));
    assert_eq!(r.task_id(), Some("1710670579419505"));
    assert_eq!(r.properties, json!({}));

    // Failures carry no id; nulls everywhere.
    let body =
        br#"{"code":24,"description":"banned","result":null,"properties":{"bannedWord":"x"}}"#;
    let r = response::submit_result(200, body).unwrap();
    assert!(!r.has_task() && r.task_id().is_none());
    let r = response::submit_result(200, br#"{"code":4,"description":null,"properties":null}"#)
        .unwrap();
    assert_eq!((r.code, r.result, r.properties), (4, None, json!({})));

    // Upload: an array of URLs.
    let r = response::submit_result(200, br#"{"code":1,"result":["https://a/1.png",2]}"#).unwrap();
    assert_eq!(r.result, Some(json!(["https://a/1.png", "2"])));
    assert_eq!(r.task_id(), None);

    // serde goes through the same lenient reading.
    let r: SubmitResult = serde_json::from_str(r#"{"code":1.0,"result":7}"#).unwrap();
    assert_eq!((r.code, r.task_id()), (1, Some("7")));
    assert!(serde_json::from_str::<SubmitResult>(r#"{"result":"7"}"#).is_err());
}

#[test]
fn submit_status_matrix() {
    // C# answers unknown parents with 404 + a code body, seed errors with 400: the body wins.
    let r = response::submit_result(404, br#"{"code":3,"description":"not found"}"#).unwrap();
    assert_eq!(r.code, code::NOT_FOUND);
    let r = response::submit_result(400, br#"{"code":4,"description":"bad"}"#).unwrap();
    assert_eq!(r.code, code::VALIDATION_ERROR);

    let status = |s: u16, body: &[u8]| response::submit_result(s, body).unwrap_err();
    let e = status(401, b"");
    assert_eq!(e.kind, UpstreamErrorKind::Status(401));
    assert!(e.disables_key());
    assert_eq!(
        status(403, b"Forbidden").kind,
        UpstreamErrorKind::Status(403)
    );
    assert_eq!(status(502, b"").kind, UpstreamErrorKind::Status(502));
    assert!(status(503, b"").is_retryable());
    let e = status(
        500,
        br#"{"timestamp":1,"status":500,"error":"Internal Server Error"}"#,
    );
    assert_eq!(e.kind, UpstreamErrorKind::Status(500));
    assert!(e.message.contains("Internal Server Error"), "{}", e.message);
    assert_eq!(status(200, b"<html>").kind, UpstreamErrorKind::Protocol);
    assert_eq!(status(200, b"").kind, UpstreamErrorKind::Protocol);
    assert_eq!(
        status(200, br#"{"ok":true}"#).kind,
        UpstreamErrorKind::Protocol
    );
}

#[test]
fn task_shapes() {
    let t = response::one_task(200, SEED_TASK.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(t.id, "172666xxxxxxxx0");
    assert_eq!(t.action.as_deref(), Some("IMAGINE"));
    assert_eq!(t.prompt_en.as_deref(), Some("cute cat girl --niji 5"));
    assert_eq!(t.submit_time, Some(1_726_667_730_879));
    assert_eq!(t.fail_reason.as_deref(), Some(""));
    assert!(t.is_finished());
    assert_eq!(t.buttons[1]["emoji"], "🔄");
    assert_eq!(t.properties["finalPrompt"], "cute cat girl --niji 5");

    // Open dialect right after submit: nulls, numeric id, string times, no buttons, unknown extras.
    let body = br#"{"id":1710670579419505,"action":"IMAGINE","status":"NOT_START","prompt":"Cat",
        "submitTime":"1710670579419","startTime":null,"finishTime":null,"progress":0,"imageUrl":null,
        "failReason":null,"state":null,"properties":{"notifyHook":null},"seed":"x","imageUrls":[{"url":"u"}]}"#;
    let t = response::one_task(200, body).unwrap().unwrap();
    assert_eq!(t.id, "1710670579419505");
    assert_eq!(
        (t.submit_time, t.start_time),
        (Some(1_710_670_579_419), None)
    );
    assert_eq!(t.progress.as_deref(), Some("0"));
    assert_eq!((&t.image_url, &t.state), (&None, &None));
    assert_eq!(t.buttons, Value::Null);
    assert!(!t.is_finished());

    // A field of a useless type is dropped, not fatal; a task needs an id.
    let t = response::one_task(200, br#"{"id":"1","status":{"x":1},"submitTime":[1]}"#)
        .unwrap()
        .unwrap();
    assert_eq!((t.status, t.submit_time), (None, None));
    assert_eq!(
        response::one_task(200, br#"{"status":"SUCCESS"}"#)
            .unwrap_err()
            .kind,
        UpstreamErrorKind::Protocol
    );

    // Round trip in camelCase.
    let out = serde_json::to_value(UpstreamTask {
        id: "9".into(),
        image_url: Some("u".into()),
        ..UpstreamTask::default()
    })
    .unwrap();
    assert_eq!(
        (out["imageUrl"].clone(), out["id"].clone()),
        (json!("u"), json!("9"))
    );
}

#[test]
fn fetch_unknown_and_errors() {
    for (status, body) in [
        (200, &b""[..]),
        (200, b"  \n"),
        (200, b"null"),
        (204, b""),
        (404, b""),
    ] {
        assert_eq!(response::one_task(status, body).unwrap(), None, "{status}");
    }
    assert_eq!(
        response::one_task(404, br#"{"code":3,"description":"x"}"#).unwrap(),
        None
    );
    assert_eq!(
        response::one_task(401, b"").unwrap_err().kind,
        UpstreamErrorKind::Status(401)
    );
    assert_eq!(
        response::one_task(200, b"<html>").unwrap_err().kind,
        UpstreamErrorKind::Protocol
    );
}

#[test]
fn list_shapes() {
    let body = format!(r#"[{SEED_TASK},{{"id":null}},{{"id":"2","status":"IN_PROGRESS"}},7]"#);
    let tasks = response::task_list(200, body.as_bytes()).unwrap();
    let ids: Vec<_> = tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["172666xxxxxxxx0", "2"]);
    assert!(response::task_list(200, b"[]").unwrap().is_empty());
    assert_eq!(
        response::task_list(200, b"").unwrap_err().kind,
        UpstreamErrorKind::Protocol
    );
    assert_eq!(
        response::task_list(200, br#"{"code":1}"#).unwrap_err().kind,
        UpstreamErrorKind::Protocol
    );
    assert_eq!(
        response::task_list(403, b"").unwrap_err().kind,
        UpstreamErrorKind::Status(403)
    );
}

#[test]
fn urls_never_double_mj() {
    let path = "/mj/submit/imagine";
    for (base, path, want) in [
        ("http://h:8080", path, "http://h:8080/mj/submit/imagine"),
        ("http://h:8080/", path, "http://h:8080/mj/submit/imagine"),
        ("http://h:8080/mj", path, "http://h:8080/mj/submit/imagine"),
        ("https://h/p/mj/", path, "https://h/p/mj/submit/imagine"),
        (
            "https://h/mj-fast",
            path,
            "https://h/mj-fast/mj/submit/imagine",
        ),
        ("http://h/mj", "mj/task/1/fetch", "http://h/mj/task/1/fetch"),
        ("http://h/mj", "/mjx", "http://h/mj/mjx"),
    ] {
        assert_eq!(url(&ctx(base), path), want, "{base} + {path}");
    }
}

#[test]
fn ids_are_one_segment() {
    assert_eq!(segment("1710670579419505").unwrap(), "1710670579419505");
    assert_eq!(segment("a/b?c").unwrap(), "a%2Fb%3Fc");
    assert_eq!(segment("a.b").unwrap(), "a%2Eb");
    for bad in ["", ".", ".."] {
        assert_eq!(
            segment(bad).unwrap_err().kind,
            UpstreamErrorKind::InvalidInput
        );
    }
}

/// Serves one canned HTTP answer per connection; hands back each raw request (head and body).
async fn canned(
    status_line: &'static str,
    body: &'static str,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let request = read_request(&mut sock).await;
            let _ = tx.send(request);
            let answer = format!(
                "HTTP/1.1 {status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(answer.as_bytes()).await;
        }
    });
    (base, rx)
}

#[tokio::test]
async fn submit_sends_secret_and_reads_any_status() {
    let (base, mut seen) = canned(
        "404 Not Found",
        r#"{"code":3,"description":"关联任务不存在或已失效"}"#,
    )
    .await;
    let c = ctx(&format!("{base}/mj"));
    let body = json!({"taskId": "1", "customId": "MJ::JOB::upsample::1::h"});
    let r = submit(&c, "/mj/submit/action", &body).await.unwrap();
    assert_eq!(
        (r.code, r.description.as_str()),
        (3, "关联任务不存在或已失效")
    );
    let request = seen.recv().await.unwrap();
    assert!(
        request.starts_with("POST /mj/submit/action HTTP/1.1\r\n"),
        "{request}"
    );
    let lower = request.to_ascii_lowercase();
    assert!(
        lower.contains("\r\nmj-api-secret: mj-secret\r\n"),
        "{request}"
    );
    assert!(lower.contains("\r\nx-extra: 1\r\n"));
    assert!(lower.contains("\r\ncontent-type: application/json\r\n"));
    assert!(request.ends_with(&body.to_string()));
}

#[tokio::test]
async fn status_without_body_is_an_error() {
    let (base, _seen) = canned("401 Unauthorized", "").await;
    let e = submit(&ctx(&base), "/mj/submit/imagine", &json!({"prompt": "cat"}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, UpstreamErrorKind::Status(401));
    let (base, _seen) = canned("503 Service Unavailable", "").await;
    let e = fetch(&ctx(&base), "1").await.unwrap_err();
    assert_eq!(e.kind, UpstreamErrorKind::Status(503));
    let (base, _seen) = canned("204 No Content", "").await;
    assert_eq!(fetch(&ctx(&base), "1").await.unwrap(), None);
}

#[tokio::test]
async fn silent_upstream_times_out_and_dead_one_is_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let _hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            open.push(sock);
        }
    });
    let mut c = ctx(&base);
    c.first_byte_timeout = Duration::from_millis(100);
    let e = image_seed(&c, "1").await.unwrap_err();
    assert!(
        matches!(e.kind, UpstreamErrorKind::FirstByteTimeout(_)),
        "{e:?}"
    );

    let e = list_by_condition(&ctx("http://127.0.0.1:9"), &["1".into()])
        .await
        .unwrap_err();
    assert_eq!(e.kind, UpstreamErrorKind::Connect);
    // No ids, no request.
    assert!(
        list_by_condition(&ctx("http://127.0.0.1:9"), &[])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn against_the_mock_proxy() {
    let mock = mock_upstream::MockUpstream::start().await.unwrap();
    mock.set_accepted_keys(Some(vec!["mj-secret".into()]));
    mock.set_mj_polls_to_finish(2);
    let c = ctx(&format!("{}/mj/", mock.base_url()));

    let r = submit(&c, "/mj/submit/imagine", &json!({"prompt": "cat"}))
        .await
        .unwrap();
    assert!(r.has_task());
    let id = r.task_id().unwrap().to_owned();
    let listed = list_by_condition(&c, &[id.clone(), "nope".into()])
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status.as_deref(), Some("SUBMITTED"));
    let done = fetch(&c, &id).await.unwrap().unwrap();
    assert!(done.is_finished());
    assert_eq!(
        done.image_url,
        Some(format!("{}/mj/images/{id}.png", mock.base_url()))
    );
    let custom_id = done.buttons[0]["customId"].as_str().unwrap();

    let body = json!({"taskId": id, "customId": custom_id});
    let up = submit(&c, "/mj/submit/action", &body).await.unwrap();
    assert_eq!(up.code, code::SUCCESS);
    let seed = image_seed(&c, &id).await.unwrap();
    assert_eq!(seed.code, code::SUCCESS);
    assert!(
        seed.task_id()
            .is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
    );
    // Unknown tasks: an empty 200 on fetch, a 404 code-3 body on image-seed.
    assert_eq!(fetch(&c, "nope").await.unwrap(), None);
    assert_eq!(image_seed(&c, "nope").await.unwrap().code, code::NOT_FOUND);

    mock.push_mj(mock_upstream::MjOutcome::Banned("gore".into()));
    let banned = submit(&c, "/mj/submit/imagine", &json!({"prompt": "gore"}))
        .await
        .unwrap();
    assert_eq!((banned.code, banned.task_id()), (code::BANNED_PROMPT, None));
    assert_eq!(banned.properties["bannedWord"], "gore");

    let recorded = mock.mj_requests();
    assert!(
        recorded
            .iter()
            .all(|r| r.header(SECRET_HEADER) == Some("mj-secret"))
    );
    assert!(recorded.iter().all(|r| r.header("x-extra") == Some("1")));
    assert_eq!(recorded[0].path, "/mj/submit/imagine");

    let mut wrong = c.clone();
    wrong.api_key = "nope".into();
    let e = submit(&wrong, "/mj/submit/imagine", &json!({"prompt": "cat"}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, UpstreamErrorKind::Status(401));
    assert!(e.disables_key());
    let e = list_by_condition(&wrong, &[id]).await.unwrap_err();
    assert_eq!(e.kind, UpstreamErrorKind::Status(401));
}
