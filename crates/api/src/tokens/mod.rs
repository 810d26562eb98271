//! Personal API tokens: `Authorization: Bearer dd_…` on every endpoint.

pub mod endpoints;
pub mod model;
