//! The live event timeline, read like a conversation: under a divider per run (the first
//! prompt, then each follow-up), the events fold under the stage they happened in (finished
//! stages to one line, expandable), the agent's messages read as chat, and each tool call is a
//! card that expands to its result (see [`groups`]). Every event keeps one `data-testid=event`
//! element (`data-kind`, `data-seq`). A kind filter, copy, and a client-side clear.

mod groups;

use shared::events::{EventBody, LogLevel, TaskEvent};
use yew::prelude::*;

use crate::components::forms::{copy_text, target_value};
use crate::components::markdown::Markdown;
use crate::components::network_summary::NetworkSummary;
use crate::components::status_badge::{stage_label, status_label};
use crate::components::toasts::use_toasts;
use crate::hooks::{StreamState, TaskEvents};

/// Which events the timeline shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Everything except raw output lines.
    All,
    /// Everything Drydock and the agent did, without the dev server's lines.
    Platform,
    /// The dev server's output.
    Server,
    /// Agent messages.
    Messages,
    /// Tool calls and results.
    Tools,
    /// Commands Drydock ran.
    Commands,
    /// Drydock's progress: logs, status and stage changes.
    Progress,
    /// Errors, failed commands and failed tools.
    Errors,
    /// Connections the sandbox made or was refused.
    Network,
    /// Raw agent output.
    Raw,
}

impl Filter {
    /// All filters, in menu order.
    pub const ALL: [Self; 10] = [
        Self::All,
        Self::Platform,
        Self::Server,
        Self::Messages,
        Self::Tools,
        Self::Commands,
        Self::Progress,
        Self::Errors,
        Self::Network,
        Self::Raw,
    ];

    /// Value of the `<option>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Platform => "platform",
            Self::Server => "server",
            Self::Messages => "messages",
            Self::Tools => "tools",
            Self::Commands => "commands",
            Self::Progress => "progress",
            Self::Errors => "errors",
            Self::Network => "network",
            Self::Raw => "raw",
        }
    }

    /// Parses an `<option>` value.
    pub fn parse(s: &str) -> Self {
        Self::ALL.into_iter().find(|f| f.as_str() == s).unwrap_or(Self::All)
    }

    /// Whether an event passes the filter.
    pub fn accepts(self, body: &EventBody) -> bool {
        match self {
            Self::All => !matches!(body, EventBody::Raw { .. } | EventBody::Session { .. }),
            Self::Platform => !matches!(
                body,
                EventBody::Raw { .. } | EventBody::Session { .. } | EventBody::ServerOutput { .. }
            ),
            Self::Server => matches!(body, EventBody::ServerOutput { .. }),
            Self::Messages => matches!(body, EventBody::AgentMessage { .. }),
            Self::Tools => {
                matches!(body, EventBody::ToolCall { .. } | EventBody::ToolResult { .. })
            }
            Self::Commands => matches!(body, EventBody::Command { .. }),
            Self::Progress => matches!(
                body,
                EventBody::Log { .. }
                    | EventBody::Status { .. }
                    | EventBody::Stage { .. }
                    | EventBody::Usage { .. }
                    | EventBody::Sandbox { .. }
                    | EventBody::Warning { .. }
                    | EventBody::RunExtended { .. }
            ),
            Self::Errors => is_error(body),
            Self::Network => matches!(body, EventBody::Network { .. }),
            Self::Raw => matches!(body, EventBody::Raw { .. }),
        }
    }
}

/// Whether a command event announces a start rather than an end: the API records the agent's
/// command line when it launches it (no exit code, no duration yet) and again when it ends.
pub fn command_started(exit_code: Option<i32>, duration_ms: u64) -> bool {
    exit_code.is_none() && duration_ms == 0
}

fn exit_label(exit_code: Option<i32>, duration_ms: u64) -> String {
    match exit_code {
        Some(c) => format!("exit {c}"),
        None if command_started(exit_code, duration_ms) => "started".to_owned(),
        None => "killed".to_owned(),
    }
}

