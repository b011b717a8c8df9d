//! `InFlight`: the log row and the money hold of a request until they are handed to a `Settlement`. If the request
//! future is dropped before that — the client closed the connection while Tollgate was still waiting for the
//! upstream — `Drop` refunds the hold and writes the row (status 499), so neither money nor a log row is lost.

use super::admission::{self, Admission, Admitted};
use super::log;
use crate::billing::paid_tools::ToolBill;
use crate::billing::settle::Settlement;
use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Map, Value};
use store::{LogRow, Reservation};

pub struct InFlight {
    state: AppState,
    meta: RequestMeta,
    pub row: LogRow,
    reservation: Option<Reservation>,
    /// Tokens counted for this request in its key's tokens-per-minute window at admission, if it has one.
    pub tokens_admitted: Option<u64>,
    finished: bool,
}

impl InFlight {
    pub fn new(state: AppState, meta: RequestMeta, stream: bool) -> Self {
        let row = log::draft(&meta, stream);
        Self {
            state,
            meta,
            row,
            reservation: None,
            tokens_admitted: None,
            finished: false,
        }
    }

    /// Serves one request: `relay` runs with a new in-flight record; when it fails, the hold is given back, the
    /// row logged, and the client gets `render(error)` (each route's protocol has its own error shape).
    pub async fn serve(
        state: &AppState,
        meta: &RequestMeta,
        relay: impl AsyncFnOnce(&mut Self) -> Result<Response, ApiError>,
        render: impl FnOnce(ApiError) -> Response,
    ) -> Response {
        let mut flight = Self::new(state.clone(), meta.clone(), false);
        match relay(&mut flight).await {
            Ok(resp) => resp,
            Err(e) => {
                flight.fail(&e).await;
                render(e)
            }
        }
    }

    /// [`Self::serve`] for a relay route: the caller is authenticated and the body read (both inside the in-flight
    /// record, so a refusal is logged) before `relay` runs with them.
    pub async fn serve_authenticated(
        state: &AppState,
        meta: &RequestMeta,
        headers: &HeaderMap,
        body: Body,
        relay: impl AsyncFnOnce(Admitted, Bytes, &mut Self) -> Result<Response, ApiError>,
        render: impl FnOnce(ApiError) -> Response,
    ) -> Response {
        let relayed = async |flight: &mut Self| {
            let (admitted, bytes) =
                admission::authenticate(state, meta, headers, body, flight).await?;
            relay(admitted, bytes, flight).await
        };
        Self::serve(state, meta, relayed, render).await
    }

    /// The state this request is served with.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The metadata of the request this record is for.
    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }

    pub fn hold(&mut self, reservation: Reservation) {
        self.reservation = Some(reservation);
    }

    /// The answer is on its way: the settlement takes over the row and the hold.
    pub fn hand_over(&mut self) -> Result<(LogRow, Reservation), ApiError> {
        let reservation = self
            .reservation
            .take()
            .ok_or_else(|| ApiError::Internal("no reservation to settle".to_owned()))?;
        self.finished = true;
        Ok((std::mem::take(&mut self.row), reservation))
    }

    /// The answer is on its way: the settlement that bills `request` as `admission` priced it, taking over the row
    /// and the hold.
    pub fn settlement(
        &mut self,
        admission: Admission,
        request: Map<String, Value>,
        tools: ToolBill,
    ) -> Result<Settlement, ApiError> {
        let tokens_admitted = self.tokens_admitted;
        let (row, reservation) = self.hand_over()?;
        Ok(Settlement {
            books: self.state.books.clone(),
            meta: self.meta.clone(),
            reservation,
            price: admission.price,
            multiplier: admission.multiplier,
            model: admission.model,
            request,
            row,
            tokens_admitted,
            max_output_tokens: admission.output_held,
            tools,
        })
    }

    /// The request failed: give the hold back and log the error the client receives.
    pub async fn fail(mut self, err: &ApiError) {
        self.finished = true;
        let mut row = std::mem::take(&mut self.row);
        log::fail(&mut row, &self.meta, err);
        if let Some(key_id) = row.key_id {
            crate::auth::rate_limits::settle(&self.state.shared, key_id, self.tokens_admitted, 0)
                .await;
        }
        match self.reservation.take() {
            Some(r) => self.state.logs.push_charged(row, &r, 0).await,
            None if row.key_id.is_none() && log::before_any_key(err) => {
                self.state.logs.push_refusal(row).await;
            }
            None => self.state.logs.push(row).await,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let state = self.state.clone();
        let reservation = self.reservation.take();
        let tokens_admitted = self.tokens_admitted;
        let mut row = std::mem::take(&mut self.row);
        row.status = 499;
        row.error = Some("client closed the connection before the answer arrived".to_owned());
        row.latency_ms = self.meta.elapsed_ms();
        let span = crate::http::meta::span(&self.meta);
        let work = async move {
            if let Some(key_id) = row.key_id {
                crate::auth::rate_limits::settle(&state.shared, key_id, tokens_admitted, 0).await;
            }
            match reservation {
                Some(r) => state.logs.push_charged(row, &r, 0).await,
                None => state.logs.push(row).await,
            }
        };
        self.state
            .tasks
            .spawn(tracing::Instrument::instrument(work, span));
    }
}
