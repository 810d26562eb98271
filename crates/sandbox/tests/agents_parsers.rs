//! The parsers against streams recorded from the real CLIs (by `agents_cli.rs` with
//! `DRYDOCK_RECORD_FIXTURES=1`; host paths rewritten to the sandbox layout), and Cursor's
//! against hand-written lines in its documented format, since its CLI cannot run here.
//!
//! Fixture format: one line per output line, `out <line>` or `err <line>`.

// A test crate: helpers outside `#[test]` functions panic on setup failures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use drydock_sandbox::agents::{strategy_for, AgentParser, AgentPaths, Outcome};
use shared::agents::AgentKind;
use shared::events::{EventBody, Stream};

struct Replay {
    events: Vec<EventBody>,
    parser: Box<dyn AgentParser>,
}

fn replay_lines(kind: AgentKind, lines: &[(Stream, String)]) -> Replay {
    let mut parser = strategy_for(kind).parser(&AgentPaths::sandbox());
    let mut events = Vec::new();
    for (stream, line) in lines {
        events.extend(parser.feed(*stream, line));
    }
    events.extend(parser.finish());
    Replay { events, parser }
}

fn replay(kind: AgentKind, name: &str) -> Replay {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/agents")
        .join(format!("{}.{name}.txt", kind.as_str()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<(Stream, String)> = text
        .lines()
        .map(|l| match l.split_once(' ') {
            Some(("err", rest)) => (Stream::Stderr, rest.to_string()),
            Some((_, rest)) => (Stream::Stdout, rest.to_string()),
            None => (Stream::Stdout, String::new()),
        })
        .collect();
    replay_lines(kind, &lines)
}

const RECORDED: [AgentKind; 6] = [
    AgentKind::Claude,
    AgentKind::Codex,
    AgentKind::Copilot,
    AgentKind::Gemini,
    AgentKind::Opencode,
    AgentKind::Qwen,
];

fn tool_summaries(events: &[EventBody]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            EventBody::ToolCall { summary, .. } => Some(summary.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn first_turn_has_session_tool_call_result_message_and_success() {
    for kind in RECORDED {
        let r = replay(kind, "turn1");
        let name = kind.as_str();
        let summaries = tool_summaries(&r.events);
        assert!(
            summaries.iter().any(|s| s.ends_with(" hello.txt")),
            "{name}: summaries {summaries:?} should name the repo-relative file"
        );
        let call_id = r.events.iter().find_map(|e| match e {
            EventBody::ToolCall { call_id, .. } => call_id.clone(),
            _ => None,
        });
        assert!(
            r.events.iter().any(
                |e| matches!(e, EventBody::ToolResult { ok: true, call_id: c, .. } if *c == call_id)
            ),
            "{name}: no successful result paired with the call: {:#?}",
            r.events
        );
        assert!(r.events.contains(&EventBody::AgentMessage { text: "done".into() }), "{name}");
        assert_eq!(r.parser.final_message(), Some("done"), "{name}");
        assert_eq!(r.parser.outcome(), Outcome::Succeeded, "{name}");
        assert!(r.parser.saw_result(), "{name}");
        let session = r.parser.session_id().unwrap_or_else(|| panic!("{name}: no session"));
        let sessions: Vec<&EventBody> =
            r.events.iter().filter(|e| matches!(e, EventBody::Session { .. })).collect();
        assert_eq!(sessions, [&EventBody::Session { session_id: session.to_string() }], "{name}");
        if kind != AgentKind::Copilot {
            assert!(
                r.events.iter().any(
                    |e| matches!(e, EventBody::Usage { output_tokens: Some(n), .. } if *n > 0)
                ),
                "{name}: no usage"
            );
        }
        assert!(
            r.events.iter().all(|e| !matches!(e, EventBody::Raw { .. } | EventBody::Error { .. })),
            "{name}"
        );
    }
}

#[test]
fn resumed_turn_succeeds_with_the_second_file() {
    for kind in RECORDED {
        let r = replay(kind, "resume");
        let summaries = tool_summaries(&r.events);
        assert!(summaries.iter().any(|s| s.contains("second.txt")), "{kind:?}: {summaries:?}");
        assert_eq!(r.parser.outcome(), Outcome::Succeeded, "{kind:?}");
        assert!(r.parser.session_id().is_some(), "{kind:?}");
    }
}

#[test]
fn api_errors_fail_with_an_error_event() {
    let cases: &[(AgentKind, &str)] = &[
        (AgentKind::Claude, "error401"),
        (AgentKind::Claude, "error429"),
        (AgentKind::Claude, "error500"),
        (AgentKind::Codex, "error401"),
        (AgentKind::Codex, "error429"),
        (AgentKind::Codex, "error500"),
        (AgentKind::Copilot, "error401"),
        (AgentKind::Gemini, "error401"),
        (AgentKind::Opencode, "error401"),
        (AgentKind::Qwen, "error401"),
    ];
    for (kind, name) in cases {
        let r = replay(*kind, name);
        let Outcome::Failed(reason) = r.parser.outcome() else {
            panic!("{kind:?} {name}: {:?}", r.parser.outcome())
        };
        assert!(!reason.is_empty());
        assert!(r.events.iter().any(|e| matches!(e, EventBody::Error { .. })), "{kind:?} {name}");
        assert!(r.parser.saw_result(), "{kind:?} {name}: the worker needs the end signal");
        assert!(
            r.events.iter().all(
                |e| !matches!(e, EventBody::AgentMessage { text } if text.contains("API Error"))
            ),
            "{kind:?} {name}: an API error shown as a message"
        );
    }
}

#[test]
fn cancelled_turns_are_cancelled_or_have_no_verdict() {
    for kind in RECORDED {
        let r = replay(kind, "cancel");
        let expected = match kind {
            // These two print a verdict after SIGINT; the others just stop.
            AgentKind::Claude | AgentKind::Copilot => Outcome::Cancelled,
            _ => Outcome::Unknown,
        };
        assert_eq!(r.parser.outcome(), expected, "{kind:?}");
        assert!(r.events.iter().all(|e| !matches!(e, EventBody::ToolCall { .. })), "{kind:?}");
    }
}

#[test]
fn lines_that_do_not_parse_yield_nothing() {
    for kind in AgentKind::ALL {
        let lines = [
            (Stream::Stdout, "not json".to_string()),
            (Stream::Stdout, "{\"truncated\": ".to_string()),
            (Stream::Stdout, "[1,2]".to_string()),
            (Stream::Stdout, "{\"type\": 42, \"message\": null}".to_string()),
            (Stream::Stderr, "    at Object.<anonymous> (file.js:1:1)".to_string()),
            (Stream::Stdout, String::new()),
        ];
        let r = replay_lines(kind, &lines);
        assert!(r.events.is_empty(), "{kind:?}: {:?}", r.events);
        assert_eq!(r.parser.outcome(), Outcome::Unknown);
        assert!(!r.parser.saw_result());
    }
}

/// Cursor's `--output-format stream-json`, written by hand from its documentation.
const CURSOR_SAMPLE: &[&str] = &[
    r#"{"type":"system","subtype":"init","apiKeySource":"env","cwd":"/workspace/repo","session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff","model":"Claude 4 Sonnet","permissionMode":"default"}"#,
    r#"{"type":"user","message":{"role":"user","content":[{"type":"text","text":"Add a README"}]},"session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff"}"#,
    r#"{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"I'll read the project first."}]},"session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff"}"#,
    r#"{"type":"tool_call","subtype":"started","call_id":"toolu_1","tool_call":{"readToolCall":{"args":{"path":"/workspace/repo/Cargo.toml"}}},"session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff"}"#,
    r#"{"type":"tool_call","subtype":"completed","call_id":"toolu_1","tool_call":{"readToolCall":{"args":{"path":"/workspace/repo/Cargo.toml"},"result":{"success":{"content":"[package]\nname = \"x\"","isEmpty":false,"exceededLimit":false,"totalLines":2,"totalChars":22}}}},"session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff"}"#,
    r#"{"type":"tool_call","subtype":"started","call_id":"toolu_2","tool_call":{"writeToolCall":{"args":{"path":"README.md","fileText":"hello\n","toolCallId":"toolu_2"}}},"session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff"}"#,
    r#"{"type":"tool_call","subtype":"completed","call_id":"toolu_2","tool_call":{"writeToolCall":{"args":{"path":"README.md","fileText":"hello\n"},"result":{"success":{"path":"/workspace/repo/README.md","linesCreated":1,"fileSize":4}}}},"session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff"}"#,
    r#"{"type":"tool_call","subtype":"started","call_id":"toolu_3","tool_call":{"shellToolCall":{"args":{"command":"cargo test"}}},"session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff"}"#,
    r#"{"type":"tool_call","subtype":"completed","call_id":"toolu_3","tool_call":{"shellToolCall":{"args":{"command":"cargo test"},"result":{"error":{"message":"exit code 101"}}}},"session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff"}"#,
    r#"{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"Added **README.md**."}]},"session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff"}"#,
    r#"{"type":"result","subtype":"success","duration_ms":5234,"duration_api_ms":5234,"is_error":false,"result":"I'll read the project first.Added **README.md**.","session_id":"c6b62c6f-7ead-4fd6-9922-e952131177ff","request_id":"10e11780-df2f-45dc-a1ff-4540af32e9c0"}"#,
];

#[test]
fn cursor_documented_stream() {
    let lines: Vec<(Stream, String)> =
        CURSOR_SAMPLE.iter().map(|l| (Stream::Stdout, l.to_string())).collect();
    let r = replay_lines(AgentKind::Cursor, &lines);
    assert_eq!(r.parser.session_id(), Some("c6b62c6f-7ead-4fd6-9922-e952131177ff"));
    assert_eq!(
        tool_summaries(&r.events),
        ["Reading Cargo.toml", "Writing README.md", "Running: cargo test"]
    );
    assert!(r.events.contains(&EventBody::ToolResult {
        call_id: Some("toolu_3".into()),
        ok: false,
        output: Some("exit code 101".into())
    }));
    assert!(r.events.contains(&EventBody::AgentMessage { text: "Added **README.md**.".into() }));
    assert_eq!(r.parser.outcome(), Outcome::Succeeded);
    assert!(r.parser.saw_result());

    let failed = [
        r#"{"type":"system","subtype":"init","session_id":"s2"}"#,
        r#"{"type":"result","subtype":"error","is_error":true,"result":"Invalid API key","session_id":"s2"}"#,
    ];
    let lines: Vec<(Stream, String)> =
        failed.iter().map(|l| (Stream::Stdout, l.to_string())).collect();
    let r = replay_lines(AgentKind::Cursor, &lines);
    assert_eq!(r.parser.outcome(), Outcome::Failed("Invalid API key".into()));
}
