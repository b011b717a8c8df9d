//! The providers' own POST routes (Vertex AI, Bedrock, Anthropic, Gemini, Azure): each checks its provider's auth
//! and body rules, then plays the script in that provider's wire format. OpenAI's routes stay in `server.rs`.

use crate::check::query_param;
use crate::openai::Ctx;
use crate::server::{Shared, json_response, next_behavior, respond};
use crate::wire::Wire;
use crate::{anthropic, azure, bedrock, gemini, openai, vertex};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

/// What the provider routes look at in a request.
pub(crate) struct Incoming<'r> {
    pub headers: &'r HeaderMap,
    pub query: &'r str,
    pub accepted: Option<&'r [String]>,
    pub body: &'r Value,
}

/// The providers' own POST routes (Vertex, Bedrock, Anthropic, Gemini, Azure), each with its own auth rules;
/// `None` for the OpenAI routes and the rest.
pub(crate) async fn provider_route(
    shared: &Shared,
    req: &Incoming<'_>,
    route: &str,
    path: &str,
    raw: &[u8],
) -> Option<Response> {
    if let Some(vertex_route) = vertex::route(route) {
        return Some(vertex_route_answer(shared, req, vertex_route, raw).await);
    }
    if let Some((model, stream)) = bedrock::parse_path(route) {
        let invoke = Invoke {
            path,
            raw,
            model,
            stream,
        };
        return Some(bedrock_route(shared, req, invoke).await);
    }
    if route.ends_with("/v1/messages") {
        return Some(anthropic_route(shared, req).await);
    }
    if let Some((model, stream)) = gemini::parse_path(route) {
        return Some(gemini_route(shared, req, &model, stream).await);
    }
    if let Some(deployment) = azure::deployment(route)
        && azure::is_azure_request(req.headers, req.query)
    {
        return Some(azure_route(shared, req, deployment).await);
    }
    None
}

/// `POST …/v1/messages`: Anthropic's rules, then the script.
async fn anthropic_route(shared: &Shared, req: &Incoming<'_>) -> Response {
    let checked = anthropic::validate::headers(req.headers, req.accepted).and_then(|()| {
        anthropic::validate::body(req.body).map_err(anthropic::validate::Refusal::Invalid)
    });
    let refusal = match checked {
        Ok(()) => {
            let wire = Wire::Anthropic(anthropic::Ctx::from_request(req.body));
            return respond(shared, wire, next_behavior(shared)).await;
        }
        Err(r) => r,
    };
    let (status, kind, message) = match refusal {
        anthropic::validate::Refusal::Auth(m) => {
            (StatusCode::UNAUTHORIZED, "authentication_error", m)
        }
        anthropic::validate::Refusal::Invalid(m) => {
            (StatusCode::BAD_REQUEST, "invalid_request_error", m)
        }
    };
    json_response(status, &anthropic::error(kind, &message))
}

/// What a Bedrock invoke needs beyond [`Incoming`]: the path and body as they arrived (both are signed).
struct Invoke<'r> {
    path: &'r str,
    raw: &'r [u8],
    model: String,
    stream: bool,
}

/// `POST …/model/{modelId}/invoke[-with-response-stream]`: the signature, Bedrock's body rules, then the script.
async fn bedrock_route(shared: &Shared, req: &Incoming<'_>, invoke: Invoke<'_>) -> Response {
    let signed = bedrock::sigv4::Request {
        method: "POST",
        path: invoke.path,
        query: req.query,
        headers: req.headers,
        body: invoke.raw,
    };
    if let Err(r) = bedrock::sigv4::verify(&signed, req.accepted) {
        return bedrock_error(StatusCode::FORBIDDEN, r.error_type, &r.message);
    }
    if let Err(message) = bedrock::check_body(req.body, &invoke.model) {
        return bedrock_error(StatusCode::BAD_REQUEST, "ValidationException", &message);
    }
    let mut ctx = anthropic::Ctx::from_request(req.body);
    ctx.model = invoke.model;
    ctx.stream = invoke.stream;
    respond(shared, Wire::Bedrock(ctx), next_behavior(shared)).await
}

/// Bedrock's refusal: `{"message"}`, the type in `x-amzn-ErrorType`.
fn bedrock_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let mut resp = json_response(status, &bedrock::error(message));
    let kind = format!("{error_type}:http://internal.amazon.com/coral/com.amazon.coral.service/");
    if let Ok(value) = HeaderValue::from_str(&kind) {
        resp.headers_mut().insert("x-amzn-errortype", value);
    }
    resp
}

