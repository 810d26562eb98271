//! End-to-end tests of the API: a real PostgreSQL database per test, the app on a random port,
//! and fake external servers on 127.0.0.1.

mod support;

mod auth_local;
mod auth_oauth;
mod cli;
mod errors;
mod migrations;
mod openapi;
mod ops;
mod queue;
mod lifecycle;
mod tasks_api;
mod tokens;
