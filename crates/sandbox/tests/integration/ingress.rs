//! Ingress with real bwrap and the real relay: a port a command listens on inside its sandbox is
//! reached from the host through a unix socket in a host-only directory, and nothing the agent
//! does in the same sandbox can redirect the host elsewhere.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use drydock_sandbox::conformance::sh;
use drydock_sandbox::{
    ingress, ExecOutcome, ExecRequest, Expose, LocalSandbox, LocalSandboxConfig, NetworkMode,
    OutputLine, RelayProgram, Sandbox, SandboxHandle, SandboxSpec, StopReason,
};
use tokio::sync::{mpsc, watch};

const PORT: u16 = 8123;

async fn backend(root: &Path) -> LocalSandbox {
    let mut config = LocalSandboxConfig::new(root.join("sandboxes"));
    config.relay = Some(RelayProgram {
        program: env!("CARGO_BIN_EXE_drydock-sandbox-relay").into(),
        args: Vec::new(),
    });
    crate::common::local_sandbox_with(config).await
}

/// A host-only directory for the socket, as the API makes it.
fn socket_dir(root: &Path) -> PathBuf {
    let dir = root.join("ingress");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// A tiny HTTP server inside, started through the relay with the port exposed; it records the
/// descriptors it holds so the test can check it did not inherit the host's socket.
fn server_request(socket: &Path, stop: watch::Receiver<bool>) -> ExecRequest {
    let script = format!(
        "ls -l /proc/$$/fd > /workspace/server-fds; exec node -e \"require('http')\
         .createServer((q, r) => r.end('hello from inside ' + q.url)).listen({PORT}, '127.0.0.1')\""
    );
    let mut request = ExecRequest::new(["sh", "-c", &script]);
    request.expose = Some(Expose { port: PORT, socket: socket.to_path_buf() });
    request.stop = Some(stop);
    request
}

fn start_server(
    sandbox: &std::sync::Arc<LocalSandbox>,
    handle: &SandboxHandle,
    socket: &Path,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<(ExecOutcome, Vec<OutputLine>)>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let request = server_request(socket, stop_rx);
    let (sandbox, handle) = (sandbox.clone(), handle.clone());
    let task = tokio::spawn(async move {
        let (tx, mut rx) = mpsc::channel(64);
        let collect = tokio::spawn(async move {
            let mut lines = Vec::new();
            while let Some(line) = rx.recv().await {
                lines.push(line);
            }
            lines
        });
        let outcome = sandbox.exec(&handle, request, tx).await.unwrap();
        (outcome, collect.await.unwrap())
    });
    (stop_tx, task)
}

/// One HTTP/1.0 request through the ingress socket; retried while the server starts.
async fn get_through(socket: &Path, path: &str) -> String {
    let started = Instant::now();
    loop {
        let socket = socket.to_path_buf();
        let path = path.to_string();
        let answer = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            let mut stream = ingress::connect(&socket)?;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n")?;
            let mut out = String::new();
            stream.read_to_string(&mut out)?;
            Ok(out)
        })
        .await
        .unwrap();
        match answer {
            Ok(text) if text.starts_with("HTTP/1.") => return text,
            _ if started.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("the server never answered through the socket: {other:?}"),
        }
    }
}

