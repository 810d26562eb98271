//! Brokered sandboxes with real bwrap, the real relay and the real egress proxy: the only way
//! out is the proxy, and model keys stay outside. Upstreams are fakes on the host's 127.0.0.1.

use std::path::Path;

use drydock_egress::{Policy, Proxy, ProxyConfig, ProxyHandle, Route, Secret};
use drydock_sandbox::conformance::sh;
use drydock_sandbox::{
    ExecRequest, LocalSandbox, LocalSandboxConfig, NetworkMode, RelayProgram, Sandbox,
    SandboxHandle, SandboxSpec, EGRESS_PORT,
};
use fakes::FakeModel;
use shared::events::EventBody;
use tokio::sync::mpsc;

const PLACEHOLDER: &str = "sk-ant-drydock-00112233445566778899aabbccddeeff";
const REAL_KEY: &str = "sk-ant-api03-the-real-key-stays-on-the-host";

/// A local backend whose brokered sandboxes run under the `drydock-sandbox-relay` binary.
async fn brokered_backend(root: &Path) -> LocalSandbox {
    let mut config = LocalSandboxConfig::new(root);
    config.relay = Some(RelayProgram {
        program: env!("CARGO_BIN_EXE_drydock-sandbox-relay").into(),
        args: Vec::new(),
    });
    let sandbox = LocalSandbox::new(crate::common::own_uids(config))
        .expect("bubblewrap is required for these tests");
    sandbox.check().await.expect("bubblewrap is required for these tests");
    sandbox
}

async fn brokered(sandbox: &LocalSandbox, id: &str) -> SandboxHandle {
    let mut spec = SandboxSpec::new(id);
    spec.network = NetworkMode::Brokered;
    sandbox.create(spec).await.unwrap()
}

/// This run's proxy on the sandbox's socket.
async fn proxy(
    handle: &SandboxHandle,
    allow: &[String],
    routes: Vec<Route>,
) -> (ProxyHandle, mpsc::Receiver<EventBody>) {
    let (tx, rx) = mpsc::channel(64);
    let policy = Policy::from_config::<String>(&[], allow).unwrap();
    let mut config = ProxyConfig::new(handle.egress_socket.clone().unwrap(), policy, tx);
    config.routes = routes;
    config.sandbox_port = Some(EGRESS_PORT);
    (Proxy::start(config).await.unwrap(), rx)
}

fn network_events(rx: &mut mpsc::Receiver<EventBody>) -> Vec<(String, u16, bool, Option<String>)> {
    let mut out = Vec::new();
    while let Ok(event) = rx.try_recv() {
        if let EventBody::Network { host, port, allowed, reason, .. } = event {
            out.push((host, port, allowed, reason));
        }
    }
    out
}

