//! Tasks: creation ([`service`], the one create path), listing, follow-ups, stop and deletion;
//! per-user limits and the daily quota.

pub mod cache;
pub mod cursor;
pub mod deadline;
pub mod endpoints;
pub mod limits;
pub mod model;
pub mod quota;
pub mod service;
pub mod validate;
