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
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::7f00:1",
        "64:ff9b::10.0.0.1",
        "64:ff9b:1::8.8.8.8",
        "2002:a9fe:a9fe::1",
        "2002:7f00:1::",
        "2002:c0a8:101::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "::a9fe:a9fe",
        "198.18.0.1",
        "240.0.0.1",
    ] {
        assert!(forbidden_reason(ip.parse().unwrap()).is_some(), "{ip}");
    }
    for ip in [
        "8.8.8.8",
        "2606:4700::1111",
        "1.1.1.1",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ] {
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

#[test]
fn a_request_budget_is_shared_and_never_overdrawn() {
    let budget = ByteBudget::new(10);
    assert!(budget.take(6));
    assert!(!budget.take(5), "only 4 left");
    assert!(budget.take(4));
    assert!(!budget.take(1));
    assert_eq!(budget.limit(), 10);
    let policy = MediaPolicy {
        max_bytes: 1000,
        ..MediaPolicy::default()
    };
    assert_eq!(policy.request_budget(), 4000);
}

#[tokio::test]
async fn the_request_cache_decodes_data_urls_and_keeps_refusals() {
    let cache = MediaCache::new(MediaFetcher::new(MediaPolicy::default()).unwrap());
    let url = format!("data:image/png;base64,{PNG_1X1}");
    let images = cache
        .inline_all([url.as_str(), url.as_str()])
        .await
        .unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[&url].media_type, "image/png");
    let e = cache
        .inline("http://[64:ff9b::7f00:1]/x.png")
        .await
        .unwrap_err();
    assert!(e.message.contains("loopback"), "{}", e.message);
}
