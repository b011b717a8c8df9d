use super::*;
use api_types::ChannelKind;
use chrono::Utc;
use std::collections::BTreeMap;
use store::{Catalog, Channel, ChannelKey};

fn channel(id: i64, priority: i64, weight: i64, healthy: bool) -> Channel {
    Channel {
        id,
        name: format!("c{id}"),
        kind: ChannelKind::OpenAi,
        base_url: "http://x".into(),
        keys: vec![ChannelKey {
            id,
            channel_id: id,
            position: 0,
            secret: "k".into(),
            healthy,
            disabled_reason: None,
        }],
        models: vec!["m".into()],
        model_mapping: BTreeMap::new(),
        groups: vec!["default".into()],
        priority,
        weight,
        enabled: true,
        api_version: None,
        region: None,
        modes: None,
        headers: BTreeMap::new(),
        forward_image_urls: false,
        health: store::ChannelHealth::Healthy,
        last_error: None,
        created_at: Utc::now(),
    }
}

fn snap(channels: Vec<Channel>) -> Snapshot {
    Snapshot::build(
        Catalog {
            channels,
            ..Default::default()
        },
        None,
    )
}

#[test]
fn highest_priority_first_then_next_tier() {
    let s = snap(vec![channel(1, 0, 1, true), channel(2, 10, 1, true)]);
    assert_eq!(
        select(&s, "m", "default", &[], &usable).unwrap().channel.id,
        2
    );
    assert_eq!(
        select(&s, "m", "default", &[2], &usable)
            .unwrap()
            .channel
            .id,
        1
    );
    assert!(select(&s, "m", "default", &[1, 2], &usable).is_none());
    assert!(select(&s, "m", "vip", &[], &usable).is_none());
    assert!(select(&s, "other", "default", &[], &usable).is_none());
}

#[test]
fn unhealthy_channels_are_skipped() {
    let s = snap(vec![channel(1, 10, 1, false), channel(2, 0, 1, true)]);
    assert_eq!(
        select(&s, "m", "default", &[], &usable).unwrap().channel.id,
        2
    );
}

#[test]
fn weights_split_traffic() {
    let s = snap(vec![
        channel(1, 0, 3, true),
        channel(2, 0, 1, true),
        channel(3, 0, 0, true),
    ]);
    let mut counts = [0u32; 4];
    for _ in 0..4000 {
        counts[select(&s, "m", "default", &[], &usable).unwrap().channel.id as usize] += 1;
    }
    assert_eq!(counts[3], 0, "weight 0 is a standby");
    assert!(counts[1] > 2600 && counts[1] < 3400, "{counts:?}");
    assert_eq!(
        select(&s, "m", "default", &[1, 2], &usable)
            .unwrap()
            .channel
            .id,
        3
    );
}
