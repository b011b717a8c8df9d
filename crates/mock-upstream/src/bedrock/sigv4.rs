//! SigV4 verification, as AWS does it, written apart from the gateway's signer so that one checks the other: the
//! canonical request is rebuilt from the request as it arrived (method, path encoded once more, sorted query, the
//! headers the `Authorization` header lists, the SHA-256 of the body received), signed with the secret of the
//! accepted key whose access key id the credential names, and compared with the signature sent. A request dated more
//! than five minutes away from the mock's clock is refused, as AWS refuses it ("Signature expired").

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Why a request is refused, as Bedrock says it (403 with this `x-amzn-ErrorType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub error_type: &'static str,
    pub message: String,
}

fn refuse(error_type: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        error_type,
        message: message.into(),
    }
}

/// What is verified about a request.
pub(crate) struct Request<'r> {
    pub method: &'r str,
    pub path: &'r str,
    pub query: &'r str,
    pub headers: &'r HeaderMap,
    pub body: &'r [u8],
}

/// The `Authorization` header's parts.
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let field = |name: &str| {
        rest.split(',')
            .map(str::trim)
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
    };
    let mut scope = field("Credential")?.split('/');
    let (access_key_id, date, region, service, terminator) = (
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
    );
    (terminator == "aws4_request" && scope.next().is_none()).then_some(())?;
    Some(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: field("SignedHeaders")?,
        signature: field("Signature")?,
    })
}

/// Verifies the request against `accepted` (`AK|SK|REGION` keys; other entries are ignored). `None` accepts any
/// well-formed signature, since there is no secret to check it with.
pub(crate) fn verify(req: &Request<'_>, accepted: Option<&[String]>) -> Result<(), Refusal> {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    let Some(auth) = header("authorization") else {
        return Err(refuse(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let auth = parse_authorization(auth)
        .ok_or_else(|| refuse("IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."))?;
    let amz_date = header("x-amz-date").unwrap_or_default();
    if auth.service != "bedrock" || !amz_date.starts_with(auth.date) || amz_date.len() != 16 {
        return Err(refuse(
            "InvalidSignatureException",
            "Credential should be scoped to a valid date, region and service `bedrock`.",
        ));
    }
    if !is_fresh(amz_date, chrono::Utc::now()) {
        return Err(refuse(
            "InvalidSignatureException",
            format!(
                "Signature expired: {amz_date} is more than 5 minutes away from the server's time."
            ),
        ));
    }
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    if !signed.contains(&"host") || !signed.contains(&"x-amz-date") {
        return Err(refuse(
            "InvalidSignatureException",
            "'Host' and 'X-Amz-Date' must be signed.",
        ));
    }
    let Some(keys) = accepted else { return Ok(()) };
    let secret = keys.iter().find_map(|k| {
        let parts: Vec<&str> = k.split('|').collect();
        match parts[..] {
            [id, secret, region] if id == auth.access_key_id && region == auth.region => {
                Some(secret)
            }
            _ => None,
        }
    });
    let Some(secret) = secret else {
        return Err(refuse(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    };
    let expected = signature(req, &auth, &signed, amz_date, secret);
    if expected != auth.signature {
        return Err(refuse(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS \
             Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(())
}

/// `x-amz-date` (`20240501T120000Z`) within five minutes of `now`.
fn is_fresh(amz_date: &str, now: chrono::DateTime<chrono::Utc>) -> bool {
    // chrono reads a one-digit second too; AWS's format has exactly 16 characters.
    amz_date.len() == 16
        && chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
            .is_ok_and(|t| (now - t.and_utc()).num_seconds().abs() <= 300)
}

fn signature(
    req: &Request<'_>,
    auth: &Authorization<'_>,
    signed: &[&str],
    amz_date: &str,
    secret: &str,
) -> String {
    let mut canonical_headers = String::new();
    for name in signed {
        let values: Vec<String> = req
            .headers
            .get_all(*name)
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let canonical = [
        req.method.to_owned(),
        encode_path(req.path),
        canonical_query(req.query),
        canonical_headers,
        auth.signed_headers.to_owned(),
        hex::encode(Sha256::digest(req.body)),
    ]
    .join("\n");
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical))
    );
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [auth.date, auth.region, auth.service, "aws4_request"] {
        key = mac(&key, part.as_bytes());
    }
    hex::encode(mac(&key, to_sign.as_bytes()))
}

/// Each byte but unreserved ones and `/` percent-encoded, `%` included (the path is encoded a second time).
fn encode_path(path: &str) -> String {
    path.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The query's `name=value` pairs, sorted (as sent; Bedrock's runtime takes none).
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.contains('=') {
                p.to_owned()
            } else {
                format!("{p}=")
            }
        })
        .collect();
    pairs.sort();
    pairs.join("&")
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    #[test]
    fn dates_more_than_five_minutes_off_are_stale() {
        let now = chrono::Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        assert!(super::is_fresh("20240501T120400Z", now));
        assert!(super::is_fresh("20240501T115600Z", now));
        assert!(!super::is_fresh("20240501T120600Z", now));
        assert!(!super::is_fresh("20240501T12000Z", now));
    }
}
