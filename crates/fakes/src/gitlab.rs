//! A fake GitLab on 127.0.0.1: the REST v4 endpoints Drydock calls (user, groups, projects
//! with search and `x-next-page` pagination, issues, merge requests with create, merge,
//! close and reopen, notes, branches, commits and commit statuses), checking the
//! `PRIVATE-TOKEN` and the request bodies, with injectable failures; and git smart HTTP for
//! repositories made with [`FakeGitlab::git_project`], taking the token as the Basic password
//! of user `oauth2`. It records what it received so tests can assert on it.

// A test fixture: it panics on broken setup rather than returning errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use crate::smart_http::{self, decode, page_of};

/// The username of the fake's user.
pub const USERNAME: &str = "gl.user";

/// An injected REST failure, answered to every REST request while set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inject {
    /// 401 `{"message": "401 Unauthorized"}`.
    Unauthorized,
    /// 403 `insufficient_scope`.
    Forbidden,
    /// 404 `{"message": "404 Project Not Found"}`.
    NotFound,
}

/// How the fake behaves, and what it saw.
#[derive(Default)]
pub struct GitlabState {
    /// Live personal access tokens.
    pub tokens: Vec<String>,
    /// Groups (full paths) the user is a developer of.
    pub groups: Vec<String>,
    /// Projects by lower-cased full path.
    pub projects: BTreeMap<String, FakeProject>,
    /// A failure every REST request answers with.
    pub inject: Option<Inject>,
    /// Merging answers 406 "Branch cannot be merged" (conflicts) while set.
    pub merge_conflict: bool,
    /// Every REST request: (method, raw path and query, JSON body).
    pub requests: Vec<(String, String, Value)>,
    /// The Basic user name of every git smart-HTTP request that carried one.
    pub git_users: Vec<String>,
    /// Where git-backed projects live.
    pub git_root: Option<PathBuf>,
    next_id: i64,
}

/// A project of the fake.
#[derive(Debug, Clone, Default)]
pub struct FakeProject {
    /// Numeric id.
    pub id: i64,
    /// `group/sub/name`.
    pub full_path: String,
    /// Private (or public).
    pub private: bool,
    /// Default branch.
    pub default_branch: String,
    /// Branch → head (git-backed projects ask git instead).
    pub branches: BTreeMap<String, String>,
    /// Commits, newest first (GitLab JSON).
    pub commits: Vec<Value>,
    /// Issues by iid.
    pub issues: BTreeMap<i64, Value>,
    /// Merge requests by iid.
    pub mrs: BTreeMap<i64, Value>,
    /// Notes by merge request iid.
    pub notes: HashMap<i64, Vec<Value>>,
    /// Commit statuses (pipeline jobs) by sha.
    pub statuses: HashMap<String, Vec<Value>>,
    /// Whether git serves it.
    pub git: bool,
}

impl FakeProject {
    fn namespace(&self) -> &str {
        self.full_path.rsplit_once('/').map(|(n, _)| n).unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.full_path.rsplit_once('/').map(|(_, n)| n).unwrap_or(&self.full_path)
    }

    fn json(&self, base: &str) -> Value {
        json!({
            "id": self.id, "path": self.name(), "name": self.name(),
            "path_with_namespace": self.full_path,
            "namespace": {"full_path": self.namespace(), "kind": if self.namespace() == USERNAME { "user" } else { "group" }},
            "description": "", "visibility": if self.private { "private" } else { "public" },
            "default_branch": self.default_branch,
            "web_url": format!("{base}/{}", self.full_path),
            "http_url_to_repo": format!("{base}/{}.git", self.full_path),
            "last_activity_at": "2026-01-02T03:04:05Z"
        })
    }
}

/// The running fake.
#[derive(Clone)]
pub struct FakeGitlab {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Shared state.
    pub state: Arc<Mutex<GitlabState>>,
}

