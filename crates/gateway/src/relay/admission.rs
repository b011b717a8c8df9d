//! The one admission path. Every route that relays to an upstream — chat, `/v1/messages`, `/v1/responses`, the JSON
//! and upload endpoints, Midjourney submits — comes through here, so each rule is written once:
//!
//! 1. [`authenticate`]: the caller's key (auth, failed-attempt limit) and the body within its size and time limits;
//! 2. [`admit`]: model permission, a channel listing the model for the caller's group, a price, a channel that can
//!    serve the request now, the key's rate limits, and the money hold.
//!
//! **The hold is firm and bounds the answer.** Output is held at `min(asked or ceiling, affordable)` tokens, where
//! the ceiling is the price row's `max_output_tokens`, else what the adapters know of the model, else
//! `--default-max-output-tokens`. The ledger clamps the hold to what the user's balance and the key's cap have left
//! (atomically, so concurrent requests never share the same money) and refuses when not even the prompt and one
//! output token fit. The output tokens the clamped hold pays for are the request's [`Admission::output_limit`]: the
//! route writes that limit into what it sends upstream whenever it is below what the client asked for or below the
//! ceiling, so the upstream cannot generate more than the account can pay (and the client sees
//! `finish_reason: "length"`, as if it had asked for that many).

use super::in_flight::InFlight;
use crate::auth::authenticate::{Caller, authenticate as authenticate_key};
use crate::auth::failures::AuthFailureLimiter;
use crate::auth::rate_limits;
use crate::billing::ledger::Hold;
use crate::billing::pricing::{self, TokenCounts};
use crate::catalog::{ChannelEntry, Snapshot};
use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::state::AppState;
use axum::body::Body;
use bytes::Bytes;
use http::HeaderMap;
use std::net::IpAddr;
use std::sync::Arc;
use store::{Price, QuotaShortfall};

/// An authenticated caller and the catalog snapshot the whole request uses.
pub struct Admitted {
    pub snap: Arc<Snapshot>,
    pub caller: Caller,
}

/// Authenticates the caller (filling the log row) and reads the body within the size and time limits.
pub async fn authenticate(
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    body: Body,
    flight: &mut InFlight,
) -> Result<(Admitted, Bytes), ApiError> {
    authenticate_with(state, meta, headers, body, flight, authenticate_key).await
}

/// [`authenticate`] with a route's own credential check (Midjourney also takes `mj-api-secret`).
pub async fn authenticate_with(
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    body: Body,
    flight: &mut InFlight,
    check: impl FnOnce(&AuthFailureLimiter, &Snapshot, &HeaderMap, IpAddr) -> Result<Caller, ApiError>,
) -> Result<(Admitted, Bytes), ApiError> {
    let snap = state.catalog.snapshot();
    let caller = check(&state.auth_failures, &snap, headers, meta.client_ip)?;
    let admitted = Admitted::new(snap, caller, flight);
    let bytes = state.read_body(headers, body).await?;
    Ok((admitted, bytes))
}

impl Admitted {
    /// The caller, noted on the log row.
    fn new(snap: Arc<Snapshot>, caller: Caller, flight: &mut InFlight) -> Self {
        flight.row.user_id = Some(caller.user.id);
        flight.row.key_id = Some(caller.key.key.id);
        flight.row.key_name = Some(caller.key.key.name.clone());
        Self { snap, caller }
    }
}

/// How a request's answer is priced beyond its prompt.
#[derive(Debug, Clone, Copy)]
pub enum OutputAsk {
    /// No output tokens (embeddings, speech, a per-request price).
    Nothing,
    /// Output tokens: the client's own limit per choice, if it gave one, and the number of choices.
    Tokens {
        requested: Option<u64>,
        choices: u64,
    },
    /// Output tokens that cannot be lowered (an upload's transcript): held whole or refused.
    Firm(u64),
}

/// What a route asks admission for.
pub struct Ask<'a> {
    pub model: &'a str,
    /// The price that applies (`None`: 403 `model_not_priced`).
    pub price: Option<Price>,
    /// The channels that can serve this request.
    pub serves: &'a (dyn Fn(&ChannelEntry) -> bool + Sync),
    /// The error when channels list the model but none can serve this request (default: 503 no channel).
    pub unserved: Option<ApiError>,
    /// The prompt's token estimate (an upper bound).
    pub prompt_tokens: u64,
    pub output: OutputAsk,
    /// Money held besides tokens, before the group multiplier (priced built-in tool calls); must fit whole.
    pub fixed: i64,
    /// The request runs on a channel already chosen (a Midjourney follow-up): no channel lookup.
    pub pinned: bool,
}

