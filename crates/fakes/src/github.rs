//! A fake GitHub on 127.0.0.1: OAuth authorize and token endpoints (checking client
//! credentials and the PKCE verifier), the user API, token revocation, the REST endpoints of
//! repositories, issues, pull requests, comments and checks (checking the token and the
//! request bodies, paginating with `Link` headers, with injectable failures), and git smart
//! HTTP through `git http-backend` for repositories created with `git_repo`. It records what
//! it received so tests can assert on it.

// A test fixture: it panics on broken setup rather than returning errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "fake-client-id";
pub const CLIENT_SECRET: &str = "fake-client-secret";

/// How the fake behaves, and what it saw.
#[derive(Default)]
pub struct FakeState {
    /// Answer the consent page with `error=access_denied`.
    pub deny_consent: bool,
    /// Fail every token exchange.
    pub fail_token_exchange: bool,
    /// Issued codes → (PKCE challenge, redirect_uri).
    codes: HashMap<String, (String, String)>,
    /// Live access tokens.
    pub tokens: Vec<String>,
    /// Tokens revoked through the applications API.
    pub revoked: Vec<String>,
    /// Scopes requested at authorize.
    pub requested_scopes: Vec<String>,
    /// REST: organisations the user belongs to.
    pub orgs: Vec<String>,
    /// REST: repositories by lower-cased `owner/name`.
    pub repos: std::collections::BTreeMap<String, FakeRepo>,
    /// REST: a failure every REST request (not OAuth, not `/user`) answers with.
    pub inject: Option<Inject>,
    /// REST: the status merging answers with (405 "not mergeable" or 409), when set.
    pub merge_conflict: Option<u16>,
    /// REST: every request received: (method, path and query, JSON body).
    pub requests: Vec<(String, String, serde_json::Value)>,
    /// Where `git_repo` repositories live (`ROOT/OWNER/NAME.git`).
    pub git_root: Option<std::path::PathBuf>,
    /// Every `Authorization` header received by REST and git smart HTTP, as sent.
    pub authorizations: Vec<String>,
    counter: i64,
}

/// An injected REST failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inject {
    /// 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`.
    RateLimit,
    /// 429 with `Retry-After: 120`.
    TooManyRequests,
    /// 403 without rate-limit headers (the token may not do this).
    Forbidden,
}

/// A repository of the fake.
#[derive(Debug, Clone, Default)]
pub struct FakeRepo {
    /// Owner login.
    pub owner: String,
    /// Name.
    pub name: String,
    /// Private.
    pub private: bool,
    /// Default branch.
    pub default_branch: String,
    /// Description.
    pub description: Option<String>,
    /// Branch → head sha (git-backed repositories are asked instead).
    pub branches: std::collections::BTreeMap<String, String>,
    /// Commits, newest first (GitHub JSON).
    pub commits: Vec<serde_json::Value>,
    /// Issues and pull requests, by number (GitHub JSON; pulls carry `head`).
    pub items: std::collections::BTreeMap<i64, serde_json::Value>,
    /// Issue comments by number.
    pub issue_comments: HashMap<i64, Vec<serde_json::Value>>,
    /// Review comments by number.
    pub review_comments: HashMap<i64, Vec<serde_json::Value>>,
    /// Check runs by commit sha.
    pub check_runs: HashMap<String, Vec<serde_json::Value>>,
    /// Generated from a template (`owner/name`).
    pub template: Option<String>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeGithub {
    /// Base URL, e.g. `http://127.0.0.1:PORT`.
    pub base: String,
    /// Shared state.
    pub state: Arc<Mutex<FakeState>>,
}

impl FakeGithub {
    /// Starts the fake on a random port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let data = web::Data::from(state.clone());
        let seen = state.clone();
        let server = HttpServer::new(move || {
            let seen = seen.clone();
            App::new()
                .wrap_fn(move |req, srv| {
                    use actix_web::dev::Service;
                    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok());
                    if let Some(header) = header {
                        seen.lock().expect("state").authorizations.push(header.to_owned());
                    }
                    srv.call(req)
                })
                .app_data(data.clone())
                .route("/login/oauth/authorize", web::get().to(authorize))
                .route("/login/oauth/access_token", web::post().to(access_token))
                .route("/api/user", web::get().to(user))
                .route("/api/user/emails", web::get().to(emails))
                .route("/oidc/userinfo", web::get().to(userinfo))
                .route("/api/applications/{client_id}/token", web::delete().to(revoke))
                .app_data(web::PayloadConfig::new(64 << 20))
                .default_service(web::to(dispatch))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind fake github");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Self { base: format!("http://127.0.0.1:{port}"), state }
    }