impl FakeGitlab {
    /// Starts the fake on a random port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(GitlabState::default()));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 << 20))
                .default_service(web::to(dispatch))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind fake gitlab");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Self { base: format!("http://127.0.0.1:{port}"), state }
    }

    /// The API base, `BASE/api/v4`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v4", self.base)
    }

    /// `host:port`.
    pub fn host(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    /// Runs `f` on the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut GitlabState) -> T) -> T {
        f(&mut self.state.lock().expect("fake state"))
    }

    /// A new live token.
    pub fn token(&self) -> String {
        let token = format!("glpat-{}", uuid::Uuid::new_v4().simple());
        self.with(|s| s.tokens.push(token.clone()));
        token
    }

    /// Adds a project (default branch `main` with a head commit).
    pub fn add_project(&self, full_path: &str, private: bool) {
        self.with(|s| {
            s.next_id += 1;
            let mut branches = BTreeMap::new();
            branches.insert("main".to_owned(), "a".repeat(40));
            s.projects.insert(
                full_path.to_lowercase(),
                FakeProject {
                    id: s.next_id,
                    full_path: full_path.into(),
                    private,
                    default_branch: "main".into(),
                    branches,
                    ..Default::default()
                },
            );
        });
    }

    /// Adds a project backed by a bare git repository (one commit on `trunk`), served over
    /// smart HTTP at `BASE/FULL_PATH.git`.
    pub fn git_project(&self, full_path: &str) {
        let root = self.with(|s| {
            s.git_root.get_or_insert_with(|| tempfile::tempdir().expect("tempdir").keep()).clone()
        });
        smart_http::create_repo(&root, full_path);
        self.add_project(full_path, true);
        self.project(full_path, |p| {
            p.default_branch = "trunk".into();
            p.branches.clear();
            p.git = true;
        });
    }

    /// Runs `f` on a project.
    pub fn project<T>(&self, full_path: &str, f: impl FnOnce(&mut FakeProject) -> T) -> T {
        self.with(|s| f(s.projects.get_mut(&full_path.to_lowercase()).expect("fake project")))
    }

    /// Sets a branch's head (on a project without git).
    pub fn add_branch(&self, full_path: &str, branch: &str, sha: &str) {
        self.project(full_path, |p| p.branches.insert(branch.into(), sha.into()));
    }

    /// Adds an open issue; returns its iid.
    pub fn add_issue(&self, full_path: &str, title: &str, body: &str) -> i64 {
        let url = format!("{}/{full_path}/-/issues", self.base);
        self.project(full_path, |p| {
            let iid = p.issues.len() as i64 + 1;
            p.issues.insert(iid, json!({"id": 1000 + iid, "iid": iid, "title": title, "description": body, "state": "opened", "author": {"username": "reporter"}, "labels": ["bug"], "web_url": format!("{url}/{iid}"), "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}));
            iid
        })
    }

    /// Adds an open merge request from `source` (created as a branch) into the default
    /// branch; `fork` makes it come from another project. Returns its iid.
    pub fn add_mr(&self, full_path: &str, title: &str, source: &str, fork: bool) -> i64 {
        let base = self.base.clone();
        self.project(full_path, |p| {
            p.branches.insert(source.into(), "b".repeat(40));
            let target = p.default_branch.clone();
            let iid = p.mrs.len() as i64 + 1;
            let mut mr = mr_json(&base, p, iid, title, "MR body", source, &target);
            if fork {
                mr["source_project_id"] = (p.id + 1000).into();
            }
            p.mrs.insert(iid, mr);
            iid
        })
    }

    /// Adds a commit (newest first).
    pub fn add_commit(&self, full_path: &str, sha: &str, message: &str) {
        let url = format!("{}/{full_path}/-/commit/{sha}", self.base);
        self.project(full_path, |p| {
            p.commits.insert(0, json!({"id": sha, "short_id": &sha[..8.min(sha.len())], "title": message.lines().next().unwrap_or_default(), "message": message, "author_name": "Ann", "authored_date": "2026-01-01T00:00:00Z", "web_url": url}));
        });
    }

    /// The requests received, as (method, path and query).
    pub fn seen(&self) -> Vec<(String, String)> {
        self.with(|s| s.requests.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect())
    }

    /// The body of the last request whose method is `method` and path ends with `suffix`.
    pub fn last_body(&self, method: &str, suffix: &str) -> Option<Value> {
        self.with(|s| {
            s.requests
                .iter()
                .rev()
                .find(|(m, p, _)| {
                    m == method && p.split('?').next().unwrap_or_default().ends_with(suffix)
                })
                .map(|(_, _, b)| b.clone())
        })
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn mr_json(
    base: &str,
    p: &FakeProject,
    iid: i64,
    title: &str,
    body: &str,
    source: &str,
    target: &str,
) -> Value {
    json!({
        "id": 5000 + iid, "iid": iid, "title": title, "description": body, "state": "opened",
        "draft": false, "source_branch": source, "target_branch": target,
        "source_project_id": p.id, "target_project_id": p.id,
        "author": {"username": USERNAME, "avatar_url": null},
        "web_url": format!("{base}/{}/-/merge_requests/{iid}", p.full_path),
        "has_conflicts": false, "detailed_merge_status": "mergeable",
        "merge_commit_sha": null, "squash_commit_sha": null,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": now()
    })
}

fn error(status: u16, message: Value) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"message": message}))
}

