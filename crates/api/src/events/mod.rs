//! The task event log: appending (batched, redacted), reading pages, live fan-out across
//! processes through LISTEN/NOTIFY, and the SSE endpoint.

pub mod endpoints;
pub mod feed;
pub mod hub;
pub mod pages;
pub mod redact;
pub mod store;
pub mod user_endpoints;
pub mod user_store;
pub mod writer;

pub use store::Encoded;
