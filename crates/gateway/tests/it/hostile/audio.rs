//! Attacks on audio transcriptions: uploads whose size says little of their length (low-bitrate Opus, a WAV
//! header), formats that report no duration, and forms that say one thing to the gateway and another to the
//! upstream. The bill is what the upstream reports (tokens, or the `verbose_json` duration), else the file's own
//! header; a repeated single-value field is refused before anything is sent.

use crate::harness::{
    FormPart, Gw, KEY, assert_content_type, channel_toml, error_message, expect_error,
    expect_param, key_toml, multipart_body, price_toml, request_id, user_toml,
};
use crate::support::BOB;
use mock_upstream::MockUpstream;

const TOML: &str = concat!(
    channel_toml!(
        "openai",
        "openai",
        0,
        "up-key-1",
        [
            "whisper-1",
            "whisper-fast",
            "gpt-4o-transcribe",
            "local-stt"
        ],
        "model_mapping = { \"whisper-fast\" = \"whisper-1\" }"
    ),
    crate::harness::alice_toml!(),
    user_toml!("bob", 10000),
    key_toml!(
        "bob-key",
        "bob",
        "sk-bob00000000000000000000000000000000000000000000001"
    ),
    // 100 micro-units a second.
    price_toml!("whisper-1", 100000000),
    price_toml!("whisper-fast", 100000000),
    // 6 a token in, 10 a token out.
    price_toml!("gpt-4o-transcribe", 6000000, 10000000),
    // 50 a second.
    price_toml!("local-stt", 50000000),
);

const BOUNDARY: &str = "----hostile-audio";

/// One part of a form: a text field, or the upload.
enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a [u8]),
}

fn form(parts: &[Part]) -> Vec<u8> {
    let parts: Vec<FormPart> = parts
        .iter()
        .map(|part| match part {
            Part::Text(name, value) => FormPart::Text(name, value),
            Part::File(data) => FormPart::File {
                name: "file",
                file_name: "talk.ogg",
                content_type: "audio/ogg",
                data,
            },
        })
        .collect();
    multipart_body(BOUNDARY, &parts)
}

