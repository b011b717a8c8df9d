//! Real `tollgate serve` processes on one PostgreSQL schema and one Redis, for the multi-instance tests: start one,
//! stop it with SIGTERM (a clean exit) or kill it with SIGKILL, count answers.

use crate::harness::ADMIN;
use crate::services::REDIS;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

pub struct Instance {
    pub child: Child,
    pub base: String,
}

/// Starts `tollgate serve` with `config` on `database_url` and the test Redis; returns once it serves.
pub async fn spawn(config: &std::path::Path, database_url: &str) -> Instance {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", database_url])
        .args(["--redis-url", REDIS])
        .args(["--admin-token", ADMIN])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("tollgate is serving") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "the process never started serving");
    // Keep draining its stderr so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// Sends `signal` (`TERM`, `KILL`) to the process.
pub fn signal(instance: &Instance, signal: &str) {
    let pid = instance.child.id().unwrap();
    let _ = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status();
}

/// SIGTERM, and the process exits cleanly within 20 s.
pub async fn stop(mut instance: Instance) {
    signal(&instance, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(20), instance.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit {status:?}");
}

pub fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}
