//! Response bodies written event by event, with pacing, abort/stall endings and a
//! drop guard counting the bodies still being written.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;

/// Pause before a cut, so the events before it reach the socket.
const FLUSH_PAUSE: Duration = Duration::from_millis(10);

/// How a paced body ends once its events are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Finish the body normally.
    Done,
    /// Fail the body, which makes the server abort the connection.
    Cut,
    /// Send nothing more and never finish.
    Stall,
}

/// Counts a body as open while it lives; decrements on drop.
#[derive(Debug)]
pub(crate) struct OpenGuard(Arc<AtomicUsize>);

impl OpenGuard {
    pub fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(counter))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct State {
    events: VecDeque<Bytes>,
    delay: Duration,
    first: bool,
    end: Option<End>,
    guard: Option<OpenGuard>,
}

/// A body yielding `events` one frame at a time, `delay` apart, then ending as `end` says.
pub(crate) fn paced_body(events: Vec<Bytes>, delay_ms: u64, end: End, guard: OpenGuard) -> Body {
    let state = State {
        events: events.into(),
        delay: Duration::from_millis(delay_ms),
        first: true,
        end: Some(end),
        guard: Some(guard),
    };
    let stream = futures::stream::unfold(state, |mut s| async move {
        if let Some(event) = s.events.pop_front() {
            if !s.first && !s.delay.is_zero() {
                tokio::time::sleep(s.delay).await;
            }
            s.first = false;
            if s.events.is_empty() && s.end == Some(End::Done) {
                // The last event is handed out: nothing is left to write.
                s.guard = None;
            }
            return Some((Ok(event), s));
        }
        match s.end.take() {
            // Dropping the state drops the guard.
            None | Some(End::Done) => None,
            Some(End::Cut) => {
                // Let the server flush what was sent before the connection is aborted.
                tokio::time::sleep(s.delay.max(FLUSH_PAUSE)).await;
                s.guard = None;
                let err = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "mock cut");
                Some((Err(err), s))
            }
            Some(End::Stall) => std::future::pending().await,
        }
    });
    Body::from_stream(stream)
}
