//! What the adapters know of each model family's output ceiling: the most tokens one answer can have. The gateway
//! holds money for at most this many output tokens when a price row names no ceiling of its own, so a request
//! without `max_tokens` is not held (nor cut) at a figure the model can never reach.
//!
//! Matched by prefix on the model name as the client sends it (dated and `-latest` variants share their family's
//! figure); the first matching row wins, so longer prefixes come first. Figures are the providers' published
//! output limits; an unknown model has no ceiling here and the gateway's `--default-max-output-tokens` applies.

/// (model-name prefix, output ceiling in tokens), most specific first.
const CEILINGS: &[(&str, u64)] = &[
    ("claude-3-5-sonnet", 8_192),
    ("claude-3-5-haiku", 8_192),
    ("claude-3-7-sonnet", 64_000),
    ("claude-3-opus", 4_096),
    ("claude-3-sonnet", 4_096),
    ("claude-3-haiku", 4_096),
    ("claude-sonnet-4", 64_000),
    ("claude-opus-4", 32_000),
    ("claude-haiku-4", 64_000),
    ("gpt-4o-mini", 16_384),
    ("gpt-4o", 16_384),
    ("gpt-4.1", 32_768),
    ("gpt-4-turbo", 4_096),
    ("gpt-4", 8_192),
    ("gpt-3.5-turbo", 4_096),
    ("gpt-5", 128_000),
    ("o1-mini", 65_536),
    ("o1", 100_000),
    ("o3", 100_000),
    ("o4-mini", 100_000),
    ("gemini-1.5", 8_192),
    ("gemini-2.0", 8_192),
    ("gemini-2.5", 65_536),
];

/// The output ceiling of `model`, if its family is known. A Bedrock model id (`anthropic.claude-…`, or a
/// cross-region profile such as `us.anthropic.claude-…`) counts as the Claude model it names.
pub fn max_output_tokens(model: &str) -> Option<u64> {
    let model = bedrock_claude(model).unwrap_or(model);
    CEILINGS
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map(|(_, n)| *n)
}

/// `claude-…` out of a Bedrock model id, with or without a cross-region prefix (`us.`, `eu.`, `apac.`, `global.`).
fn bedrock_claude(model: &str) -> Option<&str> {
    model.strip_prefix("anthropic.").or_else(|| {
        let (geo, rest) = model.split_once('.')?;
        let is_geo = geo.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        rest.strip_prefix("anthropic.").filter(|_| is_geo)
    })
}

/// Reasoning families (o1, o3, o4, gpt-5) take `max_completion_tokens`; `max_tokens` is refused by them.
pub fn takes_max_completion_tokens(model: &str) -> bool {
    ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|p| model == *p || model.starts_with(&format!("{p}-")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(max_output_tokens("claude-3-5-sonnet-20240620"), Some(8_192));
        assert_eq!(max_output_tokens("gpt-4o-mini-2024-07-18"), Some(16_384));
        assert_eq!(max_output_tokens("gpt-4-0613"), Some(8_192));
        assert_eq!(max_output_tokens("my-local-llama"), None);
        assert_eq!(
            max_output_tokens("anthropic.claude-3-5-sonnet-20240620-v1:0"),
            Some(8_192)
        );
        assert_eq!(
            max_output_tokens("us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
            Some(64_000)
        );
        assert_eq!(max_output_tokens("evil.co/x.anthropic.claude-3-opus"), None);
        assert!(takes_max_completion_tokens("o3-mini"));
        assert!(takes_max_completion_tokens("gpt-5"));
        assert!(!takes_max_completion_tokens("gpt-4o"));
        assert!(!takes_max_completion_tokens("o1x"));
    }
}
