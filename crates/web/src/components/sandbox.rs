//! A task's live sandbox on its page: a status line with start, stop and extend, and the banner
//! a `warning` event raises one minute before a deadline (with "Extend" for the sandbox's).

use gloo_timers::callback::Interval;
use shared::events::EventBody;
use shared::sandboxes::{SandboxAction, SandboxState, TaskSandbox, WarningKind};
use uuid::Uuid;
use yew::prelude::*;

use crate::components::async_content::maybe_error;
use crate::components::toasts::use_toasts;
use crate::hooks::{use_action, use_fetch, StreamState, TaskEvents};
use crate::services::api;
use crate::util::now_ms;

/// How often the status line refreshes (time left, usage, a start in progress).
const POLL_MS: u32 = 3_000;

/// "12 min left", "45 s left", "expired".
pub fn time_left(expires_at: chrono::DateTime<chrono::Utc>, now_ms: f64) -> String {
    // Float to int: the clock is far inside i64 range.
    #[allow(clippy::cast_possible_truncation)]
    let secs = (expires_at.timestamp_millis() - now_ms as i64) / 1000;
    match secs {
        s if s <= 0 => "expired".to_owned(),
        s if s < 120 => format!("{s} s left"),
        s if s < 7_200 => format!("{} min left", s / 60),
        s => format!("{} h left", s / 3_600),
    }
}

/// Bytes as "12.3 MiB".
pub fn size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    // Display only: precision beyond a decimal does not matter.
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / MIB;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB")
    }
}

/// The warning to show: the latest one whose deadline has not passed and that nothing since
/// answered (an extend, stop or start for the sandbox's; the run's end or extend for the run's).
pub fn active_warning(
    events: &[shared::events::TaskEvent],
    now_ms: f64,
) -> Option<(WarningKind, String)> {
    let (at, (kind, deadline, message)) =
        events.iter().enumerate().rev().find_map(|(i, e)| match &e.body {
            EventBody::Warning { warning, deadline, message } => {
                Some((i, (*warning, *deadline, message.clone())))
            }
            _ => None,
        })?;
    // Float to int: the clock is far inside i64 range.
    #[allow(clippy::cast_possible_truncation)]
    if deadline.timestamp_millis() <= now_ms as i64 {
        return None;
    }
    let answered = events[at + 1..].iter().any(|e| match (&e.body, kind) {
        (EventBody::Sandbox { action, .. }, WarningKind::SandboxExpiry) => matches!(
            action,
            SandboxAction::Extended | SandboxAction::Stopped | SandboxAction::Started
        ),
        (EventBody::Status { status, .. }, WarningKind::RunTimeLimit) => status.is_terminal(),
        (EventBody::RunExtended { .. }, WarningKind::RunTimeLimit) => true,
        _ => false,
    });
    (!answered).then_some((kind, message))
}

/// Props of [`SandboxLine`].
#[derive(Properties, PartialEq)]
pub struct SandboxLineProps {
    /// The task.
    pub task_id: Uuid,
    /// Whether a run is in progress (start and stop are then the run's business).
    pub run_active: bool,
    /// The task's events, for the banner and to refresh on sandbox events.
    pub events: TaskEvents,
}

/// The status line and the deadline banner.
#[component]
pub fn SandboxLine(props: &SandboxLineProps) -> Html {
    let id = props.task_id;
    let sandbox_events = props.events.with_log(|log| {
        log.events().iter().filter(|e| matches!(e.body, EventBody::Sandbox { .. })).count()
    });
    let status =
        use_fetch((id, sandbox_events, props.run_active), |(id, _, _)| api::task_sandbox(id));
    let tick = use_state(|| 0u32);
    {
        let (reload, tick) = (status.reload.clone(), tick.clone());
        use_effect_with(id, move |_| {
            let interval = Interval::new(POLL_MS, move || {
                reload.emit(());
                tick.set(tick.wrapping_add(1));
            });
            move || drop(interval)
        });
    }
    let running = status.data().is_some_and(|s| s.state == SandboxState::Running);
    {
        // The event stream closes after a run; while a sandbox lives, warnings and its events
        // still come, so follow them.
        let follow = running && props.events.state == StreamState::Finished;
        let reconnect = props.events.reconnect.clone();
        use_effect_with(follow, move |follow| {
            if *follow {
                reconnect.emit(());
            }
        });
    }
    let toasts = use_toasts();
    let action = {
        let reload = status.reload.clone();
        use_action(move |what: &'static str| {
            let (reload, toasts) = (reload.clone(), toasts.clone());
            async move {
                if what == "extend-run" {
                    api::extend_run(id).await?;
                } else {
                    api::sandbox_action(id, what).await?;
                }
                reload.emit(());
                toasts.show(done_text(what));
                Ok(())
            }
        })
    };
    let now = now_ms();
    let warning = props.events.with_log(|log| active_warning(log.events(), now));
    let button = |what: &'static str, label: &'static str| {
        let run = action.run.clone();
        html! {
            <button class="btn small" data-testid={format!("sandbox-{what}")} disabled={action.busy}
                    onclick={move |_| run.emit(what)}>{ label }</button>
        }
    };
    let line = match status.data() {
        None => html! { <span class="muted">{ "Sandbox: …" }</span> },
        Some(s) => line(s, now, props.run_active, &button),
    };
    html! {
        <>
            if let Some((kind, message)) = warning {
                <div class="banner warn" role="alert" data-testid="deadline-banner" data-warning={kind_name(kind)}>
                    <span>{ message }</span>
                    if kind == WarningKind::SandboxExpiry && running {
                        <button class="btn small primary" data-testid="banner-extend" disabled={action.busy}
                                onclick={let run = action.run.clone(); move |_| run.emit("extend")}>{ "Extend" }</button>
                    }
                    if kind == WarningKind::RunTimeLimit && props.run_active {
                        <button class="btn small primary" data-testid="banner-extend-run" disabled={action.busy}
                                onclick={let run = action.run.clone(); move |_| run.emit("extend-run")}>{ "Give it 15 more minutes" }</button>
                    }
                </div>
            }
            <div class="sandbox-line row wrap" data-testid="sandbox-line">
                { line }
                { maybe_error(&action.error) }
            </div>
        </>
    }
}

