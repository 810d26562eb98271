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
    let out =
        app.behind_the_back(async { drydock(&app).args(["token", "revoke", &id]).output() }).await;
    assert!(out.unwrap().status.success());
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
        &["user", "invite", "--help"],
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

/// `drydock serve` on an embedded cluster under `data_dir`, until stopped.
struct EmbeddedServe {
    child: std::process::Child,
    port: String,
    setup_link: bool,
}

impl EmbeddedServe {
    fn start(data_dir: &std::path::Path) -> Self {
        let mut child = Command::new(BIN)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
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
        Self { child, port, setup_link }
    }

    fn ready_status(&self) -> u16 {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            reqwest::get(format!("http://127.0.0.1:{}/readyz", self.port))
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(mut self) {
        let status = self.terminate();
        assert!(status.is_some_and(|s| s.success()), "graceful shutdown exits 0: {status:?}");
    }

    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for EmbeddedServe {
    /// A failed assertion still stops the server, and with it the cluster it started.
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Mode and owner of `path` and of every directory above it.
fn ancestry(path: &std::path::Path) -> Vec<(std::path::PathBuf, u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    path.ancestors()
        .map(|p| {
            let meta = std::fs::metadata(p).unwrap();
            (p.to_path_buf(), meta.mode() & 0o7777, meta.uid())
        })
        .collect()
}

fn mode_and_owner(path: &std::path::Path) -> (u32, String) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).unwrap();
    let owner = nix::unistd::User::from_uid(meta.uid().into()).unwrap().unwrap().name;
    (meta.mode() & 0o777, owner)
}

/// `psql` against the embedded cluster's socket, as `os_user` (this process's user when
/// `None`), with an optional password; returns whether the query ran and what psql said.
fn psql_as(
    os_user: Option<&str>,
    socket: &std::path::Path,
    password: Option<&str>,
) -> (bool, String) {
    let mut cmd = match os_user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--", "psql"]);
            c
        }
        None => Command::new("psql"),
    };
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("-w")
        .arg("-h")
        .arg(socket)
        .args(["-p", "5432", "-U", "drydock", "-d", "drydock", "-At", "-c", "SELECT current_user"]);
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    let out = cmd.output().expect("psql is installed (postgresql-client)");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The README's default: no DATABASE_URL, an embedded cluster under the data dir. The data dir
/// sits in a private (0700) directory, as under `/root`: the cluster must run without anyone
/// opening that directory or its parents.
#[test]
fn serve_runs_on_an_embedded_cluster_under_a_private_directory_and_stops_it() {
    let private = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let data = private.path().join("data");
    let before = ancestry(private.path());
    let serve = EmbeddedServe::start(&data);
    assert!(serve.setup_link, "a fresh install prints the one-time setup link");
    assert_eq!(ancestry(private.path()), before, "no parent directory's mode or owner changed");
    let key = data.join("master.key");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(data.join("postgres-password")).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let cluster_user =
        if nix::unistd::geteuid().is_root() { "postgres".to_owned() } else { whoami() };
    assert_eq!(mode_and_owner(&data.join("postgres")), (0o700, cluster_user.clone()));
    assert_eq!(mode_and_owner(&data.join("postgres/run")), (0o700, cluster_user));
    assert_eq!(serve.ready_status(), 200);
    serve.stop();
    assert!(
        !data.join("postgres/data/postmaster.pid").exists(),
        "the embedded cluster was stopped"
    );
    assert_eq!(ancestry(private.path()), before, "nothing was opened up on the way out either");

    // A cluster left by an earlier version trusted local connections and had no password
    // file: the next start gives it one and closes the trust rule.
    let hba = data.join("postgres/data/pg_hba.conf");
    std::fs::write(&hba, "local all all trust\n").unwrap();
    std::fs::remove_file(data.join("postgres-password")).unwrap();
    let serve = EmbeddedServe::start(&data);
    assert_eq!(serve.ready_status(), 200);
    let rules = std::fs::read_to_string(&hba).unwrap();
    assert!(!rules.contains("trust") && rules.contains("scram-sha-256"), "{rules}");
    let password = std::fs::read_to_string(data.join("postgres-password")).unwrap();
    let socket = data.join("postgres/run");
    assert!(!psql_as(None, &socket, None).0, "trust is gone");
    let (ok, said) = psql_as(None, &socket, Some(password.trim()));
    assert!(ok, "the new password works: {said}");
    serve.stop();
    assert_eq!(ancestry(private.path()), before);
}

