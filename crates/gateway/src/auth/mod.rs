//! Who is calling: API keys (`sk-…`), the admin token, dashboard sessions, per-IP failed-attempt limits, and a key's scope (models, IPs).

pub mod admin;
pub mod authenticate;
pub mod dashboard;
pub mod failures;
pub mod image_links;
pub mod key_format;
pub mod login_throttle;
pub mod password;
pub mod rate_limits;
pub mod session;
pub mod signing_key;

/// Parses a literal IP address in tests.
#[cfg(test)]
pub(crate) fn test_ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}
