//! `/v1/images/edits` and `/v1/images/variations` (issue 18): multipart uploads relayed as checked, billed per image
//! like generations, with the upload endpoints' form rules (a repeated field, a non-image upload, a text field where
//! an upload goes are each a 400 naming the field, before anything is sent).

use crate::harness::{
    FormPart, Gw, KEY, channel_toml, expect_param, multipart_body, price_toml, request_id,
};
use serde_json::Value;

const TOML: &str = concat!(
    channel_toml!(
        "openai",
        "openai",
        0,
        "up-key-1",
        ["dall-e-2", "my-editor"],
        "model_mapping = { \"my-editor\" = \"dall-e-2\" }"
    ),
    crate::harness::alice_toml!(),
    // 20,000 units an image; 1024×1024 ones 30,000.
    price_toml!("dall-e-2", per_request = 20000),
    price_toml!("dall-e-2:1024x1024", per_request = 30000),
    price_toml!("my-editor", per_request = 20000),
);

const BOUNDARY: &str = "----image-upload";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake image bytes";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0 fake jpeg";

/// An uploaded PNG under the field `name`.
fn file<'a>(name: &'a str, data: &'a [u8]) -> FormPart<'a> {
    FormPart::File {
        name,
        file_name: "upload.png",
        content_type: "image/png",
        data,
    }
}

async fn upload(gw: &Gw, path: &str, parts: &[FormPart<'_>]) -> reqwest::Response {
    gw.http
        .post(gw.url(path))
        .bearer_auth(KEY)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart_body(BOUNDARY, parts))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn edits_and_variations_are_relayed_and_billed_per_image() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let edit = [
        FormPart::Text("model", "my-editor"),
        FormPart::Text("prompt", "add a red hat"),
        FormPart::Text("n", "3"),
        file("image", PNG),
        file("mask", PNG),
    ];
    let resp = upload(&gw, "/v1/images/edits", &edit).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 3);
    let row = gw.log_for(&rid).await;
    assert_eq!((row.cost, row.status), (3 * 20_000, 200));
    // The upstream got the gateway's own form: the channel's model name, the checked fields, both uploads.
    let sent = mock.requests().pop().unwrap();
    assert_eq!(sent.path, "/v1/images/edits");
    let raw = String::from_utf8_lossy(&sent.raw_body);
    assert!(raw.contains("name=\"model\"\r\n\r\ndall-e-2\r\n"), "{raw}");
    assert!(raw.contains("name=\"mask\"; filename="), "{raw}");
    assert!(
        sent.header("content-type")
            .unwrap()
            .contains("boundary=tollgate-")
    );

    // A variation of one image, priced by its size; several images for an edit as `image[]`.
    let variation = [FormPart::Text("size", "1024x1024"), file("image", PNG)];
    let resp = upload(&gw, "/v1/images/variations", &variation).await;
    assert_eq!(resp.status(), 200);
    let row = gw.log_for(&request_id(&resp)).await;
    assert_eq!((row.cost, row.model.as_deref()), (30_000, Some("dall-e-2")));
    let several = [
        FormPart::Text("prompt", "merge them"),
        file("image[]", PNG),
        file("image[]", PNG),
    ];
    let resp = upload(&gw, "/v1/images/edits", &several).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(gw.log_for(&request_id(&resp)).await.cost, 20_000);
    assert_eq!(gw.user("alice").await.spent, 60_000 + 30_000 + 20_000);
    gw.stop().await;
}

#[tokio::test]
async fn forms_that_could_mislead_or_abuse_are_refused_before_sending() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    // An edit of a PNG prompted "a", with one more text field it is refused for.
    for (field, value) in [
        // Two prompts: the gateway and the upstream could read different ones.
        ("prompt", "b"),
        ("n", "11"),
        ("n", "two"),
        ("stream", "true"),
    ] {
        let parts = [
            FormPart::Text("prompt", "a"),
            FormPart::Text(field, value),
            file("image", PNG),
        ];
        expect_param(upload(&gw, "/v1/images/edits", &parts).await, field).await;
    }
    let cases: Vec<(&str, Vec<FormPart>, &str)> = vec![
        // No image at all.
        (
            "/v1/images/edits",
            vec![FormPart::Text("prompt", "a")],
            "image",
        ),
        // Not an image: the operator's account is not a file relay.
        (
            "/v1/images/edits",
            vec![FormPart::Text("prompt", "a"), file("image", b"%PDF-1.7")],
            "image",
        ),
        // The mask must be a PNG.
        (
            "/v1/images/edits",
            vec![
                FormPart::Text("prompt", "a"),
                file("image", PNG),
                file("mask", JPEG),
            ],
            "mask",
        ),
        // An upload where a text field goes, and a text where the upload goes.
        (
            "/v1/images/edits",
            vec![file("prompt", PNG), file("image", PNG)],
            "prompt",
        ),
        (
            "/v1/images/variations",
            vec![FormPart::Text("image", "not a file")],
            "image",
        ),
        // A variation takes one image.
        (
            "/v1/images/variations",
            vec![file("image", PNG), file("image", PNG)],
            "image",
        ),
        (
            "/v1/images/edits",
            vec![FormPart::Text("prompt", ""), file("image", PNG)],
            "prompt",
        ),
    ];
    for (path, parts, param) in &cases {
        expect_param(upload(&gw, path, parts).await, param).await;
    }
    // More uploads than any model takes.
    let mut many = vec![FormPart::Text("prompt", "a")];
    many.extend((0..17).map(|_| file("image[]", PNG)));
    expect_param(upload(&gw, "/v1/images/edits", &many).await, "image[]").await;
    assert!(mock.requests().is_empty(), "nothing reached the upstream");
    assert_eq!(gw.user("alice").await.spent, 0);
    gw.stop().await;
}

#[tokio::test]
async fn a_failed_edit_costs_nothing() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.push(mock_upstream::Behavior::Status {
        status: 400,
        body: r#"{"error":{"message":"Your request was rejected by the safety system.","type":"invalid_request_error","param":null,"code":"content_policy_violation"}}"#.to_owned(),
    });
    let parts = [FormPart::Text("prompt", "a"), file("image", PNG)];
    let resp = upload(&gw, "/v1/images/edits", &parts).await;
    assert_eq!(resp.status(), 400);
    let rid = request_id(&resp);
    assert_eq!(gw.log_for(&rid).await.cost, 0);
    assert_eq!(gw.user("alice").await.spent, 0);
    gw.stop().await;
}
