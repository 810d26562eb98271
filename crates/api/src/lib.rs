//! The Drydock API server: configuration, authentication, data access and HTTP routes.

pub mod accounts;
pub mod agents;
pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod events;
pub mod keys;
pub mod openapi;
pub mod ops;
pub mod request_id;
pub mod routes;
pub mod runtime;
pub mod spa;
pub mod startup;
pub mod state;
pub mod tasks;
pub mod telemetry;
pub mod tokens;
pub mod worker;
