//! Submit bodies checked as the proxy checks them, turned into what to create: a new task, the resumption of a
//! `MODAL` task, or an upload. A refusal is `(code, description)` (3 = unknown task, 4 = bad parameter).

use serde_json::Value;

use super::buttons;
use super::tasks::MjState;
use crate::check::strict_base64;

/// A refused submit.
pub(crate) type Refusal = (i64, String);

/// What a valid submit asks for.
#[derive(Debug)]
pub(crate) enum Plan {
    New(NewTask),
    /// `/mj/submit/modal` on this `MODAL` task, with the new prompt if one was given.
    Resume(String, Option<String>),
    /// `/mj/submit/upload-discord-images` with this many images.
    Upload(usize),
}

#[derive(Debug, Default)]
pub(crate) struct NewTask {
    pub action: &'static str,
    pub prompt: String,
    /// `{id}` stands for the new task's id.
    pub description: String,
    pub parent: Option<String>,
    pub custom_id: String,
    pub modal: bool,
}

fn refuse<T>(code: i64, msg: &str) -> Result<T, Refusal> {
    Err((code, msg.to_owned()))
}

/// Checks the body of `/mj/submit/{kind}` (`swap` for `/mj/insight-face/swap`).
pub(crate) fn plan(mj: &MjState, kind: &str, body: &Value) -> Result<Plan, Refusal> {
    if let Some(bot) = body.get("botType").and_then(Value::as_str)
        && !matches!(bot, "" | "MID_JOURNEY" | "NIJI_JOURNEY")
    {
        return refuse(4, "botType参数错误");
    }
    let new = |action, prompt: &str, description: String| {
        Ok(Plan::New(NewTask {
            action,
            prompt: prompt.to_owned(),
            description,
            ..NewTask::default()
        }))
    };
    match kind {
        "imagine" => {
            let prompt = prompt(body)?;
            images(body.get("base64Array"), 0, usize::MAX)?;
            if let Some(one) = body.get("base64").filter(|v| !v.is_null()) {
                images(Some(&Value::Array(vec![one.clone()])), 0, 1)?;
            }
            new("IMAGINE", prompt, format!("/imagine {prompt}"))
        }
        "shorten" => {
            let prompt = prompt(body)?;
            new("SHORTEN", prompt, format!("/shorten {prompt}"))
        }
        "describe" => {
            let link = text(body, "link");
            match body.get("base64").filter(|v| !v.is_null()) {
                Some(b) => {
                    images(Some(&Value::Array(vec![b.clone()])), 1, 1)?;
                }
                None if link.is_some() => {}
                None => return refuse(4, "base64不能为空"),
            }
            new("DESCRIBE", "", "/describe {id}.png".to_owned())
        }
        "blend" => {
            let n = images(body.get("base64Array"), 2, 5)?;
            if let Some(d) = body.get("dimensions").and_then(Value::as_str)
                && !matches!(d, "PORTRAIT" | "SQUARE" | "LANDSCAPE")
            {
                return refuse(4, "dimensions参数错误");
            }
            new("BLEND", "", format!("/blend {{id}} {n}"))
        }
        "swap" => {
            let source = text(body, "sourceBase64").or_else(|| text(body, "sourceUrl"));
            let target = text(body, "targetBase64").or_else(|| text(body, "targetUrl"));
            match (source, target) {
                (None, _) => refuse(4, "sourceBase64不能为空"),
                (_, None) => refuse(4, "targetBase64不能为空"),
                _ => new("SWAP_FACE", "", "/swap_face {id}".to_owned()),
            }
        }
        "upload-discord-images" => Ok(Plan::Upload(images(body.get("base64Array"), 1, 10)?)),
        "action" => action(mj, body),
        "change" => {
            let task_id = required(body, "taskId")?;
            let action = text(body, "action").unwrap_or_default();
            change(
                mj,
                task_id,
                action,
                body.get("index").and_then(Value::as_u64),
            )
        }
        "simple-change" => {
            let content = required(body, "content")?;
            let mut words = content.split_whitespace();
            let (Some(id), Some(op), None) = (words.next(), words.next(), words.next()) else {
                return refuse(4, "content参数错误");
            };
            let op = op.to_ascii_uppercase();
            let (action, index) = match (op.get(..1), op.get(1..).map(str::parse::<u64>)) {
                (Some("U"), Some(Ok(i))) => ("UPSCALE", Some(i)),
                (Some("V"), Some(Ok(i))) => ("VARIATION", Some(i)),
                _ if op == "R" => ("REROLL", None),
                _ => return refuse(4, "content参数错误"),
            };
            change(mj, id, action, index)
        }
        "modal" => {
            let id = required(body, "taskId")?;
            let Some(task) = mj.tasks.get(id) else {
                return refuse(3, "关联任务不存在或已失效");
            };
            if task.status != "MODAL" {
                return refuse(4, "关联任务状态错误");
            }
            Ok(Plan::Resume(
                id.to_owned(),
                text(body, "prompt").map(str::to_owned),
            ))
        }
        _ => refuse(4, "不支持的操作"),
    }
}

