use super::*;

fn all(input: &[&[u8]]) -> Vec<SseEvent> {
    let mut d = SseDecoder::default();
    let mut out = Vec::new();
    for part in input {
        d.push(part);
        while let Some(ev) = d.next_event().unwrap() {
            out.push(ev);
        }
    }
    out
}

#[test]
fn decodes_events_split_anywhere() {
    let text = b"data: {\"a\":1}\n\n: keep-alive\n\nevent: ping\ndata: {}\r\n\r\ndata: [DONE]\n\n";
    for split in 0..text.len() {
        let evs = all(&[&text[..split], &text[split..]]);
        assert_eq!(evs.len(), 3, "split at {split}");
        assert_eq!(&evs[0].data[..], b"{\"a\":1}");
        assert_eq!(evs[1].event.as_deref(), Some("ping"));
        assert_eq!(&evs[1].data[..], b"{}");
        assert_eq!(&evs[2].data[..], b"[DONE]");
    }
}

#[test]
fn joins_multi_line_data() {
    let evs = all(&[b"data: a\ndata:b\n\n"]);
    assert_eq!(&evs[0].data[..], b"a\nb");
}

#[test]
fn ignores_incomplete_tail() {
    assert!(all(&[b"data: x\n"]).is_empty());
}
