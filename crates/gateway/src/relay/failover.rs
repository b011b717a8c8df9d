//! The one failover loop, used by every route that calls an upstream (chat, `/v1/messages`, `/v1/responses`, the
//! JSON and upload endpoints, Midjourney submits): pick a channel that the route's filter accepts and this request
//! has not tried, take its next healthy key, run the route's attempt, and on a retryable failure (connect error,
//! timeout before the first byte, 408/429/5xx, a rejected upstream key) report it to channel health and move on, up
//! to `--max-retries` further channels. A request pinned to one channel (a Midjourney follow-up runs where its task
//! ran) gets that channel once.

use super::in_flight::InFlight;
use crate::catalog::{ChannelEntry, Snapshot};
use crate::error::ApiError;
use crate::routing::upstream::upstream_ctx;
use crate::routing::{health, selector};
use crate::state::AppState;
use providers::{UpstreamCtx, UpstreamError, UpstreamErrorKind};
use std::ops::ControlFlow;
use std::sync::Arc;

/// Which channels a request may go to.
pub struct Route<'a> {
    pub model: &'a str,
    pub group: &'a str,
    /// The channels that can serve this request (kind, health, mode…).
    pub serves: &'a (dyn Fn(&ChannelEntry) -> bool + Sync),
    /// Only this channel, once, with any of its keys.
    pub pinned: Option<Arc<ChannelEntry>>,
    /// A malformed first event also moves on (streams: nothing has reached the client yet).
    pub retry_protocol_errors: bool,
}

/// One attempt's channel, its key's upstream context and the model name sent upstream.
pub struct Try {
    pub channel: Arc<ChannelEntry>,
    /// The channel key this attempt uses (reported to health on failure).
    pub key_id: i64,
    pub ctx: UpstreamCtx,
    pub upstream_model: String,
}

pub struct Served<T> {
    pub channel: Arc<ChannelEntry>,
    pub upstream_model: String,
    /// Channels tried before this one.
    pub retries: u32,
    pub answer: T,
}

pub struct Failed {
    pub error: ApiError,
    pub retries: u32,
    /// The channel of the last attempt, if any was made.
    pub channel_id: Option<i64>,
}

/// The failover state of one request. A route drives it like this:
///
/// ```text
/// let mut failover = Failover::new(state, snap, route);
/// let served = loop {
///     let Some(t) = failover.next_try() else { break Err(failover.exhausted()) };
///     let result = attempt(&t).await;
///     if let ControlFlow::Break(done) = failover.record(t, result) { break done }
/// };
/// ```
///
/// so the route's attempt may borrow the request mutably across its awaits; choosing channels and keys, reporting
/// failures to health and deciding to retry all happen here.
pub struct Failover<'a> {
    state: &'a AppState,
    snap: &'a Snapshot,
    route: Route<'a>,
    max_attempts: u32,
    tried: Vec<i64>,
    last: Option<(UpstreamError, i64)>,
    /// Images are fetched once per request, not once per attempt.
    media: Arc<providers::media::MediaCache>,
}

impl<'a> Failover<'a> {
    pub fn new(state: &'a AppState, snap: &'a Snapshot, route: Route<'a>) -> Self {
        let max_attempts = if route.pinned.is_some() {
            1
        } else {
            state.settings.max_retries.saturating_add(1)
        };
        Self {
            state,
            snap,
            route,
            max_attempts,
            tried: Vec::new(),
            last: None,
            media: providers::media::MediaCache::new(state.media.clone()),
        }
    }

    /// The next channel to try with its key, or `None` when the attempts or the channels are used up.
    pub fn next_try(&mut self) -> Option<Try> {
        while count(self.tried.len()) < self.max_attempts {
            let channel = self.next_channel()?;
            self.tried.push(channel.channel.id);
            let key = match (&self.route.pinned, channel.pick_key()) {
                (_, Some(k)) => k.clone(),
                (Some(_), None) => match channel.channel.keys.first() {
                    Some(k) => k.clone(),
                    None => continue,
                },
                (None, None) => continue,
            };
            let upstream_model = channel.upstream_model(self.route.model).to_owned();
            let ctx = UpstreamCtx {
                media: self.media.clone(),
                ..upstream_ctx(self.state, &channel, &key)
            };
            return Some(Try {
                channel,
                key_id: key.id,
                ctx,
                upstream_model,
            });
        }
        None
    }

    /// Takes one attempt's result: `Break` with the answer or a final failure, `Continue` to try the next channel.
    pub fn record<T>(
        &mut self,
        t: Try,
        result: Result<T, UpstreamError>,
    ) -> ControlFlow<Result<Served<T>, Failed>> {
        let retries = count(self.tried.len().saturating_sub(1));
        let e = match result {
            Ok(answer) => {
                return ControlFlow::Break(Ok(Served {
                    channel: t.channel,
                    upstream_model: t.upstream_model,
                    retries,
                    answer,
                }));
            }
            Err(e) => e,
        };
        tracing::warn!(channel = %t.channel.channel.name, error = %e, "upstream attempt failed");
        health::report_failure(self.state, &t.channel, t.key_id, &e);
        let retry = e.is_retryable()
            || (self.route.retry_protocol_errors && matches!(e.kind, UpstreamErrorKind::Protocol));
        let id = t.channel.channel.id;
        if !retry {
            return ControlFlow::Break(Err(Failed {
                error: ApiError::Upstream(e),
                retries,
                channel_id: Some(id),
            }));
        }
        self.last = Some((e, id));
        ControlFlow::Continue(())
    }

    /// No attempt answered: the last retryable failure, or 503 when no channel could be tried at all.
    pub fn exhausted(self) -> Failed {
        let retries = count(self.tried.len().saturating_sub(1));
        match self.last {
            Some((e, id)) => Failed {
                error: ApiError::Upstream(e),
                retries,
                channel_id: Some(id),
            },
            None => Failed {
                error: ApiError::NoChannel {
                    model: self.route.model.to_owned(),
                },
                retries,
                channel_id: None,
            },
        }
    }

    fn next_channel(&self) -> Option<Arc<ChannelEntry>> {
        match &self.route.pinned {
            Some(c) => (!self.tried.contains(&c.channel.id)).then(|| c.clone()),
            None => selector::select(
                self.snap,
                self.route.model,
                self.route.group,
                &self.tried,
                self.route.serves,
            ),
        }
    }
}

/// Notes a finished failover on the request's log row (channel, upstream model, retries) and hands on the answer,
/// or the final error.
pub fn noted<T>(
    flight: &mut InFlight,
    outcome: Result<Served<T>, Failed>,
) -> Result<Served<T>, ApiError> {
    match outcome {
        Ok(served) => {
            flight.row.channel_id = Some(served.channel.channel.id);
            flight.row.upstream_model = Some(served.upstream_model.clone());
            flight.row.retries = i64::from(served.retries);
            Ok(served)
        }
        Err(failed) => {
            flight.row.retries = i64::from(failed.retries);
            flight.row.channel_id = failed.channel_id;
            Err(failed.error)
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
