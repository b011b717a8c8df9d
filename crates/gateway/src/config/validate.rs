//! Input checks shared by the admin API and the declarative config.

use api_types::ChannelKind;

pub fn channel_kind(kind: &str) -> Result<ChannelKind, String> {
    kind.parse()
}

/// A channel's upstream secret in the shape its kind needs: bedrock keys are `ACCESS_KEY_ID|SECRET_ACCESS_KEY|REGION`,
/// vertex keys a Google service-account JSON with what the token exchange needs. The refusal names the part at
/// fault, never the secret.
pub fn channel_key(kind: ChannelKind, key: &str) -> Result<(), String> {
    match kind {
        ChannelKind::Bedrock => {
            providers::bedrock::credentials::Credentials::parse(key).map(|_| ())
        }
        ChannelKind::Vertex => providers::vertex::ServiceAccount::parse(key).map(|_| ()),
        ChannelKind::OpenAi
        | ChannelKind::Azure
        | ChannelKind::Anthropic
        | ChannelKind::Gemini
        | ChannelKind::Midjourney => Ok(()),
    }
}

/// A channel's `base_url`; a cloud kind (bedrock, vertex) may leave it empty: its endpoint follows from the key's or
/// the channel's region.
pub fn channel_base_url(kind: Option<ChannelKind>, url: &str) -> Result<(), String> {
    if url.is_empty() && matches!(kind, Some(ChannelKind::Bedrock | ChannelKind::Vertex)) {
        return Ok(());
    }
    base_url(url)
}

/// A cloud region: lower-case letters, digits and hyphens (`us-central1`, `europe-west4`, `global`).
pub fn region(region: &str) -> Result<String, String> {
    let ok = (1..=40).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(region.to_owned())
    } else {
        Err("`region` must be a cloud region name such as `us-central1` (lower-case letters, digits, hyphens)".to_owned())
    }
}

pub fn base_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    let ok = host.is_some_and(|h| !h.is_empty()) && !url.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "base_url `{url}` must be an http:// or https:// URL with a host"
        ))
    }
}

pub fn cidrs(list: &[String]) -> Result<(), String> {
    for c in list {
        if crate::catalog::snapshot_parse_cidr(c).is_none() {
            return Err(format!("`{c}` is not an IP address or CIDR block"));
        }
    }
    Ok(())
}

/// Extra upstream headers must be valid HTTP header names and values.
pub fn headers(map: &std::collections::BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in map {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(format!("`{name}` is not a valid HTTP header name"));
        }
        if http::HeaderValue::from_str(value).is_err() {
            return Err(format!(
                "the value of header `{name}` is not a valid HTTP header value"
            ));
        }
    }
    Ok(())
}

/// Midjourney speed modes a channel may serve (`/mj-fast`, `/mj-relax`, `/mj-turbo`), as given in lowercase.
pub fn mj_modes(list: &[String]) -> Result<Vec<api_types::MjMode>, String> {
    list.iter()
        .map(|m| match m.parse() {
            Ok(mode) if api_types::MjMode::as_str(mode) == m => Ok(mode),
            _ => Err(format!(
                "unknown Midjourney mode `{m}`; expected some of fast, relax, turbo"
            )),
        })
        .collect()
}

/// Group names end up in URLs (`/api/admin/groups/{name}`): letters, digits, `-`, `_` and `.` only.
pub fn group_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "group name `{name}` must be 1-64 letters, digits, `-`, `_` or `.`"
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base_urls() {
        for ok in [
            "http://x",
            "http://vllm:8000",
            "https://host/some/prefix",
            "https://api.openai.com/v1",
        ] {
            assert!(super::base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://x",
            "http://",
            "https:///path",
            "api.openai.com",
            "http://a b",
        ] {
            assert!(super::base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bedrock_keys_and_base_urls() {
        use api_types::ChannelKind::{Bedrock, OpenAi};
        assert!(super::channel_key(Bedrock, "AKID|secret/x+y|us-east-1").is_ok());
        let err = super::channel_key(Bedrock, "AKID|the-secret").unwrap_err();
        assert!(!err.contains("the-secret"), "{err}");
        assert!(super::channel_key(OpenAi, "AKID|the-secret").is_ok());
        assert!(super::channel_base_url(Some(Bedrock), "").is_ok());
        assert!(super::channel_base_url(Some(OpenAi), "").is_err());
        assert!(super::channel_base_url(Some(Bedrock), "ftp://x").is_err());
    }
}
