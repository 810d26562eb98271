//! Users: rows, queries, invitations and password hashing.

pub mod invites;
pub mod model;
pub mod password;

pub use model::User;
