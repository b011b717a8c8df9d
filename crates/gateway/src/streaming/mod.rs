//! Relaying a stream to the client: frame each upstream chunk as SSE as it arrives, watch usage on the way, and
//! settle when the stream ends or the client goes away.

pub mod cap;
pub mod chunk;
pub mod encode;
pub mod gemini;
pub mod native;
pub mod responses;
pub mod sse;
pub mod tap;
pub mod thinking_blocks;
