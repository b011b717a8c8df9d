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
    use crate::harness::KEY;
    format!(
        r#"
[[channels]]
name = "openai"
kind = "openai"
base_url = "{{MOCK0}}"
keys = ["up-key-1"]
models = ["gpt-4o", "o3-mini"]

[[channels]]
name = "claude"
kind = "anthropic"
base_url = "{{MOCK0}}"
keys = ["anthropic-test-key"]
models = ["claude-3-5-sonnet-20240620"]

[[users]]
name = "alice"
balance = {balance}

[[keys]]
name = "alice-key"
user = "alice"
key = "{KEY}"
{key_extra}
[[prices]]
model = "gpt-4o"
input_per_million = 2500000
output_per_million = 10000000

[[prices]]
model = "o3-mini"
input_per_million = 1100000
output_per_million = 4400000

[[prices]]
model = "claude-3-5-sonnet-20240620"
input_per_million = 3000000
output_per_million = 15000000
{extra}"#
    )
}