fn not_found(what: &str) -> HttpResponse {
    error(404, json!(format!("404 {what} Not Found")))
}

async fn dispatch(
    state: web::Data<Mutex<GitlabState>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let host = req.connection_info().host().to_owned();
    let base = format!("http://{host}");
    match req.path().strip_prefix("/api/v4/") {
        Some(rest) => {
            let rest = rest.to_owned();
            rest_api(&state, &req, &base, &rest, &body)
        }
        None => {
            let (root, tokens) = {
                let mut s = state.lock().expect("state");
                if let Some((user, _)) = smart_http::basic_auth(&req) {
                    s.git_users.push(user);
                }
                (s.git_root.clone(), s.tokens.clone())
            };
            let Some(root) = root else { return HttpResponse::NotFound().finish() };
            // GitLab takes a personal access token as the password of user `oauth2`.
            smart_http::serve(&req, body, &root, "GitLab", |user, password| {
                user == "oauth2" && tokens.iter().any(|t| t == password)
            })
            .await
        }
    }
}

fn token_ok(s: &GitlabState, req: &HttpRequest) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let token = header("private-token")
        .or_else(|| header("authorization").and_then(|v| v.strip_prefix("Bearer ")));
    token.is_some_and(|t| s.tokens.iter().any(|x| x == t))
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// A page of `items` with GitLab's `x-next-page` (empty on the last page) and `Link`.
fn paginate(base: &str, req: &HttpRequest, items: Vec<Value>) -> HttpResponse {
    let q = query(req);
    let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let per_page: usize = q.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(20);
    let total = items.len();
    let (slice, more) = page_of(items, page, per_page);
    let mut res = HttpResponse::Ok();
    res.insert_header(("x-total", total.to_string()));
    res.insert_header(("x-page", page.to_string()));
    if more {
        res.insert_header(("x-next-page", (page + 1).to_string()));
        let mut pairs: Vec<(String, String)> = q.into_iter().filter(|(k, _)| k != "page").collect();
        pairs.sort();
        pairs.push(("page".into(), (page + 1).to_string()));
        let next =
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        res.insert_header(("link", format!("<{base}{}?{next}>; rel=\"next\"", req.path())));
    } else {
        res.insert_header(("x-next-page", ""));
    }
    res.json(slice)
}

