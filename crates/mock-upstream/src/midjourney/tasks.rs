//! The mock proxy's task store: tasks advance one step per poll (`fetch` or `list-by-condition` naming them):
//! `NOT_START` → `SUBMITTED` "0%" → `IN_PROGRESS` (preview image) → `SUCCESS` "100%" with the final image and
//! buttons on poll `polls_to_finish`; `MODAL` tasks wait for `/mj/submit/modal`.

use std::collections::{BTreeMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng as _;
use serde_json::{Map, Value, json};

use super::MjOutcome;
use super::buttons;

/// The midjourney-proxy part of the mock's script.
#[derive(Debug)]
pub(crate) struct MjState {
    pub outcomes: VecDeque<MjOutcome>,
    pub polls_to_finish: u32,
    pub tasks: BTreeMap<String, MjTask>,
    /// `http://addr`, the root of image URLs.
    pub base_url: String,
    /// When set, the `imageUrl` every task reports instead of its own image (an upstream pointing elsewhere).
    pub image_url: Option<String>,
}

impl Default for MjState {
    fn default() -> Self {
        Self {
            outcomes: VecDeque::new(),
            polls_to_finish: 3,
            tasks: BTreeMap::new(),
            base_url: String::new(),
            image_url: None,
        }
    }
}

impl MjState {
    /// A fresh 16-digit id (epoch millis + 3 random digits, as the Java proxy makes them).
    pub fn new_id(&self) -> String {
        loop {
            let id = format!("{}{:03}", now_ms(), rand::rng().random_range(0..1000));
            if !self.tasks.contains_key(&id) {
                return id;
            }
        }
    }

    /// Counts one poll of task `id` and renders it; `None` if unknown.
    pub fn poll(&mut self, id: &str) -> Option<Value> {
        let (n, base) = (self.polls_to_finish, self.base_url.clone());
        let task = self.tasks.get_mut(id)?;
        task.poll(n, &base);
        if let (Some(fixed), Some(url)) = (&self.image_url, &mut task.image_url) {
            url.clone_from(fixed);
        }
        Some(task.render())
    }
}

/// One task the mock proxy holds.
#[derive(Debug, Clone)]
pub(crate) struct MjTask {
    pub id: String,
    pub action: String,
    pub status: &'static str,
    pub prompt: String,
    pub description: String,
    pub state: Value,
    pub custom_id: String,
    pub bot_type: String,
    pub submit_time: i64,
    pub start_time: Option<i64>,
    pub finish_time: Option<i64>,
    pub progress: String,
    pub image_url: Option<String>,
    pub fail_reason: Option<String>,
    pub properties: Map<String, Value>,
    /// The Discord job UUID in its buttons.
    pub hash: String,
    pub seed: String,
    /// Polls seen since the task (re)started.
    pub polls: u32,
    /// Spends its first poll in `NOT_START`.
    pub queued: bool,
    /// Fails with this reason on its second poll.
    pub fail_later: Option<String>,
}

impl MjTask {
    pub fn new(id: String, action: &str, prompt: String) -> Self {
        let mut rng = rand::rng();
        let hash = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            rng.random::<u32>(),
            rng.random::<u16>(),
            rng.random_range(0..0x1000u16),
            rng.random_range(0x8000..0xc000u16),
            rng.random_range(0..1u64 << 48)
        );
        Self {
            id,
            action: action.to_owned(),
            status: "NOT_START",
            prompt,
            description: String::new(),
            state: Value::Null,
            custom_id: String::new(),
            bot_type: "MID_JOURNEY".to_owned(),
            submit_time: now_ms(),
            start_time: None,
            finish_time: None,
            progress: "0%".to_owned(),
            image_url: None,
            fail_reason: None,
            properties: Map::new(),
            hash,
            seed: rng
                .random_range(1_000_000_000u64..4_294_967_295)
                .to_string(),
            polls: 0,
            queued: false,
            fail_later: None,
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.status, "SUCCESS" | "FAILURE" | "CANCEL")
    }

    /// Back to `NOT_START` (a modal task resumed by `/mj/submit/modal`).
    pub fn restart(&mut self) {
        self.status = "NOT_START";
        self.progress = "0%".to_owned();
        self.polls = 0;
    }

    /// One step of the lifecycle.
    fn poll(&mut self, polls_to_finish: u32, base: &str) {
        if self.is_finished() || self.status == "MODAL" {
            return;
        }
        self.polls += 1;
        if self.queued && self.polls == 1 {
            return;
        }
        let step = self.polls - u32::from(self.queued);
        if let Some(reason) = self.fail_later.clone() {
            if step >= 2 {
                self.fail(&reason);
            } else {
                self.start();
            }
        } else if step >= polls_to_finish {
            self.succeed(base);
        } else if step == 1 {
            self.start();
        } else {
            let pct = (step - 1) * 100 / (polls_to_finish - 1).max(1);
            self.status = "IN_PROGRESS";
            self.progress = format!("{pct}%");
            self.image_url = Some(format!("{base}/mj/images/{}-preview.png", self.id));
        }
    }

    fn start(&mut self) {
        self.status = "SUBMITTED";
        self.progress = "0%".to_owned();
        self.start_time.get_or_insert_with(now_ms);
    }

    /// Finished with the final image (and, by action, buttons).
    pub fn succeed(&mut self, base: &str) {
        self.status = "SUCCESS";
        self.progress = "100%".to_owned();
        self.start_time.get_or_insert_with(now_ms);
        self.finish_time = Some(now_ms());
        if self.action != "SHORTEN" {
            self.image_url = Some(format!("{base}/mj/images/{}.png", self.id));
        }
        let final_prompt = match self.action.as_str() {
            "DESCRIBE" => "1️⃣ a cat sitting on a chair --ar 1:1\n\n2️⃣ a small cat, studio light --ar 1:1\n\n\
                           3️⃣ a cute kitten, watercolor --ar 1:1\n\n4️⃣ a cat portrait, soft focus --ar 1:1"
                .to_owned(),
            "SHORTEN" => format!("1️⃣ {}\n\n2️⃣ {}", self.prompt, self.prompt),
            _ => self.prompt.clone(),
        };
        self.properties
            .insert("finalPrompt".into(), Value::String(final_prompt));
    }

    fn fail(&mut self, reason: &str) {
        self.status = "FAILURE";
        self.progress = String::new();
        self.fail_reason = Some(reason.to_owned());
        self.finish_time = Some(now_ms());
    }

    /// The Task object as the plus proxy answers it.
    pub fn render(&self) -> Value {
        let buttons = if self.status == "SUCCESS" {
            buttons::for_action(&self.action, &self.hash)
        } else {
            Vec::new()
        };
        json!({
            "id": self.id,
            "action": self.action,
            "customId": self.custom_id,
            "botType": self.bot_type,
            "prompt": self.prompt,
            "promptEn": self.prompt,
            "description": self.description,
            "state": self.state,
            "submitTime": self.submit_time,
            "startTime": self.start_time,
            "finishTime": self.finish_time,
            "imageUrl": self.image_url,
            "status": self.status,
            "progress": self.progress,
            "failReason": self.fail_reason,
            "buttons": buttons,
            "maskBase64": "",
            "properties": self.properties,
        })
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(task: &mut MjTask, n: u32, polls: usize) -> Vec<String> {
        (0..polls)
            .map(|_| {
                task.poll(n, "http://m");
                format!("{} {}", task.status, task.progress)
            })
            .collect()
    }

    #[test]
    fn lifecycle_by_polls() {
        let mut t = MjTask::new("1".into(), "IMAGINE", "cat".into());
        let seen = statuses(&mut t, 3, 4);
        assert_eq!(
            seen,
            [
                "SUBMITTED 0%",
                "IN_PROGRESS 50%",
                "SUCCESS 100%",
                "SUCCESS 100%"
            ]
        );
        assert_eq!(t.image_url.as_deref(), Some("http://m/mj/images/1.png"));

        let mut t = MjTask::new("2".into(), "IMAGINE", "cat".into());
        t.queued = true;
        let seen = statuses(&mut t, 5, 5);
        assert_eq!(
            seen,
            [
                "NOT_START 0%",
                "SUBMITTED 0%",
                "IN_PROGRESS 25%",
                "IN_PROGRESS 50%",
                "IN_PROGRESS 75%"
            ]
        );

        let mut t = MjTask::new("3".into(), "IMAGINE", "cat".into());
        t.fail_later = Some("banned".into());
        assert_eq!(
            statuses(&mut t, 1, 3),
            ["SUBMITTED 0%", "FAILURE ", "FAILURE "]
        );

        let mut t = MjTask::new("4".into(), "IMAGINE", "cat".into());
        t.status = "MODAL";
        assert_eq!(statuses(&mut t, 1, 2), ["MODAL 0%", "MODAL 0%"]);
        assert_eq!(t.hash.len(), 36);
    }
}
