//! Input checks shared by the admin API and the declarative config.

use providers::ProviderKind;

pub fn channel_kind(kind: &str) -> Result<ProviderKind, String> {
    kind.parse()
}

pub fn base_url(url: &str) -> Result<(), String> {
    let ok =
        (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "https://".len();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "base_url `{url}` must be an http:// or https:// URL"
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
