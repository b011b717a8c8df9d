//! Gateway integration tests, the package's only test binary: a real `tollgate` server on a random loopback port in
//! front of the in-process mock upstream, driven over HTTP like a client would (`harness`); the admin REST API
//! (`admin_api`); the real binary's command line (`cli`) and the packaging files it must agree with (`packaging`).
#![cfg(test)]
#![expect(
    clippy::too_many_lines,
    reason = "an end-to-end scenario reads top to bottom; the 120-line limit is for product code (decision 0012)"
)]

mod admin_api;
mod cli;
mod fault_proxy;
mod harness;
mod image_uploads;
mod image_urls;
mod import_new_api;

mod hostile;

mod bad_input;
mod billing;
mod browser;
mod cache_writes;
mod dashboard_api;
mod dashboard_assets;
mod failover;
mod faults;
mod gemini_api;
mod json_endpoints;
mod keys;
mod layout;
mod lifecycle;
mod messages;
mod midjourney;
mod observe;
mod openai_surface;
mod openapi;
mod outages;
mod packaging;
mod postgres;
mod processes;
mod providers;
mod realtime;
mod reasoning;
mod relay_chat;
mod responses_via_chat;
mod scale;
mod services;
mod streaming;
mod support;
mod three_processes;
mod two_processes;
mod vertex;
