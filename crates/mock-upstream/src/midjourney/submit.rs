//! Submits: validation (which never consumes the script), then the next [`MjOutcome`] decides the answer and
//! whether a task is created, resumed or finished at once.

use serde_json::{Map, Value, json};

use super::MjOutcome;
use super::tasks::{MjState, MjTask};
use super::validate::{NewTask, Plan, plan};

const INSTANCE: &str = "1557366047791000004";
const CHANNEL: &str = "1285816583370000008";
const ACCEPTED: &str = "Submit success";

/// Answers `/mj/submit/{kind}` (`swap` for `/mj/insight-face/swap`) with a SubmitResult body.
pub(crate) fn submit(mj: &mut MjState, kind: &str, body: &Value) -> Value {
    let plan = match plan(mj, kind, body) {
        Ok(plan) => plan,
        Err((code, msg)) => return result(code, &msg, Value::Null, Map::new()),
    };
    let outcome = mj.outcomes.pop_front().unwrap_or_default();
    let mut props = Map::new();
    match &outcome {
        MjOutcome::Banned(word) => {
            let prompt = body.get("prompt").cloned().unwrap_or(json!(""));
            props.insert("promptEn".into(), prompt);
            props.insert("bannedWord".into(), json!(word));
            return result(24, "可能包含敏感词", Value::Null, props);
        }
        MjOutcome::NoAccount => return result(3, "无可用的账号实例", Value::Null, props),
        MjOutcome::Validation(msg) => return result(4, msg, Value::Null, props),
        MjOutcome::QueueFull => {
            props.insert("discordInstanceId".into(), json!(INSTANCE));
            return result(23, "队列已满，请稍后尝试", Value::Null, props);
        }
        _ => {}
    }
    match plan {
        Plan::Upload(n) => {
            let stem = mj.new_id();
            let urls = (0..n)
                .map(|i| json!(format!("{}/mj/images/upload-{stem}-{i}.png", mj.base_url)))
                .collect();
            result(1, ACCEPTED, Value::Array(urls), props)
        }
        Plan::Resume(id, prompt) => {
            let (base, polls) = (mj.base_url.clone(), mj.polls_to_finish);
            let Some(task) = mj.tasks.get_mut(&id) else {
                return result(3, "关联任务不存在或已失效", Value::Null, props);
            };
            if let Some(prompt) = prompt {
                task.properties.insert("finalPrompt".into(), json!(prompt));
                task.prompt = prompt;
            }
            task.restart();
            let (code, desc, props) = apply(task, outcome, false, &base, polls);
            result(code, &desc, json!(id), props)
        }
        Plan::New(new) => {
            let mut task = create(mj, new, body);
            let (base, polls) = (mj.base_url.clone(), mj.polls_to_finish);
            let modal = task.status == "MODAL";
            let (code, desc, props) = apply(&mut task, outcome, modal, &base, polls);
            let id = task.id.clone();
            mj.tasks.insert(id.clone(), task);
            result(code, &desc, json!(id), props)
        }
    }
}

/// A new task from a valid plan, with the body's `state`, `botType` and `notifyHook`; `MODAL` if the button
/// needs a confirmation window.
fn create(mj: &MjState, new: NewTask, body: &Value) -> MjTask {
    let NewTask {
        action,
        prompt,
        description,
        parent,
        custom_id,
        modal,
    } = new;
    let mut task = MjTask::new(mj.new_id(), action, prompt);
    task.description = description.replace("{id}", &task.id);
    task.custom_id = custom_id;
    if let Some(state) = body.get("state").filter(|s| s.is_string()) {
        task.state = state.clone();
    }
    if let Some(bot) = body
        .get("botType")
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty())
    {
        bot.clone_into(&mut task.bot_type);
    }
    let props = &mut task.properties;
    props.insert("discordInstanceId".into(), json!(INSTANCE));
    props.insert("discordChannelId".into(), json!(CHANNEL));
    if let Some(hook) = body.get("notifyHook").filter(|h| h.is_string()) {
        props.insert("notifyHook".into(), hook.clone());
    }
    if let Some(parent) = parent {
        props.insert("parentId".into(), json!(parent));
    }
    if modal {
        task.status = "MODAL";
    }
    task
}

/// Plays an accepting outcome on `task`: `(code, description, properties)` of the answer.
fn apply(
    task: &mut MjTask,
    outcome: MjOutcome,
    modal: bool,
    base: &str,
    polls_to_finish: u32,
) -> (i64, String, Map<String, Value>) {
    let mut props = Map::new();
    props.insert("discordInstanceId".into(), json!(INSTANCE));
    props.insert("discordChannelId".into(), json!(CHANNEL));
    match outcome {
        MjOutcome::Queued(n) => {
            task.queued = true;
            props.insert("numberOfQueues".into(), json!(n));
            (22, format!("排队中，前面还有{n}个任务"), props)
        }
        MjOutcome::Existed => {
            task.succeed(base);
            props.insert("status".into(), json!("SUCCESS"));
            props.insert("imageUrl".into(), json!(task.image_url));
            (21, "任务已存在".to_owned(), props)
        }
        MjOutcome::FailLater(reason) => {
            task.fail_later = Some(reason);
            (1, ACCEPTED.to_owned(), props)
        }
        MjOutcome::Modal => wait_for_modal(task, props),
        _ if modal => wait_for_modal(task, props),
        _ => {
            if polls_to_finish == 0 {
                task.succeed(base);
            }
            (1, ACCEPTED.to_owned(), props)
        }
    }
}

fn wait_for_modal(
    task: &mut MjTask,
    mut props: Map<String, Value>,
) -> (i64, String, Map<String, Value>) {
    task.status = "MODAL";
    for (k, v) in [("finalPrompt", json!(task.prompt)), ("remix", json!(true))] {
        task.properties.insert(k.into(), v.clone());
        props.insert(k.into(), v);
    }
    (21, "Waiting for window confirm".to_owned(), props)
}

fn result(code: i64, description: &str, result: Value, properties: Map<String, Value>) -> Value {
    json!({"code": code, "description": description, "result": result, "properties": properties})
}