impl<'a> Ask<'a> {
    /// Asks for `model` at `price` on a channel `serves` accepts, paying for `output`; the rest as most routes ask:
    /// no prompt tokens, nothing fixed, the default refusal when no channel serves it, and a channel to look up.
    pub fn new(
        model: &'a str,
        price: Option<Price>,
        serves: &'a (dyn Fn(&ChannelEntry) -> bool + Sync),
        output: OutputAsk,
    ) -> Self {
        Self {
            model,
            price,
            serves,
            unserved: None,
            prompt_tokens: 0,
            output,
            fixed: 0,
            pinned: false,
        }
    }
}

/// An admitted request: who, which model, which price, and what is held.
pub struct Admission {
    pub model: String,
    pub group: String,
    pub price: Price,
    pub multiplier: i64,
    /// Output tokens the hold pays for, all choices together (`None`: output is not priced by tokens).
    pub output_held: Option<u64>,
    /// The per-choice output limit the route must send upstream, when it is below what the client asked for or the
    /// model's ceiling; `None` when the client's own limit (or the upstream's default within the ceiling) stands.
    pub output_limit: Option<u64>,
}

/// The model rules of every relay route, in this order: the key may use the model (403), a channel of the caller's
/// group lists it (404; not asked for a request pinned to its channel), and `price` applies (403). Returns the price.
pub fn model_permitted(
    snap: &Snapshot,
    caller: &Caller,
    model: &str,
    price: Option<Price>,
    pinned: bool,
) -> Result<Price, ApiError> {
    let owned = || model.to_owned();
    if !caller.may_use(model) {
        return Err(ApiError::ModelNotAllowed { model: owned() });
    }
    if !pinned
        && snap
            .channels_for(model, &caller.user.group)
            .next()
            .is_none()
    {
        return Err(ApiError::ModelNotFound { model: owned() });
    }
    price.ok_or_else(|| ApiError::ModelNotPriced { model: owned() })
}

/// Checks permission, channels, price and rate limits, and holds the money (the hold is then `flight`'s, and so
/// are the state and the request it is admitted for).
pub async fn admit(
    admitted: &Admitted,
    flight: &mut InFlight,
    ask: Ask<'_>,
) -> Result<Admission, ApiError> {
    // Owned (an `Arc` and the id): `flight` is written to below.
    let (state, request_id) = (flight.state().clone(), flight.meta().id.clone());
    let (snap, caller) = (&*admitted.snap, &admitted.caller);
    let model = ask.model;
    flight.row.model = Some(model.to_owned());
    let group = caller.user.group.as_str();
    let price = model_permitted(snap, caller, model, ask.price, ask.pinned)?;
    if !ask.pinned && !snap.channels_for(model, group).any(|c| (ask.serves)(c)) {
        return Err(ask.unserved.unwrap_or_else(|| ApiError::NoChannel {
            model: model.to_owned(),
        }));
    }
    let requested = match ask.output {
        OutputAsk::Tokens {
            requested: Some(n),
            choices,
        } => n.saturating_mul(choices),
        _ => 0,
    };
    let tokens = ask.prompt_tokens.saturating_add(requested);
    flight.tokens_admitted =
        rate_limits::admit(&state.shared, snap, &caller.key.key, group, tokens).await?;

    let multiplier = snap.multiplier(group);
    let mut budget = Budget::new(
        &state,
        &price,
        multiplier,
        model,
        ask.prompt_tokens,
        ask.output,
    );
    budget.fixed = pricing::with_multiplier(ask.fixed, multiplier);
    let reservation = state
        .ledger
        .reserve(Hold {
            request_id: &request_id,
            user_id: caller.user.id,
            key_id: caller.key.key.id,
            estimate: budget.estimate(),
            minimum: budget.minimum(),
        })
        .await?;
    let held = reservation.amount;
    flight.hold(reservation);
    let (output_held, output_limit) = budget.output_for(held)?;
    Ok(Admission {
        model: model.to_owned(),
        group: group.to_owned(),
        price,
        multiplier,
        output_held,
        output_limit,
    })
}

