//! The task's network at a glance: every destination the sandbox tried to reach, how often it
//! was let through or refused, and how many bytes went each way. Built from the `network`
//! events the egress proxy records (docs/egress.md); nothing shows when there are none.

use std::collections::BTreeMap;

use shared::events::{EventBody, TaskEvent};
use yew::prelude::*;

use crate::hooks::TaskEvents;

/// One host and port the sandbox asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// `host:port` as asked for.
    pub target: String,
    /// The broker route, when requests went through the credential broker.
    pub route: Option<String>,
    /// Connections or requests let through.
    pub allowed: u32,
    /// Connections or requests refused.
    pub refused: u32,
    /// The latest reason given for a refusal or failure.
    pub reason: Option<String>,
    /// Bytes from the sandbox upstream.
    pub bytes_up: u64,
    /// Bytes from upstream into the sandbox.
    pub bytes_down: u64,
}

/// Folds the network events into one row per destination: refused ones first (they are what
/// a user looks for when an agent could not reach something), then by name.
pub fn summarize<'a>(events: impl IntoIterator<Item = &'a TaskEvent>) -> Vec<Destination> {
    let mut by_target: BTreeMap<String, Destination> = BTreeMap::new();
    for event in events {
        let EventBody::Network { host, port, allowed, reason, route, bytes_up, bytes_down, .. } =
            &event.body
        else {
            continue;
        };
        let target = format!("{host}:{port}");
        let row = by_target.entry(target.clone()).or_insert_with(|| Destination {
            target,
            route: None,
            allowed: 0,
            refused: 0,
            reason: None,
            bytes_up: 0,
            bytes_down: 0,
        });
        if *allowed {
            row.allowed += 1;
        } else {
            row.refused += 1;
        }
        if route.is_some() {
            row.route.clone_from(route);
        }
        if reason.is_some() {
            row.reason.clone_from(reason);
        }
        row.bytes_up += bytes_up;
        row.bytes_down += bytes_down;
    }
    let mut rows: Vec<Destination> = by_target.into_values().collect();
    rows.sort_by(|a, b| {
        (b.refused > 0).cmp(&(a.refused > 0)).then_with(|| a.target.cmp(&b.target))
    });
    rows
}

/// `1.2 MB`-style sizes.
pub fn bytes_label(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Props of [`NetworkSummary`].
#[derive(Properties, PartialEq)]
pub struct NetworkSummaryProps {
    /// The task's events.
    pub events: TaskEvents,
}

/// A folded "Network" panel above the timeline.
#[component]
pub fn NetworkSummary(props: &NetworkSummaryProps) -> Html {
    let rows = props.events.with_log(|log| summarize(log.events()));
    if rows.is_empty() {
        return Html::default();
    }
    let refused = rows.iter().filter(|r| r.refused > 0).count();
    let headline = match refused {
        0 => format!("Network: {} destination(s), all allowed", rows.len()),
        n => format!("Network: {} destination(s), {n} refused", rows.len()),
    };
    html! {
        <details class="network-summary card" data-testid="network-summary" data-refused={refused.to_string()} open={refused > 0}>
            <summary>{ headline }</summary>
            <table class="list">
                <thead><tr><th>{ "Destination" }</th><th>{ "Allowed" }</th><th>{ "Refused" }</th><th>{ "Up / down" }</th><th>{ "Why" }</th></tr></thead>
                <tbody>
                    { for rows.iter().map(|r| html! {
                        <tr key={r.target.clone()} data-testid="network-destination" data-target={r.target.clone()}
                            class={classes!((r.refused > 0).then_some("is-error"))}>
                            <td>
                                <code>{ &r.target }</code>
                                if let Some(route) = &r.route { <span class="chip small" title="Credentials added by the broker">{ route }</span> }
                            </td>
                            <td>{ r.allowed }</td>
                            <td>{ r.refused }</td>
                            <td class="muted">{ format!("{} / {}", bytes_label(r.bytes_up), bytes_label(r.bytes_down)) }</td>
                            <td class="muted small">{ r.reason.clone().unwrap_or_default() }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(seq: i64, host: &str, allowed: bool, reason: Option<&str>, up: u64) -> TaskEvent {
        let body = serde_json::json!({
            "kind": "network",
            "payload": {"host": host, "port": 443, "allowed": allowed, "reason": reason,
                        "bytes_up": up, "bytes_down": up * 10},
        });
        let mut event = serde_json::json!({"seq": seq, "at": "2026-01-01T00:00:00Z"});
        event.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        serde_json::from_value(event).unwrap()
    }

    #[test]
    fn destinations_are_folded_refused_first() {
        let events = [
            network(1, "registry.npmjs.org", true, None, 100),
            network(2, "evil.example", false, Some("not in the allow-list"), 0),
            network(3, "registry.npmjs.org", true, None, 50),
            network(4, "api.anthropic.com", true, None, 7),
        ];
        let rows = summarize(events.iter());
        let targets: Vec<&str> = rows.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(
            targets,
            ["evil.example:443", "api.anthropic.com:443", "registry.npmjs.org:443"]
        );
        assert_eq!((rows[0].allowed, rows[0].refused), (0, 1));
        assert_eq!(rows[0].reason.as_deref(), Some("not in the allow-list"));
        assert_eq!((rows[2].allowed, rows[2].bytes_up, rows[2].bytes_down), (2, 150, 1500));
    }

    #[test]
    fn other_events_are_ignored() {
        let log: TaskEvent = serde_json::from_value(serde_json::json!({
            "seq": 1, "at": "2026-01-01T00:00:00Z", "kind": "log",
            "payload": {"level": "info", "message": "hello"},
        }))
        .unwrap();
        assert!(summarize([&log]).is_empty());
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(bytes_label(999), "999 B");
        assert_eq!(bytes_label(1_500), "1.5 KB");
        assert_eq!(bytes_label(2_000_000), "2.0 MB");
    }
}