    /// Settings TOML pointing Drydock's GitHub config at this fake.
    pub fn settings_toml(&self) -> String {
        format!(
            "[github]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\nauthorize_url = \"{b}/login/oauth/authorize\"\ntoken_url = \"{b}/login/oauth/access_token\"\napi_url = \"{b}/api\"\nweb_url = \"{b}\"\n",
            b = self.base
        )
    }

    /// Runs `f` on the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().expect("fake state"))
    }

    /// Accepts `token` as a personal access token (REST bearer and git Basic password), as
    /// if the user had created it on this host.
    pub fn add_token(&self, token: &str) {
        self.with(|s| s.tokens.push(token.to_owned()));
    }

    /// Whether any request this fake received carried `secret` in its `Authorization` header,
    /// plainly or Basic-encoded.
    pub fn received_secret(&self, secret: &str) -> bool {
        self.with(|s| {
            s.authorizations.iter().any(|header| {
                let decoded = basic_credentials(header).unwrap_or_default();
                header.contains(secret) || decoded.contains(secret)
            })
        })
    }

    /// The user names of every Basic authorization received (git's, over smart HTTP).
    pub fn git_users(&self) -> Vec<String> {
        self.with(|s| {
            s.authorizations
                .iter()
                .filter_map(|h| basic_credentials(h))
                .filter_map(|c| c.split_once(':').map(|(user, _)| user.to_owned()))
                .collect()
        })
    }
}

/// `user:password` of a Basic `Authorization` header.
fn basic_credentials(header: &str) -> Option<String> {
    let encoded = header.strip_prefix("Basic ")?;
    let bytes = STANDARD.decode(encoded.trim()).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    state: String,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn authorize(
    state: web::Data<Mutex<FakeState>>,
    q: web::Query<AuthorizeQuery>,
) -> HttpResponse {
    let mut s = state.lock().expect("state");
    s.requested_scopes =
        q.scope.clone().unwrap_or_default().split(' ').map(str::to_owned).collect();
    if q.client_id != CLIENT_ID || q.code_challenge_method.as_deref() != Some("S256") {
        return HttpResponse::BadRequest().body("bad client or no PKCE");
    }
    let location = if s.deny_consent {
        format!("{}?error=access_denied&state={}", q.redirect_uri, q.state)
    } else {
        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
        s.codes.insert(
            code.clone(),
            (q.code_challenge.clone().unwrap_or_default(), q.redirect_uri.clone()),
        );
        format!("{}?code={code}&state={}", q.redirect_uri, q.state)
    };
    HttpResponse::Found().insert_header(("location", location)).finish()
}

#[derive(Deserialize)]
struct TokenForm {
    code: String,
    code_verifier: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn basic_auth(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get("authorization")?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(value).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn bad_code() -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}))
}

async fn access_token(
    state: web::Data<Mutex<FakeState>>,
    req: HttpRequest,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    let mut s = state.lock().expect("state");
    let (id, secret) = basic_auth(&req)
        .or_else(|| Some((form.client_id.clone()?, form.client_secret.clone()?)))
        .unwrap_or_default();
    if id != CLIENT_ID || secret != CLIENT_SECRET || s.fail_token_exchange {
        return bad_code();
    }
    let Some((challenge, redirect_uri)) = s.codes.remove(&form.code) else { return bad_code() };
    let verifier = form.code_verifier.clone().unwrap_or_default();
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if computed != challenge || form.redirect_uri.as_deref() != Some(redirect_uri.as_str()) {
        return bad_code();
    }
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    s.tokens.push(token.clone());
    HttpResponse::Ok().json(json!({"access_token": token, "token_type": "bearer", "scope": "repo,read:user,user:email"}))
}

