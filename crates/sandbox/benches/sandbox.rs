//! Latency of the local backend and the git pipeline; prints p50 and p99.
//!
//! `cargo bench -p drydock-sandbox --bench sandbox` (release). Needs `bwrap` and `git`.
//! `DRYDOCK_BENCH_RELAY=<path of a drydock binary>` also measures brokered sandboxes with
//! `drydock sandbox-relay` as the relay (what the server uses) besides `drydock-sandbox-relay`.

use std::path::Path;
use std::time::{Duration, Instant};

use drydock_egress::{Policy, Proxy, ProxyConfig};
use drydock_sandbox::git::{branch_name, CloneRequest, Git};
use drydock_sandbox::{
    ExecRequest, LocalSandbox, LocalSandboxConfig, NetworkMode, RelayProgram, Sandbox, SandboxSpec,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let tmp = tempfile::tempdir()?;
        sandbox_round_trip(tmp.path(), 200, NetworkMode::Host, None).await?;
        sandbox_round_trip(tmp.path(), 200, NetworkMode::None, None).await?;
        let relay = RelayProgram {
            program: env!("CARGO_BIN_EXE_drydock-sandbox-relay").into(),
            args: Vec::new(),
        };
        sandbox_round_trip(tmp.path(), 200, NetworkMode::Brokered, Some(relay)).await?;
        if let Some(drydock) = std::env::var_os("DRYDOCK_BENCH_RELAY") {
            let relay =
                RelayProgram { program: drydock.into(), args: vec!["sandbox-relay".into()] };
            sandbox_round_trip(tmp.path(), 200, NetworkMode::Brokered, Some(relay)).await?;
        }
        clone_and_branch(tmp.path(), 30).await?;
        Ok(())
    })
}

/// create + exec `true` + destroy; brokered sandboxes also start and stop their egress proxy,
/// as every run does.
async fn sandbox_round_trip(
    tmp: &Path,
    runs: usize,
    network: NetworkMode,
    relay: Option<RelayProgram>,
) -> Result<(), Box<dyn std::error::Error>> {
    let label = match (&relay, network) {
        (Some(r), _) if !r.args.is_empty() => "brokered, drydock sandbox-relay".to_string(),
        (Some(_), _) => "brokered, drydock-sandbox-relay".to_string(),
        (None, mode) => format!("network {}", mode.as_str()),
    };
    let dir: String = label.chars().filter(char::is_ascii_alphanumeric).collect();
    let mut config = LocalSandboxConfig::new(tmp.join(dir));
    config.relay = relay;
    let sandbox = LocalSandbox::new(config)?;
    sandbox.check().await?;
    let mut total = Vec::new();
    let mut exec_only = Vec::new();
    for i in 0..runs + 10 {
        let started = Instant::now();
        let mut spec = SandboxSpec::new(format!("bench-{i}"));
        spec.network = network;
        let handle = sandbox.create(spec).await?;
        let proxy = match &handle.egress_socket {
            Some(socket) => {
                let (tx, _rx) = tokio::sync::mpsc::channel(16);
                Some(Proxy::start(ProxyConfig::new(socket, Policy::new(), tx)).await?)
            }
            None => None,
        };
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let exec_started = Instant::now();
        let outcome = sandbox.exec(&handle, ExecRequest::new(["true"]), tx).await?;
        let exec_time = exec_started.elapsed();
        if let Some(proxy) = proxy {
            proxy.shutdown().await;
        }
        sandbox.destroy(&handle).await?;
        assert!(outcome.success(), "{outcome:?}");
        // The first runs warm the page cache and the runtime.
        if i >= 10 {
            total.push(started.elapsed());
            exec_only.push(exec_time);
        }
    }
    report(&format!("sandbox create + exec `true` + destroy ({label})"), &mut total);
    report("  of which exec `true`", &mut exec_only);
    Ok(())
}

/// Clone of a local 1,000-file repository plus creation of the task branch.
async fn clone_and_branch(tmp: &Path, runs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let bare = tmp.join("thousand.git");
    let seed = tmp.join("seed");
    std::fs::create_dir_all(&seed)?;
    for i in 0..1000 {
        let dir = seed.join(format!("src/m{}", i % 50));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join(format!("f{i}.rs")),
            format!("// file {i}\npub fn f{i}() {{}}\n").repeat(20),
        )?;
    }
    let git_cli = |dir: &Path, args: &[&str]| -> std::io::Result<()> {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=b", "-c", "user.email=b@example.com"])
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("git {args:?} failed")))
        }
    };
    git_cli(&seed, &["init", "-q", "-b", "main"])?;
    git_cli(&seed, &["add", "-A"])?;
    git_cli(&seed, &["commit", "-q", "-m", "seed"])?;
    git_cli(tmp, &["clone", "-q", "--bare", "seed", "thousand.git"])?;

    let git = Git::new().allow_local(true);
    let mut times = Vec::new();
    for i in 0..runs + 3 {
        let request = CloneRequest {
            url: bare.to_string_lossy().into_owned(),
            dest: tmp.join(format!("clones/{i}/repo")),
            credentials: None,
            base_branch: None,
            branch: branch_name("Benchmark task"),
        };
        let started = Instant::now();
        git.clone_repo(&request).await?;
        if i >= 3 {
            times.push(started.elapsed());
        }
        std::fs::remove_dir_all(tmp.join(format!("clones/{i}")))?;
    }
    report("clone + branch, 1,000-file repository (local path)", &mut times);
    Ok(())
}

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let pick = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[index].as_secs_f64() * 1000.0
    };
    println!("{name}: n={} p50={:.1} ms p99={:.1} ms", samples.len(), pick(0.50), pick(0.99));
}