fn whoami() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid()).unwrap().unwrap().name
}

/// Another local account must not get into the embedded cluster, even where it can walk up to
/// the data directory: the socket directory is closed and every connection needs the password.
#[test]
fn other_local_users_cannot_connect_to_the_embedded_cluster() {
    assert!(nix::unistd::geteuid().is_root(), "this test switches to `nobody`: run it as root");
    let open = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    // Every parent reachable by anyone: only Drydock's own protections remain.
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = open.path().join("data");
    let serve = EmbeddedServe::start(&data);
    let socket = data.join("postgres/run");
    let password = std::fs::read_to_string(data.join("postgres-password")).unwrap();

    let (ok, said) = psql_as(Some("nobody"), &socket, None);
    assert!(!ok, "`nobody` connected: {said}");
    assert!(said.contains("Permission denied"), "refused at the socket directory: {said}");
    let (ok, said) = psql_as(Some("nobody"), &socket, Some(password.trim()));
    assert!(!ok, "`nobody` connected with the password: {said}");

    // Root can reach the socket; without the password it is still refused: no trust rule.
    let (ok, said) = psql_as(None, &socket, None);
    assert!(!ok, "connected without a password: {said}");
    assert!(said.contains("password"), "{said}");
    let (ok, said) = psql_as(None, &socket, Some("wrong-password"));
    assert!(!ok, "connected with a wrong password: {said}");
    // The socket is there and working: the right password gets in.
    let (ok, said) = psql_as(None, &socket, Some(password.trim()));
    assert!(ok && said.trim() == "drydock", "{said}");
    serve.stop();
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

/// The server's log holds neither OAuth authorization codes nor the usernames of failed
/// sign-ins (often a password typed into the wrong field).
#[actix_web::test]
async fn logs_hold_no_oauth_codes_and_no_failed_usernames() {
    let gh = crate::support::FakeGithub::start().await;
    let app = TestApp::spawn().await;
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let log = data.path().join("serve.log");
    let mut child = drydock(&app)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .env("DRYDOCK_DATA_DIR", data.path())
        .env("DRYDOCK_TASKS__WORKERS", "0")
        .env("DRYDOCK_PUBLIC_URL", &base)
        .env("DRYDOCK_AUTH__REGISTRATION", "open")
        .env("DRYDOCK_GITHUB__CLIENT_ID", crate::support::fake_github::CLIENT_ID)
        .env("DRYDOCK_GITHUB__CLIENT_SECRET", crate::support::fake_github::CLIENT_SECRET)
        .env("DRYDOCK_GITHUB__AUTHORIZE_URL", format!("{}/login/oauth/authorize", gh.base))
        .env("DRYDOCK_GITHUB__TOKEN_URL", format!("{}/login/oauth/access_token", gh.base))
        .env("DRYDOCK_GITHUB__API_URL", format!("{}/api", gh.base))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let child = KillOnDrop(child);
    let listening =
        stdout.lines().map_while(Result::ok).any(|l| l.contains("Drydock is listening"));
    assert!(listening, "serve started: {}", std::fs::read_to_string(&log).unwrap_or_default());

    let typed = "my-Secret-Passw0rd-in-the-name-field";
    let res = client(false)
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": typed, "password": "whatever"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let browser = client(true);
    let next = |res: &reqwest::Response| res.headers()["location"].to_str().unwrap().to_owned();
    let res = browser.get(format!("{base}/api/v1/auth/github/login")).send().await.unwrap();
    let res = browser.get(next(&res)).send().await.unwrap();
    let callback = next(&res);
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let res = browser.get(&callback).send().await.unwrap();
    assert_eq!(next(&res), format!("{base}/"), "signed in");

    drop(child);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("local sign-in refused") && text.contains("signed in"), "{text}");
    assert!(!text.contains(&code), "the authorization code is in the log:\n{text}");
    assert!(!text.contains(typed), "a failed username is in the log:\n{text}");
}

/// Stops a child process when the test ends, passing or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}