/// Whether an event reports a failure (highlighted in red).
pub fn is_error(body: &EventBody) -> bool {
    match body {
        EventBody::Error { .. } => true,
        EventBody::Log { level, .. } => *level == LogLevel::Error,
        EventBody::Command { exit_code, duration_ms, .. } => {
            *exit_code != Some(0) && !command_started(*exit_code, *duration_ms)
        }
        EventBody::ToolResult { ok, .. } => !ok,
        EventBody::Status { status, .. } => *status == shared::tasks::TaskStatus::Error,
        EventBody::Network { allowed, .. } => !allowed,
        _ => false,
    }
}

/// One line of plain text per event, for copying.
pub fn event_text(e: &TaskEvent) -> String {
    let body = match &e.body {
        EventBody::Status { status, reason } => match reason {
            Some(r) => format!("status: {} ({r})", status.as_str()),
            None => format!("status: {}", status.as_str()),
        },
        EventBody::Stage { stage } => format!("stage: {}", stage.as_str()),
        EventBody::Log { level, message } => format!("{level:?}: {message}").to_lowercase_first(),
        EventBody::Command { argv, exit_code, duration_ms } => {
            let code = exit_label(*exit_code, *duration_ms);
            format!("$ {} ({code}, {duration_ms} ms)", argv.join(" "))
        }
        EventBody::AgentMessage { text } => text.clone(),
        EventBody::ToolCall { tool, summary, .. } => format!("[{tool}] {summary}"),
        EventBody::ToolResult { ok, output, .. } => {
            format!("{} {}", if *ok { "ok" } else { "failed" }, output.as_deref().unwrap_or(""))
        }
        EventBody::FileChange { path, change } => format!("{change} {path}"),
        EventBody::Usage { input_tokens, output_tokens, cost_usd } => {
            usage_text(*input_tokens, *output_tokens, *cost_usd)
        }
        EventBody::Session { session_id } => format!("session {session_id}"),
        EventBody::Error { message } => format!("error: {message}"),
        EventBody::Network { .. } => network_text(&e.body),
        EventBody::Sandbox { message, .. } => format!("sandbox: {message}"),
        EventBody::Warning { message, .. } => format!("warning: {message}"),
        EventBody::RunExtended { message, .. } => format!("extended: {message}"),
        EventBody::Raw { line, .. } => line.clone(),
        EventBody::ServerOutput { line, .. } => format!("server: {line}"),
    };
    format!("#{} {}", e.seq, body.trim_end())
}

trait LowerFirst {
    fn to_lowercase_first(self) -> String;
}

impl LowerFirst for String {
    fn to_lowercase_first(self) -> String {
        let mut c = self.chars();
        match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect(),
            None => self,
        }
    }
}

fn usage_text(input: Option<u64>, output: Option<u64>, cost: Option<f64>) -> String {
    let mut parts = Vec::new();
    if let Some(i) = input {
        parts.push(format!("{i} tokens in"));
    }
    if let Some(o) = output {
        parts.push(format!("{o} tokens out"));
    }
    if let Some(c) = cost {
        parts.push(format!("${c:.4}"));
    }
    format!("usage: {}", parts.join(", "))
}