fn bearer_ok(state: &Mutex<FakeState>, req: &HttpRequest) -> bool {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let s = state.lock().expect("state");
    token.is_some_and(|t| s.tokens.iter().any(|x| x == t) && !s.revoked.iter().any(|x| x == t))
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({"message": "Bad credentials"}))
}

async fn user(state: web::Data<Mutex<FakeState>>, req: HttpRequest) -> HttpResponse {
    if !bearer_ok(&state, &req) {
        return unauthorized();
    }
    HttpResponse::Ok().json(json!({"id": 4242, "login": "octo.cat", "name": "Octo Cat", "email": null, "avatar_url": "https://avatars.example/octo.png"}))
}

async fn emails(state: web::Data<Mutex<FakeState>>, req: HttpRequest) -> HttpResponse {
    if !bearer_ok(&state, &req) {
        return unauthorized();
    }
    HttpResponse::Ok().json(json!([
        {"email": "old@example.com", "primary": false, "verified": true},
        {"email": "octo@example.com", "primary": true, "verified": true}
    ]))
}

#[derive(Deserialize)]
struct RevokeBody {
    access_token: String,
}

async fn revoke(
    state: web::Data<Mutex<FakeState>>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<RevokeBody>,
) -> HttpResponse {
    let Some((id, secret)) = basic_auth(&req) else { return unauthorized() };
    if id != CLIENT_ID || secret != CLIENT_SECRET || path.as_str() != CLIENT_ID {
        return unauthorized();
    }
    state.lock().expect("state").revoked.push(body.access_token.clone());
    HttpResponse::NoContent().finish()
}

async fn userinfo(state: web::Data<Mutex<FakeState>>, req: HttpRequest) -> HttpResponse {
    if !bearer_ok(&state, &req) {
        return unauthorized();
    }
    HttpResponse::Ok().json(json!({"sub": "vc_123", "preferred_username": "vera", "email": "vera@example.com", "name": "Vera", "picture": "https://avatars.example/v.png"}))
}

impl FakeGithub {
    /// Settings TOML for a Vercel-preset OIDC provider whose endpoints are this fake.
    pub fn oidc_toml(&self) -> String {
        format!(
            "[oidc]\npreset = \"vercel\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\nauthorize_url = \"{b}/login/oauth/authorize\"\ntoken_url = \"{b}/login/oauth/access_token\"\nuserinfo_url = \"{b}/oidc/userinfo\"\n",
            b = self.base
        )
    }
}

// ---------------------------------------------------------------------------------------------
// REST: repositories, issues, pull requests, comments, checks.

/// The login of the fake's user.
pub const LOGIN: &str = "octo.cat";

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn key(owner: &str, name: &str) -> String {
    format!("{owner}/{name}").to_lowercase()
}

impl FakeRepo {
    fn json(&self, base: &str) -> serde_json::Value {
        json!({
            "id": 1, "name": self.name, "full_name": format!("{}/{}", self.owner, self.name),
            "owner": {"login": self.owner, "avatar_url": null},
            "private": self.private, "description": self.description,
            "default_branch": self.default_branch,
            "html_url": format!("{base}/{}/{}", self.owner, self.name),
            "clone_url": format!("{base}/{}/{}.git", self.owner, self.name),
            "language": "Rust", "updated_at": "2026-01-02T03:04:05Z"
        })
    }
}

