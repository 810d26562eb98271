//! git smart HTTP for the fake forges, through `git http-backend`: repositories under one
//! root directory, served only to requests whose Basic credentials the forge accepts.

// A test fixture: it panics on broken setup rather than returning errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The Basic credentials of a request: (user, password).
pub fn basic_auth(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get("authorization")?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(value).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Creates a bare repository at `ROOT/PATH.git` with one commit (a README) on `trunk`;
/// returns its directory. `path` may have several segments (GitLab groups).
pub fn create_repo(root: &Path, path: &str) -> PathBuf {
    let dir = root.join(format!("{path}.git"));
    std::fs::create_dir_all(&dir).unwrap();
    crate::git::git(&dir, &["init", "--bare", "--initial-branch=trunk"]);
    let seed = tempfile::tempdir().expect("tempdir");
    let work = seed.path().join("seed");
    std::fs::create_dir_all(&work).unwrap();
    crate::git::git(&work, &["init", "--initial-branch=trunk"]);
    std::fs::write(work.join("README.md"), "# App\n").unwrap();
    crate::git::git(&work, &["add", "."]);
    crate::git::git(&work, &["commit", "-m", "initial"]);
    crate::git::git(&work, &["push", dir.to_str().unwrap(), "trunk"]);
    dir
}

/// The head of `branch` in the bare repository `dir`, if it has that branch.
pub fn branch_sha(dir: &Path, branch: &str) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--verify", &format!("refs/heads/{branch}")])
        .current_dir(dir)
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Serves one smart-HTTP request for a repository under `root` when `allowed(user,
/// password)`; a Basic challenge naming `realm` otherwise.
pub async fn serve(
    req: &HttpRequest,
    body: web::Bytes,
    root: &Path,
    realm: &str,
    allowed: impl Fn(&str, &str) -> bool,
) -> HttpResponse {
    let challenge = || {
        HttpResponse::Unauthorized()
            .insert_header(("www-authenticate", format!("Basic realm=\"{realm}\"")))
            .finish()
    };
    let Some((user, password)) = basic_auth(req) else { return challenge() };
    if !allowed(&user, &password) {
        return challenge();
    }
    let path = req.path();
    let Some((repo, service)) = ["/info/refs", "/git-upload-pack", "/git-receive-pack"]
        .iter()
        .find_map(|suffix| path.strip_suffix(suffix).map(|r| (r, *suffix)))
    else {
        return HttpResponse::NotFound().finish();
    };
    if repo.split('/').any(|s| s == ".." || s == ".") {
        return HttpResponse::NotFound().finish();
    }
    let repo = if repo.ends_with(".git") { repo.to_owned() } else { format!("{repo}.git") };
    if !root.join(repo.trim_start_matches('/')).is_dir() {
        return HttpResponse::NotFound().finish();
    }
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("{repo}{service}"))
        .env("REQUEST_METHOD", req.method().as_str())
        .env("QUERY_STRING", req.query_string())
        .env("REMOTE_USER", &user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (header, var) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "HTTP_GIT_PROTOCOL"),
    ] {
        if let Some(v) = req.headers().get(header).and_then(|v| v.to_str().ok()) {
            cmd.env(var, v);
        }
    }
    let mut child = cmd.spawn().expect("git http-backend");
    let mut stdin = child.stdin.take().unwrap();
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let _ = stdin.write_all(&body).await;
    });
    let out = child.wait_with_output().await.expect("http-backend output");
    let _ = writer.await;
    cgi_response(&out.stdout, &out.stderr)
}

/// `git http-backend`'s CGI output as a response.
fn cgi_response(raw: &[u8], stderr: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((at, sep)) = split else {
        return HttpResponse::InternalServerError()
            .body(String::from_utf8_lossy(stderr).into_owned());
    };
    let head = String::from_utf8_lossy(&raw[..at]).into_owned();
    let mut res = HttpResponse::Ok();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        if name.eq_ignore_ascii_case("status") {
            let code: u16 =
                value.trim().split(' ').next().and_then(|c| c.parse().ok()).unwrap_or(200);
            res.status(actix_web::http::StatusCode::from_u16(code).unwrap());
        } else {
            res.insert_header((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    res.body(raw[at + sep..].to_vec())
}

/// Page `page` (1-based) of `items`, `per_page` long, and whether there is a next one.
pub fn page_of<T>(items: Vec<T>, page: usize, per_page: usize) -> (Vec<T>, bool) {
    let (page, per_page) = (page.max(1), per_page.clamp(1, 100));
    let total = items.len();
    let slice = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    (slice, page * per_page < total)
}

/// Decodes a percent-encoded path segment (`group%2Fapp` → `group/app`).
pub fn decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
