//! Google Vertex AI: the OAuth token endpoint of a service account (`POST …/token`, the JWT-bearer grant) and the
//! publisher routes `POST /v1/projects/{project}/locations/{region}/publishers/{anthropic|google}/models/{model}:{method}`.
//!
//! The token endpoint checks the assertion for real: RS256 over the built-in test account's key
//! ([`TEST_PRIVATE_KEY`]), its `iss`, `aud`, `scope` and lifetime, as Google does; only then does it issue a token.
//! The publisher routes take only issued tokens, then apply the provider's own body rules: Anthropic's (no `model`,
//! `anthropic_version: "vertex-2023-10-16"` or a dated version, `stream` matching the method) or Gemini's. Checked
//! against the official clients: google-auth's signed assertion and `AnthropicVertex`'s requests are accepted.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use serde_json::{Value, json};

/// The private key of the test service account (PKCS#8 PEM), generated for these tests only.
pub const TEST_PRIVATE_KEY: &str = include_str!("vertex/test-key.pem");
/// The test account's e-mail and project.
pub const TEST_CLIENT_EMAIL: &str = "tollgate-test@mock-project.iam.gserviceaccount.com";
pub const TEST_PROJECT: &str = "mock-project";

/// A service-account key JSON for the test account whose tokens come from `token_uri`.
pub fn service_account_json(token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": TEST_PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": TEST_PRIVATE_KEY,
        "client_email": TEST_CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    })
    .to_string()
}

/// A route of this API.
pub(crate) enum Route {
    Token,
    Publisher {
        anthropic: bool,
        model: String,
        method: String,
    },
}

/// The route `path` names, if it is one of this API's.
pub(crate) fn route(path: &str) -> Option<Route> {
    if path.ends_with("/token") {
        return Some(Route::Token);
    }
    let rest = path.strip_prefix("/v1/projects/")?;
    let (_, rest) = rest.split_once("/locations/")?;
    let (_, rest) = rest.split_once("/publishers/")?;
    let (publisher, rest) = rest.split_once("/models/")?;
    let (model, method) = rest.rsplit_once(':')?;
    Some(Route::Publisher {
        anthropic: publisher == "anthropic",
        model: model.to_owned(),
        method: method.to_owned(),
    })
}

/// `{"error":"invalid_grant","error_description":…}`, Google's token-endpoint refusal.
fn grant_error(why: &str) -> (u16, Value) {
    (
        400,
        json!({"error": "invalid_grant", "error_description": why}),
    )
}

fn part(encoded: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()
}

/// The public half of the test key, as ring verifies with it.
fn public_key() -> Option<Vec<u8>> {
    let body: String = TEST_PRIVATE_KEY
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(body).ok()?;
    let pair = RsaKeyPair::from_pkcs8(&der).ok()?;
    Some(pair.public().as_ref().to_vec())
}

/// Checks a token request (`application/x-www-form-urlencoded`) for the test account; `Ok` holds the token issued.
pub(crate) fn token(form: &str, issued: usize, now: u64) -> Result<Value, (u16, Value)> {
    let field = |name: &str| crate::check::query_param(form, name);
    if field("grant_type") != Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        return Err((
            400,
            json!({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}),
        ));
    }
    let assertion = field("assertion").ok_or_else(|| grant_error("Missing assertion"))?;
    let [header, claims, signature] = assertion.split('.').collect::<Vec<_>>()[..] else {
        return Err(grant_error("Invalid JWT: not three parts"));
    };
    let (Some(h), Some(c)) = (part(header), part(claims)) else {
        return Err(grant_error("Invalid JWT: undecodable part"));
    };
    if h["alg"] != "RS256" {
        return Err(grant_error("Invalid JWT: alg must be RS256"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| grant_error("Invalid JWT Signature."))?;
    let key = public_key().ok_or_else(|| grant_error("no test key"))?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(format!("{header}.{claims}").as_bytes(), &signature)
        .map_err(|_| grant_error("Invalid JWT Signature."))?;
    let (iat, exp) = (
        c["iat"].as_u64().unwrap_or(0),
        c["exp"].as_u64().unwrap_or(0),
    );
    if c["iss"] != TEST_CLIENT_EMAIL
        || !c["aud"].as_str().is_some_and(|a| a.ends_with("/token"))
        || !c["scope"]
            .as_str()
            .is_some_and(|s| s.contains("cloud-platform"))
        || exp <= now
        || exp > iat + 3600
        || iat > now + 60
    {
        return Err(grant_error("Invalid JWT: iss, aud, scope or lifetime"));
    }
    Ok(
        json!({"access_token": format!("ya29.mock-token-{issued}"), "expires_in": 3599,
        "token_type": "Bearer"}),
    )
}

/// Google's 401 for a publisher call without an issued token.
pub(crate) fn unauthenticated() -> Value {
    crate::gemini::error(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        Some("ACCESS_TOKEN_TYPE_UNSUPPORTED"),
    )
}

/// Vertex's own rules for an Anthropic body on `method`, before Anthropic's (checked on the body with `model`).
pub(crate) fn anthropic_body(body: &Value, model: &str, method: &str) -> Result<Value, String> {
    let Some(obj) = body.as_object() else {
        return Err("request body must be a JSON object".to_owned());
    };
    if obj.contains_key("model") {
        return Err("model: Extra inputs are not permitted".to_owned());
    }
    // Vertex's documented version, or a dated Anthropic API version as the current `AnthropicVertex` client sends.
    let version = body["anthropic_version"].as_str().unwrap_or_default();
    let dated = version.len() == 10
        && version.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if version != "vertex-2023-10-16" && !dated {
        return Err("anthropic_version: Input should be 'vertex-2023-10-16'".to_owned());
    }
    let streams = body["stream"].as_bool() == Some(true);
    if streams != (method == "streamRawPredict") {
        return Err(format!("stream must be {} on {method}", !streams));
    }
    let mut with_model = obj.clone();
    with_model.remove("anthropic_version");
    with_model.insert("model".to_owned(), Value::from(model));
    Ok(Value::Object(with_model))
}
