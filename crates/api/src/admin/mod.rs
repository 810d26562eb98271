//! Administration: users, invitations and per-user limits.

pub mod invites;
pub mod limits;
pub mod users;
