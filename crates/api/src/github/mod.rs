//! GitHub: the REST client acting as the signed-in user, repository browsing and creation,
//! tasks created from issues, pull requests and commits, and each task's pull request with
//! its comments and checks.
//!
//! The user's GitHub token is opened only here, server-side, for the request at hand; it is
//! never returned or logged. Repositories count as "on GitHub" when their URL is under
//! `github.web_url`; every other remote answers 422 on the pull request endpoints.

pub mod auto_pr;
pub mod client;
pub mod endpoints;
pub mod model;
mod pulls;
pub mod remote;
mod repos;
pub mod service;
mod tasks_from;
mod wire;
