//! Wire types shared by the Drydock API server and the web app.
//!
//! Everything here is plain serde data so that the crate builds for `wasm32-unknown-unknown`;
//! the API maps its database rows into these types, never the other way round.

pub mod admin;
pub mod agents;
pub mod auth;
pub mod capabilities;
pub mod changes;
pub mod connectors;
pub mod error;
pub mod events;
pub mod forges;
pub mod git_hosts;
pub mod github;
pub mod page;
pub mod preview;
pub mod repos;
pub mod sandboxes;
pub mod tasks;
pub mod terminal;
pub mod tokens;
pub mod user_events;
pub mod workspace;

pub use error::Problem;
