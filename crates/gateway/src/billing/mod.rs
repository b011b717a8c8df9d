//! Money: what a request costs (integer micro-units), what to reserve before relaying, and counting tokens when an
//! upstream reports no usage.

pub mod estimate;
pub mod ledger;
pub mod memory_ledger;
pub mod paid_tools;
pub mod pricing;
pub mod settle;
pub mod tokenizer;
