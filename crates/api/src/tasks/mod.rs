//! Tasks: creation, listing, follow-ups, stop and deletion; per-user limits and the daily quota.

pub mod endpoints;
pub mod limits;
pub mod model;
pub mod validate;
