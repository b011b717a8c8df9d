//! Where the image proxy may fetch a task's image from (issue 15). The image URL comes from the upstream, which is
//! often a third-party reseller, so it is fetched only under the media fetcher's address policy (public addresses
//! unless the operator allows private ones; checked on the literal host, on every redirect and at DNS time) — or
//! from the origin of the task's own channel (its `base_url`, e.g. an operator's midjourney-proxy on a private
//! network), reached like every upstream call, without following redirects from there.

use crate::state::AppState;
use reqwest::{RequestBuilder, Url};
use std::time::Duration;

/// Least time an image fetch gets (Midjourney upscales are a few MB), whatever `--image-timeout` says.
const MIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The request that fetches `url` for a task whose channel's `base_url` is `channel_base` (`None` when the channel
/// is gone), or why the URL may not be fetched.
pub fn request(
    state: &AppState,
    url: &str,
    channel_base: Option<&str>,
) -> Result<RequestBuilder, String> {
    let timeout = state.settings.image_timeout.max(MIN_TIMEOUT);
    let parsed = Url::parse(url).map_err(|_| "the image URL is not a valid URL".to_owned())?;
    if channel_base.is_some_and(|base| same_origin(&parsed, base)) {
        // The operator configured this host; the upstream client follows no redirects away from it.
        return Ok(state.http.get(parsed).timeout(timeout));
    }
    let checked = state.media.check_url(url).map_err(|e| e.message)?;
    Ok(state.media.http_client().get(checked).timeout(timeout))
}

/// `url` is http(s) on the scheme, host and port of `base`.
fn same_origin(url: &Url, base: &str) -> bool {
    matches!(url.scheme(), "http" | "https")
        && Url::parse(base).is_ok_and(|b| b.origin() == url.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_channels_own_origin_matches() {
        let url = |s: &str| Url::parse(s).unwrap();
        let base = "http://10.0.0.5:8080/mj-proxy";
        assert!(same_origin(
            &url("http://10.0.0.5:8080/mj/images/1.png"),
            base
        ));
        assert!(
            !same_origin(&url("http://10.0.0.5:8081/x.png"), base),
            "other port"
        );
        assert!(
            !same_origin(&url("https://10.0.0.5:8080/x.png"), base),
            "other scheme"
        );
        assert!(
            !same_origin(&url("http://10.0.0.6:8080/x.png"), base),
            "other host"
        );
        assert!(same_origin(
            &url("https://mj.example/x"),
            "https://mj.example:443"
        ));
        assert!(!same_origin(&url("http://169.254.169.254/"), "not a url"));
    }
}
