//! Integration tests with real parts: bubblewrap, git, local bare repositories and a smart-HTTP
//! git server. They fail, never skip, when a part is missing.

// Setup helpers outside #[test] functions panic on purpose, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agents_sandboxed;
mod cgroups;
mod common;
mod conformance;
mod egress;
mod escape;
mod git_http;
mod git_local;
mod identity;
mod ingress;
mod isolation;
mod terminal;