impl FakeGithub {
    /// Adds a repository (default branch `main`, with a head commit).
    pub fn add_repo(&self, owner: &str, name: &str, private: bool) {
        self.with(|s| {
            let mut branches = std::collections::BTreeMap::new();
            branches.insert("main".to_owned(), "a".repeat(40));
            s.repos.insert(
                key(owner, name),
                FakeRepo {
                    owner: owner.into(),
                    name: name.into(),
                    private,
                    default_branch: "main".into(),
                    branches,
                    ..Default::default()
                },
            );
        });
    }

    /// Adds a bare git repository served over smart HTTP at `BASE/OWNER/NAME(.git)`, with one
    /// commit on `trunk`, and registers it as a REST repository too.
    pub fn git_repo(&self, owner: &str, name: &str) {
        let root = self.with(|s| {
            s.git_root.get_or_insert_with(|| tempfile::tempdir().expect("tempdir").keep()).clone()
        });
        let path = root.join(owner).join(format!("{name}.git"));
        std::fs::create_dir_all(&path).unwrap();
        crate::git::git(&path, &["init", "--bare", "--initial-branch=trunk"]);
        let work = root.join(format!("seed-{owner}-{name}"));
        std::fs::create_dir_all(&work).unwrap();
        crate::git::git(&work, &["init", "--initial-branch=trunk"]);
        std::fs::write(work.join("README.md"), "# App\n").unwrap();
        crate::git::git(&work, &["add", "."]);
        crate::git::git(&work, &["commit", "-m", "initial"]);
        crate::git::git(&work, &["push", path.to_str().unwrap(), "trunk"]);
        self.add_repo(owner, name, true);
        self.with(|s| {
            let repo = s.repos.get_mut(&key(owner, name)).unwrap();
            repo.default_branch = "trunk".into();
            repo.branches.clear();
        });
    }

    /// Runs `f` on a repository.
    pub fn repo<T>(&self, owner: &str, name: &str, f: impl FnOnce(&mut FakeRepo) -> T) -> T {
        self.with(|s| f(s.repos.get_mut(&key(owner, name)).expect("fake repo")))
    }

    fn next_number(&self) -> i64 {
        self.with(|s| {
            s.counter += 1;
            s.counter
        })
    }

    /// Adds an open issue; returns its number.
    pub fn add_issue(&self, owner: &str, name: &str, title: &str, body: &str) -> i64 {
        let n = self.next_number();
        let url = format!("{}/{owner}/{name}/issues/{n}", self.base);
        self.repo(owner, name, |r| {
            r.items.insert(n, json!({"number": n, "title": title, "body": body, "state": "open", "user": {"login": "reporter"}, "labels": [{"name": "bug"}], "html_url": url, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}));
        });
        n
    }

    /// Adds an open pull request from `head` (created as a branch) into the default branch;
    /// returns its number. `fork` makes its head come from another repository.
    pub fn add_pull(&self, owner: &str, name: &str, title: &str, head: &str, fork: bool) -> i64 {
        let n = self.next_number();
        let base = self.base.clone();
        self.repo(owner, name, |r| {
            r.branches.insert(head.to_owned(), "b".repeat(40));
            let head_repo =
                if fork { "someone/fork".to_owned() } else { format!("{owner}/{name}") };
            r.items.insert(
                n,
                pull_json(
                    &base,
                    r,
                    n,
                    title,
                    "PR body",
                    head,
                    &head_repo,
                    &r.default_branch.clone(),
                ),
            );
        });
        n
    }

