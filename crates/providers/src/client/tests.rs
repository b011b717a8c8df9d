use super::*;
use futures::TryStreamExt;
use mock_upstream::MockUpstream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CERT: &[u8] = include_bytes!("test-cert.pem");
const KEY: &[u8] = include_bytes!("test-key.pem");
const CONNECT: Duration = Duration::from_secs(5);

async fn body_text(resp: UpstreamResponse) -> String {
    let parts: Vec<Bytes> = resp.bytes_stream().try_collect().await.unwrap();
    String::from_utf8(parts.concat()).unwrap()
}

fn chat_body() -> Bytes {
    Bytes::from_static(br#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#)
}

/// Both engines send method, path, query, headers and body as given, and give back status, headers and body.
#[tokio::test]
async fn both_engines_send_the_request_as_built_and_read_the_answer() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/chat/completions?x=1", mock.base_url());
    for client in [
        UpstreamClient::direct(CONNECT, None).unwrap(),
        UpstreamClient::proxied(CONNECT).unwrap(),
    ] {
        let resp = client
            .post(&url)
            .bearer_auth("sk-upstream")
            .header("content-type", "application/json")
            .header("x-extra", "1")
            .body(chat_body())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{client:?}");
        assert!(
            resp.headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
        );
        assert!(
            body_text(resp).await.contains("chat.completion"),
            "{client:?}"
        );
        let seen = mock.requests().pop().unwrap();
        assert_eq!(
            (
                seen.method.as_str(),
                seen.path.as_str(),
                seen.query.as_str()
            ),
            ("POST", "/v1/chat/completions", "x=1")
        );
        assert_eq!(seen.header("authorization"), Some("Bearer sk-upstream"));
        assert_eq!(seen.header("x-extra"), Some("1"));
        assert_eq!(seen.raw_body, chat_body());
    }
}

#[tokio::test]
async fn a_request_that_cannot_be_built_fails_without_echoing_the_value() {
    let client = UpstreamClient::direct(CONNECT, None).unwrap();
    let err = client
        .post("http://127.0.0.1:9/v1")
        .header("api-key", "sk-secret\nInjected: 1")
        .send()
        .await
        .unwrap_err();
    let SendError::Build(why) = err else {
        panic!("{err:?}")
    };
    assert!(
        why.contains("api-key") && !why.contains("sk-secret"),
        "{why}"
    );
    for url in ["not a url", "ftp://example.com/x", "/relative/path"] {
        let err = client.post(url).send().await.unwrap_err();
        assert!(matches!(err, SendError::Build(_)), "{url}: {err:?}");
    }
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = UpstreamClient::direct(CONNECT, None).unwrap();
    let err = client
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Connect(_)), "{err:?}");
}

/// A one-connection HTTPS server with the test certificate that answers `ok` to one HTTP/1.1 request.
async fn tls_server() -> (u16, tokio::task::JoinHandle<()>) {
    let cert = CertificateDer::from_pem_slice(CERT).unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let Ok(mut tls) = acceptor.accept(tcp).await else {
            return;
        };
        let mut buf = vec![0u8; 4096];
        let n = tls.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"POST /v1/x HTTP/1.1\r\n"));
        tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await
            .unwrap();
        tls.flush().await.unwrap();
    });
    (port, task)
}

#[tokio::test]
async fn https_is_spoken_and_the_certificate_checked() {
    let (port, server) = tls_server().await;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(CERT).unwrap())
        .unwrap();
    let trusting = UpstreamClient::direct(CONNECT, Some(roots)).unwrap();
    let resp = trusting
        .post(&format!("https://localhost:{port}/v1/x"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_text(resp).await, "ok");
    server.await.unwrap();

    // The public roots do not know the test certificate: the handshake fails, nothing is sent.
    let (port, server) = tls_server().await;
    let public = UpstreamClient::direct(CONNECT, None).unwrap();
    let err = public
        .post(&format!("https://localhost:{port}/v1/x"))
        .send()
        .await
        .unwrap_err();
    let SendError::Connect(why) = err else {
        panic!("{err:?}")
    };
    assert!(why.to_lowercase().contains("certificate"), "{why}");
    server.await.unwrap();
}

#[test]
fn a_proxy_in_the_environment_selects_reqwest() {
    let env = |set: &'static str, value: &'static str| {
        move |name: &str| (name == set).then(|| std::ffi::OsString::from(value))
    };
    assert!(proxy_configured(env("HTTPS_PROXY", "http://proxy:3128")));
    assert!(proxy_configured(env("http_proxy", "http://proxy:3128")));
    assert!(proxy_configured(env("ALL_PROXY", "socks5://proxy:1080")));
    assert!(!proxy_configured(env("HTTPS_PROXY", "")));
    assert!(!proxy_configured(env("NO_PROXY", "example.com")));
    assert!(UpstreamClient::proxied(CONNECT).unwrap().is_proxied());
    assert!(!UpstreamClient::direct(CONNECT, None).unwrap().is_proxied());
}