async fn upload(gw: &Gw, key: &str, parts: &[Part<'_>]) -> reqwest::Response {
    gw.http
        .post(gw.url("/v1/audio/transcriptions"))
        .bearer_auth(key)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(form(parts))
        .send()
        .await
        .unwrap()
}

/// Uploads `file` for `model` with `response_format` `format` and nothing else.
async fn transcribe(
    gw: &Gw,
    key: &str,
    model: &str,
    format: &str,
    file: &[u8],
) -> reqwest::Response {
    let parts = [
        Part::Text("model", model),
        Part::Text("response_format", format),
        Part::File(file),
    ];
    upload(gw, key, &parts).await
}

/// An Ogg page of one packet.
fn ogg_page(granule: u64, packet: &[u8]) -> Vec<u8> {
    let mut p = b"OggS\0\0".to_vec();
    p.extend(granule.to_le_bytes());
    p.extend(1u32.to_le_bytes());
    p.extend([0; 8]);
    p.push(1);
    p.push(u8::try_from(packet.len()).unwrap());
    p.extend(packet);
    p
}

/// `seconds` of Ogg Opus in well under 2 KB: what 6 kbit/s speech with long silences looks like in size.
fn opus(seconds: u64) -> Vec<u8> {
    let mut head = b"OpusHead\x01\x01".to_vec();
    head.extend(312u16.to_le_bytes());
    head.extend(48_000u32.to_le_bytes());
    head.extend([0, 0, 0]);
    let mut file = ogg_page(0, &head);
    file.extend(ogg_page(0, b"OpusTags\0\0\0\0\0\0\0\0"));
    for i in 1..=seconds.div_ceil(60) {
        file.extend(ogg_page((i * 60).min(seconds) * 48_000 + 312, &[0xfc; 100]));
    }
    file
}

/// `seconds` of 8 kHz mono 16-bit PCM in a WAV file.
fn wav(seconds: u32) -> Vec<u8> {
    let data = seconds * 16_000;
    let mut f = b"RIFF".to_vec();
    f.extend((36 + data).to_le_bytes());
    f.extend(b"WAVEfmt \x10\0\0\0\x01\0\x01\0");
    f.extend(8_000u32.to_le_bytes());
    f.extend(16_000u32.to_le_bytes());
    f.extend(b"\x02\0\x10\0data");
    f.extend(data.to_le_bytes());
    f.resize(f.len() + data as usize, 0);
    f
}

/// The text fields of the form the upstream received, in order.
fn sent_fields(mock: &MockUpstream) -> Vec<(String, String)> {
    let sent = mock
        .requests()
        .into_iter()
        .rfind(|r| r.path.ends_with("/audio/transcriptions"))
        .expect("a transcription reached the upstream");
    let boundary = sent
        .header("content-type")
        .and_then(|c| c.split("boundary=").nth(1))
        .unwrap()
        .to_owned();
    assert!(
        boundary.starts_with("tollgate-"),
        "the gateway's own form, not the client's bytes: {boundary}"
    );
    let raw = String::from_utf8_lossy(&sent.raw_body).into_owned();
    raw.split(&format!("--{boundary}"))
        .filter_map(|part| {
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head.split("name=\"").nth(1)?.split('"').next()?;
            (!head.contains("filename="))
                .then(|| (name.to_owned(), value.trim_end_matches("\r\n").to_owned()))
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[tokio::test]
async fn low_bitrate_opus_as_text_to_whisper_pays_the_duration_the_upstream_reports() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    // Ten minutes of Opus in about 1.3 KB: by size at 128 kbit/s it would have been one second.
    let file = opus(600);
    assert!(file.len() < 2_000);
    mock.set_transcription_seconds(599.4);
    let resp = transcribe(&gw, KEY, "whisper-1", "text", &file).await;
    assert_eq!(resp.status(), 200);
    assert_content_type(&resp, "text/plain");
    let rid = request_id(&resp);
    assert_eq!(resp.text().await.unwrap(), "Hello, world.\n");
    // 599.4 s reported → 600 s × 100.
    let row = gw.log_for(&rid).await;
    assert_eq!((row.prompt_tokens, row.cost), (600, 60_000));
    assert_eq!(gw.user("alice").await.balance, 10_000_000 - 60_000);
    // Whisper was asked for verbose_json, whatever the client wanted.
    let sent = sent_fields(&mock);
    assert_eq!(field(&sent, "response_format"), ["verbose_json"]);
    assert_eq!(field(&sent, "model"), ["whisper-1"]);
    gw.stop().await;
}

#[tokio::test]
async fn long_audio_with_a_small_balance_is_refused_before_the_upstream_by_its_header() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    // Bob holds 10,000 units: 100 s of whisper-1. The header says 600 s, so the hold (60,000) cannot be made.
    let resp = transcribe(&gw, BOB, "whisper-1", "text", &opus(600)).await;
    expect_error(resp, 429, Some("insufficient_quota")).await;
    assert!(mock.requests().is_empty());
    assert_eq!(gw.user("bob").await.balance, 10_000);
    // 60 s fits: held by the header, billed by the upstream's duration.
    mock.set_transcription_seconds(59.5);
    let resp = upload(
        &gw,
        BOB,
        &[Part::Text("model", "whisper-1"), Part::File(&opus(60))],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["text"], "Hello, world.");
    assert_eq!(body["usage"]["seconds"], 60);
    assert_eq!(gw.log_for(&rid).await.cost, 6_000);
    assert_eq!(gw.user("bob").await.balance, 10_000 - 6_000);
    gw.stop().await;
}

#[tokio::test]
async fn gpt_4o_transcribe_as_text_pays_the_tokens_it_reports() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.set_transcription_seconds(3.0);
    let file = wav(3);
    let resp = upload(
        &gw,
        KEY,
        &[
            Part::Text("model", "gpt-4o-transcribe"),
            Part::Text("response_format", "text"),
            Part::Text("prompt", "meeting notes"),
            Part::File(&file),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    assert_eq!(resp.text().await.unwrap(), "Hello, world.\n");
    // 30 audio + 2 prompt tokens in at 6, 2 words out at 10.
    let row = gw.log_for(&rid).await;
    assert_eq!(
        (row.prompt_tokens, row.completion_tokens, row.cost),
        (32, 2, 32 * 6 + 2 * 10)
    );
    // The plain text answer reports nothing, so json was asked.
    assert_eq!(field(&sent_fields(&mock), "response_format"), ["json"]);

    // srt is not offered by the model: refused here, not relayed unbilled.
    let before = mock.requests().len();
    expect_param(
        transcribe(&gw, KEY, "gpt-4o-transcribe", "srt", &file).await,
        "response_format",
    )
    .await;
    assert_eq!(mock.requests().len(), before);
    gw.stop().await;
}

/// Alice's upload of `parts` is refused with a 400 naming `param`, and its log row costs nothing.
async fn refused_free_of_charge(gw: &Gw, parts: &[Part<'_>], param: &str) {
    let resp = upload(gw, KEY, parts).await;
    let rid = request_id(&resp);
    let err = expect_error(resp, 400, None).await;
    assert_eq!(err["error"]["param"], param, "{err}");
    assert_eq!(gw.log_for(&rid).await.cost, 0);
}

#[tokio::test]
async fn repeated_model_field_is_refused_and_nothing_reaches_the_upstream() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    let file = opus(60);
    // A field twice: the first value is what a naive relay forwards, the last what it checks (for the model: the
    // expensive one first, the cheap one last).
    for (field, first, last) in [
        ("model", "gpt-4o-transcribe", "whisper-1"),
        ("response_format", "json", "text"),
        ("prompt", "a", "b"),
    ] {
        let mut parts = Vec::new();
        if field != "model" {
            parts.push(Part::Text("model", "whisper-1"));
        }
        parts.extend([
            Part::Text(field, first),
            Part::Text(field, last),
            Part::File(&file),
        ]);
        refused_free_of_charge(&gw, &parts, field).await;
    }
    let two_files = [
        Part::Text("model", "whisper-1"),
        Part::File(&file),
        Part::File(&file),
    ];
    refused_free_of_charge(&gw, &two_files, "file").await;
    assert!(mock.requests().is_empty());
    assert_eq!(gw.user("alice").await.balance, 10_000_000);
    gw.stop().await;
}

#[tokio::test]
async fn timestamp_granularities_twice_is_fine_and_the_upstream_gets_a_re_encoded_form() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    mock.set_transcription_seconds(12.2);
    let resp = upload(
        &gw,
        KEY,
        &[
            Part::Text("model", "whisper-fast"),
            Part::Text("response_format", "verbose_json"),
            Part::Text("timestamp_granularities[]", "word"),
            Part::Text("timestamp_granularities[]", "segment"),
            Part::Text("language", "en"),
            Part::File(&opus(12)),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["duration"], 12.2);
    assert_eq!(gw.log_for(&rid).await.cost, 13 * 100);
    let sent = sent_fields(&mock);
    assert_eq!(
        field(&sent, "timestamp_granularities[]"),
        ["word", "segment"]
    );
    // The mapped name, once.
    assert_eq!(field(&sent, "model"), ["whisper-1"]);
    assert_eq!(field(&sent, "language"), ["en"]);
    let upload = mock.requests().pop().unwrap().raw_body;
    let file = opus(12);
    assert!(upload.windows(file.len()).any(|w| w == file.as_slice()));
    assert!(
        !upload
            .windows(BOUNDARY.len())
            .any(|w| w == BOUNDARY.as_bytes())
    );
    gw.stop().await;
}

#[tokio::test]
async fn unreadable_audio_for_a_model_that_reports_nothing_is_refused_up_front() {
    let (gw, mock) = Gw::with_mock(TOML).await;
    // Not a container the gateway can read, to a model billed by the file's header: refused, not guessed by size.
    let err = expect_param(
        transcribe(&gw, KEY, "local-stt", "text", &[0x55; 4_000]).await,
        "file",
    )
    .await;
    let message = error_message(&err).to_lowercase();
    assert!(
        message.contains("cannot determine the audio duration"),
        "{message}"
    );
    assert!(mock.requests().is_empty());

    // A WAV header it can read: its 5 s are the bill when the text answer reports nothing.
    let resp = transcribe(&gw, KEY, "local-stt", "text", &wav(5)).await;
    assert_eq!(resp.status(), 200);
    let rid = request_id(&resp);
    assert_eq!(resp.text().await.unwrap(), "Hello, world.\n");
    assert_eq!(gw.log_for(&rid).await.cost, 5 * 50);
    gw.stop().await;
}
