//! The real agent CLIs, installed from npm by the strategies' own installer, driven headless
//! against the in-process fake model server, using each strategy's `prepare()` argv, env and
//! files and its parser. Each CLI runs directly as a child process on the host (own process
//! group, stdin `/dev/null`, empty environment plus the strategy's) in a temporary git repo
//! with a temporary HOME.
//!
//! Slow by unit-test standards (each turn is 0.5–3 s, the first run installs the CLIs, about
//! 1.5 GB), so every test here is named `real_cli_*`: `cargo test -- --skip real_cli_` or a
//! nextest filter leaves them out. The tool cache is `$DRYDOCK_TOOLS_DIR`, else
//! `<target dir>/drydock-tools`. `DRYDOCK_RECORD_FIXTURES=1` re-records the parser fixtures in
//! `tests/fixtures/agents/`.

// A test crate: helpers outside `#[test]` functions panic on setup failures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use drydock_sandbox::agents::{
    strategy_for, AgentPaths, AgentRun, McpServer, McpTransport, Outcome, Secret,
};
use fakes::{FakeModel, RequestRecord};
use shared::agents::AgentKind;
use shared::events::{EventBody, Stream};

const TURN_TIMEOUT: Duration = Duration::from_secs(120);
const RESULT_GRACE: Duration = Duration::from_secs(3);

fn target_dir() -> PathBuf {
    // <target>/debug/deps/agents_cli-<hash>
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors().nth(3).expect("target dir above the test binary").to_path_buf()
}

fn tools_dir() -> PathBuf {
    std::env::var_os("DRYDOCK_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("drydock-tools"))
}

/// Installs the pinned CLI (once per process per agent; the installer itself is atomic across
/// processes). An install failure fails the test: these tests never skip.
fn install(kind: AgentKind) {
    static LOCKS: OnceLock<Vec<Mutex<bool>>> = OnceLock::new();
    let locks = LOCKS.get_or_init(|| AgentKind::ALL.iter().map(|_| Mutex::new(false)).collect());
    let idx = AgentKind::ALL.iter().position(|k| *k == kind).unwrap();
    let mut done = locks[idx].lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    let strategy = strategy_for(kind);
    let started = Instant::now();
    let installed = strategy
        .install(&tools_dir(), &mut |line| eprintln!("[npm {}] {line}", kind.as_str()))
        .unwrap_or_else(|e| {
            panic!(
                "installing {} with npm into {} failed (these tests need npm and the npm \
                 registry): {e}",
                kind.as_str(),
                tools_dir().display()
            )
        });
    assert_eq!(installed.version, strategy.spec().version);
    if installed.fresh {
        eprintln!("installed {} in {:?}", kind.as_str(), started.elapsed());
    }
    *done = true;
}

/// The `drydock-fake-mcp` binary, built on demand: a dev-dependency's binaries are not built
/// for this crate's tests.
fn fake_mcp_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let profile_dir =
            std::env::current_exe().unwrap().ancestors().nth(2).unwrap().to_path_buf();
        let bin = profile_dir.join("drydock-fake-mcp");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "drydock-fakes", "--bin", "drydock-fake-mcp"])
            .env("CARGO_TARGET_DIR", target_dir())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("running cargo to build drydock-fake-mcp");
        assert!(status.success(), "building drydock-fake-mcp failed");
        assert!(bin.exists(), "{} missing after the build", bin.display());
        bin
    })
    .clone()
}

struct TestEnv {
    _dir: tempfile::TempDir,
    home: PathBuf,
    repo: PathBuf,
    mcp_log: PathBuf,
    fake: FakeModel,
    kind: AgentKind,
}

