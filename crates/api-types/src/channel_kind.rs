//! The closed set of upstream kinds a channel can have: in the store (`channels.kind`), the admin API, the
//! config file and the importer, always as the same lowercase text.

use serde::{Deserialize, Serialize};

/// What a channel's upstream speaks. On the wire, in TOML and in the database it is the lowercase text of
/// [`ChannelKind::as_str`] (`"openai"`, `"azure"`, `"anthropic"`, `"gemini"`, `"midjourney"`,
/// `"bedrock"`);
/// [`FromStr`](std::str::FromStr) is the only way back from text and names the accepted values when it refuses one.
///
/// Unknown stored text (a database edited by hand, or written by a newer version): the store reads such a
/// channel row as an error for that row only. Listing channels (the catalog the gateway routes from, the admin
/// list) leaves the row out with a warning, so the gateway still starts and serves every other channel;
/// reading that one channel by id or name is a `corrupt row` error until its kind is set to a known one
/// (an admin `PATCH` with a `kind`) or it is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    OpenAi,
    Azure,
    Anthropic,
    Gemini,
    Midjourney,
    /// Google Vertex AI: Claude and Gemini models with service-account credentials.
    Vertex,
    /// Amazon Bedrock's runtime API (Anthropic models), SigV4-signed with an `AK|SK|REGION` key.
    Bedrock,
}

text_enum!(ChannelKind, "channel kind", "one", normalize = str::to_owned, {
    OpenAi => "openai",
    Azure => "azure",
    Anthropic => "anthropic",
    Gemini => "gemini",
    Midjourney => "midjourney",
    Vertex => "vertex",
    Bedrock => "bedrock",
});

#[cfg(test)]
mod tests {
    use super::ChannelKind;

    #[test]
    fn text_serde_and_parse_agree() {
        crate::assert_text_round_trip(&ChannelKind::ALL, ChannelKind::as_str);
        assert_eq!(
            "OpenAI".parse::<ChannelKind>().unwrap_err(),
            "unknown channel kind `OpenAI`; expected one of openai, azure, anthropic, gemini, midjourney, vertex, bedrock"
        );
        assert!(serde_json::from_str::<ChannelKind>("\"vertexai\"").is_err());
    }
}
