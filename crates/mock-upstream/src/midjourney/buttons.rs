//! Discord-style buttons on finished tasks and the reverse: which task a `customId` creates.
//! Ids follow the plus API: `MJ::JOB::upsample::{n}::{hash}`, `MJ::JOB::variation::{n}::{hash}`,
//! `MJ::JOB::reroll::0::{hash}::SOLO`, and on upscaled images the `::SOLO` family (vary, zoom, pan, region).

use serde_json::{Value, json};

/// What pressing a button does: the new task's action, whether it first waits in `MODAL`, and its
/// `description` verb (`U2`, `V1`, `R`, or the raw id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Press {
    pub action: &'static str,
    pub modal: bool,
    pub label: String,
}

/// Reads a `customId`; `None` if it is not one the mock knows.
pub(crate) fn press(custom_id: &str) -> Option<Press> {
    let segs: Vec<&str> = custom_id.split("::").collect();
    if segs.first() != Some(&"MJ") {
        return None;
    }
    let job = segs.get(1).is_some_and(|s| s.eq_ignore_ascii_case("JOB"));
    let name = if job { segs.get(2) } else { segs.get(1) }.copied()?;
    let index = segs.get(3).copied().unwrap_or("1");
    let (action, modal, label) = if name.contains("upsample") {
        ("UPSCALE", false, format!("U{index}"))
    } else if name.contains("variation") && !name.contains("_variation") {
        ("VARIATION", false, format!("V{index}"))
    } else if name.contains("_variation") {
        ("VARIATION", false, name.to_owned())
    } else if name == "reroll" {
        ("REROLL", false, "R".to_owned())
    } else if name.starts_with("pan_") {
        ("PAN", false, name.to_owned())
    } else if name == "Outpaint" {
        ("ZOOM", false, name.to_owned())
    } else if name == "CustomZoom" {
        ("CUSTOM_ZOOM", true, name.to_owned())
    } else if name == "Inpaint" {
        ("INPAINT", true, name.to_owned())
    } else if name == "PicReader" || name == "PromptAnalyzer" {
        ("IMAGINE", false, name.to_owned())
    } else {
        return None;
    };
    Some(Press {
        action,
        modal,
        label,
    })
}

/// The buttons a finished task of `action` carries.
pub(crate) fn for_action(action: &str, hash: &str) -> Vec<Value> {
    match action {
        "IMAGINE" | "VARIATION" | "REROLL" | "BLEND" | "ZOOM" | "PAN" | "CUSTOM_ZOOM"
        | "INPAINT" => grid(hash),
        "UPSCALE" => solo(hash),
        "DESCRIBE" => (1..=4)
            .map(|n| button(&format!("MJ::Job::PicReader::{n}"), "", &n.to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

/// U1–U4, 🔄, V1–V4 (the order the seed shows).
fn grid(hash: &str) -> Vec<Value> {
    let ups = (1..=4).map(|n| {
        button(
            &format!("MJ::JOB::upsample::{n}::{hash}"),
            "",
            &format!("U{n}"),
        )
    });
    let reroll = button(&format!("MJ::JOB::reroll::0::{hash}::SOLO"), "🔄", "");
    let vars = (1..=4).map(|n| {
        button(
            &format!("MJ::JOB::variation::{n}::{hash}"),
            "",
            &format!("V{n}"),
        )
    });
    ups.chain(std::iter::once(reroll)).chain(vars).collect()
}

/// The buttons under one upscaled image.
fn solo(hash: &str) -> Vec<Value> {
    let rows: [(&str, &str, &str); 12] = [
        ("JOB::upsample_v6_2x_subtle::1", "⬆️", "Upscale (Subtle)"),
        (
            "JOB::upsample_v6_2x_creative::1",
            "⬆️",
            "Upscale (Creative)",
        ),
        ("JOB::high_variation::1", "🪄", "Vary (Strong)"),
        ("JOB::low_variation::1", "🪄", "Vary (Subtle)"),
        ("Inpaint::1", "🖌️", "Vary (Region)"),
        ("Outpaint::50::1", "🔍", "Zoom Out 2x"),
        ("Outpaint::75::1", "🔍", "Zoom Out 1.5x"),
        ("CustomZoom::1", "🔍", "Custom Zoom"),
        ("JOB::pan_left::1", "⬅️", ""),
        ("JOB::pan_right::1", "➡️", ""),
        ("JOB::pan_up::1", "⬆️", ""),
        ("JOB::pan_down::1", "⬇️", ""),
    ];
    rows.iter()
        .map(|(stem, emoji, label)| {
            let suffix = if stem.starts_with("CustomZoom") {
                ""
            } else {
                "::SOLO"
            };
            button(&format!("MJ::{stem}::{hash}{suffix}"), emoji, label)
        })
        .collect()
}

fn button(custom_id: &str, emoji: &str, label: &str) -> Value {
    json!({"customId": custom_id, "emoji": emoji, "label": label, "type": 2, "style": 2})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_button_presses_to_a_task() {
        for action in ["IMAGINE", "UPSCALE", "DESCRIBE"] {
            for b in for_action(action, "h") {
                let id = b["customId"].as_str().unwrap();
                assert!(press(id).is_some(), "{id}");
            }
        }
        assert_eq!(for_action("IMAGINE", "h").len(), 9);
        assert_eq!(press("MJ::JOB::upsample::2::h").unwrap().label, "U2");
        assert_eq!(
            press("MJ::JOB::variation::3::h").unwrap().action,
            "VARIATION"
        );
        assert_eq!(
            press("MJ::JOB::reroll::0::h::SOLO").unwrap().action,
            "REROLL"
        );
        assert!(press("MJ::CustomZoom::1::h").unwrap().modal);
        assert_eq!(
            press("MJ::Outpaint::50::1::h::SOLO").unwrap().action,
            "ZOOM"
        );
        assert_eq!(press("MJ::BOOKMARK::h"), None);
        assert_eq!(press("JOB::upsample::1::h"), None);
    }
}
