//! Native relay for the gateway's inbound `/v1/messages`: the client's Anthropic body goes upstream untouched
//! (the caller has already rewritten `model`), with the same headers, timeouts and error mapping as the adapter.

use crate::UpstreamCtx;
use crate::error::UpstreamError;
use bytes::Bytes;

/// POSTs `body` to the channel's `/v1/messages`. Resolves with the response once a success status arrives; the
/// caller reads (or streams) the body itself.
pub async fn send_native(
    ctx: &UpstreamCtx,
    body: Bytes,
) -> Result<crate::client::UpstreamResponse, UpstreamError> {
    super::send(ctx, body).await
}