/// A further hold within an admitted session (each realtime response): the admission's price, multiplier and
/// ceiling, `prompt_tokens` and the output asked for, clamped by the ledger like [`admit`]'s. Rate limits were
/// counted when the session was admitted.
pub async fn hold_again(
    state: &AppState,
    request_id: &str,
    caller: &Caller,
    admission: &Admission,
    prompt_tokens: u64,
    requested: Option<u64>,
) -> Result<Held, ApiError> {
    let output = OutputAsk::Tokens {
        requested,
        choices: 1,
    };
    let budget = Budget::new(
        state,
        &admission.price,
        admission.multiplier,
        &admission.model,
        prompt_tokens,
        output,
    );
    let reservation = state
        .ledger
        .reserve(Hold {
            request_id,
            user_id: caller.user.id,
            key_id: caller.key.key.id,
            estimate: budget.estimate(),
            minimum: budget.minimum(),
        })
        .await?;
    // The ledger's minimum is the prompt and one output token, so the clamped hold always pays for one.
    let (output_held, output_limit) = budget
        .output_for(reservation.amount)
        .unwrap_or((Some(1), Some(1)));
    Ok(Held {
        reservation,
        output_held,
        output_limit,
    })
}

/// A hold taken by [`hold_again`]: the money, the output tokens it pays for and the limit to send upstream (when
/// below what was asked or the ceiling).
pub struct Held {
    pub reservation: store::Reservation,
    pub output_held: Option<u64>,
    pub output_limit: Option<u64>,
}

/// The arithmetic of one hold: what is asked, what must fit at least, and what a clamped hold pays for.
struct Budget<'a> {
    price: &'a Price,
    multiplier: i64,
    prompt: u64,
    /// Output tokens wanted per choice (the client's limit within the ceiling, else the ceiling); 0 = none.
    wanted: u64,
    /// The wanted output must fit whole (it cannot be written into the request as a lower limit).
    firm: bool,
    choices: u64,
    /// Money held besides tokens (after the multiplier).
    fixed: i64,
}

impl<'a> Budget<'a> {
    fn new(
        state: &AppState,
        price: &'a Price,
        multiplier: i64,
        model: &str,
        prompt: u64,
        output: OutputAsk,
    ) -> Self {
        let (wanted, choices) = match output {
            OutputAsk::Tokens { requested, choices } if price.per_request.is_none() => {
                let ceiling = ceiling(state, price, model);
                (requested.unwrap_or(ceiling).min(ceiling), choices.max(1))
            }
            OutputAsk::Firm(n) if price.per_request.is_none() => (n, 1),
            _ => (0, 1),
        };
        Self {
            price,
            multiplier,
            prompt,
            wanted,
            firm: matches!(output, OutputAsk::Firm(_)),
            choices,
            fixed: 0,
        }
    }

    fn cost(&self, output: u64) -> i64 {
        let tokens = TokenCounts::held(self.price, self.prompt, output);
        pricing::cost(self.price, tokens, self.multiplier)
            .max(1)
            .saturating_add(self.fixed)
    }

    fn estimate(&self) -> i64 {
        self.cost(self.wanted.saturating_mul(self.choices))
    }

    /// The prompt and one output token per choice must fit, else 429 `insufficient_quota`.
    fn minimum(&self) -> i64 {
        if self.wanted == 0 || self.firm {
            self.estimate()
        } else {
            self.cost(self.choices)
        }
    }

    /// Output tokens held (all choices) and the per-choice limit to send, for a hold of `held`.
    fn output_for(&self, held: i64) -> Result<(Option<u64>, Option<u64>), ApiError> {
        // A firm output (an upload's transcript) cannot be limited upstream: it is held, then billed as reported.
        if self.wanted == 0 || self.firm {
            return Ok((None, None));
        }
        let total = self.wanted.saturating_mul(self.choices);
        let affordable = if self.cost(total) <= held {
            total
        } else {
            self.most_output_within(held, total)
        };
        let per_choice = affordable / self.choices;
        if per_choice == 0 {
            return Err(ApiError::InsufficientQuota(QuotaShortfall::UserBalance));
        }
        let limit = (per_choice < self.wanted).then_some(per_choice);
        Ok((Some(per_choice.saturating_mul(self.choices)), limit))
    }

    /// The largest output in `[0, total]` whose cost fits `held` (cost rises with output: binary search).
    fn most_output_within(&self, held: i64, total: u64) -> u64 {
        let (mut lo, mut hi) = (0u64, total);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.cost(mid) <= held {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }
}

/// The model's output ceiling: the lower of its price row's and what the adapters know of the model, else the
/// `--default-max-output-tokens`.
fn ceiling(state: &AppState, price: &Price, model: &str) -> u64 {
    let priced = price
        .max_output_tokens
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| *n >= 1);
    match (priced, providers::ceilings::max_output_tokens(model)) {
        (Some(a), Some(b)) => a.min(b),
        (Some(n), None) | (None, Some(n)) => n,
        (None, None) => state.settings.default_max_output_tokens,
    }
}