/// `/mj/submit/action`: a button of a finished task.
fn action(mj: &MjState, body: &Value) -> Result<Plan, Refusal> {
    let task_id = required(body, "taskId")?;
    let custom_id = required(body, "customId")?;
    let Some(parent) = mj.tasks.get(task_id) else {
        return refuse(3, "关联任务不存在或已失效");
    };
    if parent.status != "SUCCESS" {
        return refuse(4, "关联任务状态错误");
    }
    let Some(press) = buttons::press(custom_id) else {
        return refuse(4, "customId参数错误");
    };
    let verb = match press.action {
        "UPSCALE" => "up",
        "VARIATION" => "variation",
        "REROLL" => "reroll",
        _ => "action",
    };
    Ok(Plan::New(NewTask {
        action: press.action,
        prompt: parent.prompt.clone(),
        description: format!("/{verb} {task_id} {}", press.label),
        parent: Some(task_id.to_owned()),
        custom_id: custom_id.to_owned(),
        modal: press.modal,
    }))
}

/// `/mj/submit/change` and `simple-change` (open API): U/V with an index 1–4, or a reroll.
fn change(mj: &MjState, id: &str, action: &str, index: Option<u64>) -> Result<Plan, Refusal> {
    let (name, label) = match (action, index) {
        ("UPSCALE" | "VARIATION", Some(i @ 1..=4)) => (action, i.to_string()),
        ("UPSCALE" | "VARIATION", _) => return refuse(4, "index参数错误"),
        ("REROLL", _) => ("REROLL", String::new()),
        _ => return refuse(4, "action参数错误"),
    };
    let Some(parent) = mj.tasks.get(id) else {
        return refuse(3, "关联任务不存在或已失效");
    };
    let grid = matches!(
        parent.action.as_str(),
        "IMAGINE" | "VARIATION" | "REROLL" | "BLEND"
    );
    if parent.status != "SUCCESS" || !grid {
        return refuse(4, "关联任务状态错误");
    }
    let hash = &parent.hash;
    let (custom_id, desc) = match name {
        "UPSCALE" => (
            format!("MJ::JOB::upsample::{label}::{hash}"),
            format!("/up {id} U{label}"),
        ),
        "VARIATION" => (
            format!("MJ::JOB::variation::{label}::{hash}"),
            format!("/up {id} V{label}"),
        ),
        _ => (
            format!("MJ::JOB::reroll::0::{hash}::SOLO"),
            format!("/up {id} R"),
        ),
    };
    let action = match name {
        "UPSCALE" => "UPSCALE",
        "VARIATION" => "VARIATION",
        _ => "REROLL",
    };
    Ok(Plan::New(NewTask {
        action,
        prompt: parent.prompt.clone(),
        description: desc,
        parent: Some(id.to_owned()),
        custom_id,
        modal: false,
    }))
}

/// A non-blank `prompt`.
fn prompt(body: &Value) -> Result<&str, Refusal> {
    match text(body, "prompt") {
        Some(p) => Ok(p),
        None => refuse(4, "prompt不能为空"),
    }
}

fn required<'b>(body: &'b Value, key: &str) -> Result<&'b str, Refusal> {
    text(body, key).ok_or_else(|| (4, format!("{key}不能为空")))
}

/// A non-blank string field.
fn text<'b>(body: &'b Value, key: &str) -> Option<&'b str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// An optional array of `data:<type>;base64,<data>` strings with `min..=max` entries (absent = empty).
fn images(value: Option<&Value>, min: usize, max: usize) -> Result<usize, Refusal> {
    let items: &[Value] = match value {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => return refuse(4, "base64格式错误"),
    };
    if items.len() < min || items.len() > max {
        return refuse(4, "base64List参数错误");
    }
    for item in items {
        let ok = item
            .as_str()
            .and_then(|s| s.strip_prefix("data:"))
            .and_then(|s| s.split_once(";base64,"))
            .is_some_and(|(_, data)| strict_base64(data).is_some());
        if !ok {
            return refuse(4, "base64格式错误");
        }
    }
    Ok(items.len())
}
