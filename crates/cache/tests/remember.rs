//! Remembered values through Redis (127.0.0.1:6379, which `.ci/run` starts): what one instance keeps, another
//! instance of the same deployment recalls; another deployment does not see it; it expires. Skipped, saying so,
//! without Redis.
#![cfg(test)]

use cache::Shared;
use std::time::Duration;

const REDIS: &str = "redis://127.0.0.1:6379";

async fn connect(namespace: &str) -> Option<Shared> {
    if tokio::net::TcpStream::connect("127.0.0.1:6379")
        .await
        .is_err()
    {
        eprintln!("Redis is not running on 127.0.0.1:6379; skipping");
        return None;
    }
    Some(Shared::connect(Some(REDIS), namespace).await.unwrap())
}

#[tokio::test]
async fn a_value_kept_by_one_instance_is_recalled_by_another_until_it_expires() {
    let ns = format!("test-{}", std::process::id());
    let (Some(one), Some(other), Some(elsewhere)) = (
        connect(&ns).await,
        connect(&ns).await,
        connect(&format!("{ns}-other")).await,
    ) else {
        return;
    };
    one.remember("thinking:1:toolu_a", "[1,2]", Duration::from_secs(60))
        .await;
    assert_eq!(
        other.recall("thinking:1:toolu_a").await.as_deref(),
        Some("[1,2]")
    );
    assert_eq!(elsewhere.recall("thinking:1:toolu_a").await, None);
    one.remember("thinking:1:short", "x", Duration::from_millis(50))
        .await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(other.recall("thinking:1:short").await, None);
}
