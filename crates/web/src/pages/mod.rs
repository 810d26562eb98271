//! One component per route.

pub mod admin;
pub mod home;
pub mod invite;
pub mod not_found;
pub mod repo;
pub mod settings;
pub mod sign_in;
pub mod task;
pub mod tasks;