#[tokio::test]
async fn a_brokered_sandbox_has_only_loopback_and_cannot_reach_the_host() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = brokered_backend(root.path()).await;
    let handle = brokered(&sandbox, "egress-lo").await;
    let (_proxy, _events) = proxy(&handle, &[], vec![]).await;
    let host_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host_listener.local_addr().unwrap().port();
    let script = format!(
        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; \
         python3 -c 'import socket\ntry:\n socket.create_connection((\"127.0.0.1\", {port}), 3)\n print(\"connected\")\nexcept OSError as e:\n print(\"failed\", e.errno)'; \
         echo \"$HTTPS_PROXY\""
    );
    let (outcome, out) = sh(&sandbox, &handle, &script).await;
    assert!(outcome.success(), "{outcome:?} {out:?}");
    assert_eq!(out[0], "lo");
    assert!(out[1].starts_with("failed"), "{out:?}");
    assert_eq!(out[2], format!("http://127.0.0.1:{EGRESS_PORT}"));
    // Nothing arrived at the host's listener.
    host_listener.set_nonblocking(true).unwrap();
    let accepted = host_listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "{accepted:?}"
    );
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn curl_reaches_an_allowed_upstream_through_the_proxy_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = brokered_backend(root.path()).await;
    let handle = brokered(&sandbox, "egress-curl").await;
    let fake = FakeModel::start_default().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    let (_proxy, mut events) =
        proxy(&handle, &[format!("127.0.0.1:{}", fake.port())], vec![]).await;
    // The proxy variables exclude loopback (the broker is there), so name the proxy explicitly.
    let curl = "curl -sS --noproxy '' --proxy http://127.0.0.1:3128";
    let script = format!(
        "{curl} http://127.0.0.1:{fake}/v1/models >/dev/null && echo forwarded; \
         {curl} --proxytunnel http://127.0.0.1:{fake}/v1/models >/dev/null && echo tunnelled; \
         {curl} --proxytunnel http://127.0.0.1:{closed_port}/ 2>&1 || echo refused",
        fake = fake.port()
    );
    let (outcome, out) = sh(&sandbox, &handle, &script).await;
    assert!(outcome.success(), "{outcome:?} {out:?}");
    assert_eq!(out[..2], ["forwarded", "tunnelled"], "{out:?}");
    assert!(out[2].contains("403"), "{out:?}");
    assert_eq!(out.last().map(String::as_str), Some("refused"));
    assert_eq!(fake.requests().len(), 2);

    let seen = network_events(&mut events);
    assert!(seen.iter().filter(|e| e.1 == fake.port() && e.2).count() == 2, "{seen:?}");
    let refused = seen.iter().find(|e| e.1 == closed_port).unwrap();
    assert!(!refused.2 && refused.3.as_deref().unwrap().contains("not in the egress allow list"));
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn the_agent_holds_only_the_placeholder_and_the_model_gets_the_key() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = brokered_backend(root.path()).await;
    let handle = brokered(&sandbox, "egress-broker").await;
    let fake = FakeModel::start_default().unwrap();
    let route = Route::new("anthropic", &fake.base_url())
        .unwrap()
        .with_credential(PLACEHOLDER, Secret::new(REAL_KEY));
    let (_proxy, _events) =
        proxy(&handle, &[format!("127.0.0.1:{}", fake.port())], vec![route]).await;
    let body = r#"{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#;
    let request = ExecRequest {
        env: vec![
            ("ANTHROPIC_API_KEY".into(), PLACEHOLDER.into()),
            ("ANTHROPIC_BASE_URL".into(), format!("http://127.0.0.1:{EGRESS_PORT}/anthropic")),
        ],
        ..ExecRequest::new([
            "sh",
            "-c",
            &format!(
                "curl -sS --fail -H \"x-api-key: $ANTHROPIC_API_KEY\" -H 'content-type: application/json' \
                 -d '{body}' \"$ANTHROPIC_BASE_URL/v1/messages\"; echo; env | grep -c the-real-key"
            ),
        ])
    };
    let (outcome, lines) = drydock_sandbox::conformance::run(&sandbox, &handle, request).await;
    let out = drydock_sandbox::conformance::stdout(&lines);
    assert!(out[0].contains("\"type\":\"message\""), "{lines:?}");
    assert_eq!(out[1], "0", "the real key is nowhere in the sandbox's environment");
    assert_eq!(outcome.exit_code, Some(1), "grep -c found nothing: {outcome:?}");
    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].auth.as_deref(), Some(REAL_KEY));
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn the_relay_passes_exit_codes_and_signals_and_kill_interrupts_once() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = brokered_backend(root.path()).await;
    let handle = brokered(&sandbox, "egress-relay").await;
    let (outcome, _) = sh(&sandbox, &handle, "exit 7").await;
    assert_eq!(outcome.exit_code, Some(7));
    // The relay dies of the same signal, which bwrap reports as 128 + 15, as without a relay.
    let (outcome, _) = sh(&sandbox, &handle, "kill -TERM $$").await;
    assert_eq!((outcome.exit_code, outcome.signal), (Some(143), None), "{outcome:?}");
    // A signal from inside the sandbox to the relay reaches the command.
    let forwarded =
        "trap 'echo forwarded; exit 0' INT; kill -INT $PPID; while :; do sleep 0.05; done";
    let (outcome, out) = sh(&sandbox, &handle, forwarded).await;
    assert_eq!((outcome.exit_code, out), (Some(0), vec!["forwarded".to_string()]));

    // Drydock's kill signals every process; the relay does not add a second SIGINT.
    let (tx, mut rx) = mpsc::channel(16);
    // After the first SIGINT it waits a little for a second one before reporting the count.
    let script = "import signal, sys, time\n\
                  hits = []\n\
                  signal.signal(signal.SIGINT, lambda s, f: hits.append(s))\n\
                  print('ready', flush=True)\n\
                  while not hits: time.sleep(0.01)\n\
                  time.sleep(0.2)\n\
                  print('interrupts', len(hits), flush=True)\n\
                  sys.exit(7)";
    let exec = sandbox.exec(&handle, ExecRequest::new(["python3", "-c", script]), tx);
    let kill = async {
        while let Some(line) = rx.recv().await {
            if line.line == "ready" {
                break;
            }
        }
        sandbox.kill(&handle).await.unwrap();
        let mut rest = Vec::new();
        while let Some(line) = rx.recv().await {
            rest.push(line.line);
        }
        rest
    };
    let (outcome, rest) = tokio::join!(exec, kill);
    assert_eq!(rest, ["interrupts 1"]);
    assert_eq!(outcome.unwrap().exit_code, Some(7));
    sandbox.destroy(&handle).await.unwrap();
}

#[tokio::test]
async fn brokered_sandboxes_need_a_relay_and_keep_their_socket_path() {
    let root = tempfile::tempdir().unwrap();
    let plain = LocalSandbox::new(crate::common::own_uids(LocalSandboxConfig::new(
        root.path().join("plain"),
    )))
    .unwrap();
    let mut spec = SandboxSpec::new("no-relay");
    spec.network = NetworkMode::Brokered;
    let err = plain.create(spec).await.unwrap_err().to_string();
    assert!(err.contains("relay"), "{err}");

    let sandbox = brokered_backend(&root.path().join("brokered")).await;
    let handle = brokered(&sandbox, "egress-reopen").await;
    let socket = handle.egress_socket.clone().unwrap();
    assert!(socket.starts_with(root.path()) && socket.ends_with("egress.sock"));
    assert_eq!(sandbox.open("egress-reopen").await.unwrap(), handle);
    let host = sandbox.create(SandboxSpec::new("host-none")).await.unwrap();
    assert_eq!(host.egress_socket, None);
    sandbox.destroy(&handle).await.unwrap();
    sandbox.destroy(&host).await.unwrap();
}
