//! Everything that talks to the outside world: the API (HTTP and SSE), the runtime config and
//! the browser's local storage.

pub mod api;
pub mod client;
pub mod config;
pub mod error;
pub mod events;
pub mod live_tasks;
pub mod storage;
pub mod workspace;

pub use error::ApiError;
