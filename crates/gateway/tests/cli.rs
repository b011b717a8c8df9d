//! The real `tollgate` binary: help text, first start on a fresh SQLite path, SIGTERM → clean exit 0.
#![cfg(test)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

#[test]
fn help_documents_every_setting() {
    let top = Command::new(BIN).arg("--help").output().unwrap();
    assert!(top.status.success());
    let top = String::from_utf8(top.stdout).unwrap();
    let serve = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let serve = String::from_utf8(serve.stdout).unwrap();
    for (flag, env) in [
        ("--config", "TOLLGATE_CONFIG"),
        ("--listen", "TOLLGATE_LISTEN"),
        ("--database-url", "DATABASE_URL"),
        ("--redis-url", "REDIS_URL"),
        ("--admin-token", "TOLLGATE_ADMIN_TOKEN"),
        (
            "--upstream-connect-timeout",
            "TOLLGATE_UPSTREAM_CONNECT_TIMEOUT",
        ),
        (
            "--upstream-first-byte-timeout",
            "TOLLGATE_UPSTREAM_FIRST_BYTE_TIMEOUT",
        ),
        ("--upstream-idle-timeout", "TOLLGATE_UPSTREAM_IDLE_TIMEOUT"),
        ("--shutdown-grace", "TOLLGATE_SHUTDOWN_GRACE"),
        ("--probe-interval", "TOLLGATE_PROBE_INTERVAL"),
        ("--max-retries", "TOLLGATE_MAX_RETRIES"),
        ("--max-body-bytes", "TOLLGATE_MAX_BODY_BYTES"),
        ("--auth-failure-limit", "TOLLGATE_AUTH_FAILURE_LIMIT"),
        ("--client-header-timeout", "TOLLGATE_CLIENT_HEADER_TIMEOUT"),
        ("--client-body-timeout", "TOLLGATE_CLIENT_BODY_TIMEOUT"),
        ("--log-retention-days", "TOLLGATE_LOG_RETENTION_DAYS"),
    ] {
        assert!(
            top.contains(flag) && top.contains(env),
            "top-level help lacks {flag}/{env}"
        );
        assert!(
            serve.contains(flag) && serve.contains(env),
            "serve help lacks {flag}/{env}"
        );
    }
    for cmd in ["serve", "migrate", "check-config"] {
        assert!(top.contains(cmd), "{cmd}");
    }
}

#[test]
fn first_start_creates_the_database_prints_the_token_once_and_exits_0_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let db = dir.join("nested/folder/tollgate.db");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("TOLLGATE_ADMIN_TOKEN")
        .env_remove("TOLLGATE_CONFIG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut token = None;
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while token.is_none() && Instant::now() < deadline {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(t) = line.split_whitespace().find(|w| w.starts_with("tg-admin-")) {
            token = Some(t.to_owned());
        }
    }
    let token = token.expect("a generated admin token on stderr");
    // Healthz answers once serving, and the printed token works on the admin API.
    let client = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut healthy = false;
    while !healthy && Instant::now() < deadline {
        healthy = client
            .get(format!("{base}/healthz"))
            .send()
            .is_ok_and(|r| r.status() == 200);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(healthy);
    assert!(
        db.exists(),
        "SQLite file and its folders created on first start"
    );
    let resp = client
        .get(format!("{base}/api/admin/users"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    std::thread::spawn(move || for _ in stderr.lines() {});
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));

    // Second start on the same database: the stored token stays, nothing new is printed.
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("TOLLGATE_ADMIN_TOKEN")
        .env_remove("TOLLGATE_CONFIG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("tollgate is serving")
        && Instant::now() < deadline + Duration::from_secs(20)
    {
        let mut l = String::new();
        if stderr.read_line(&mut l).unwrap() == 0 {
            break;
        }
        seen.push_str(&l);
    }
    assert!(seen.contains("tollgate is serving"), "{seen}");
    assert!(
        !seen.contains("tg-admin-"),
        "the token is printed only on the first start"
    );
    let resp = client
        .get(format!("{base}/api/admin/users"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    std::thread::spawn(move || for _ in stderr.lines() {});
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