/// What a toast says once a sandbox action went through.
fn done_text(what: &str) -> &'static str {
    match what {
        "start" => "Sandbox starting",
        "stop" => "Sandbox stopped",
        "extend" => "Sandbox extended",
        "extend-run" => "The agent has 15 more minutes",
        _ => "Done",
    }
}

fn kind_name(kind: WarningKind) -> &'static str {
    match kind {
        WarningKind::RunTimeLimit => "run_time_limit",
        WarningKind::SandboxExpiry => "sandbox_expiry",
    }
}

fn line(
    s: &TaskSandbox,
    now: f64,
    run_active: bool,
    button: &dyn Fn(&'static str, &'static str) -> Html,
) -> Html {
    let state = s.state.as_str();
    // A run always has a sandbox of its own; only a kept-alive one is listed as the task's, so
    // "stopped" would misread a running agent's.
    let shown =
        if run_active && s.state == SandboxState::Stopped { "in use by the run" } else { state };
    let usage = s.usage.as_ref().map(|u| {
        let mut parts = Vec::new();
        if let Some(m) = u.memory_bytes {
            parts.push(format!("{} memory", size(m)));
        }
        if let Some(p) = u.processes {
            parts.push(format!("{p} processes"));
        }
        if let Some(d) = u.disk_bytes {
            parts.push(format!("{} disk", size(d)));
        }
        parts.join(" · ")
    });
    html! {
        <>
            <span>{ "Sandbox: " }<strong data-testid="sandbox-state" data-state={state}>{ shown }</strong></span>
            if let Some(at) = s.expires_at {
                <span class="muted" data-testid="sandbox-expires">{ time_left(at, now) }</span>
            }
            if let Some(u) = usage { <span class="muted" data-testid="sandbox-usage">{ u }</span> }
            if let Some(e) = &s.error { <span class="error-text" data-testid="sandbox-error">{ e }</span> }
            if !run_active {
                if matches!(s.state, SandboxState::Stopped | SandboxState::Error) { { button("start", "Start sandbox") } }
                if matches!(s.state, SandboxState::Running | SandboxState::Starting) { { button("stop", "Stop sandbox") } }
            }
            if s.state == SandboxState::Running { { button("extend", "Extend") } }
        </>
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use shared::events::TaskEvent;

    use super::*;

    fn event(seq: i64, body: EventBody) -> TaskEvent {
        TaskEvent { seq, at: Utc.timestamp_opt(1_000, 0).unwrap(), run: Some(1), body }
    }

    #[test]
    fn time_left_reads_minutes_seconds_and_expired() {
        let at = Utc.timestamp_opt(10_000, 0).unwrap();
        assert_eq!(time_left(at, 10_000_000.0), "expired");
        assert_eq!(time_left(at, 9_955_000.0), "45 s left");
        assert_eq!(time_left(at, 9_280_000.0), "12 min left");
    }

    #[test]
    fn a_warning_shows_until_answered_or_past() {
        let deadline = Utc.timestamp_opt(2_000, 0).unwrap();
        let warn = event(
            1,
            EventBody::Warning {
                warning: WarningKind::SandboxExpiry,
                deadline,
                message: "soon".into(),
            },
        );
        let now = 1_950_000.0;
        let shown = active_warning(std::slice::from_ref(&warn), now);
        assert_eq!(shown, Some((WarningKind::SandboxExpiry, "soon".to_owned())));
        assert_eq!(active_warning(std::slice::from_ref(&warn), 2_000_000.0), None, "past");
        let extended = event(
            2,
            EventBody::Sandbox {
                action: SandboxAction::Extended,
                message: "kept".into(),
                expires_at: None,
            },
        );
        assert_eq!(active_warning(&[warn.clone(), extended], now), None, "answered");
        let done = event(
            2,
            EventBody::Status { status: shared::tasks::TaskStatus::Completed, reason: None },
        );
        assert!(active_warning(&[warn, done], now).is_some(), "a run's end does not answer it");
        let run_warn = event(
            1,
            EventBody::Warning {
                warning: WarningKind::RunTimeLimit,
                deadline,
                message: "the run".into(),
            },
        );
        let run_extended = event(2, EventBody::RunExtended { deadline, message: "more".into() });
        assert_eq!(active_warning(&[run_warn.clone(), run_extended], now), None, "extended");
        let sandbox_extended = event(
            2,
            EventBody::Sandbox {
                action: SandboxAction::Extended,
                message: "kept".into(),
                expires_at: None,
            },
        );
        assert!(
            active_warning(&[run_warn, sandbox_extended], now).is_some(),
            "the sandbox's extend does not answer the run's warning"
        );
    }
}