/// `POST …/v1beta/models/{model}:generateContent` / `:streamGenerateContent`: Gemini's rules, then the script.
async fn gemini_route(shared: &Shared, req: &Incoming<'_>, model: &str, stream: bool) -> Response {
    let checked = gemini::validate::auth(req.headers, req.query, req.accepted)
        .and_then(|()| gemini::validate::body(req.body));
    match checked {
        Ok(()) => {
            let sse = query_param(req.query, "alt") == Some("sse");
            let mut ctx = gemini::Ctx::new(model, stream, sse);
            // In either case, as Google reads it (the google-genai SDK writes `include_thoughts`).
            let at = |v: &Value, name: &str| {
                v.as_object()
                    .and_then(|o| gemini::validate::field(o, name))
                    .cloned()
            };
            ctx.thoughts = at(req.body, "generationConfig")
                .and_then(|c| at(&c, "thinkingConfig"))
                .and_then(|t| at(&t, "includeThoughts"))
                .and_then(|v| v.as_bool())
                == Some(true);
            let wire = Wire::Gemini(ctx);
            respond(shared, wire, next_behavior(shared)).await
        }
        Err(r) => {
            let status = StatusCode::from_u16(r.code).unwrap_or(StatusCode::BAD_REQUEST);
            json_response(
                status,
                &gemini::error(r.code, r.status, &r.message, r.reason),
            )
        }
    }
}

/// Vertex AI: the token endpoint, or a publisher route (an issued token, the publisher's rules, then the script).
async fn vertex_route_answer(
    shared: &Shared,
    req: &Incoming<'_>,
    route: vertex::Route,
    raw: &[u8],
) -> Response {
    let (anthropic, model, method) = match route {
        vertex::Route::Token => {
            let issued = shared.lock().vertex_tokens.len();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            return match vertex::token(&String::from_utf8_lossy(raw), issued, now) {
                Ok(answer) => {
                    let token = answer["access_token"].as_str().unwrap_or_default();
                    shared.lock().vertex_tokens.push(token.to_owned());
                    json_response(StatusCode::OK, &answer)
                }
                Err((status, body)) => json_response(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                    &body,
                ),
            };
        }
        vertex::Route::Publisher {
            anthropic,
            model,
            method,
        } => (anthropic, model, method),
    };
    let bearer = req
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| shared.lock().vertex_tokens.iter().any(|i| i == t)) {
        return json_response(StatusCode::UNAUTHORIZED, &vertex::unauthenticated());
    }
    if !anthropic {
        let stream = method.starts_with("streamGenerateContent");
        return match gemini::validate::body(req.body) {
            Ok(()) => {
                let sse = query_param(req.query, "alt") == Some("sse");
                let wire = Wire::Gemini(gemini::Ctx::new(&model, stream, sse));
                respond(shared, wire, next_behavior(shared)).await
            }
            Err(r) => json_response(
                StatusCode::from_u16(r.code).unwrap_or(StatusCode::BAD_REQUEST),
                &gemini::error(r.code, r.status, &r.message, r.reason),
            ),
        };
    }
    let checked = vertex::anthropic_body(req.body, &model, &method)
        .and_then(|body| anthropic::validate::body(&body).map(|()| body));
    match checked {
        Ok(body) => {
            let wire = Wire::Anthropic(anthropic::Ctx::from_request(&body));
            respond(shared, wire, next_behavior(shared)).await
        }
        Err(m) => json_response(
            StatusCode::BAD_REQUEST,
            &anthropic::error("invalid_request_error", &m),
        ),
    }
}

/// `POST …/openai/deployments/{deployment}/chat/completions?api-version=…`: Azure's rules, then the script.
async fn azure_route(shared: &Shared, req: &Incoming<'_>, deployment: &str) -> Response {
    if let Err((status, body)) = azure::check(req.headers, req.query, req.accepted) {
        return json_response(status, &body);
    }
    if !req.body.is_object() {
        return json_response(
            StatusCode::BAD_REQUEST,
            &openai::error("Invalid JSON body", "invalid_request_error", None, None),
        );
    }
    let mut ctx = Ctx::from_request(req.body);
    deployment.clone_into(&mut ctx.model);
    respond(shared, Wire::Azure(ctx), next_behavior(shared)).await
}