fn rest_api(
    state: &Mutex<GitlabState>,
    req: &HttpRequest,
    base: &str,
    rest: &str,
    body: &[u8],
) -> HttpResponse {
    let mut s = state.lock().expect("state");
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return error(400, json!("400 Bad request - malformed JSON")),
        }
    };
    let target = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    s.requests.push((req.method().to_string(), target, body.clone()));
    if !token_ok(&s, req) {
        return error(401, json!("401 Unauthorized"));
    }
    match s.inject {
        Some(Inject::Unauthorized) => return error(401, json!("401 Unauthorized")),
        Some(Inject::Forbidden) => {
            return HttpResponse::Forbidden().json(json!({"error": "insufficient_scope", "error_description": "The request requires higher privileges than provided by the access token.", "scope": "api"}))
        }
        Some(Inject::NotFound) => return not_found("Project"),
        None => {}
    }
    let segs: Vec<String> = rest.split('/').map(decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let q = query(req);
    let search = q.get("search").map(|v| v.to_lowercase()).unwrap_or_default();
    let listed = |s: &GitlabState, keep: &dyn Fn(&FakeProject) -> bool| -> Vec<Value> {
        s.projects
            .values()
            .filter(|p| keep(p) && p.name().to_lowercase().contains(&search))
            .map(|p| p.json(base))
            .collect()
    };
    let method = req.method().as_str();
    match (method, segs.as_slice()) {
        ("GET", ["user"]) => HttpResponse::Ok().json(json!({"id": 7, "username": USERNAME, "name": "GitLab User", "avatar_url": "https://avatars.example/gl.png"})),
        ("GET", ["groups"]) => {
            let groups = s.groups.iter().map(|g| json!({"id": 1, "full_path": g, "full_name": g.replace('/', " / "), "avatar_url": null})).collect();
            paginate(base, req, groups)
        }
        ("GET", ["projects"]) => {
            let groups = s.groups.clone();
            let mine = listed(&s, &|p| {
                p.namespace() == USERNAME || groups.iter().any(|g| p.namespace() == g || p.namespace().starts_with(&format!("{g}/")))
            });
            paginate(base, req, mine)
        }
        ("GET", ["groups", group, "projects"]) => {
            let group = group.to_string();
            if !s.groups.contains(&group) {
                return not_found("Group");
            }
            let found = listed(&s, &|p| p.namespace() == group || p.namespace().starts_with(&format!("{group}/")));
            paginate(base, req, found)
        }
        ("GET", ["users", user, "projects"]) => {
            let user = user.to_string();
            let found = listed(&s, &|p| p.namespace() == user && (!p.private || user == USERNAME));
            paginate(base, req, found)
        }
        ("GET" | "POST" | "PUT", ["projects", id, tail @ ..]) => {
            let k = id.to_lowercase();
            if !s.projects.contains_key(&k) {
                return not_found("Project");
            }
            project_api(&mut s, req, base, &k, method, tail, &body)
        }
        _ => error(404, json!("404 Not Found")),
    }
}

fn branch_sha(s: &GitlabState, p: &FakeProject, branch: &str) -> Option<String> {
    if p.git {
        let dir = s.git_root.as_ref()?.join(format!("{}.git", p.full_path));
        return smart_http::branch_sha(&dir, branch);
    }
    p.branches.get(branch).cloned()
}

