//! Latency of the local backend and the git pipeline; prints p50 and p99.
//!
//! `cargo bench -p drydock-sandbox --bench sandbox --features testing` (release). Needs `bwrap`
//! and `git`. As root, sandboxes get uids of their own and the bench measures that path.

use std::path::Path;
use std::time::{Duration, Instant};

use drydock_sandbox::git::{branch_name, CloneRequest, Git};
use drydock_sandbox::{ExecRequest, LocalSandbox, LocalSandboxConfig, Sandbox, SandboxSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // `cargo bench ... -- sandbox` (or `-- clone`) runs one part only.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    runtime.block_on(async {
        let tmp = tempfile::tempdir()?;
        if wanted("sandbox") {
            sandbox_round_trip(tmp.path(), 200).await?;
        }
        if wanted("handover") {
            hand_over(tmp.path(), 20_000).await?;
        }
        if wanted("clone") {
            clone_and_branch(tmp.path(), 30).await?;
        }
        Ok(())
    })
}

/// create + exec `true` + destroy.
async fn sandbox_round_trip(tmp: &Path, runs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = LocalSandbox::new(LocalSandboxConfig::new(tmp.join("sandboxes")))?;
    sandbox.check().await?;
    for line in sandbox.isolation_report() {
        println!("  {}: {}", line.0, line.1);
    }
    let (mut total, mut creates, mut execs, mut destroys) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs + 10 {
        let started = Instant::now();
        let handle = sandbox.create(SandboxSpec::new(format!("bench-{i}"))).await?;
        let created = started.elapsed();
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let exec_started = Instant::now();
        let outcome = sandbox.exec(&handle, ExecRequest::new(["true"]), tx).await?;
        let exec_time = exec_started.elapsed();
        let destroy_started = Instant::now();
        sandbox.destroy(&handle).await?;
        let destroyed = destroy_started.elapsed();
        assert!(outcome.success(), "{outcome:?}");
        // The first runs warm the page cache and the runtime.
        if i >= 10 {
            total.push(started.elapsed());
            creates.push(created);
            execs.push(exec_time);
            destroys.push(destroyed);
        }
    }
    report("sandbox create + exec `true` + destroy", &mut total);
    report("  of which create", &mut creates);
    report("  of which exec `true`", &mut execs);
    report("  of which destroy", &mut destroys);
    Ok(())
}

/// exec `true` in a workspace holding `files` files the host wrote: the first exec hands them
/// to the sandbox's uid (as root), later ones only walk the tree.
async fn hand_over(tmp: &Path, files: usize) -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = LocalSandbox::new(LocalSandboxConfig::new(tmp.join("handover")))?;
    let handle = sandbox.create(SandboxSpec::new("handover")).await?;
    let workspace = handle.host_workspace.clone().ok_or("no host workspace")?;
    for i in 0..files {
        let dir = workspace.join(format!("node_modules/p{}/lib", i % 500));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("f{i}.js")), "module.exports = 1;\n")?;
    }
    let mut times = Vec::new();
    for _ in 0..6 {
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let started = Instant::now();
        let outcome = sandbox.exec(&handle, ExecRequest::new(["true"]), tx).await?;
        assert!(outcome.success(), "{outcome:?}");
        times.push(started.elapsed());
    }
    sandbox.destroy(&handle).await?;
    let first = times.remove(0);
    println!(
        "exec `true` over {files} host-written files: first (hands them over) {:.1} ms",
        first.as_secs_f64() * 1000.0
    );
    report("  later (walk only)", &mut times);
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
