//! Authentication: browser sessions, API tokens, local accounts and OAuth sign-in.
//!
//! Handlers ask for a [`CurrentUser`] (or [`AdminUser`]) parameter; the extractor accepts an
//! `Authorization: Bearer` API token or the session cookie, and for cookie-authenticated unsafe
//! methods also requires the session's CSRF token in `X-CSRF-Token`. Login and setup need no
//! CSRF token: they only accept `application/json`, which a cross-site form cannot send without
//! a CORS preflight that the allow-list refuses.
//!
//! Who a token or session belongs to is kept in memory for a few seconds ([`cache`]), so an
//! authenticated read usually costs no database round trip for its authentication.

pub mod cache;
pub mod current_user;
pub mod endpoints;
pub mod oauth;
pub mod providers;
pub mod session;
pub mod session_store;
pub mod setup;

pub use current_user::{check_still_valid, still_valid, AdminUser, AuthVia, CurrentUser};
