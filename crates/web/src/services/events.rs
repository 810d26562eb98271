//! Task events: the gap-free bookkeeping of a task's log ([`EventLog`]) and a thin wrapper over
//! the browser's `EventSource` for the SSE stream ([`EventStream`]).
//!
//! Resuming works by sequence number only: the page backfills with `GET /events?after=SEQ`,
//! then opens the stream with `?after=SEQ`; the browser's own reconnects send `Last-Event-ID`.
//! Whatever arrives twice (overlap between backfill and stream) is dropped by `seq`.

use serde::de::DeserializeOwned;
use shared::events::{EventBody, TaskEvent};
use shared::tasks::{TaskStage, TaskStatus};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, EventSourceInit, MessageEvent};

/// The events of one task received so far, in `seq` order, without duplicates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventLog {
    events: Vec<TaskEvent>,
    last_seq: i64,
}

impl EventLog {
    /// Appends an event unless it was already seen; returns whether it was new.
    pub fn push(&mut self, event: TaskEvent) -> bool {
        if event.seq <= self.last_seq {
            return false;
        }
        self.last_seq = event.seq;
        self.events.push(event);
        true
    }

    /// Appends a batch; returns how many were new.
    pub fn extend(&mut self, events: impl IntoIterator<Item = TaskEvent>) -> usize {
        events.into_iter().filter(|e| self.push(e.clone())).count()
    }

    /// The highest `seq` seen (0 before any event): the resume point.
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    /// All events, oldest first.
    pub fn events(&self) -> &[TaskEvent] {
        &self.events
    }

    /// The status of the latest status event.
    pub fn latest_status(&self) -> Option<TaskStatus> {
        self.events.iter().rev().find_map(|e| match &e.body {
            EventBody::Status { status, .. } => Some(*status),
            _ => None,
        })
    }

    /// The stage of the latest stage event.
    pub fn latest_stage(&self) -> Option<TaskStage> {
        self.events.iter().rev().find_map(|e| match &e.body {
            EventBody::Stage { stage } => Some(*stage),
            _ => None,
        })
    }

    /// Whether the current run has ended (its latest status is terminal), so no stream is needed.
    pub fn run_finished(&self) -> bool {
        self.latest_status().is_some_and(TaskStatus::is_terminal)
    }
}

/// Decodes one SSE `data:` payload.
pub fn parse_event(data: &str) -> Option<TaskEvent> {
    serde_json::from_str(data).ok()
}

/// Wait before reconnect attempt `attempt` (1-based): 1 s doubling to 30 s.
pub fn backoff_ms(attempt: u32) -> u32 {
    1000u32.saturating_mul(1 << attempt.saturating_sub(1).min(5)).min(30_000)
}

/// An open `EventSource`; closed when dropped.
pub struct EventStream {
    source: EventSource,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
    _on_open: Option<Closure<dyn FnMut(web_sys::Event)>>,
}

impl EventStream {
    /// Opens a task's stream at `url` with credentials. `on_event` gets each decoded event;
    /// `on_error` gets whether the browser gave up (`true`: closed, reconnect by hand) or is
    /// retrying by itself.
    pub fn open(
        url: &str,
        on_event: impl FnMut(TaskEvent) + 'static,
        on_error: impl FnMut(bool) + 'static,
    ) -> Result<Self, String> {
        Self::open_json(url, None, on_event, on_error)
    }

    /// Opens any stream of JSON events at `url` with credentials; `on_open` runs each time the
    /// connection is (re)established, once the server has fixed where the stream starts.
    pub fn open_json<T: DeserializeOwned + 'static>(
        url: &str,
        on_open: Option<Box<dyn FnMut()>>,
        mut on_event: impl FnMut(T) + 'static,
        mut on_error: impl FnMut(bool) + 'static,
    ) -> Result<Self, String> {
        let init = EventSourceInit::new();
        init.set_with_credentials(true);
        let source = EventSource::new_with_event_source_init_dict(url, &init)
            .map_err(|e| format!("{e:?}"))?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
            let data = m.data().as_string();
            if let Some(event) = data.as_deref().and_then(|d| serde_json::from_str(d).ok()) {
                on_event(event);
            }
        });
        let es = source.clone();
        let on_err = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
            on_error(es.ready_state() == EventSource::CLOSED);
        });
        let on_open = on_open
            .map(|mut f| Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| f()));
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_err.as_ref().unchecked_ref()));
        if let Some(f) = &on_open {
            source.set_onopen(Some(f.as_ref().unchecked_ref()));
        }
        Ok(Self { source, _on_message: on_message, _on_error: on_err, _on_open: on_open })
    }

    /// Stops the browser from reconnecting (the closures stay alive until drop).
    pub fn close(&self) {
        self.source.close();
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.source.set_onmessage(None);
        self.source.set_onerror(None);
        self.source.set_onopen(None);
        self.source.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64, json: &str) -> TaskEvent {
        let at = "2026-01-01T00:00:00Z";
        serde_json::from_str(&format!(r#"{{"seq":{seq},"at":"{at}",{json}}}"#)).unwrap()
    }

    fn log_line(seq: i64) -> TaskEvent {
        ev(seq, r#""kind":"log","payload":{"level":"info","message":"x"}"#)
    }

    #[test]
    fn duplicates_and_replays_are_dropped() {
        let mut log = EventLog::default();
        assert_eq!(log.extend([log_line(1), log_line(2), log_line(3)]), 3);
        // The stream replays from an older point after a reconnect.
        assert_eq!(log.extend([log_line(2), log_line(3), log_line(4)]), 1);
        assert_eq!(log.last_seq(), 4);
        let seqs: Vec<i64> = log.events().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4]);
    }

    #[test]
    fn terminal_status_finishes_the_run_until_a_new_one_starts() {
        let mut log = EventLog::default();
        log.push(ev(1, r#""kind":"status","payload":{"status":"processing"}"#));
        assert!(!log.run_finished());
        log.push(ev(2, r#""kind":"stage","payload":{"stage":"running_agent"}"#));
        log.push(ev(3, r#""kind":"status","payload":{"status":"completed"}"#));
        assert!(log.run_finished());
        assert_eq!(log.latest_stage(), Some(TaskStage::RunningAgent));
        log.push(ev(4, r#""kind":"status","payload":{"status":"pending"}"#));
        assert!(!log.run_finished());
    }

    #[test]
    fn sse_data_parses_or_is_ignored() {
        let data = r#"{"seq":7,"at":"2026-01-01T00:00:00Z","kind":"agent_message","payload":{"text":"hi"}}"#;
        assert_eq!(parse_event(data).map(|e| e.seq), Some(7));
        assert!(parse_event("keep-alive").is_none());
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(2), 2000);
        assert_eq!(backoff_ms(20), 30_000);
    }
}
