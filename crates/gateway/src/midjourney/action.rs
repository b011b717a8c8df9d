//! Which action a submit is, and the model name it is billed and permitted as (`mj_imagine`, `mj_upscale`, …,
//! `swap_face`), including actions derived from a button's `customId` (midjourney-proxy's button format).

use crate::error::ApiError;
use serde_json::{Map, Value};

/// Action of a follow-up button: `MJ::JOB::upsample::1::<hash>` → UPSCALE, etc.
pub fn from_custom_id(custom_id: &str) -> Result<&'static str, ApiError> {
    let parts: Vec<&str> = custom_id.split("::").collect();
    if parts.first() != Some(&"MJ") || parts.len() < 2 {
        return Err(ApiError::invalid(
            format!("`customId` `{custom_id}` is not a Midjourney button id"),
            Some("customId"),
        ));
    }
    let key = if parts[1].eq_ignore_ascii_case("JOB") {
        parts.get(2).copied().unwrap_or_default()
    } else {
        parts[1]
    };
    let action = if key.contains("low_variation") {
        "LOW_VARIATION"
    } else if key.contains("high_variation") {
        "HIGH_VARIATION"
    } else if key.contains("upsample") {
        "UPSCALE"
    } else if key.contains("variation") {
        "VARIATION"
    } else if key.contains("reroll") {
        "REROLL"
    } else if key.starts_with("pan") {
        "PAN"
    } else if key == "Outpaint" {
        "ZOOM"
    } else if key == "CustomZoom" {
        "CUSTOM_ZOOM"
    } else if key == "Inpaint" {
        "INPAINT"
    } else if key == "PicReader" {
        "PIC_READER"
    } else if key == "PromptAnalyzer" {
        "PROMPT_ANALYZER"
    } else {
        return Err(ApiError::invalid(
            format!("unknown Midjourney action in `customId` `{custom_id}`"),
            Some("customId"),
        ));
    };
    Ok(action)
}

/// The action of a submit route (`imagine`, `action`, …) given its body.
pub fn of_submit(kind: &str, body: &Map<String, Value>) -> Result<&'static str, ApiError> {
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    Ok(match kind {
        "imagine" => "IMAGINE",
        "blend" => "BLEND",
        "describe" => "DESCRIBE",
        "shorten" => "SHORTEN",
        "modal" => "MODAL",
        "upload-discord-images" => "UPLOAD",
        "swap" => "SWAP_FACE",
        "action" => from_custom_id(&text("customId"))?,
        "change" => match text("action").to_ascii_uppercase().as_str() {
            "UPSCALE" => "UPSCALE",
            "VARIATION" => "VARIATION",
            "REROLL" => "REROLL",
            other => {
                return Err(ApiError::invalid(
                    format!("`action` `{other}` must be UPSCALE, VARIATION or REROLL"),
                    Some("action"),
                ));
            }
        },
        "simple-change" => {
            let content = text("content");
            let op = content
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_ascii_uppercase();
            match op.chars().next() {
                Some('U') => "UPSCALE",
                Some('V') => "VARIATION",
                Some('R') => "REROLL",
                _ => {
                    return Err(ApiError::invalid(
                        "`content` must be `<taskId> U1..U4|V1..V4|R`",
                        Some("content"),
                    ));
                }
            }
        }
        other => {
            return Err(ApiError::RouteNotFound {
                method: "POST".into(),
                path: format!("/mj/submit/{other}"),
            });
        }
    })
}

/// Billing/permission model name: `mj_` + lowercase action, except face swap (new-api's names).
pub fn model_name(action: &str) -> String {
    if action == "SWAP_FACE" {
        "swap_face".to_owned()
    } else {
        format!("mj_{}", action.to_ascii_lowercase())
    }
}

/// The parent task a follow-up refers to, if the route has one.
pub fn parent_id(kind: &str, body: &Map<String, Value>) -> Option<String> {
    match kind {
        "action" | "modal" | "change" => body
            .get("taskId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        "simple-change" => body
            .get("content")
            .and_then(Value::as_str)
            .and_then(|c| c.split_whitespace().next())
            .map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_map_to_actions() {
        for (id, action) in [
            ("MJ::JOB::upsample::1::bab70970-d663", "UPSCALE"),
            ("MJ::JOB::variation::3::bab70970", "VARIATION"),
            ("MJ::JOB::reroll::0::2fc2c79d::SOLO", "REROLL"),
            ("MJ::JOB::low_variation::1::x::SOLO", "LOW_VARIATION"),
            ("MJ::JOB::upsample_v6_2x_subtle::1::x::SOLO", "UPSCALE"),
            ("MJ::JOB::pan_left::1::x::SOLO", "PAN"),
            ("MJ::Outpaint::50::1::x::SOLO", "ZOOM"),
            ("MJ::CustomZoom::1::x", "CUSTOM_ZOOM"),
            ("MJ::Inpaint::1::x::SOLO", "INPAINT"),
        ] {
            assert_eq!(from_custom_id(id).unwrap(), action, "{id}");
        }
        assert!(from_custom_id("nope").is_err());
        assert!(from_custom_id("MJ::BOOKMARK::x").is_err());
        assert_eq!(model_name("UPSCALE"), "mj_upscale");
        assert_eq!(model_name("SWAP_FACE"), "swap_face");
    }
}
