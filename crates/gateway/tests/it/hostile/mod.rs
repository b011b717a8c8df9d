//! What a hostile key holder tries, one file per front (issue 15): each test is named after the attack and
//! asserts what the attacker gets — a clear error or the exact bill, and nothing sent upstream when refused.

mod admission;
mod audio;
mod edge;
mod images;
mod login;
mod midjourney;
mod output_cap;
mod secrets;
mod self_service;
mod streams;
