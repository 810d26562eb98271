//! The `drydock` binary itself: operator commands and the embedded default.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{client, json, TestApp, TEST_MASTER_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_drydock");

fn drydock(app: &TestApp) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.db.url)
        .env("DRYDOCK_MASTER_KEY", TEST_MASTER_KEY)
        .env("RUST_LOG", "warn");
    cmd
}

#[actix_web::test]
async fn user_and_token_commands_give_a_working_token() {
    let app = TestApp::spawn().await;
    let out =
        drydock(&app).args(["user", "create", "--username", "ops", "--admin"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = drydock(&app)
        .args(["token", "create", "--username", "ops", "--name", "script"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let token = token.trim();
    assert!(
        token.starts_with("dd_") && !token.contains(' '),
        "stdout is only the token: {token:?}"
    );
    let me =
        json(app.client.get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap(), 200)
            .await;
    assert_eq!(me["is_admin"], true);
    assert_eq!(app.client.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);

    let out = drydock(&app).args(["token", "list", "--username", "ops"]).output().unwrap();
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.contains("script") && !listing.contains(token), "{listing}");
    let id = listing.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let out = drydock(&app).args(["token", "revoke", &id]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        app.client.get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap().status(),
        401
    );
}

#[actix_web::test]
async fn a_password_from_stdin_allows_local_login() {
    let app = TestApp::spawn().await;
    let mut child = drydock(&app)
        .args(["user", "create", "--username", "pat", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"s3cret-password\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let res = client(false)
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "pat", "password": "s3cret-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let out = drydock(&app).args(["user", "list"]).output().unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("pat"));
}

#[test]
fn every_subcommand_explains_itself() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["user", "create", "--help"],
        &["user", "list", "--help"],
        &["token", "create", "--help"],
        &["token", "list", "--help"],
        &["token", "revoke", "--help"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
}

#[test]
fn secrets_never_show_in_errors() {
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", "postgres://postgres:hunter2@127.0.0.1:1/x")
        .env("DRYDOCK_MASTER_KEY", "not-base64-hunter3")
        .args(["migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let all =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("master key"), "{all}");
    assert!(!all.contains("hunter2") && !all.contains("hunter3"), "{all}");
}

/// Runs `cmd` and returns its output, failing the test if it is still running after 30 s.
fn output_within_30s(cmd: &mut Command) -> std::process::Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("still running after 30 s: it should have refused to start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

#[actix_web::test]
async fn a_worker_refuses_a_nonsense_or_unusable_cgroup_setting_at_start() {
    let app = TestApp::spawn().await;
    let data = tempfile::tempdir().unwrap();
    let out = output_within_30s(
        drydock(&app)
            .args(["worker"])
            .env("DRYDOCK_DATA_DIR", data.path())
            .env("DRYDOCK_TASKS__SANDBOX_CGROUPS", "sometimes"),
    );
    assert!(!out.status.success(), "the worker started anyway");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tasks.sandbox_cgroups"), "{stderr}");

    // A directory that is not a cgroup v2 directory was asked for: refused too, never ignored.
    let not_cgroup = data.path().join("not-a-cgroup");
    let out = output_within_30s(
        drydock(&app)
            .args(["worker"])
            .env("DRYDOCK_DATA_DIR", data.path())
            .env("DRYDOCK_TASKS__SANDBOX_CGROUPS", &not_cgroup),
    );
    assert!(!out.status.success(), "the worker started without the cgroups it was given");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not usable"), "{stderr}");
}

/// The README's default: no DATABASE_URL, an embedded cluster under the data dir.
#[test]
fn serve_runs_on_an_embedded_cluster_and_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut port = None;
    let mut setup_link = false;
    for line in stdout.lines() {
        let line = line.unwrap();
        setup_link |= line.contains("/setup?token=");
        if let Some(rest) = line.strip_prefix("Drydock is listening on http://127.0.0.1:") {
            port = Some(rest.trim().to_owned());
            break;
        }
    }
    let port = port.expect("serve printed its address");
    assert!(setup_link, "a fresh install prints the one-time setup link");
    let key = dir.path().join("master.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = rt.block_on(async {
        reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.unwrap().status()
    });
    assert_eq!(status, 200);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "graceful shutdown exits 0");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "serve did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !dir.path().join("postgres/data/postmaster.pid").exists(),
        "the embedded cluster was stopped"
    );
}

#[test]
fn missing_postgres_binaries_name_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", "/nonexistent")
        .env("DRYDOCK_PG_BIN_DIR", dir.path())
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("apt-get install postgresql"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("drydock:")).count(),
        1,
        "one clear error: {err}"
    );
}