async fn exposes_a_port(network: NetworkMode) {
    let root = tempfile::tempdir().unwrap();
    let sandbox = std::sync::Arc::new(backend(root.path()).await);
    let mut spec = SandboxSpec::new(format!("ingress-{}", network.as_str()));
    spec.network = network;
    let handle = sandbox.create(spec).await.unwrap();
    let socket = socket_dir(root.path()).join("dev.sock");
    let (stop, server) = start_server(&sandbox, &handle, &socket);
    let answer = get_through(&socket, "/hi").await;
    assert!(answer.ends_with("hello from inside /hi"), "{answer}");
    let fds = sandbox
        .read_file(&handle, drydock_sandbox::FileRoot::Workspace, "server-fds")
        .await
        .unwrap();
    let fds = String::from_utf8_lossy(&fds);
    assert!(!fds.contains("socket:"), "the command inherited the host's socket: {fds}");

    stop.send(true).unwrap();
    let (outcome, _) = server.await.unwrap();
    assert_eq!(outcome.stopped, Some(StopReason::Killed), "{outcome:?}");
    assert!(!socket.exists(), "the socket is removed when the command ends");
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn a_brokered_sandbox_exposes_a_port_through_a_host_socket() {
    exposes_a_port(NetworkMode::Brokered).await;
}

#[tokio::test]
async fn a_sandbox_without_network_exposes_a_port_too() {
    exposes_a_port(NetworkMode::None).await;
}

#[tokio::test]
async fn exposing_a_port_of_the_host_network_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = std::sync::Arc::new(backend(root.path()).await);
    let mut spec = SandboxSpec::new("ingress-host");
    spec.network = NetworkMode::Host;
    let handle = sandbox.create(spec).await.unwrap();
    let socket = socket_dir(root.path()).join("dev.sock");
    let (_stop, rx) = watch::channel(false);
    let (tx, _rx) = mpsc::channel(8);
    let err = sandbox.exec(&handle, server_request(&socket, rx), tx).await.unwrap_err();
    assert!(err.to_string().contains("own network"), "{err}");
    sandbox.destroy(&handle).await.unwrap();
}

/// The agent, in another command of the same sandbox, does what it can to take the preview
/// over: look for the socket, plant symlinks and sockets where one might be, listen on the port
/// itself. The host still reaches the real server, and only it.
#[tokio::test]
async fn the_agent_cannot_replace_the_socket_or_redirect_the_host() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = std::sync::Arc::new(backend(root.path()).await);
    let mut spec = SandboxSpec::new("ingress-attack");
    spec.network = NetworkMode::Brokered;
    let handle = sandbox.create(spec).await.unwrap();
    let dir = socket_dir(root.path());
    let socket = dir.join("dev.sock");
    let (stop, server) = start_server(&sandbox, &handle, &socket);
    assert!(get_through(&socket, "/").await.contains("hello from inside"));

    let host_path = socket.display().to_string();
    let attack = format!(
        "test -e '{host_path}' && echo SEES-HOST-SOCKET; \
         ls -a /run/drydock 2>&1 | grep -c dev.sock; \
         ln -sf /run/drydock/egress.sock /run/drydock/dev.sock 2>/dev/null && echo PLANTED; \
         mkdir -p /workspace/ingress && ln -sf /run/drydock/egress.sock /workspace/ingress/dev.sock; \
         node -e \"const s=require('http').createServer((q,r)=>r.end('hijacked')); \
           s.on('error',()=>{{console.log('port-taken-or-refused');process.exit(0)}}); \
           s.listen({PORT},'127.0.0.1',()=>{{console.log('agent-listening');setTimeout(()=>process.exit(0),3000)}})\""
    );
    let (handle2, agent) = (handle.clone(), sandbox.clone());
    let agent_run = tokio::spawn(async move { sh(agent.as_ref(), &handle2, &attack).await });
    // While the agent listens on "the same" port in its own namespace, the host still gets the
    // real server.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answer = get_through(&socket, "/again").await;
    assert!(answer.ends_with("hello from inside /again"), "{answer}");
    let (outcome, out) = agent_run.await.unwrap();
    assert!(outcome.success(), "{outcome:?} {out:?}");
    assert!(!out.iter().any(|l| l == "SEES-HOST-SOCKET" || l == "PLANTED"), "{out:?}");
    assert_eq!(out[0], "0", "no ingress socket inside the sandbox: {out:?}");

    // Even were the host's directory touched (here by the test, standing in for a mistake in
    // where it lives), a symlink in the socket's place is never followed.
    stop.send(true).unwrap();
    server.await.unwrap();
    let decoy = root.path().join("decoy.sock");
    let _decoy = std::os::unix::net::UnixListener::bind(&decoy).unwrap();
    std::os::unix::fs::symlink(&decoy, &socket).unwrap();
    assert!(ingress::connect(&socket).is_err(), "a symlink was followed");
    sandbox.destroy(&handle).await.unwrap();
}
