//! Users' provider API keys: write-only, encrypted at rest.

pub mod endpoints;
pub mod model;
pub mod opened;
