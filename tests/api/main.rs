//! End-to-end tests of the API: a real PostgreSQL database per test, the app on a random port,
//! and fake external servers on 127.0.0.1.

// Test support code panics on a broken fixture by design: that is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod account_linking;
mod agents_real;
mod auth_local;
mod auth_oauth;
mod browser;
mod cli;
mod connectors;
mod contract;
mod errors;
mod escape;
mod forge_gitea;
mod forge_gitlab;
mod forge_runs;
mod git_credentials;
mod github;
mod host_attacks;
mod hot_paths;
mod lifecycle;
mod migrations;
mod openapi;
mod ops;
mod preview;
mod queue;
mod repos;
mod run_extend;
mod sandbox_lifecycle;
mod sealing;
mod tasks_api;
mod terminal;
mod titles;
mod tokens;
mod user_events;
mod workspace;
