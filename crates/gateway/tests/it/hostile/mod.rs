//! What a hostile key holder tries, one file per front (issue 15): each test is named after the attack and
//! asserts what the attacker gets — a clear error or the exact bill, and nothing sent upstream when refused.

mod admission;
mod audio;
mod edge;
mod images;
mod login;
mod midjourney;
mod output_cap;
mod secrets;
mod self_service;
mod streams;

/// One OpenAI channel (gpt-4o, o3-mini) and one Anthropic channel (Claude 3.5 Sonnet) on mock 0, alice with
/// `balance` and her key (with `key_extra` TOML lines, e.g. a spend cap), the three models priced, then `extra`.
pub(crate) fn two_providers(balance: i64, key_extra: &str, extra: &str) -> String {
    use crate::harness::{KEY, channel_toml, price_toml};
    const CHANNELS: &str = concat!(
        channel_toml!("openai", "openai", 0, "up-key-1", ["gpt-4o", "o3-mini"]),
        channel_toml!(
            "claude",
            "anthropic",
            0,
            "anthropic-test-key",
            ["claude-3-5-sonnet-20240620"]
        ),
    );
    const PRICES: &str = concat!(
        price_toml!("gpt-4o", 2500000, 10000000),
        price_toml!("o3-mini", 1100000, 4400000),
        price_toml!("claude-3-5-sonnet-20240620", 3000000, 15000000),
    );
    format!(
        r#"{CHANNELS}
[[users]]
name = "alice"
balance = {balance}

[[keys]]
name = "alice-key"
user = "alice"
key = "{KEY}"
{key_extra}{PRICES}{extra}"#
    )
}
