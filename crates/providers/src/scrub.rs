//! Secrets taken out of upstream error text before it can reach a client or a log: the channel's own key, and
//! anything shaped like a credential (`sk-…`, `Bearer …`, `key=…`, Google's `AIza…`). Upstreams (and the
//! proxies in front of them) do echo the key they were sent — "Incorrect API key provided: sk-…".

/// Characters a token is made of; a token ends at anything else (space, quote, `&`, `,`).
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.~+/=".contains(c)
}

/// `text` with the token after each (ASCII case-insensitive) `marker` replaced by `***`, when that token is at
/// least `min_len` characters long (so `risk-free` keeps its `sk-`).
fn mask_after(text: &str, marker: &str, min_len: usize) -> String {
    // ASCII lowercasing keeps every byte offset, so positions found in `lower` are valid in `text`.
    let lower = text.to_ascii_lowercase();
    let marker = marker.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find(&marker) {
        let start = i + pos + marker.len();
        let end = text[start..]
            .find(|c: char| !is_token_char(c))
            .map_or(text.len(), |e| start + e);
        out.push_str(&text[i..start]);
        if end - start >= min_len {
            out.push_str("***");
        } else {
            out.push_str(&text[start..end]);
        }
        i = end;
    }
    out.push_str(&text[i..]);
    out
}

/// `text` without the channel's `key` (when given) or anything that looks like a credential.
pub fn secrets(text: &str, key: Option<&str>) -> String {
    let mut out = match key.map(str::trim) {
        Some(k) if k.len() >= 6 => text.replace(k, "***"),
        _ => text.to_owned(),
    };
    for (marker, min_len) in [("sk-", 6), ("AIza", 10), ("bearer ", 1), ("key=", 1)] {
        out = mask_after(&out, marker, min_len);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::secrets;

    #[test]
    fn key_fragments_are_masked() {
        assert_eq!(
            secrets(
                "Incorrect API key provided: sk-proj-abc123XYZ. See docs.",
                None
            ),
            "Incorrect API key provided: sk-*** See docs."
        );
        assert_eq!(
            secrets("bad header Authorization: Bearer tok.en/123==, retry", None),
            "bad header Authorization: Bearer ***, retry"
        );
        assert_eq!(
            secrets("GET /v1beta/models?key=AIzaSyA-123&alt=sse failed", None),
            "GET /v1beta/models?key=***&alt=sse failed"
        );
        assert_eq!(
            secrets(
                "key up-channel-key-1 is not valid",
                Some("up-channel-key-1")
            ),
            "key *** is not valid"
        );
        assert_eq!(secrets("a risk-free task", None), "a risk-free task");
        assert_eq!(secrets("日本 sk-abcdefgh 語", None), "日本 sk-*** 語");
    }
}
