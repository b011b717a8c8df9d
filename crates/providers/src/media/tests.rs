use super::*;

const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

#[test]
fn data_urls_are_sniffed_not_trusted() {
    let img = decode_data_url(&format!("data:image/jpeg;base64,{PNG_1X1}")).unwrap();
    assert_eq!(img.media_type, "image/png");
    assert_eq!(img.base64, PNG_1X1);
    assert!(decode_data_url("data:image/png;base64,!!!").is_err());
    assert!(decode_data_url("data:text/plain;base64,aGVsbG8=").is_err());
    assert!(decode_data_url("data:image/png,rawdata").is_err());
}

#[test]
fn forbidden_addresses() {
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fc00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
    ] {
        assert!(forbidden_reason(ip.parse().unwrap()).is_some(), "{ip}");
    }
    for ip in ["8.8.8.8", "2606:4700::1111", "1.1.1.1"] {
        assert!(forbidden_reason(ip.parse().unwrap()).is_none(), "{ip}");
    }
}

#[tokio::test]
async fn private_urls_are_refused_unless_allowed() {
    let f = MediaFetcher::new(MediaPolicy::default()).unwrap();
    let e = f.inline("http://127.0.0.1:9/x.png").await.unwrap_err();
    assert_eq!(e.kind, UpstreamErrorKind::InvalidInput);
    assert!(e.message.contains("loopback"), "{}", e.message);
    let e = f
        .inline("http://169.254.169.254/latest/meta-data")
        .await
        .unwrap_err();
    assert!(e.message.contains("metadata"), "{}", e.message);
    let e = f.inline("http://localhost:9/x.png").await.unwrap_err();
    assert!(e.message.contains("loopback"), "{}", e.message);
    let e = f.inline("ftp://example.com/x.png").await.unwrap_err();
    assert!(e.message.contains("scheme"), "{}", e.message);
}