    /// Adds a commit (newest first).
    pub fn add_commit(&self, owner: &str, name: &str, sha: &str, message: &str) {
        let url = format!("{}/{owner}/{name}/commit/{sha}", self.base);
        self.repo(owner, name, |r| {
            r.commits.insert(0, json!({"sha": sha, "commit": {"message": message, "author": {"name": "Ann", "date": "2026-01-01T00:00:00Z"}}, "author": {"login": "ann"}, "html_url": url}));
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn pull_json(
    base: &str,
    r: &FakeRepo,
    n: i64,
    title: &str,
    body: &str,
    head: &str,
    head_repo: &str,
    base_ref: &str,
) -> serde_json::Value {
    let full = format!("{}/{}", r.owner, r.name);
    json!({
        "number": n, "title": title, "body": body, "state": "open", "draft": false,
        "merged": false, "merged_at": null, "mergeable": true, "merge_commit_sha": "c".repeat(40),
        "head": {"ref": head, "sha": r.branches.get(head).cloned().unwrap_or_else(|| "b".repeat(40)), "repo": {"full_name": head_repo}},
        "base": {"ref": base_ref, "sha": "a".repeat(40), "repo": {"full_name": full}},
        "user": {"login": LOGIN}, "html_url": format!("{base}/{full}/pull/{n}"),
        "created_at": "2026-01-01T00:00:00Z", "updated_at": now()
    })
}

fn gh_error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"message": message, "documentation_url": "https://docs.github.com/rest"}))
}

fn not_found() -> HttpResponse {
    gh_error(404, "Not Found")
}

fn unprocessable(message: &str) -> HttpResponse {
    HttpResponse::UnprocessableEntity().json(json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": message}]}))
}

/// A page of `items` with GitHub's `Link` header.
fn paginate(
    base: &str,
    req: &HttpRequest,
    items: Vec<serde_json::Value>,
    wrap: Option<&str>,
) -> HttpResponse {
    let q: HashMap<String, String> = web::Query::from_query(req.query_string())
        .map(|q: web::Query<HashMap<String, String>>| q.into_inner())
        .unwrap_or_default();
    let per_page: usize = q.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(30);
    let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let total = items.len();
    let slice: Vec<_> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    let mut res = HttpResponse::Ok();
    if page * per_page < total {
        let mut pairs: Vec<(String, String)> = q.into_iter().filter(|(k, _)| k != "page").collect();
        pairs.sort();
        pairs.push(("page".into(), (page + 1).to_string()));
        let query =
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        res.insert_header((
            "link",
            format!(
                "<{base}{}?{query}>; rel=\"next\", <{base}{}?page=1>; rel=\"first\"",
                req.path(),
                req.path()
            ),
        ));
    }
    match wrap {
        Some(field) => res.json(json!({"total_count": total, field: slice})),
        None => res.json(slice),
    }
}

fn branch_sha(s: &FakeState, repo: &FakeRepo, branch: &str) -> Option<String> {
    if let Some(root) = &s.git_root {
        let dir = root.join(&repo.owner).join(format!("{}.git", repo.name));
        if dir.exists() {
            let out = std::process::Command::new("git")
                .args(["rev-parse", "--verify", &format!("refs/heads/{branch}")])
                .current_dir(&dir)
                .output()
                .ok()?;
            return out
                .status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned());
        }
    }
    repo.branches.get(branch).cloned()
}

fn create_repo(
    s: &mut FakeState,
    base: &str,
    owner: &str,
    body: &serde_json::Value,
    template: Option<String>,
) -> HttpResponse {
    let Some(name) = body["name"].as_str() else { return gh_error(422, "name is missing") };
    if s.repos.contains_key(&key(owner, name)) {
        return HttpResponse::UnprocessableEntity().json(json!({"message": "Repository creation failed.", "errors": [{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}]}));
    }
    let mut branches = std::collections::BTreeMap::new();
    branches.insert("main".to_owned(), "a".repeat(40));
    let repo = FakeRepo {
        owner: owner.into(),
        name: name.into(),
        private: body["private"].as_bool().unwrap_or(false),
        default_branch: "main".into(),
        description: body["description"].as_str().map(str::to_owned),
        branches,
        template,
        ..Default::default()
    };
    let json = repo.json(base);
    s.repos.insert(key(owner, name), repo);
    HttpResponse::Created().json(json)
}

async fn dispatch(
    state: web::Data<Mutex<FakeState>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let host = req.connection_info().host().to_owned();
    let base = format!("http://{host}");
    match req.path().strip_prefix("/api/") {
        Some(rest) => {
            let rest = rest.to_owned();
            rest_api(&state, &req, &base, &rest, &body)
        }
        None => git_http(&state, &req, body).await,
    }
}

