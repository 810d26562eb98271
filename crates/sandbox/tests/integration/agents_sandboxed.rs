//! Real agent CLIs inside a real sandbox (its own uid, the seccomp filter, no nested user
//! namespaces), against the fake model server on 127.0.0.1, the way the worker runs them: the
//! host writes the strategy's files and the repository, the CLI edits the repository.
//!
//! Named `real_cli_*` like `tests/agents_cli.rs`, whose npm tool cache they share
//! (`$DRYDOCK_TOOLS_DIR`, else `<target dir>/drydock-tools`), installing on first use.

use std::path::PathBuf;
use std::time::Duration;

use drydock_sandbox::agents::{strategy_for, AgentPaths, AgentRun, Outcome, Secret};
use drydock_sandbox::conformance::sh;
use drydock_sandbox::{
    ExecRequest, FileRoot, OutputLine, Sandbox, SandboxSpec, HOME_DIR, WORKSPACE_DIR,
};
use fakes::FakeModel;
use shared::agents::AgentKind;
use tokio::sync::mpsc;

use crate::common::local_sandbox;

fn tools_dir() -> PathBuf {
    std::env::var_os("DRYDOCK_TOOLS_DIR").map(PathBuf::from).unwrap_or_else(|| {
        // <target>/debug/deps/integration-<hash>
        let exe = std::env::current_exe().unwrap();
        exe.ancestors().nth(3).unwrap().join("drydock-tools")
    })
}

async fn one_turn_in_the_sandbox(kind: AgentKind) {
    let tools = tools_dir();
    let strategy = strategy_for(kind);
    let installed = tokio::task::spawn_blocking({
        let tools = tools.clone();
        move || {
            strategy_for(kind)
                .install(&tools, &mut |line| eprintln!("[npm {}] {line}", kind.as_str()))
        }
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("installing {} into {}: {e}", kind.as_str(), tools.display()));
    assert_eq!(installed.version, strategy.spec().version);

    let fake = FakeModel::start_default().unwrap();
    let root = tempfile::tempdir().unwrap();
    let sandbox = local_sandbox(root.path()).await;
    let mut spec = SandboxSpec::new(format!("agent-{}", kind.as_str()));
    spec.tools_dir = Some(tools.clone());
    // The CLI talks straight to the fake model on the host's loopback here; the brokered path
    // is tested through the worker (tests/api/agents_real.rs).
    spec.network = drydock_sandbox::NetworkMode::Host;
    let handle = sandbox.create(spec).await.unwrap();
    let repo = handle.host_workspace.clone().unwrap().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    crate::common::git(&repo, &["init", "-q", "-b", "main"]);
    crate::common::git(&repo, &["commit", "-q", "--allow-empty", "-m", "init"]);

    let base = fake.base_url();
    let (model, base_url) = match kind {
        AgentKind::Claude => ("claude-sonnet-4-5", base),
        AgentKind::Codex => ("gpt-5.5", format!("{base}/v1")),
        AgentKind::Gemini => ("gemini-2.5-pro", base),
        _ => ("fake-model", format!("{base}/v1")),
    };
    let mut run = AgentRun::new(
        "create hello.txt containing hi",
        Secret::new(format!("sk-drydock-test-{}-5ecret", kind.as_str())),
    );
    run.model = Some(model.into());
    run.base_url = Some(base_url);
    run.paths = AgentPaths::sandbox();
    let invocation = strategy.prepare(&run).unwrap();
    for file in &invocation.files {
        let path = file.resolve(&run.paths.home);
        let (root, rel) = match path.strip_prefix(HOME_DIR) {
            Ok(rel) => (FileRoot::Home, rel.to_path_buf()),
            Err(_) => {
                (FileRoot::Workspace, path.strip_prefix(WORKSPACE_DIR).unwrap().to_path_buf())
            }
        };
        sandbox
            .write_file(&handle, root, &rel.to_string_lossy(), file.contents.as_bytes())
            .await
            .unwrap();
    }
    let mut request = ExecRequest::new(invocation.argv.clone());
    request.env = invocation.env.clone().into_iter().collect();
    request.cwd = "repo".into();
    request.timeout = Some(Duration::from_secs(120));
    let mut parser = strategy.parser(&run.paths);
    let (tx, mut rx) = mpsc::channel::<OutputLine>(1024);
    let collect = async {
        let mut lines = Vec::new();
        while let Some(line) = rx.recv().await {
            let _ = parser.feed(line.stream, &line.line);
            lines.push(line.line);
        }
        lines
    };
    let (outcome, lines) = tokio::join!(sandbox.exec(&handle, request, tx), collect);
    let outcome = outcome.unwrap();
    let _ = parser.finish();
    let dbg = format!("{outcome:?}\n{}", lines.join("\n"));
    assert_eq!(parser.outcome(), Outcome::Succeeded, "{dbg}");
    assert_eq!(
        std::fs::read_to_string(repo.join("hello.txt")).unwrap_or_default(),
        "hi\n",
        "{dbg}"
    );
    let (_, out) = sh(&sandbox, &handle, "stat -c %u repo/hello.txt").await;
    assert_eq!(out, ["1000"], "written by the agent's uid");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn real_cli_claude_runs_in_the_sandbox() {
    one_turn_in_the_sandbox(AgentKind::Claude).await;
}

#[tokio::test]
async fn real_cli_codex_runs_in_the_sandbox() {
    one_turn_in_the_sandbox(AgentKind::Codex).await;
}

#[tokio::test]
async fn real_cli_gemini_runs_in_the_sandbox() {
    one_turn_in_the_sandbox(AgentKind::Gemini).await;
}
