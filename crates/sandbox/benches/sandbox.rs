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
        let relay = RelayProgram {
            program: env!("CARGO_BIN_EXE_drydock-sandbox-relay").into(),
            args: Vec::new(),
        };
        let mut variants = vec![
            Variant::new(tmp.path(), "network host", NetworkMode::Host, None)?,
            Variant::new(tmp.path(), "network none", NetworkMode::None, None)?,
            Variant::new(
                tmp.path(),
                "brokered, drydock-sandbox-relay",
                NetworkMode::Brokered,
                Some(relay),
            )?,
        ];
        if let Some(drydock) = std::env::var_os("DRYDOCK_BENCH_RELAY") {
            let relay =
                RelayProgram { program: drydock.into(), args: vec!["sandbox-relay".into()] };
            variants.push(Variant::new(
                tmp.path(),
                "brokered, drydock sandbox-relay",
                NetworkMode::Brokered,
                Some(relay),
            )?);
        }
        // Interleaved, so a change of load on the machine hits every variant alike.
        for i in 0..210 {
            for variant in &mut variants {
                variant.round_trip(i, i >= 10).await?;
            }
        }
        for variant in &mut variants {
            report(
                &format!("sandbox create + exec `true` + destroy ({})", variant.label),
                &mut variant.total,
            );
            report("  of which exec `true`", &mut variant.exec_only);
        }
        clone_and_branch(tmp.path(), 30).await?;
        Ok(())
    })
}

/// One way of configuring sandboxes, and its measurements.
struct Variant {
    label: &'static str,
    network: NetworkMode,
    sandbox: LocalSandbox,
    total: Vec<Duration>,
    exec_only: Vec<Duration>,
}

impl Variant {
    fn new(
        tmp: &Path,
        label: &'static str,
        network: NetworkMode,
        relay: Option<RelayProgram>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let dir: String = label.chars().filter(char::is_ascii_alphanumeric).collect();
        let mut config = LocalSandboxConfig::new(tmp.join(dir));
        config.relay = relay;
        let sandbox = LocalSandbox::new(config)?;
        Ok(Self { label, network, sandbox, total: Vec::new(), exec_only: Vec::new() })
    }

    /// create + exec `true` + destroy; brokered sandboxes also start and stop their egress
    /// proxy, as every run does. The first runs warm the page cache and are not recorded.
    async fn round_trip(
        &mut self,
        i: usize,
        record: bool,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let started = Instant::now();
        let mut spec = SandboxSpec::new(format!("bench-{i}"));
        spec.network = self.network;
        let handle = self.sandbox.create(spec).await?;
        let proxy = match &handle.egress_socket {
            Some(socket) => {
                let (tx, _rx) = tokio::sync::mpsc::channel(16);
                Some(Proxy::start(ProxyConfig::new(socket, Policy::new(), tx)).await?)
            }
            None => None,
        };
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let exec_started = Instant::now();
        let outcome = self.sandbox.exec(&handle, ExecRequest::new(["true"]), tx).await?;
        let exec_time = exec_started.elapsed();
        if let Some(proxy) = proxy {
            proxy.shutdown().await;
        }
        self.sandbox.destroy(&handle).await?;
        assert!(outcome.success(), "{outcome:?}");
        if record {
            self.total.push(started.elapsed());
            self.exec_only.push(exec_time);
        }
        Ok(())
    }
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