fn row_body(e: &TaskEvent) -> Html {
    match &e.body {
        EventBody::Status { status, reason } => html! {
            <span>{ format!("Status: {}", status_label(*status)) }
                if let Some(r) = reason { <span class="muted">{ format!(" — {r}") }</span> }
            </span>
        },
        EventBody::Stage { stage } => {
            html! { <span class="muted">{ format!("Stage: {}", stage_label(*stage)) }</span> }
        }
        EventBody::Log { message, .. } => html! { <span>{ message }</span> },
        EventBody::Command { argv, exit_code, duration_ms } => html! {
            <span class="cmd">
                <code>{ format!("$ {}", argv.join(" ")) }</code>
                if command_started(*exit_code, *duration_ms) {
                    <span class="exit" data-exit-code="started">{ exit_label(*exit_code, *duration_ms) }</span>
                } else {
                    <span class={classes!("exit", (*exit_code != Some(0)).then_some("bad"))}
                          data-exit-code={exit_code.map(|c| c.to_string()).unwrap_or_else(|| "signal".into())}>
                        { exit_label(*exit_code, *duration_ms) }
                    </span>
                    <span class="muted">{ format!("{:.1}s", *duration_ms as f64 / 1000.0) }</span>
                }
            </span>
        },
        EventBody::AgentMessage { text } => {
            html! { <Markdown source={AttrValue::from(text.clone())} /> }
        }
        EventBody::ToolCall { tool, summary, .. } => html! {
            <span class="tool"><span class="tool-name">{ tool }</span>{ summary }</span>
        },
        EventBody::ToolResult { ok, output, .. } => html! {
            <details class="tool-result">
                <summary>{ if *ok { "✓ result" } else { "✗ failed" } }</summary>
                <pre>{ output.clone().unwrap_or_default() }</pre>
            </details>
        },
        EventBody::FileChange { path, change } => {
            html! { <span><span class="muted">{ change }</span>{ " " }<code>{ path }</code></span> }
        }
        EventBody::Usage { input_tokens, output_tokens, cost_usd } => {
            html! { <span class="muted">{ usage_text(*input_tokens, *output_tokens, *cost_usd) }</span> }
        }
        EventBody::Session { session_id } => {
            html! { <span class="muted">{ format!("Session {session_id}") }</span> }
        }
        EventBody::Error { message } => html! { <strong>{ message }</strong> },
        EventBody::Network { .. } => html! { <span class="muted">{ network_text(&e.body) }</span> },
        EventBody::Sandbox { message, .. } => html! { <span>{ message }</span> },
        EventBody::Warning { message, .. } => html! { <strong class="warn">{ message }</strong> },
        EventBody::RunExtended { message, .. } => html! { <span>{ message }</span> },
        EventBody::Raw { line, .. } => html! { <code class="raw">{ line }</code> },
        EventBody::ServerOutput { line, .. } => html! { <code class="raw server">{ line }</code> },
    }
}

/// "network api.anthropic.com:443 (anthropic) allowed, 1200 B up, 5400 B down" and the like.
fn network_text(body: &EventBody) -> String {
    let EventBody::Network { host, port, allowed, reason, route, bytes_up, bytes_down, .. } = body
    else {
        return String::new();
    };
    let route = route.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
    let verdict = if *allowed { "allowed" } else { "refused" };
    let reason = reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
    format!("network {host}:{port}{route} {verdict}{reason}, {bytes_up} B up, {bytes_down} B down")
}

/// The divider above a run's first group.
fn run_divider(n: i32, first: &groups::StageGroup<'_>) -> Html {
    let seq = first.opened_by.map(|e| e.seq).or_else(|| first_seq(first)).unwrap_or_default();
    html! {
        <li key={format!("run-{n}-{seq}")} class="run-divider" data-testid="run-divider" data-run={n.to_string()}>
            { if n <= 1 { "Run 1".to_owned() } else { format!("Run {n} · follow-up {}", n - 1) } }
        </li>
    }
}

fn first_seq(group: &groups::StageGroup<'_>) -> Option<i64> {
    group.items.first().map(|item| match item {
        groups::Item::Event(e) => e.seq,
        groups::Item::Tool { call, .. } => call.seq,
    })
}