fn rest_api(
    state: &Mutex<FakeState>,
    req: &HttpRequest,
    base: &str,
    rest: &str,
    body: &[u8],
) -> HttpResponse {
    let authorized = bearer_ok(state, req);
    let mut s = state.lock().expect("state");
    let body: serde_json::Value = if body.is_empty() {
        serde_json::Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return gh_error(400, "Problems parsing JSON"),
        }
    };
    let target = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    s.requests.push((req.method().to_string(), target, body.clone()));
    if !authorized {
        return unauthorized();
    }
    match s.inject {
        Some(Inject::RateLimit) => {
            return HttpResponse::Forbidden()
                .insert_header(("x-ratelimit-remaining", "0"))
                .insert_header(("x-ratelimit-reset", "4102444800"))
                .json(json!({"message": "API rate limit exceeded for user ID 4242."}));
        }
        Some(Inject::TooManyRequests) => {
            return HttpResponse::TooManyRequests()
                .insert_header(("retry-after", "120"))
                .json(json!({"message": "You have exceeded a secondary rate limit."}));
        }
        Some(Inject::Forbidden) => return gh_error(403, "Resource not accessible by integration"),
        None => {}
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let method = req.method().as_str();
    let all_repos = |s: &FakeState, f: &dyn Fn(&FakeRepo) -> bool| -> Vec<serde_json::Value> {
        s.repos.values().filter(|r| f(r)).map(|r| r.json(base)).collect()
    };
    match (method, segs.as_slice()) {
        ("GET", ["user", "orgs"]) => {
            let orgs = s.orgs.iter().map(|o| json!({"login": o, "avatar_url": format!("https://avatars.example/{o}.png")})).collect();
            paginate(base, req, orgs, None)
        }
        ("GET", ["user", "repos"]) => {
            let mine = all_repos(&s, &|r| r.owner == LOGIN || s.orgs.contains(&r.owner));
            paginate(base, req, mine, None)
        }
        ("POST", ["user", "repos"]) => create_repo(&mut s, base, LOGIN, &body, None),
        ("GET", ["orgs", org, "repos"]) if s.orgs.iter().any(|o| o == org) => {
            let org = org.to_string();
            paginate(base, req, all_repos(&s, &|r| r.owner == org), None)
        }
        ("POST", ["orgs", org, "repos"]) if s.orgs.iter().any(|o| o == org) => {
            create_repo(&mut s, base, org, &body, None)
        }
        ("GET", ["users", user, "repos"]) => {
            let user = user.to_string();
            paginate(base, req, all_repos(&s, &|r| r.owner == user && !r.private), None)
        }
        ("GET", ["search", "repositories"]) => {
            let q: HashMap<String, String> = web::Query::from_query(req.query_string())
                .map(|q: web::Query<HashMap<String, String>>| q.into_inner())
                .unwrap_or_default();
            let terms = q.get("q").cloned().unwrap_or_default();
            let text = terms.split(' ').next().unwrap_or_default().to_lowercase();
            let owner = terms
                .split(' ')
                .find_map(|t| t.strip_prefix("user:"))
                .unwrap_or_default()
                .to_owned();
            let found =
                all_repos(&s, &|r| r.owner == owner && r.name.to_lowercase().contains(&text));
            paginate(base, req, found, Some("items"))
        }
        ("POST", ["repos", o, r, "generate"]) => {
            if !s.repos.contains_key(&key(o, r)) {
                return not_found();
            }
            let Some(owner) = body["owner"].as_str().map(str::to_owned) else {
                return gh_error(422, "owner is missing");
            };
            create_repo(&mut s, base, &owner, &body, Some(format!("{o}/{r}")))
        }
        (_, ["repos", o, r, tail @ ..]) => {
            let k = key(o, r);
            if !s.repos.contains_key(&k) {
                return not_found();
            }
            repo_api(&mut s, req, base, &k, method, tail, &body)
        }
        _ => not_found(),
    }
}

