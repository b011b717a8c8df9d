//! [`MjOutcome`]: what the mock midjourney-proxy answers to the next well-formed submit.

/// The scripted answer to one submit (`/mj/submit/*`, `/mj/insight-face/swap`) that passed validation; the
/// queue is first in, first out and [`MjOutcome::Accept`] is played when it is empty. A submit refused by
/// validation (code 3/4) does not consume it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MjOutcome {
    /// Code 1 `Submit success`: a task is created and progresses over polls.
    #[default]
    Accept,
    /// Code 22 with `properties.numberOfQueues`: a task is created and stays `NOT_START` for one extra poll.
    Queued(u32),
    /// Code 21 `Waiting for window confirm` with `properties {finalPrompt, remix: true}`: the task is created in
    /// `MODAL` status and waits for `/mj/submit/modal`.
    Modal,
    /// Code 24 with `properties {promptEn, bannedWord}`; no task.
    Banned(String),
    /// Code 3 `无可用的账号实例`; no task.
    NoAccount,
    /// Code 4 with this description; no task.
    Validation(String),
    /// Code 23 (queue full); no task.
    QueueFull,
    /// Code 1, then `FAILURE` with this `failReason` on the task's second poll.
    FailLater(String),
    /// Code 21 `任务已存在` with `properties {status: "SUCCESS", imageUrl}`: the task is created finished.
    Existed,
}
