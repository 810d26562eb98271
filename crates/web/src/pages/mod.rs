//! One component per route.

pub mod home;
pub mod not_found;
pub mod repo;
pub mod settings;
pub mod sign_in;
pub mod task;
pub mod tasks;