/// A group: what came before a run's first stage is shown as it is; a stage is a fold whose
/// summary says what it was, how many commands it ran, how long it took and whether it failed.
fn group_rows(group: &groups::StageGroup<'_>, is_last: bool) -> Html {
    let rows = group.items.iter().map(item_row).collect::<Html>();
    let (Some(opened_by), Some(stage)) = (group.opened_by, group.stage()) else {
        let key = format!("pre-{}", first_seq(group).unwrap_or_default());
        return html! { <li key={key} class="stage-prelude"><ol class="stage-events">{ rows }</ol></li> };
    };
    let mut facts = Vec::new();
    match group.commands {
        0 => {}
        1 => facts.push("1 command".to_owned()),
        n => facts.push(format!("{n} commands")),
    }
    if let Some(ms) = group.duration_ms() {
        facts.push(format!("{:.1}s", ms as f64 / 1000.0));
    }
    let open = groups::starts_open(group, is_last);
    html! {
        <li key={format!("stage-{}", opened_by.seq)} class={classes!("stage-group", group.failed.then_some("is-error"))}
            data-testid="stage-group" data-stage={stage.as_str()} data-seq={opened_by.seq.to_string()}>
            <details {open}>
                <summary>
                    <span class="stage-name">{ capitalised(stage_label(stage)) }</span>
                    if !facts.is_empty() { <span class="muted">{ format!(" · {}", facts.join(" · ")) }</span> }
                    if group.failed { <span class="stage-failed">{ " · failed" }</span> }
                </summary>
                <ol class="stage-events">{ rows }</ol>
            </details>
        </li>
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// One row: an event, or a tool call as a card that expands to its result.
fn item_row(item: &groups::Item<'_>) -> Html {
    match item {
        groups::Item::Event(e) => event_row(e),
        groups::Item::Tool { call, result } => {
            let EventBody::ToolCall { tool, summary, .. } = &call.body else {
                return event_row(call);
            };
            let (verdict, failed, output) = match result.map(|r| &r.body) {
                Some(EventBody::ToolResult { ok, output, .. }) => {
                    (if *ok { "✓" } else { "✗ failed" }, !ok, output.clone())
                }
                _ => ("…", false, None),
            };
            html! {
                <li key={call.seq.to_string()} class={classes!("event", "kind-tool_call", failed.then_some("is-error"))}
                    data-testid="event" data-kind="tool_call" data-seq={call.seq.to_string()} data-run={call.run.map(|r| r.to_string())}>
                    <span class="seq muted">{ call.seq }</span>
                    <div class="event-body">
                        <details class="tool-card" data-testid="tool-card">
                            <summary>
                                <span class="tool-name">{ tool }</span>{ summary }
                                <span class={classes!("tool-verdict", failed.then_some("bad"))}>{ verdict }</span>
                            </summary>
                            if let Some(r) = result {
                                <div class="tool-output" data-testid="event" data-kind="tool_result" data-seq={r.seq.to_string()}>
                                    <pre>{ output.unwrap_or_else(|| "(no output)".to_owned()) }</pre>
                                </div>
                            }
                        </details>
                    </div>
                </li>
            }
        }
    }
}

fn event_row(e: &TaskEvent) -> Html {
    let kind = e.body.kind();
    html! {
        <li key={e.seq.to_string()} class={classes!("event", format!("kind-{kind}"), is_error(&e.body).then_some("is-error"))}
            data-testid="event" data-kind={kind} data-seq={e.seq.to_string()} data-run={e.run.map(|r| r.to_string())}>
            <span class="seq muted">{ e.seq }</span>
            <div class="event-body">{ row_body(e) }</div>
        </li>
    }
}

/// Props of [`Timeline`].
#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    /// The task's events.
    pub events: TaskEvents,
}

/// The event timeline.
#[component]
pub fn Timeline(props: &TimelineProps) -> Html {
    let filter = use_state(|| Filter::All);
    // Clearing hides what is on screen now, in this page only (the log itself is append-only).
    let cleared = use_state(|| 0i64);
    let f = *filter;
    let after = *cleared;
    let (rows, text, last_seq): (Html, String, i64) = props.events.with_log(|log| {
        let visible = |e: &TaskEvent| e.seq > after && f.accepts(&e.body);
        let text = log
            .events()
            .iter()
            .filter(|e| visible(e))
            .map(event_text)
            .collect::<Vec<_>>()
            .join("\n");
        let folded = groups::fold(log.events(), visible);
        let last = folded.len().saturating_sub(1);
        let mut run = None;
        let mut rows = Vec::with_capacity(folded.len() * 2);
        for (i, group) in folded.iter().enumerate() {
            if group.run.is_some() && group.run != run {
                run = group.run;
                rows.push(run_divider(group.run.unwrap_or_default(), group));
            }
            rows.push(group_rows(group, i == last));
        }
        (rows.into_iter().collect::<Html>(), text, log.last_seq())
    });
    let clear = {
        let cleared = cleared.clone();
        Callback::from(move |_: MouseEvent| cleared.set(last_seq))
    };
    let unclear = {
        let cleared = cleared.clone();
        Callback::from(move |_: MouseEvent| cleared.set(0))
    };
    let (state_name, state_text) = match &props.events.state {
        StreamState::Connecting => ("connecting", "Connecting…".to_owned()),
        StreamState::Live => ("live", "Live".to_owned()),
        StreamState::Finished => ("finished", "Run finished".to_owned()),
        StreamState::Retrying(why) => ("retrying", format!("Reconnecting ({why})")),
    };
    let onchange = {
        let filter = filter.clone();
        Callback::from(move |e: Event| filter.set(Filter::parse(&target_value(&e))))
    };
    let toasts = use_toasts();
    let copy = Callback::from(move |_: MouseEvent| {
        copy_text(&text);
        let n = text.lines().count();
        toasts.show(if n == 1 {
            "Copied 1 event".to_owned()
        } else {
            format!("Copied {n} events")
        });
    });
    html! {
        <div class="timeline" data-testid="timeline">
            <div class="toolbar">
                <span class={classes!("stream-state", state_name)} data-testid="stream-state" data-state={state_name}>{ state_text }</span>
                <span class="spacer" />
                <label for="timeline-filter" class="sr-only">{ "Show" }</label>
                <select id="timeline-filter" data-testid="timeline-filter" {onchange}>
                    { for Filter::ALL.iter().map(|x| html! {
                        <option value={x.as_str()} selected={*x == f}>{ x.as_str() }</option>
                    }) }
                </select>
                <button class="btn small" data-testid="copy-timeline" onclick={copy}>{ "Copy" }</button>
                <button class="btn small" data-testid="clear-timeline" title="Hide the events shown so far (this page only)"
                        onclick={clear}>{ "Clear" }</button>
            </div>
            if after > 0 {
                <p class="muted" data-testid="timeline-cleared">
                    { format!("Cleared up to event #{after}. ") }
                    <button class="btn small" data-testid="unclear-timeline" onclick={unclear}>{ "Show all" }</button>
                </p>
            }
            <NetworkSummary events={props.events.clone()} />
            <ol class="events" data-testid="events">
                { rows }
            </ol>
            if props.events.len == 0 {
                <p class="muted" data-testid="timeline-empty">{ "No events yet." }</p>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: &str) -> TaskEvent {
        serde_json::from_str(&format!(r#"{{"seq":3,"at":"2026-01-01T00:00:00Z",{json}}}"#)).unwrap()
    }

    #[test]
    fn filters_select_kinds() {
        let cmd = ev(
            r#""kind":"command","payload":{"argv":["npm","test"],"exit_code":1,"duration_ms":1500}"#,
        );
        let raw = ev(r#""kind":"raw","payload":{"stream":"stdout","line":"x"}"#);
        assert!(Filter::Commands.accepts(&cmd.body));
        assert!(Filter::Errors.accepts(&cmd.body));
        assert!(!Filter::All.accepts(&raw.body));
        assert!(Filter::Raw.accepts(&raw.body));
        assert_eq!(event_text(&cmd), "#3 $ npm test (exit 1, 1500 ms)");
    }

    #[test]
    fn a_command_announced_at_launch_is_not_a_failure() {
        let started = ev(
            r#""kind":"command","payload":{"argv":["claude"],"exit_code":null,"duration_ms":0}"#,
        );
        assert!(!is_error(&started.body));
        assert_eq!(event_text(&started), "#3 $ claude (started, 0 ms)");
        let killed = ev(
            r#""kind":"command","payload":{"argv":["claude"],"exit_code":null,"duration_ms":900}"#,
        );
        assert!(is_error(&killed.body));
        assert_eq!(event_text(&killed), "#3 $ claude (killed, 900 ms)");
    }

    #[test]
    fn copy_text_of_logs_and_tools() {
        let log = ev(r#""kind":"log","payload":{"level":"warn","message":"slow"}"#);
        assert_eq!(event_text(&log), "#3 warn: slow");
        let tool = ev(r#""kind":"tool_call","payload":{"tool":"Write","summary":"Editing a.rs"}"#);
        assert_eq!(event_text(&tool), "#3 [Write] Editing a.rs");
    }
}
