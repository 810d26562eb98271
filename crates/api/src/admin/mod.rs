//! Administration: per-user limits.

pub mod limits;
