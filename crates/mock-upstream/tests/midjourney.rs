//! The mock midjourney-proxy: task lifecycle over polls, every scripted outcome, validation, the modal flow,
//! auth, `list-by-condition`, image seeds and images.
#![cfg(test)]

use mock_upstream::{MjOutcome, MockUpstream};
use reqwest::Method;
use serde_json::{Value, json};

async fn mock() -> MockUpstream {
    MockUpstream::start().await.unwrap()
}

async fn post(m: &MockUpstream, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", m.base_url()))
        .header("mj-api-secret", "mj-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

/// A `method` request to `path` on the mock, without the proxy's secret.
fn bare(m: &MockUpstream, method: Method, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().request(method, format!("{}{path}", m.base_url()))
}

async fn get(m: &MockUpstream, path: &str) -> reqwest::Response {
    bare(m, Method::GET, path)
        .header("mj-api-secret", "mj-key")
        .send()
        .await
        .unwrap()
}

async fn fetch(m: &MockUpstream, id: &str) -> Value {
    let resp = get(m, &format!("/mj/task/{id}/fetch")).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn imagine(m: &MockUpstream, prompt: &str) -> Value {
    post(
        m,
        "/mj/submit/imagine",
        json!({"prompt": prompt, "state": "s1"}),
    )
    .await
}

/// Fields `a` and `b` of `v`, to compare both at once.
fn two(v: &Value, a: &str, b: &str) -> (Value, Value) {
    (v[a].clone(), v[b].clone())
}

fn id_of(result: &Value) -> String {
    result["result"].as_str().unwrap().to_owned()
}

/// Polls until `SUCCESS` (at most 10 times).
async fn finish(m: &MockUpstream, id: &str) -> Value {
    for _ in 0..10 {
        let task = fetch(m, id).await;
        if task["status"] == "SUCCESS" {
            return task;
        }
    }
    panic!("task {id} never finished");
}

#[tokio::test]
async fn imagine_lifecycle_over_polls() {
    let m = mock().await;
    let r = imagine(&m, "cute cat").await;
    assert_eq!(
        two(&r, "code", "description"),
        (json!(1), json!("Submit success"))
    );
    let id = id_of(&r);
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_digit()));
    assert!(r["properties"]["discordInstanceId"].is_string());
    assert_eq!(m.mj_task_count(), 1);

    let peek = m.mj_task(&id).unwrap();
    assert_eq!(
        two(&peek, "status", "action"),
        (json!("NOT_START"), json!("IMAGINE"))
    );
    assert_eq!(peek["state"], "s1");
    assert_eq!(peek["description"], "/imagine cute cat");
    assert!(peek["submitTime"].as_i64().unwrap() > 1_700_000_000_000);

    let t = fetch(&m, &id).await;
    assert_eq!(
        two(&t, "status", "progress"),
        (json!("SUBMITTED"), json!("0%"))
    );
    assert!(t["startTime"].is_i64());
    let t = fetch(&m, &id).await;
    assert_eq!(
        two(&t, "status", "progress"),
        (json!("IN_PROGRESS"), json!("50%"))
    );
    assert!(t["imageUrl"].as_str().unwrap().contains("preview"));
    assert_eq!(t["buttons"], json!([]));
    let t = fetch(&m, &id).await;
    assert_eq!(
        two(&t, "status", "progress"),
        (json!("SUCCESS"), json!("100%"))
    );
    assert_eq!(
        t["imageUrl"],
        format!("{}/mj/images/{id}.png", m.base_url())
    );
    assert!(t["finishTime"].is_i64());
    assert_eq!(t["properties"]["finalPrompt"], "cute cat");
    let buttons = t["buttons"].as_array().unwrap();
    let labels: Vec<&str> = buttons
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["U1", "U2", "U3", "U4", "", "V1", "V2", "V3", "V4"]);
    let first = &buttons[0];
    let hash = first["customId"]
        .as_str()
        .unwrap()
        .rsplit("::")
        .next()
        .unwrap();
    assert_eq!(first["customId"], format!("MJ::JOB::upsample::1::{hash}"));
    assert_eq!(two(first, "type", "style"), (json!(2), json!(2)));
    assert_eq!(
        buttons[4]["customId"],
        format!("MJ::JOB::reroll::0::{hash}::SOLO")
    );
    assert_eq!(buttons[4]["emoji"], "🔄");
    assert_eq!(
        buttons[8]["customId"],
        format!("MJ::JOB::variation::4::{hash}")
    );

    // Finished tasks stay finished; the image is a real PNG.
    assert_eq!(fetch(&m, &id).await["status"], "SUCCESS");
    let img = get(&m, &format!("/mj/images/{id}.png")).await;
    assert_eq!(img.headers()["content-type"], "image/png");
    assert!(img.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));

    // The seed of a finished task; C#-style errors otherwise.
    let seed: Value = get(&m, &format!("/mj/task/{id}/image-seed"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(two(&seed, "code", "description"), (json!(1), json!("成功")));
    assert!(
        seed["result"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit())
    );
    assert_eq!(get(&m, "/mj/task/404/image-seed").await.status(), 404);

    // Everything was recorded.
    let reqs = m.mj_requests();
    assert_eq!(reqs[0].path, "/mj/submit/imagine");
    assert_eq!(reqs[0].header("mj-api-secret"), Some("mj-key"));
    assert_eq!(reqs[0].body["prompt"], "cute cat");
    assert!(m.chat_requests().is_empty());
}

#[tokio::test]
async fn actions_create_children() {
    let m = mock().await;
    m.set_mj_polls_to_finish(1);
    let parent = id_of(&imagine(&m, "cat").await);
    // Not finished yet: the action is refused without consuming the script.
    m.push_mj(MjOutcome::Queued(2));
    let grid_button =
        |t: &Value, i: usize| t["buttons"][i]["customId"].as_str().unwrap().to_owned();
    let early = post(
        &m,
        "/mj/submit/action",
        json!({"taskId": parent, "customId": "MJ::JOB::upsample::1::x"}),
    )
    .await;
    assert_eq!(
        two(&early, "code", "description"),
        (json!(4), json!("关联任务状态错误"))
    );

    let done = finish(&m, &parent).await;
    let up = post(
        &m,
        "/mj/submit/action",
        json!({"taskId": parent, "customId": grid_button(&done, 1)}),
    )
    .await;
    assert_eq!(up["code"], 22, "the queued outcome is still next");
    assert_eq!(up["properties"]["numberOfQueues"], 2);
    let up_id = id_of(&up);
    let t = fetch(&m, &up_id).await;
    assert_eq!(
        two(&t, "action", "status"),
        (json!("UPSCALE"), json!("NOT_START"))
    );
    assert_eq!(t["properties"]["parentId"], parent);
    assert_eq!(t["description"], format!("/up {parent} U2"));
    let t = finish(&m, &up_id).await;
    let solo: Vec<&str> = t["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["customId"].as_str().unwrap())
        .collect();
    assert!(
        solo.iter()
            .any(|c| c.starts_with("MJ::JOB::high_variation::1::") && c.ends_with("::SOLO"))
    );
    assert!(solo.iter().any(|c| c.starts_with("MJ::Outpaint::50::1::")));
    assert!(solo.iter().any(|c| c.starts_with("MJ::JOB::pan_left::1::")));

    for (index, action) in [(5, "VARIATION"), (4, "REROLL")] {
        let r = post(
            &m,
            "/mj/submit/action",
            json!({"taskId": parent, "customId": grid_button(&done, index)}),
        )
        .await;
        assert_eq!(r["code"], 1);
        assert_eq!(finish(&m, &id_of(&r)).await["action"], action);
    }
    // Open-API change / simple-change.
    let r = post(
        &m,
        "/mj/submit/change",
        json!({"taskId": parent, "action": "VARIATION", "index": 3}),
    )
    .await;
    assert_eq!(fetch(&m, &id_of(&r)).await["action"], "VARIATION");
    let r = post(
        &m,
        "/mj/submit/simple-change",
        json!({"content": format!("{parent} u4")}),
    )
    .await;
    assert_eq!(fetch(&m, &id_of(&r)).await["action"], "UPSCALE");
    let r = post(
        &m,
        "/mj/submit/change",
        json!({"taskId": up_id, "action": "UPSCALE", "index": 1}),
    )
    .await;
    assert_eq!(r["code"], 4, "an upscale has no grid");
    assert_eq!(m.mj_task_count(), 6);
}

#[tokio::test]
async fn validation_like_the_proxy() {
    let m = mock().await;
    m.push_mj(MjOutcome::NoAccount);
    let png = "data:image/png;base64,iVBORw0KGgo=";
    let cases = [
        (
            "/mj/submit/imagine",
            json!({"prompt": "  "}),
            4,
            "prompt不能为空",
        ),
        (
            "/mj/submit/imagine",
            json!({"prompt": "x", "base64Array": ["nope"]}),
            4,
            "base64格式错误",
        ),
        (
            "/mj/submit/action",
            json!({"customId": "MJ::JOB::upsample::1::h"}),
            4,
            "taskId不能为空",
        ),
        (
            "/mj/submit/action",
            json!({"taskId": "1"}),
            4,
            "customId不能为空",
        ),
        (
            "/mj/submit/action",
            json!({"taskId": "1", "customId": "MJ::JOB::upsample::1::h"}),
            3,
            "关联任务不存在或已失效",
        ),
        (
            "/mj/submit/blend",
            json!({"base64Array": [png]}),
            4,
            "base64List参数错误",
        ),
        (
            "/mj/submit/blend",
            json!({"base64Array": [png, png], "dimensions": "WIDE"}),
            4,
            "dimensions参数错误",
        ),
        (
            "/mj/submit/modal",
            json!({"taskId": "1"}),
            3,
            "关联任务不存在或已失效",
        ),
        ("/mj/submit/describe", json!({}), 4, "base64不能为空"),
        ("/mj/submit/shorten", json!({}), 4, "prompt不能为空"),
        (
            "/mj/insight-face/swap",
            json!({"sourceBase64": png}),
            4,
            "targetBase64不能为空",
        ),
        (
            "/mj/submit/upload-discord-images",
            json!({"base64Array": []}),
            4,
            "base64List参数错误",
        ),
    ];
    for (path, body, code, desc) in cases {
        let r = post(&m, path, body).await;
        assert_eq!(
            two(&r, "code", "description"),
            (json!(code), json!(desc)),
            "{path}"
        );
        assert_eq!(two(&r, "result", "properties"), (Value::Null, json!({})));
    }
    assert_eq!(m.mj_task_count(), 0);
    // The scripted outcome survived the refusals.
    assert_eq!(imagine(&m, "cat").await["code"], 3);

    // Valid submits of every kind.
    for (path, body, action) in [
        (
            "/mj/submit/blend",
            json!({"base64Array": [png, png], "dimensions": "PORTRAIT"}),
            "BLEND",
        ),
        ("/mj/submit/describe", json!({"base64": png}), "DESCRIBE"),
        (
            "/mj/submit/shorten",
            json!({"prompt": "a very long prompt"}),
            "SHORTEN",
        ),
        (
            "/mj/insight-face/swap",
            json!({"sourceBase64": png, "targetBase64": png}),
            "SWAP_FACE",
        ),
    ] {
        let r = post(&m, path, body).await;
        assert_eq!(r["code"], 1, "{path}");
        assert_eq!(m.mj_task(&id_of(&r)).unwrap()["action"], action);
    }
    let r = post(
        &m,
        "/mj/submit/upload-discord-images",
        json!({"base64Array": [png, png]}),
    )
    .await;
    let urls = r["result"].as_array().unwrap();
    assert_eq!(urls.len(), 2);
    assert!(
        urls[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/mj/images/", m.base_url()))
    );
    assert_eq!(m.mj_task_count(), 4);

    // Not JSON at all, or an unknown route: Spring's own errors.
    let not_json = bare(&m, Method::POST, "/mj/submit/imagine").body("x");
    assert_eq!(not_json.send().await.unwrap().status(), 400);
    assert_eq!(get(&m, "/mj/submit/imagine").await.status(), 404);
}

#[tokio::test]
async fn scripted_failures_create_no_task() {
    let m = mock().await;
    m.push_mj(MjOutcome::Banned("blood".into()));
    m.push_mj(MjOutcome::NoAccount);
    m.push_mj(MjOutcome::Validation("参数错误".into()));
    m.push_mj(MjOutcome::QueueFull);
    let r = imagine(&m, "bloody cat").await;
    assert_eq!(two(&r, "code", "result"), (json!(24), Value::Null));
    assert_eq!(r["properties"]["bannedWord"], "blood");
    assert_eq!(r["properties"]["promptEn"], "bloody cat");
    let r = imagine(&m, "cat").await;
    assert_eq!(
        two(&r, "code", "description"),
        (json!(3), json!("无可用的账号实例"))
    );
    let r = imagine(&m, "cat").await;
    assert_eq!(
        two(&r, "code", "description"),
        (json!(4), json!("参数错误"))
    );
    assert_eq!(imagine(&m, "cat").await["code"], 23);
    assert_eq!(m.mj_task_count(), 0);
    // Back to the default.
    assert_eq!(imagine(&m, "cat").await["code"], 1);
}

#[tokio::test]
async fn queued_fail_later_and_existed() {
    let m = mock().await;
    m.push_mj(MjOutcome::Queued(5));
    m.push_mj(MjOutcome::FailLater("Banned prompt detected".into()));
    m.push_mj(MjOutcome::Existed);

    let r = imagine(&m, "cat").await;
    assert_eq!(r["code"], 22);
    assert_eq!(r["properties"]["numberOfQueues"], 5);
    let queued = id_of(&r);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(fetch(&m, &queued).await["status"].clone());
    }
    assert_eq!(
        statuses,
        [
            json!("NOT_START"),
            json!("SUBMITTED"),
            json!("IN_PROGRESS"),
            json!("SUCCESS")
        ]
    );

    let failing = id_of(&imagine(&m, "cat").await);
    assert_eq!(fetch(&m, &failing).await["status"], "SUBMITTED");
    let t = fetch(&m, &failing).await;
    assert_eq!(t["status"], "FAILURE");
    assert_eq!(t["failReason"], "Banned prompt detected");
    assert_eq!(t["buttons"], json!([]));

    let r = imagine(&m, "cat").await;
    assert_eq!(
        (r["code"].clone(), r["properties"]["status"].clone()),
        (json!(21), json!("SUCCESS"))
    );
    let existed = id_of(&r);
    assert_eq!(
        r["properties"]["imageUrl"],
        format!("{}/mj/images/{existed}.png", m.base_url())
    );
    assert_eq!(m.mj_task(&existed).unwrap()["status"], "SUCCESS");
}

#[tokio::test]
async fn modal_flow() {
    let m = mock().await;
    m.set_mj_polls_to_finish(0);
    m.push_mj(MjOutcome::Modal);
    let r = imagine(&m, "cat").await;
    assert_eq!(
        two(&r, "code", "description"),
        (json!(21), json!("Waiting for window confirm"))
    );
    assert_eq!(
        r["properties"],
        json!({"discordInstanceId": r["properties"]["discordInstanceId"], "discordChannelId": r["properties"]["discordChannelId"], "finalPrompt": "cat", "remix": true})
    );
    let modal = id_of(&r);
    for _ in 0..3 {
        assert_eq!(fetch(&m, &modal).await["status"], "MODAL");
    }
    // Only a MODAL task takes a modal submit.
    let parent = id_of(&imagine(&m, "dog").await);
    assert_eq!(
        fetch(&m, &parent).await["status"],
        "SUCCESS",
        "0 polls to finish"
    );
    let bad = post(&m, "/mj/submit/modal", json!({"taskId": parent})).await;
    assert_eq!(bad["code"], 4);

    let r = post(
        &m,
        "/mj/submit/modal",
        json!({"taskId": modal, "prompt": "cat --zoom 1.5"}),
    )
    .await;
    assert_eq!(two(&r, "code", "result"), (json!(1), json!(modal)));
    let t = fetch(&m, &modal).await;
    assert_eq!(
        two(&t, "status", "prompt"),
        (json!("SUCCESS"), json!("cat --zoom 1.5"))
    );

    // Custom Zoom on an upscale needs the window by itself.
    let done = fetch(&m, &parent).await;
    let up = post(
        &m,
        "/mj/submit/action",
        json!({"taskId": parent, "customId": done["buttons"][0]["customId"]}),
    )
    .await;
    let up = fetch(&m, &id_of(&up)).await;
    let zoom = up["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["label"] == "Custom Zoom")
        .unwrap()
        .clone();
    let r = post(
        &m,
        "/mj/submit/action",
        json!({"taskId": up["id"], "customId": zoom["customId"]}),
    )
    .await;
    assert_eq!(r["code"], 21);
    let t = m.mj_task(&id_of(&r)).unwrap();
    assert_eq!(
        two(&t, "status", "action"),
        (json!("MODAL"), json!("CUSTOM_ZOOM"))
    );
}

#[tokio::test]
async fn wrong_secret_is_401_with_empty_body() {
    let m = mock().await;
    m.set_accepted_keys(Some(vec!["mj-key".into()]));
    for secret in [None, Some("wrong")] {
        let mut req = bare(&m, Method::POST, "/mj/submit/imagine").json(&json!({"prompt": "cat"}));
        if let Some(s) = secret {
            req = req.header("mj-api-secret", s);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert!(resp.bytes().await.unwrap().is_empty());
    }
    // Bearer auth is not the proxy's.
    let bearer = bare(&m, Method::GET, "/mj/task/1/fetch").bearer_auth("mj-key");
    assert_eq!(bearer.send().await.unwrap().status(), 401);
    assert_eq!(m.mj_task_count(), 0);
    assert_eq!(imagine(&m, "cat").await["code"], 1);
    // Images need no secret.
    let img = bare(&m, Method::GET, "/mj/images/x.png")
        .send()
        .await
        .unwrap();
    assert_eq!(img.status(), 200);
}

#[tokio::test]
async fn list_by_condition_omits_unknown_ids() {
    let m = mock().await;
    let a = id_of(&imagine(&m, "a").await);
    let b = id_of(&imagine(&m, "b").await);
    let list = post(
        &m,
        "/mj/task/list-by-condition",
        json!({"ids": [b, "nope", a, b]}),
    )
    .await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.as_str(), a.as_str()]);
    // Each listing is one poll of each task, even if named twice.
    assert_eq!(list[0]["status"], "SUBMITTED");
    let list = post(&m, "/mj/task/list-by-condition", json!({"ids": [a]})).await;
    assert_eq!(list[0]["status"], "IN_PROGRESS");
    assert_eq!(
        post(&m, "/mj/task/list-by-condition", json!({})).await,
        json!([])
    );
    assert_eq!(
        post(&m, "/mj/task/list-by-condition", json!({"ids": null})).await,
        json!([])
    );

    // Unknown on fetch: 200 with an empty body. Speed-mode prefixes route too.
    let resp = get(&m, "/mj/task/nope/fetch").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().is_empty());
    assert_eq!(fetch(&m, &a).await["status"], "SUCCESS");
    let r = post(&m, "/mj-fast/mj/submit/imagine", json!({"prompt": "fast"})).await;
    assert_eq!(r["code"], 1);
}
