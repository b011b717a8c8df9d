//! AWS Signature Version 4 for one Bedrock request: the canonical request over the method, the path (each byte
//! outside the unreserved set percent-encoded once more, as AWS does for every service but S3), no query, the
//! headers `host`, `x-amz-content-sha256` and `x-amz-date`, and the body's SHA-256; then the string to sign and the
//! HMAC-SHA256 chain `AWS4<secret>` → date → region → `bedrock` → `aws4_request`.
//!
//! Hand-rolled rather than `aws-sigv4` (+ `aws-credential-types`, `aws-smithy-runtime-api`, `aws-smithy-http`,
//! `aws-smithy-types`…): a POST with three signed headers is this one file over the `hmac`, `sha2` and `hex`
//! crates the workspace already builds, where the SDK crates would add a dozen crates to build for one header.
//! The mock upstream verifies signatures with its own, independent code, and boto3 was checked against the mock
//! (decision 0017).

use super::credentials::Credentials;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SERVICE: &str = "bedrock";
const SIGNED_HEADERS: &str = "host;x-amz-content-sha256;x-amz-date";

/// What is signed about a request.
#[derive(Debug, Clone, Copy)]
pub struct Signable<'a> {
    pub method: &'a str,
    /// `host[:port]` as the request's `Host` header carries it.
    pub host: &'a str,
    /// The path as sent (already percent-encoded).
    pub path: &'a str,
    pub body: &'a [u8],
}

/// The headers a signed request carries, as `(name, value)` pairs.
pub fn sign(
    creds: &Credentials,
    req: Signable<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(&'static str, String)> {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    let payload_hash = hex::encode(Sha256::digest(req.body));
    let canonical = format!(
        "{}\n{}\n\nhost:{}\nx-amz-content-sha256:{payload_hash}\nx-amz-date:{amz_date}\n\n{SIGNED_HEADERS}\n{payload_hash}",
        req.method,
        canonical_uri(req.path),
        req.host,
    );
    let scope = format!("{date}/{}/{SERVICE}/aws4_request", creds.region);
    let to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(&creds.secret_access_key, date, &creds.region);
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}",
        creds.access_key_id
    );
    vec![
        ("x-amz-date", amz_date),
        ("x-amz-content-sha256", payload_hash),
        ("authorization", authorization),
    ]
}

/// The path with every byte outside `A-Z a-z 0-9 - _ . ~ /` percent-encoded (so `%3A` becomes `%253A`).
fn canonical_uri(path: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let mut out = String::with_capacity(path.len() + 16);
    for b in path.bytes() {
        if b == b'/' || is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 3986's unreserved characters, never percent-encoded.
pub(super) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn signing_key(secret: &str, date: &str, region: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, SERVICE.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The signing key of AWS's documented example (secret `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`,
    /// 20150830, us-east-1, service iam).
    #[test]
    fn signing_key_matches_the_aws_example() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), b"20150830");
        let k_region = hmac(&k_date, b"us-east-1");
        let k_service = hmac(&k_region, b"iam");
        let key = hmac(&k_service, b"aws4_request");
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn path_is_encoded_twice() {
        assert_eq!(
            canonical_uri("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke"),
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/invoke"
        );
    }

    #[test]
    fn authorization_names_the_scope_and_headers() {
        let creds = Credentials::parse("AKIDEXAMPLE|secret|eu-west-1").unwrap();
        let now = chrono::Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let req = Signable {
            method: "POST",
            host: "h",
            path: "/model/m/invoke",
            body: b"{}",
        };
        let headers = sign(&creds, req, now);
        assert_eq!(headers[0], ("x-amz-date", "20240501T120000Z".to_owned()));
        let auth = &headers[2].1;
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/eu-west-1/bedrock/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
        ));
        assert!(!auth.contains("secret"));
        // Deterministic for the same input, different for another body.
        assert_eq!(sign(&creds, req, now), headers);
        let other = Signable {
            body: b"{ }",
            ..req
        };
        assert_ne!(sign(&creds, other, now)[2], headers[2]);
    }
}