#[allow(clippy::too_many_arguments)]
fn repo_api(
    s: &mut FakeState,
    req: &HttpRequest,
    base: &str,
    k: &str,
    method: &str,
    tail: &[&str],
    body: &serde_json::Value,
) -> HttpResponse {
    let conflict = s.merge_conflict;
    let snapshot = s.repos[k].clone();
    let number = |n: &str| n.parse::<i64>().ok();
    match (method, tail) {
        ("GET", []) => HttpResponse::Ok().json(snapshot.json(base)),
        ("GET", ["commits"]) => paginate(base, req, snapshot.commits.clone(), None),
        ("GET", ["commits", sha]) => match snapshot
            .commits
            .iter()
            .find(|c| c["sha"].as_str().is_some_and(|x| x.starts_with(sha)))
        {
            Some(c) => HttpResponse::Ok().json(c),
            None => gh_error(422, &format!("No commit found for SHA: {sha}")),
        },
        ("GET", ["commits", sha, "check-runs"]) => paginate(
            base,
            req,
            snapshot.check_runs.get(*sha).cloned().unwrap_or_default(),
            Some("check_runs"),
        ),
        ("GET", ["issues"]) => paginate(
            base,
            req,
            snapshot
                .items
                .values()
                .rev()
                .filter(|i| i["state"] == "open")
                .cloned()
                .map(|mut i| {
                    if i.get("head").is_some() {
                        i["pull_request"] = json!({"url": "x"});
                    }
                    i
                })
                .collect(),
            None,
        ),
        ("GET", ["issues", n]) => match number(n).and_then(|n| snapshot.items.get(&n)) {
            Some(i) => {
                let mut i = i.clone();
                if i.get("head").is_some() {
                    i["pull_request"] = json!({"url": "x"});
                }
                HttpResponse::Ok().json(i)
            }
            None => not_found(),
        },
        ("GET", ["issues", n, "comments"]) => paginate(
            base,
            req,
            number(n).and_then(|n| snapshot.issue_comments.get(&n).cloned()).unwrap_or_default(),
            None,
        ),
        ("GET", ["pulls", n, "comments"]) => paginate(
            base,
            req,
            number(n).and_then(|n| snapshot.review_comments.get(&n).cloned()).unwrap_or_default(),
            None,
        ),
        ("GET", ["pulls"]) => paginate(
            base,
            req,
            snapshot
                .items
                .values()
                .rev()
                .filter(|i| i.get("head").is_some() && i["state"] == "open")
                .cloned()
                .collect(),
            None,
        ),
        ("POST", ["pulls"]) => {
            let (Some(title), Some(head), Some(base_ref)) =
                (body["title"].as_str(), body["head"].as_str(), body["base"].as_str())
            else {
                return gh_error(422, "title, head and base are required");
            };
            if !body["body"].is_string() {
                return gh_error(422, "body must be a string");
            }
            if branch_sha(s, &snapshot, head).is_none() {
                return unprocessable(&format!("head: branch {head} does not exist"));
            }
            if branch_sha(s, &snapshot, base_ref).is_none() {
                return unprocessable(&format!("base: branch {base_ref} does not exist"));
            }
            if snapshot.items.values().any(|i| i["head"]["ref"] == head && i["state"] == "open") {
                return unprocessable(&format!(
                    "A pull request already exists for {}:{head}.",
                    snapshot.owner
                ));
            }
            s.counter += 1;
            let n = s.counter;
            let full = format!("{}/{}", snapshot.owner, snapshot.name);
            let mut pr = pull_json(
                base,
                &snapshot,
                n,
                title,
                body["body"].as_str().unwrap_or_default(),
                head,
                &full,
                base_ref,
            );
            pr["merge_commit_sha"] = serde_json::Value::Null;
            s.repos.get_mut(k).unwrap().items.insert(n, pr.clone());
            HttpResponse::Created().json(pr)
        }
        ("GET", ["pulls", n]) => {
            match number(n).and_then(|n| snapshot.items.get(&n)).filter(|i| i.get("head").is_some())
            {
                Some(p) => HttpResponse::Ok().json(p),
                None => not_found(),
            }
        }
        ("PATCH", ["pulls", n]) => {
            let Some(n) = number(n)
                .filter(|n| snapshot.items.get(n).is_some_and(|i| i.get("head").is_some()))
            else {
                return not_found();
            };
            let wanted = body["state"].as_str().unwrap_or_default();
            if !["open", "closed"].contains(&wanted) {
                return gh_error(422, "state must be open or closed");
            }
            let pr = s.repos.get_mut(k).unwrap().items.get_mut(&n).unwrap();
            if pr["merged"] == true {
                return unprocessable("state cannot be changed. The pull request has been merged.");
            }
            pr["state"] = wanted.into();
            pr["updated_at"] = now().into();
            HttpResponse::Ok().json(pr.clone())
        }
        ("PUT", ["pulls", n, "merge"]) => {
            let Some(n) = number(n)
                .filter(|n| snapshot.items.get(n).is_some_and(|i| i.get("head").is_some()))
            else {
                return not_found();
            };
            if !["merge", "squash", "rebase"]
                .contains(&body["merge_method"].as_str().unwrap_or("merge"))
            {
                return gh_error(422, "merge_method is invalid");
            }
            if let Some(status) = conflict {
                return gh_error(
                    status,
                    if status == 409 {
                        "Head branch was modified. Review and try the merge again."
                    } else {
                        "Pull Request is not mergeable"
                    },
                );
            }
            let pr = s.repos.get_mut(k).unwrap().items.get_mut(&n).unwrap();
            if pr["state"] != "open" {
                return gh_error(405, "Pull Request is not mergeable");
            }
            let sha = format!("{:040x}", n + 0xabc000);
            pr["state"] = "closed".into();
            pr["merged"] = true.into();
            pr["merged_at"] = now().into();
            pr["merge_commit_sha"] = sha.clone().into();
            HttpResponse::Ok().json(
                json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"}),
            )
        }
        ("GET", ["git", "ref", "heads", branch @ ..]) => {
            let branch = branch.join("/");
            let branch = percent_decode(&branch);
            match branch_sha(s, &snapshot, &branch) {
                Some(sha) => HttpResponse::Ok().json(json!({"ref": format!("refs/heads/{branch}"), "object": {"sha": sha, "type": "commit"}})),
                None => not_found(),
            }
        }
        _ => not_found(),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// git smart HTTP, through `git http-backend`, requiring a live token as the Basic password.

async fn git_http(state: &Mutex<FakeState>, req: &HttpRequest, body: web::Bytes) -> HttpResponse {
    let challenge = || {
        HttpResponse::Unauthorized()
            .insert_header(("www-authenticate", "Basic realm=\"fake github\""))
            .finish()
    };
    let Some((_, password)) = basic_auth(req) else { return challenge() };
    let root = {
        let s = state.lock().expect("state");
        if !s.tokens.contains(&password) || s.revoked.contains(&password) {
            return challenge();
        }
        match &s.git_root {
            Some(root) => root.clone(),
            None => return HttpResponse::NotFound().finish(),
        }
    };
    let path = req.path();
    let Some((repo, service)) = ["/info/refs", "/git-upload-pack", "/git-receive-pack"]
        .iter()
        .find_map(|suffix| path.strip_suffix(suffix).map(|r| (r, *suffix)))
    else {
        return HttpResponse::NotFound().finish();
    };
    let repo = if repo.ends_with(".git") { repo.to_owned() } else { format!("{repo}.git") };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("{repo}{service}"))
        .env("REQUEST_METHOD", req.method().as_str())
        .env("QUERY_STRING", req.query_string())
        .env("REMOTE_USER", "x-access-token")
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
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((at, sep)) = split else {
        return HttpResponse::InternalServerError()
            .body(String::from_utf8_lossy(&out.stderr).into_owned());
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