impl TestEnv {
    fn new(kind: AgentKind) -> Self {
        install(kind);
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&repo).unwrap();
        for args in [
            &["init", "-q", "-b", "main"][..],
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "init",
            ],
        ] {
            let ok = Command::new("git").args(args).current_dir(&repo).status().unwrap().success();
            assert!(ok, "git {args:?}");
        }
        let mcp_log = dir.path().join("mcp.log");
        let fake = FakeModel::start_default().unwrap();
        Self { _dir: dir, home, repo, mcp_log, fake, kind }
    }

    fn key(&self) -> String {
        format!("sk-drydock-test-{}-5ecret", self.kind.as_str())
    }

    fn run(&self, prompt: &str, resume: Option<&str>) -> AgentRun {
        // Scripted 429/500s run with no retries where the CLI allows it; a 401 keeps the
        // defaults, so the parsers' own early stop on auth errors is exercised.
        let retries =
            (prompt.contains("[[error:429]]") || prompt.contains("[[error:500]]")).then_some(0);
        let base = self.fake.base_url();
        let (model, base_url) = match self.kind {
            AgentKind::Claude => ("claude-sonnet-4-5", base),
            AgentKind::Codex => ("gpt-5.5", format!("{base}/v1")),
            AgentKind::Gemini => ("gemini-2.5-pro", base),
            AgentKind::Copilot => ("gpt-4o", format!("{base}/v1")),
            AgentKind::Cursor | AgentKind::Opencode | AgentKind::Qwen => {
                ("fake-model", format!("{base}/v1"))
            }
        };
        let mut run = AgentRun::new(prompt, Secret::new(self.key()));
        run.model = Some(model.into());
        run.base_url = Some(base_url);
        run.resume_session = resume.map(str::to_string);
        run.max_retries = retries;
        run.paths =
            AgentPaths { home: self.home.clone(), repo: self.repo.clone(), tools: tools_dir() };
        run.mcp_servers = vec![McpServer {
            name: "fake".into(),
            transport: McpTransport::Local {
                command: fake_mcp_binary().to_string_lossy().into_owned(),
                args: vec![self.mcp_log.to_string_lossy().into_owned()],
                env: BTreeMap::from([(fakes::mcp::TAG_VAR.into(), "tag-from-config".into())]),
            },
        }];
        run
    }

    fn start(&self, run: &AgentRun) -> Child {
        let strategy = strategy_for(self.kind);
        let inv = strategy.prepare(run).unwrap();
        for file in &inv.files {
            let path = file.resolve(&self.home);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &file.contents).unwrap();
        }
        use std::os::unix::process::CommandExt;
        Command::new(&inv.argv[0])
            .args(&inv.argv[1..])
            .env_clear()
            .envs(&inv.env)
            .current_dir(&inv.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {:?}: {e}", inv.argv[0]))
    }

    /// Runs one turn to the end; `cancel` SIGINTs the group once the fake sees a prompt
    /// containing that text, escalating to SIGTERM and SIGKILL.
    fn turn(&self, prompt: &str, resume: Option<&str>, cancel: Option<&str>) -> Turn {
        let run = self.run(prompt, resume);
        let mut parser = strategy_for(self.kind).parser(&run.paths);
        let started = Instant::now();
        let mut child = self.start(&run);
        let pgid = child.id();
        let (tx, rx) = mpsc::channel::<(Stream, String)>();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || pump(out, Stream::Stdout, &tx));
        std::thread::spawn(move || pump(err, Stream::Stderr, &tx2));
        let mut turn = Turn::default();
        let mut interrupted_at: Option<Instant> = None;
        let mut signalled = 0;
        let mut result_at: Option<Instant> = None;
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok((stream, line)) => {
                    turn.events.extend(parser.feed(stream, &line));
                    turn.lines.push((stream, line));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let (Some(marker), None) = (cancel, interrupted_at) {
                if self.fake.requests().iter().any(|r| r.prompt.contains(marker)) {
                    // Let the CLI settle into waiting on the stalled response.
                    std::thread::sleep(Duration::from_millis(300));
                    signal(pgid, "INT");
                    interrupted_at = Some(Instant::now());
                    signalled = 1;
                }
            }
            if let Some(at) = interrupted_at {
                let since = at.elapsed();
                if signalled == 1 && since > Duration::from_millis(700) {
                    signal(pgid, "TERM");
                    signalled = 2;
                } else if signalled == 2 && since > Duration::from_millis(1400) {
                    signal(pgid, "KILL");
                    signalled = 3;
                }
            }
            // Like the worker: once the result is in, the process gets a short grace period.
            if parser.saw_result() && result_at.is_none() {
                result_at = Some(Instant::now());
            }
            if result_at.is_some_and(|at| at.elapsed() > RESULT_GRACE) && !turn.killed_after_result
            {
                signal(pgid, "KILL");
                turn.killed_after_result = true;
            }
            if started.elapsed() > TURN_TIMEOUT {
                signal(pgid, "KILL");
                panic!("{} turn timed out; output so far: {:#?}", self.kind.as_str(), turn.lines);
            }
        }
        turn.events.extend(parser.finish());
        let status = child.wait().unwrap();
        if let Some(at) = interrupted_at {
            turn.after_interrupt = Some(at.elapsed());
            // Nothing of the group may survive (the CLI's MCP servers included).
            std::thread::sleep(Duration::from_millis(100));
            turn.survivors = survivors(pgid);
            signal(pgid, "KILL");
        }
        turn.exit = status.code();
        turn.elapsed = started.elapsed();
        turn.session = parser.session_id().map(str::to_string);
        turn.final_message = parser.final_message().map(str::to_string);
        turn.outcome = Some(parser.outcome());
        turn.saw_result = parser.saw_result();
        turn
    }

    fn record_fixture(&self, name: &str, turn: &Turn) {
        if std::env::var_os("DRYDOCK_RECORD_FIXTURES").is_none() {
            return;
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents");
        std::fs::create_dir_all(&dir).unwrap();
        let repo = self.repo.to_string_lossy().into_owned();
        let home = self.home.to_string_lossy().into_owned();
        let tools = tools_dir().to_string_lossy().into_owned();
        let mut text = String::new();
        for (stream, line) in &turn.lines {
            // Host paths become the sandbox paths, so fixtures are stable and parsers see the
            // layout they see in production.
            let line = line
                .replace(&repo, "/workspace/repo")
                .replace(&home, "/home/agent")
                .replace(&tools, "/opt/drydock/tools");
            assert!(!line.contains(&self.key()));
            let tag = match stream {
                Stream::Stdout => "out",
                Stream::Stderr => "err",
            };
            text.push_str(&format!("{tag} {line}\n"));
        }
        std::fs::write(dir.join(format!("{}.{name}.txt", self.kind.as_str())), text).unwrap();
    }

    fn requests(&self) -> Vec<RequestRecord> {
        self.fake.requests()
    }
}

