//! The real `tollgate` binary: help text, first start on a fresh SQLite path, SIGTERM → clean exit 0.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};
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

fn spawn_serve(port: u16, db: &std::path::Path) -> (Child, BufReader<ChildStderr>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("TOLLGATE_ADMIN_TOKEN")
        .env_remove("TOLLGATE_CONFIG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    (child, stderr)
}

/// Reads stderr until `marker` appears (or 20 s pass); returns everything read.
fn read_until(stderr: &mut BufReader<ChildStderr>, marker: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = String::new();
    while !seen.contains(marker) && Instant::now() < deadline {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    seen
}

/// SIGTERM, keep draining stderr so the child never blocks on it, and return the exit code.
fn terminate(mut child: Child, stderr: BufReader<ChildStderr>) -> Option<i32> {
    std::thread::spawn(move || for _ in stderr.lines() {});
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap().code()
}

#[test]
fn first_start_creates_the_database_prints_the_token_once_and_exits_0_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = dir.join("nested/folder/tollgate.db");
    let client = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let users_status = |token: &str| {
        client
            .get(format!("{base}/api/admin/users"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
    };

    let (child, mut stderr) = spawn_serve(port, &db);
    let seen = read_until(&mut stderr, "tollgate is serving");
    let token = seen
        .split_whitespace()
        .find(|w| w.starts_with("tg-admin-"))
        .unwrap_or_else(|| panic!("a generated admin token on stderr: {seen}"))
        .to_owned();
    assert!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .unwrap()
            .status()
            == 200
    );
    assert!(
        db.exists(),
        "SQLite file and its folders created on first start"
    );
    assert_eq!(
        users_status(&token),
        200,
        "the printed token works on the admin API"
    );
    assert_eq!(terminate(child, stderr), Some(0));

    // Second start on the same database: the stored token stays valid, nothing new is printed.
    let (child, mut stderr) = spawn_serve(port, &db);
    let seen = read_until(&mut stderr, "tollgate is serving");
    assert!(seen.contains("tollgate is serving"), "{seen}");
    assert!(
        !seen.contains("tg-admin-"),
        "the token is printed only on the first start"
    );
    assert_eq!(users_status(&token), 200);
    assert_eq!(terminate(child, stderr), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