fn project_api(
    s: &mut GitlabState,
    req: &HttpRequest,
    base: &str,
    k: &str,
    method: &str,
    tail: &[&str],
    body: &Value,
) -> HttpResponse {
    let conflict = s.merge_conflict;
    let snap = s.projects[k].clone();
    let iid = |n: &str| n.parse::<i64>().ok();
    match (method, tail) {
        ("GET", []) => HttpResponse::Ok().json(snap.json(base)),
        ("GET", ["repository", "commits"]) => paginate(base, req, snap.commits.clone()),
        ("GET", ["repository", "commits", sha]) => {
            match snap.commits.iter().find(|c| c["id"].as_str().is_some_and(|x| x.starts_with(sha)))
            {
                Some(c) => HttpResponse::Ok().json(c),
                None => not_found("Commit"),
            }
        }
        ("GET", ["repository", "commits", sha, "statuses"]) => {
            paginate(base, req, snap.statuses.get(*sha).cloned().unwrap_or_default())
        }
        ("GET", ["repository", "branches", branch]) => match branch_sha(s, &snap, branch) {
            Some(sha) => HttpResponse::Ok().json(json!({"name": branch, "commit": {"id": sha}})),
            None => not_found("Branch"),
        },
        ("GET", ["issues"]) => {
            let open =
                snap.issues.values().rev().filter(|i| i["state"] == "opened").cloned().collect();
            paginate(base, req, open)
        }
        ("GET", ["issues", n]) => match iid(n).and_then(|n| snap.issues.get(&n)) {
            Some(i) => HttpResponse::Ok().json(i),
            None => not_found("Issue"),
        },
        ("GET", ["merge_requests"]) => {
            let open =
                snap.mrs.values().rev().filter(|m| m["state"] == "opened").cloned().collect();
            paginate(base, req, open)
        }
        ("GET", ["merge_requests", n]) => match iid(n).and_then(|n| snap.mrs.get(&n)) {
            Some(m) => HttpResponse::Ok().json(m),
            None => not_found("Merge Request"),
        },
        ("GET", ["merge_requests", n, "notes"]) => paginate(
            base,
            req,
            iid(n).and_then(|n| snap.notes.get(&n).cloned()).unwrap_or_default(),
        ),
        ("POST", ["merge_requests"]) => {
            let (Some(source), Some(target), Some(title)) = (
                body["source_branch"].as_str(),
                body["target_branch"].as_str(),
                body["title"].as_str(),
            ) else {
                return error(
                    400,
                    json!("400 Bad request - source_branch, target_branch, title are missing"),
                );
            };
            if !body["description"].is_string() {
                return error(400, json!("400 Bad request - description is invalid"));
            }
            if branch_sha(s, &snap, source).is_none() || branch_sha(s, &snap, target).is_none() {
                return error(422, json!(["Source branch or target branch does not exist"]));
            }
            if let Some(open) =
                snap.mrs.values().find(|m| m["source_branch"] == source && m["state"] == "opened")
            {
                return error(
                    409,
                    json!([format!(
                        "Another open merge request already exists for this source branch: !{}",
                        open["iid"]
                    )]),
                );
            }
            let n = snap.mrs.len() as i64 + 1;
            let mr = mr_json(
                base,
                &snap,
                n,
                title,
                body["description"].as_str().unwrap_or_default(),
                source,
                target,
            );
            s.projects.get_mut(k).unwrap().mrs.insert(n, mr.clone());
            HttpResponse::Created().json(mr)
        }
        ("PUT", ["merge_requests", n]) => {
            let Some(n) = iid(n).filter(|n| snap.mrs.contains_key(n)) else {
                return not_found("Merge Request");
            };
            let mr = s.projects.get_mut(k).unwrap().mrs.get_mut(&n).unwrap();
            let current = mr["state"].as_str().unwrap_or_default().to_owned();
            match (body["state_event"].as_str(), current.as_str()) {
                (Some("close"), "opened") => mr["state"] = "closed".into(),
                (Some("reopen"), "closed") => mr["state"] = "opened".into(),
                (Some("close" | "reopen"), _) => {}
                _ => {
                    return error(
                        400,
                        json!("400 Bad request - state_event does not have a valid value"),
                    )
                }
            }
            mr["updated_at"] = now().into();
            HttpResponse::Ok().json(mr.clone())
        }
        ("PUT", ["merge_requests", n, "merge"]) => {
            let Some(n) = iid(n).filter(|n| snap.mrs.contains_key(n)) else {
                return not_found("Merge Request");
            };
            if !body["squash"].is_boolean() && !body["squash"].is_null() {
                return error(400, json!("400 Bad request - squash is invalid"));
            }
            if conflict {
                return error(406, json!("Branch cannot be merged"));
            }
            let mr = s.projects.get_mut(k).unwrap().mrs.get_mut(&n).unwrap();
            if mr["state"] != "opened" {
                return error(405, json!("405 Method Not Allowed"));
            }
            let sha = format!("{:040x}", n + 0xdef000);
            mr["state"] = "merged".into();
            if body["squash"] == true {
                mr["squash_commit_sha"] = format!("{:040x}", n + 0x5a000).into();
            }
            mr["merge_commit_sha"] = sha.into();
            mr["updated_at"] = now().into();
            HttpResponse::Ok().json(mr.clone())
        }
        _ => error(404, json!("404 Not Found")),
    }
}