fn pump(pipe: impl std::io::Read, stream: Stream, tx: &mpsc::Sender<(Stream, String)>) {
    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
        if tx.send((stream, line)).is_err() {
            break;
        }
    }
}

/// Live (non-zombie) processes of a process group.
fn survivors(pgid: u32) -> Vec<String> {
    let out = Command::new("ps").args(["-eo", "pgid=,stat=,args="]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let group: u32 = parts.next()?.parse().ok()?;
            let stat = parts.next()?;
            (group == pgid && !stat.starts_with('Z')).then(|| l.trim().to_string())
        })
        .collect()
}

fn signal(pgid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args(["-s", sig, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

#[derive(Debug, Default)]
struct Turn {
    lines: Vec<(Stream, String)>,
    events: Vec<EventBody>,
    session: Option<String>,
    final_message: Option<String>,
    outcome: Option<Outcome>,
    saw_result: bool,
    exit: Option<i32>,
    elapsed: Duration,
    after_interrupt: Option<Duration>,
    survivors: Vec<String>,
    killed_after_result: bool,
}

impl Turn {
    fn outcome(&self) -> Outcome {
        self.outcome.clone().unwrap_or(Outcome::Unknown)
    }

    fn debug(&self) -> String {
        let lines: Vec<String> = self
            .lines
            .iter()
            .map(|(s, l)| format!("{s:?}: {}", l.chars().take(400).collect::<String>()))
            .collect();
        format!(
            "exit {:?}, outcome {:?}\n{}\nevents: {:#?}",
            self.exit,
            self.outcome,
            lines.join("\n"),
            self.events
        )
    }
}

/// A prompt that would break any shell quoting: it must reach the model byte for byte.
const HOSTILE: &str = "create hello.txt containing hi\nthen say \"double\" and 'single' quotes, \
                       $(echo subshell) `echo backticks` $HOME ; | & \\ * ? done";

fn full_turn_resume_and_mcp(kind: AgentKind) {
    let env = TestEnv::new(kind);
    let first = env.turn(HOSTILE, None, None);
    let dbg = first.debug();
    env.record_fixture("turn1", &first);
    assert_eq!(
        std::fs::read_to_string(env.repo.join("hello.txt"))
            .unwrap_or_else(|e| panic!("hello.txt: {e}\n{dbg}")),
        "hi\n"
    );
    assert_eq!(first.outcome(), Outcome::Succeeded, "{dbg}");
    assert!(first.saw_result, "{dbg}");
    assert!(
        first.events.iter().any(|e| matches!(e, EventBody::ToolCall { .. })),
        "no tool call: {dbg}"
    );
    assert!(
        first.events.iter().any(|e| matches!(e, EventBody::ToolResult { ok: true, .. })),
        "{dbg}"
    );
    assert!(first.events.contains(&EventBody::AgentMessage { text: "done".into() }), "{dbg}");
    assert_eq!(first.final_message.as_deref(), Some("done"), "{dbg}");
    // Copilot's JSON output reports no token counts (only premium requests).
    if kind != AgentKind::Copilot {
        assert!(
            first.events.iter().any(|e| matches!(e, EventBody::Usage { .. })),
            "no usage: {dbg}"
        );
    }
    let session = first.session.clone().unwrap_or_else(|| panic!("no session id: {dbg}"));

    // The prompt reached the model verbatim, as one argument.
    let reqs = env.requests();
    assert!(
        reqs.iter().any(|r| r.prompt.contains(HOSTILE)),
        "prompt not verbatim; the fake saw: {:#?}",
        reqs.iter().map(|r| &r.prompt).collect::<Vec<_>>()
    );
    // The key reached the provider, and never the parsed events.
    assert!(
        reqs.iter().any(|r| r.auth.as_deref().is_some_and(|a| a.contains(&env.key()))),
        "key not sent"
    );
    let events_json = serde_json::to_string(&first.events).unwrap();
    assert!(!events_json.contains(&env.key()), "the key leaked into events");

    // The MCP server from the strategy's config was spawned, with its environment.
    let mcp_log = std::fs::read_to_string(&env.mcp_log).unwrap_or_default();
    assert!(
        mcp_log.contains("\"method\":\"initialize\""),
        "MCP server not initialised: {mcp_log:?}"
    );
    assert!(mcp_log.contains("tag-from-config"), "MCP env not passed: {mcp_log:?}");

    // A follow-up resumes the same conversation: the model sees the first prompt again.
    let second = env.turn("create second.txt containing two", Some(&session), None);
    let dbg = second.debug();
    env.record_fixture("resume", &second);
    assert_eq!(
        std::fs::read_to_string(env.repo.join("second.txt")).unwrap_or_default(),
        "two\n",
        "{dbg}"
    );
    assert_eq!(second.outcome(), Outcome::Succeeded, "{dbg}");
    let resumed =
        env.requests().into_iter().find(|r| r.prompt.contains("second.txt") && !r.tool_result);
    let resumed = resumed.unwrap_or_else(|| panic!("no request for turn 2: {dbg}"));
    assert!(
        resumed.earlier_prompts.iter().any(|p| p.contains("hello.txt")),
        "turn 2 did not carry turn 1's history: {resumed:#?}"
    );
    eprintln!(
        "{}: turn 1 {:?}, resume {:?}, session {session} -> {:?}",
        kind.as_str(),
        first.elapsed,
        second.elapsed,
        second.session
    );
}

fn api_errors(kind: AgentKind, codes: &[u16]) {
    let env = TestEnv::new(kind);
    for code in codes {
        let turn = env.turn(&format!("create e.txt containing x [[error:{code}]]"), None, None);
        let dbg = turn.debug();
        env.record_fixture(&format!("error{code}"), &turn);
        match turn.outcome() {
            Outcome::Failed(reason) => assert!(!reason.is_empty(), "{dbg}"),
            other => panic!("{code}: expected Failed, got {other:?}\n{dbg}"),
        }
        assert!(
            turn.events.iter().any(|e| matches!(e, EventBody::Error { .. })),
            "{code}: no Error event\n{dbg}"
        );
        let events_json = serde_json::to_string(&turn.events).unwrap();
        assert!(!events_json.contains(&env.key()), "the key leaked into error events");
        eprintln!(
            "{}: error {code} -> {:?} in {:?} (killed after result: {})",
            kind.as_str(),
            turn.outcome(),
            turn.elapsed,
            turn.killed_after_result
        );
    }
}

fn cancel(kind: AgentKind) {
    let env = TestEnv::new(kind);
    let turn = env.turn("create slow.txt containing x [[delay:30]]", None, Some("[[delay:30]]"));
    let dbg = turn.debug();
    env.record_fixture("cancel", &turn);
    let after = turn.after_interrupt.unwrap_or_else(|| panic!("never interrupted: {dbg}"));
    assert!(after < Duration::from_secs(2), "took {after:?} to stop after SIGINT\n{dbg}");
    assert!(turn.survivors.is_empty(), "processes of the group survived: {:?}", turn.survivors);
    assert!(
        matches!(turn.outcome(), Outcome::Cancelled | Outcome::Unknown),
        "expected Cancelled or no verdict, got {:?}\n{dbg}",
        turn.outcome()
    );
    assert!(!env.repo.join("slow.txt").exists());
    eprintln!(
        "{}: stopped {after:?} after SIGINT, exit {:?}, outcome {:?}",
        kind.as_str(),
        turn.exit,
        turn.outcome()
    );
}

macro_rules! real_cli_tests {
    ($($name:ident: $kind:expr, $codes:expr;)*) => {
        mod real_cli {
            use super::*;
            $(
                mod $name {
                    use super::*;
                    #[test]
                    fn real_cli_turn_resume_mcp() { full_turn_resume_and_mcp($kind) }
                    #[test]
                    fn real_cli_api_errors() { api_errors($kind, $codes) }
                    #[test]
                    fn real_cli_cancel() { cancel($kind) }
                }
            )*
        }
    };
}

real_cli_tests! {
    claude: AgentKind::Claude, &[401, 429, 500];
    codex: AgentKind::Codex, &[401, 429, 500];
    gemini: AgentKind::Gemini, &[401];
    opencode: AgentKind::Opencode, &[401];
    qwen: AgentKind::Qwen, &[401];
    copilot: AgentKind::Copilot, &[401];
}
