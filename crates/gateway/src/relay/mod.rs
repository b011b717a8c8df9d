//! The client-facing API: authenticate → validate → reserve money → pick a channel → call → settle → log.

pub mod admission;
pub mod attempt;
pub mod billing_compat;
pub mod chat;
pub mod chat_parts;
pub mod endpoints;
pub mod failover;
pub mod gemini;
pub mod image_limit;
pub mod in_flight;
pub mod incoming;
pub mod log;
pub mod messages;
pub mod models;
pub mod pipeline;
pub mod realtime;
pub mod responses;
pub mod thinking;
