//! Dev servers and their previews (docs/preview.md).
//!
//! - [`detect`]: how a repository serves itself;
//! - [`devserver`]: running it in the task's kept-alive sandbox, its state and output;
//! - [`grants`] and [`model`]: one-time preview links and the preview cookie;
//! - [`gateway`]: the authenticated reverse proxy, `/preview/<task-id>/...` or
//!   `<task-id>.<preview.domain>`, reaching the dev server through the sandbox's relay;
//! - [`endpoints`]: the API routes.

pub mod detect;
pub mod devserver;
pub mod endpoints;
pub mod gateway;
pub mod grants;
pub mod model;

use std::collections::BTreeMap;

pub use devserver::{autostart, status as dev_server_status, stop as stop_dev_server, Deps};

/// Checks a create body's `dev_command` and `dev_port`, adding field → reasons to `errors`.
pub fn validate_settings(
    dev_command: Option<&str>,
    dev_port: Option<u32>,
    errors: &mut BTreeMap<String, Vec<String>>,
) {
    let mut push = |field: &str, reason: &str| {
        errors.entry(field.to_owned()).or_default().push(reason.to_owned());
    };
    if let Some(command) = dev_command {
        if command.trim().is_empty() {
            push("dev_command", "must not be empty");
        } else if command.chars().count() > shared::preview::DEV_COMMAND_MAX_CHARS {
            push("dev_command", "is too long (at most 1000 characters)");
        } else if command.chars().any(|c| c.is_control() && c != '\t') {
            push("dev_command", "must be one line without control characters");
        }
    }
    if let Some(port) = dev_port {
        if !(1024..=65535).contains(&port) {
            push("dev_port", "must be between 1024 and 65535 (a sandbox cannot listen below 1024)");
        } else if port == u32::from(sandbox::EGRESS_PORT) {
            push("dev_port", "must not be 3128, the sandbox's egress relay port");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_settings_are_checked_field_by_field() {
        let check = |command: Option<&str>, port: Option<u32>| {
            let mut errors = BTreeMap::new();
            validate_settings(command, port, &mut errors);
            errors.into_keys().collect::<Vec<_>>()
        };
        assert!(check(Some("npm run dev"), Some(5173)).is_empty());
        assert!(check(None, None).is_empty());
        assert_eq!(check(Some(" "), None), ["dev_command"]);
        assert_eq!(check(Some("a\nb"), None), ["dev_command"]);
        assert_eq!(check(Some(&"x".repeat(1001)), None), ["dev_command"]);
        for port in [0, 80, 1023, 3128, 65536, 100_000] {
            assert_eq!(check(None, Some(port)), ["dev_port"], "{port}");
        }
    }
}
