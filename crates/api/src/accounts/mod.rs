//! Users: rows, queries and password hashing.

pub mod model;
pub mod password;

pub use model::User;
