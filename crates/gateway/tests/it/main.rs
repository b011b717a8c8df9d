//! Gateway integration tests: a real `tollgate` server on a random loopback port in front of the in-process mock
//! upstream, driven over HTTP like a client would.
#![cfg(test)]

mod fault_proxy;
mod harness;
mod image_urls;
mod import_new_api;

mod hostile;

mod bad_input;
mod billing;
mod dashboard_api;
mod dashboard_assets;
mod failover;
mod faults;
mod json_endpoints;
mod keys;
mod lifecycle;
mod messages;
mod midjourney;
mod observe;
mod openai_surface;
mod openapi;
mod outages;
mod postgres;
mod providers;
mod relay_chat;
mod responses_via_chat;
mod scale;
mod services;
mod streaming;
mod two_processes;
