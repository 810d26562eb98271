//! GitHub: the REST client acting as the signed-in user, repository browsing and creation,
//! and tasks created from issues, pull requests and commits. A task's pull request, comments
//! and checks are [`crate::forges`]'s, with GitHub behind the forge trait.
//!
//! The user's GitHub token is opened only here, server-side, for the request at hand; it is
//! never returned or logged. Repositories count as "on GitHub" when their URL is under
//! `github.web_url`; every other remote answers 422 on the pull request endpoints.

pub mod auto_pr;
pub mod client;
pub mod endpoints;
pub mod model;
pub mod remote;
mod repos;
pub mod service;
mod tasks_from;
pub(crate) mod wire;
