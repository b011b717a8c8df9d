//! Attacks on secrets at rest and on the operator surfaces: someone holding a copy of the database forging a
//! dashboard or admin session, a rotation losing the upstream keys, an open `/metrics`, an upstream that echoes
//! its key into an error the client reads, a database password in the logs.

use crate::harness::{BASE_TOML, Gw, error_message, expect_error, hello, temp_dir};
use crate::support::get_with_header;
use hmac::{Hmac, Mac};
use mock_upstream::{Behavior, MockUpstream};
use serde_json::{Value, json};
use sha2::Sha256;
use std::path::Path;

const SECRET_A: &str = "operator-secret-A-0123456789";
const SECRET_B: &str = "someone-elses-secret-0123456789";
const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

fn hex_mac(key: &[u8], parts: &[&[u8]]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    hex::encode(m.finalize().into_bytes())
}

async fn setting(db_dir: &Path, name: &str) -> Option<String> {
    let url = format!("sqlite://{}", db_dir.join("tollgate.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE name = ?")
        .bind(name)
        .fetch_optional(&pool)
        .await
        .unwrap();
    pool.close().await;
    row.map(|(v,)| v)
}

/// What a copy of the database gives: an admin-token session cookie signed with the stored session key and
/// fingerprinted with the stored admin token hash — exactly how the gateway signs one when no secret is set.
async fn forge_admin_cookie(db_dir: &Path) -> String {
    let signing = hex::decode(setting(db_dir, "session_signing_key").await.unwrap()).unwrap();
    let credential = match setting(db_dir, "admin_token_hmac").await {
        Some(row) => row.split_once(':').unwrap().1.to_owned(),
        None => setting(db_dir, "admin_token_sha256").await.unwrap(),
    };
    let mut fp = hex_mac(&signing, &[b"fp:", credential.as_bytes()]);
    fp.truncate(16);
    let expires = chrono::Utc::now().timestamp() + 3600;
    let payload = format!("a.0.{expires}.{fp}.0011223344556677");
    let sig = hex_mac(&signing, &[payload.as_bytes()]);
    format!("tollgate_session={payload}.{sig}")
}

/// `GET path` with the session `cookie`.
async fn with_cookie(gw: &Gw, path: &str, cookie: &str) -> reqwest::Response {
    get_with_header(gw, path, ("cookie", cookie)).await
}

async fn session_status(gw: &Gw, cookie: &str) -> u16 {
    with_cookie(gw, "/api/auth/session", cookie)
        .await
        .status()
        .as_u16()
}

fn copy_db(from: &Path) -> std::path::PathBuf {
    let to = temp_dir();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to
}

/// Registers carol (registration is on in these gateways) and returns her session cookie.
async fn register_carol(gw: &Gw) -> String {
    let resp = gw
        .post_anon(
            "/api/auth/register",
            &json!({"username": "carol", "password": "carol-password"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let set = resp.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_copied_database_forges_no_admin_session_and_carries_no_usable_session() {
    let mock = MockUpstream::start().await.unwrap();
    let toml = BASE_TOML;
    // Control: without a secret key the database alone does sign an admin session (so the forgery is right).
    let plain = Gw::start(toml, &[&mock], |s| s.admin_token = None).await;
    let forged = forge_admin_cookie(&plain.db_dir).await;
    assert_eq!(
        session_status(&plain, &forged).await,
        200,
        "the forgery works without a secret"
    );
    plain.stop().await;

    let with_a = |s: &mut gateway::config::Settings| {
        s.admin_token = None;
        s.allow_registration = true;
        s.secret_key = Some(SECRET_A.into());
    };
    let a = Gw::start(toml, &[&mock], with_a).await;
    let a_dir = a.db_dir.clone();
    let keyed = setting(&a_dir, "admin_token_hmac").await.unwrap();
    assert!(
        keyed.contains(':'),
        "the admin token hash is keyed: {keyed}"
    );
    assert_eq!(setting(&a_dir, "admin_token_sha256").await, None);
    let forged = forge_admin_cookie(&a_dir).await;
    let resp = with_cookie(&a, "/api/auth/session", &forged).await;
    expect_error(resp, 401, Some("session_expired")).await;
    let resp = with_cookie(&a, "/api/admin/users", &forged).await;
    assert_eq!(resp.status(), 401, "no admin API with a forged cookie");
    let carol = register_carol(&a).await;
    assert_eq!(session_status(&a, &carol).await, 200);
    a.stop().await;

    // The copy, started with another secret: neither carol's real cookie nor a forged one is accepted. (Its
    // channel keys do not open without A's secret, so the copy starts without them.)
    let copy = copy_db(&a_dir);
    let url = format!("sqlite://{}", copy.join("tollgate.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM channel_keys")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let b = Gw::start_in(copy, toml, &[&mock], |s| {
        s.admin_token = None;
        s.secret_key = Some(SECRET_B.into());
    })
    .await;
    assert_eq!(
        session_status(&b, &carol).await,
        401,
        "A's session is not B's"
    );
    let forged = forge_admin_cookie(&b.db_dir).await;
    assert_eq!(session_status(&b, &forged).await, 401);
    b.stop().await;

    // The operator's own restart (same secret) keeps the sessions.
    let again = Gw::start_in(a_dir, toml, &[&mock], with_a).await;
    assert_eq!(session_status(&again, &carol).await, 200);
    again.stop().await;
}

async fn stored_channel_secrets(db_dir: &Path) -> Vec<String> {
    let url = format!("sqlite://{}", db_dir.join("tollgate.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT secret FROM channel_keys")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.into_iter().map(|(s,)| s).collect()
}

#[tokio::test]
async fn rotating_the_secret_keeps_the_upstream_keys_readable() {
    let mock = MockUpstream::start().await.unwrap();
    let a = Gw::start(BASE_TOML, &[&mock], |s| {
        s.secret_key = Some(SECRET_A.into())
    })
    .await;
    let dir = a.db_dir.clone();
    a.stop().await;
    let sealed_a = stored_channel_secrets(&dir).await;
    assert!(
        sealed_a.iter().all(|s| s.starts_with("enc:v2:")),
        "{sealed_a:?}"
    );

    // Rotation: B is the secret now, A is only in the previous list; start-up opens A's values and re-seals.
    let b = Gw::start_in(dir.clone(), BASE_TOML, &[&mock], |s| {
        s.secret_key = Some(SECRET_B.into());
        s.secret_key_previous = vec![SECRET_A.into()];
    })
    .await;
    assert_eq!(b.chat(hello()).await.status(), 200);
    b.stop().await;
    let sealed_b = stored_channel_secrets(&dir).await;
    assert!(
        sealed_b
            .iter()
            .all(|s| s.starts_with("enc:v2:") && !sealed_a.contains(s))
    );
    assert_ne!(
        sealed_a[0].split(':').nth(2),
        sealed_b[0].split(':').nth(2),
        "another key id"
    );

    // With A dropped from the list, everything still opens: it was all re-sealed with B.
    let b_only = Gw::start_in(dir, BASE_TOML, &[&mock], |s| {
        s.secret_key = Some(SECRET_B.into())
    })
    .await;
    assert_eq!(b_only.chat(hello()).await.status(), 200);
    let sent: Vec<_> = mock
        .chat_requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(sent, vec![Some("Bearer up-key-1".to_owned()); 2]);
    b_only.stop().await;
}

#[tokio::test]
async fn metrics_are_closed_without_the_metrics_token() {
    let (gw, _mock) = Gw::with_mock_and(BASE_TOML, |s| {
        s.metrics_token = Some("scrape-token-1".into())
    })
    .await;
    let get = |token: Option<&str>| {
        let mut req = gw.http.get(gw.url("/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    expect_error(get(None).await.unwrap(), 401, Some("invalid_metrics_token")).await;
    expect_error(
        get(Some("scrape-token-2")).await.unwrap(),
        401,
        Some("invalid_metrics_token"),
    )
    .await;
    expect_error(get(Some(crate::harness::ADMIN)).await.unwrap(), 401, None).await;
    let resp = get(Some("scrape-token-1")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("# EOF"));
    gw.stop().await;

    // Unset: open, as before.
    let (open, _mock) = Gw::default().await;
    let resp = open.get_anon("/metrics").await;
    assert_eq!(resp.status(), 200);
    open.stop().await;
}

/// An upstream's `invalid_api_key` error whose message echoes what it was sent.
fn invalid_key_echo(message: &str) -> String {
    json!({"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}})
        .to_string()
}

/// None of `secrets` is in `text`.
fn assert_none_leaked(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[tokio::test]
async fn an_upstream_401_echoing_its_key_reaches_the_client_without_the_key() {
    let (gw, mock) = Gw::default().await;
    mock.push(Behavior::status(
        401,
        invalid_key_echo(
            "Incorrect API key provided: up-key-1 (sent as Authorization: Bearer up-key-1; org key sk-org-0123456789abcdef, url ?key=AIzaSyExample123456)",
        ),
    ));
    let resp = gw.chat(hello()).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert!(
        status >= 500,
        "the upstream's 401 is the gateway's problem: {status} {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    let message = error_message(&body);
    assert!(
        message.contains("Incorrect API key provided"),
        "the reason is kept: {message}"
    );
    assert_none_leaked(
        &text,
        &[
            "up-key-1",
            "sk-org-0123456789abcdef",
            "AIzaSyExample123456",
            "Bearer up",
        ],
    );
    assert_eq!(mock.chat_requests().len(), 1, "one attempt, one key");
    gw.stop().await;
}

#[tokio::test]
async fn an_error_event_mid_stream_echoing_a_key_reaches_the_client_without_it() {
    let (gw, mock) = Gw::default().await;
    mock.push(Behavior::ErrorEventAfter {
        events: 2,
        body: invalid_key_echo(
            "Incorrect API key provided: sk-proj-SECRETSECRET123 (Bearer tok-SECRET-456)",
        ),
    });
    let mut body = hello();
    body["stream"] = json!(true);
    let resp = gw.chat(body).await;
    assert_eq!(resp.status(), 200, "the stream had started");
    let text = resp.text().await.unwrap();
    assert!(text.contains("Incorrect API key provided"), "{text}");
    assert_none_leaked(&text, &["SECRETSECRET123", "tok-SECRET-456"]);
    let error_event = text
        .split("\n\n")
        .find(|e| e.contains("Incorrect API key"))
        .unwrap();
    let json: Value = serde_json::from_str(error_event.trim_start_matches("data: ")).unwrap();
    assert_eq!(
        json["error"]["code"], "invalid_api_key",
        "still a JSON error"
    );
    gw.stop().await;
}

/// Runs the binary against a PostgreSQL that is not there, and returns everything it wrote.
async fn run_bin(args: &[&str]) -> String {
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("TOLLGATE_DATABASE_URL")
        .env("RUST_LOG", "debug")
        .current_dir(temp_dir())
        .output()
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[tokio::test]
async fn the_database_password_never_reaches_the_logs() {
    let url = "postgres://tollgate:hunter2-db-pass@127.0.0.1:1/tollgate";
    for command in ["serve", "migrate", "check-config"] {
        let text = run_bin(&[command, "--database-url", url, "--listen", "127.0.0.1:0"]).await;
        assert!(
            !text.contains("hunter2"),
            "{command} logged the password: {text}"
        );
        assert!(
            text.contains("postgres://tollgate:***@127.0.0.1:1/tollgate"),
            "{command} names the database it meant, without the password: {text}"
        );
    }
    let text = run_bin(&[
        "check-config",
        "--database-url",
        "mysql://u:hunter2-db-pass@h/db",
    ])
    .await;
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn a_copied_database_forges_no_midjourney_image_link() {
    let mock = MockUpstream::start().await.unwrap();
    // No channel keys to unseal, so the copy starts under any secret (or none).
    const NO_CHANNELS: &str = "[[users]]\nname = \"alice\"\nbalance = 1\n";
    let expires = chrono::Utc::now().timestamp() + 3600;
    let a = Gw::start(NO_CHANNELS, &[&mock], |s| {
        s.secret_key = Some(SECRET_A.into());
    })
    .await;
    let link = a.state.mj_signer.sign(7, expires);
    let now = chrono::Utc::now().timestamp();
    assert!(a.state.mj_signer.verify(7, expires, &link, now));
    let a_dir = a.db_dir.clone();
    a.stop().await;
    // The stored value alone (no secret, or another one) does not sign what instance A signed.
    for other in [None, Some("another-secret-entirely-0123456789")] {
        let copy = copy_db(&a_dir);
        let b = Gw::start_in(copy, NO_CHANNELS, &[&mock], |s| {
            s.secret_key = other.map(str::to_owned);
        })
        .await;
        assert!(
            !b.state.mj_signer.verify(7, expires, &link, now),
            "{other:?}"
        );
        b.stop().await;
    }
    // The same secret on the same database keeps the links working after a restart.
    let again = Gw::start_in(a_dir, NO_CHANNELS, &[&mock], |s| {
        s.secret_key = Some(SECRET_A.into());
    })
    .await;
    assert!(again.state.mj_signer.verify(7, expires, &link, now));
    again.stop().await;
}
