//! A fake Gitea (and Forgejo) on 127.0.0.1: the API v1 endpoints Drydock calls (user,
//! organisations, repositories with search and `Link` pagination, issues and pull requests
//! in one number space, create, merge with `Do`, close and reopen, comments and reviews,
//! branches, commits and commit statuses), checking the `Authorization: token` header and the
//! request bodies, with injectable failures; and git smart HTTP for repositories made with
//! [`FakeGitea::git_repo`], taking the token as the Basic password of any user.

// A test fixture: it panics on broken setup rather than returning errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use crate::smart_http::{self, decode, page_of};

/// The login of the fake's user.
pub const LOGIN: &str = "gt.user";
/// Its id.
const MY_ID: i64 = 9;

/// An injected REST failure, answered to every REST request while set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inject {
    /// 401.
    Unauthorized,
    /// 403: the token lacks a scope.
    Forbidden,
    /// 404.
    NotFound,
}

/// How the fake behaves, and what it saw.
#[derive(Default)]
pub struct GiteaState {
    /// Live access tokens.
    pub tokens: Vec<String>,
    /// Organisations the user belongs to.
    pub orgs: Vec<String>,
    /// Repositories by lower-cased `owner/name`.
    pub repos: BTreeMap<String, FakeRepo>,
    /// A failure every REST request answers with.
    pub inject: Option<Inject>,
    /// Merging answers 409 "merge conflict" while set.
    pub merge_conflict: bool,
    /// Every REST request: (method, raw path and query, JSON body).
    pub requests: Vec<(String, String, Value)>,
    /// The Basic user name of every git smart-HTTP request that carried one.
    pub git_users: Vec<String>,
    /// Where git-backed repositories live.
    pub git_root: Option<PathBuf>,
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
    /// Branch → head (git-backed repositories ask git instead).
    pub branches: BTreeMap<String, String>,
    /// Commits, newest first (Gitea JSON).
    pub commits: Vec<Value>,
    /// Issues and pull requests by number (pulls carry `head`).
    pub items: BTreeMap<i64, Value>,
    /// Issue comments by number.
    pub comments: HashMap<i64, Vec<Value>>,
    /// Review comments by pull number (served as one review, id 1).
    pub review_comments: HashMap<i64, Vec<Value>>,
    /// Commit statuses by sha.
    pub statuses: HashMap<String, Vec<Value>>,
    /// Whether git serves it.
    pub git: bool,
}

impl FakeRepo {
    fn full(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    fn json(&self, base: &str) -> Value {
        json!({
            "id": 1, "name": self.name, "full_name": self.full(),
            "owner": {"id": 1, "login": self.owner}, "private": self.private, "description": "",
            "default_branch": self.default_branch, "html_url": format!("{base}/{}", self.full()),
            "clone_url": format!("{base}/{}.git", self.full()), "language": "",
            "updated_at": "2026-01-02T03:04:05Z"
        })
    }
}

/// The running fake.
#[derive(Clone)]
pub struct FakeGitea {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Shared state.
    pub state: Arc<Mutex<GiteaState>>,
}

impl FakeGitea {
    /// Starts the fake on a random port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(GiteaState::default()));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 << 20))
                .default_service(web::to(dispatch))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind fake gitea");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Self { base: format!("http://127.0.0.1:{port}"), state }
    }

    /// The API base, `BASE/api/v1`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.base)
    }

    /// `host:port`.
    pub fn host(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    /// Runs `f` on the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut GiteaState) -> T) -> T {
        f(&mut self.state.lock().expect("fake state"))
    }

    /// A new live token.
    pub fn token(&self) -> String {
        let token = format!("{:040x}", uuid::Uuid::new_v4().as_u128());
        self.with(|s| s.tokens.push(token.clone()));
        token
    }

    /// Adds a repository (default branch `main` with a head commit).
    pub fn add_repo(&self, owner: &str, name: &str, private: bool) {
        self.with(|s| {
            let mut branches = BTreeMap::new();
            branches.insert("main".to_owned(), "a".repeat(40));
            s.repos.insert(
                format!("{owner}/{name}").to_lowercase(),
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

    /// Adds a repository backed by a bare git repository (one commit on `trunk`), served over
    /// smart HTTP at `BASE/OWNER/NAME.git`.
    pub fn git_repo(&self, owner: &str, name: &str) {
        let root = self.with(|s| {
            s.git_root.get_or_insert_with(|| tempfile::tempdir().expect("tempdir").keep()).clone()
        });
        smart_http::create_repo(&root, &format!("{owner}/{name}"));
        self.add_repo(owner, name, true);
        self.repo(owner, name, |r| {
            r.default_branch = "trunk".into();
            r.branches.clear();
            r.git = true;
        });
    }

    /// Runs `f` on a repository.
    pub fn repo<T>(&self, owner: &str, name: &str, f: impl FnOnce(&mut FakeRepo) -> T) -> T {
        self.with(|s| {
            f(s.repos.get_mut(&format!("{owner}/{name}").to_lowercase()).expect("fake repo"))
        })
    }

    /// Sets a branch's head (on a repository without git).
    pub fn add_branch(&self, owner: &str, name: &str, branch: &str, sha: &str) {
        self.repo(owner, name, |r| r.branches.insert(branch.into(), sha.into()));
    }

    /// Adds an open issue; returns its number.
    pub fn add_issue(&self, owner: &str, name: &str, title: &str, body: &str) -> i64 {
        let base = self.base.clone();
        self.repo(owner, name, |r| {
            let n = r.items.len() as i64 + 1;
            r.items.insert(n, json!({"id": 100 + n, "number": n, "title": title, "body": body, "state": "open", "user": {"login": "reporter"}, "labels": [{"name": "bug"}], "html_url": format!("{base}/{}/issues/{n}", r.full()), "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "pull_request": null}));
            n
        })
    }

    /// Adds an open pull request from `head` (created as a branch); `fork` makes its head come
    /// from another repository. Returns its number.
    pub fn add_pull(&self, owner: &str, name: &str, title: &str, head: &str, fork: bool) -> i64 {
        let base = self.base.clone();
        self.repo(owner, name, |r| {
            r.branches.insert(head.into(), "b".repeat(40));
            let n = r.items.len() as i64 + 1;
            let target = r.default_branch.clone();
            let mut pr = pull_json(&base, r, n, title, "PR body", head, &target);
            if fork {
                pr["head"]["repo"]["full_name"] = "someone/fork".into();
            }
            r.items.insert(n, pr);
            n
        })
    }

    /// Adds a commit (newest first).
    pub fn add_commit(&self, owner: &str, name: &str, sha: &str, message: &str) {
        let url = format!("{}/{owner}/{name}/commit/{sha}", self.base);
        self.repo(owner, name, |r| {
            r.commits.insert(0, json!({"sha": sha, "html_url": url, "commit": {"message": message, "author": {"name": "Ann", "date": "2026-01-01T00:00:00Z"}}, "author": {"login": "ann"}}));
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

fn pull_json(
    base: &str,
    r: &FakeRepo,
    n: i64,
    title: &str,
    body: &str,
    head: &str,
    target: &str,
) -> Value {
    json!({
        "id": 200 + n, "number": n, "title": title, "body": body, "state": "open", "draft": false,
        "merged": false, "merged_at": null, "mergeable": true, "merge_commit_sha": null,
        "head": {"ref": head, "sha": "b".repeat(40), "repo": {"full_name": r.full()}},
        "base": {"ref": target, "sha": "a".repeat(40), "repo": {"full_name": r.full()}},
        "user": {"login": LOGIN}, "html_url": format!("{base}/{}/pulls/{n}", r.full()),
        "created_at": "2026-01-01T00:00:00Z", "updated_at": now()
    })
}

fn error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"message": message, "url": "https://gitea.example/api/swagger"}))
}

fn not_found() -> HttpResponse {
    error(404, "The target couldn't be found.")
}

async fn dispatch(
    state: web::Data<Mutex<GiteaState>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let host = req.connection_info().host().to_owned();
    let base = format!("http://{host}");
    match req.path().strip_prefix("/api/v1/") {
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
            // Gitea takes a token as the password of any user name.
            smart_http::serve(&req, body, &root, "Gitea", |_, password| {
                tokens.iter().any(|t| t == password)
            })
            .await
        }
    }
}

fn token_ok(s: &GiteaState, req: &HttpRequest) -> bool {
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok());
    let token = header.and_then(|v| v.strip_prefix("token ").or_else(|| v.strip_prefix("Bearer ")));
    token.is_some_and(|t| s.tokens.iter().any(|x| x == t))
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// A page of `items` with Gitea's `Link` and `x-total-count`; `wrap` puts them under a key.
fn paginate(base: &str, req: &HttpRequest, items: Vec<Value>, wrap: Option<&str>) -> HttpResponse {
    let q = query(req);
    let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(30);
    let total = items.len();
    let (slice, more) = page_of(items, page, limit);
    let mut res = HttpResponse::Ok();
    res.insert_header(("x-total-count", total.to_string()));
    if more {
        let mut pairs: Vec<(String, String)> = q.into_iter().filter(|(k, _)| k != "page").collect();
        pairs.sort();
        pairs.push(("page".into(), (page + 1).to_string()));
        let next =
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        res.insert_header(("link", format!("<{base}{}?{next}>; rel=\"next\"", req.path())));
    }
    match wrap {
        Some(key) => res.json(json!({"ok": true, key: slice})),
        None => res.json(slice),
    }
}

/// The id an owner has in the fake: the user 9, organisations 100 and up, others 500.
fn owner_id(s: &GiteaState, login: &str) -> i64 {
    if login == LOGIN {
        return MY_ID;
    }
    s.orgs.iter().position(|o| o == login).map(|i| 100 + i as i64).unwrap_or(500)
}

fn rest_api(
    state: &Mutex<GiteaState>,
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
            Err(_) => return error(422, "invalid JSON"),
        }
    };
    let target = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    s.requests.push((req.method().to_string(), target, body.clone()));
    if !token_ok(&s, req) {
        return error(401, "token is required");
    }
    match s.inject {
        Some(Inject::Unauthorized) => return error(401, "user does not exist [uid: 0, name: ]"),
        Some(Inject::Forbidden) => {
            return error(
                403,
                "token does not have at least one of required scope(s): [write:repository]",
            )
        }
        Some(Inject::NotFound) => return not_found(),
        None => {}
    }
    let segs: Vec<String> = rest.split('/').map(decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let q = query(req);
    let method = req.method().as_str();
    let listed = |s: &GiteaState, keep: &dyn Fn(&FakeRepo) -> bool| -> Vec<Value> {
        s.repos.values().filter(|r| keep(r)).map(|r| r.json(base)).collect()
    };
    match (method, segs.as_slice()) {
        ("GET", ["user"]) => HttpResponse::Ok().json(json!({"id": MY_ID, "login": LOGIN, "full_name": "Gitea User", "avatar_url": "https://avatars.example/gt.png"})),
        ("GET", ["users", login]) => HttpResponse::Ok().json(json!({"id": owner_id(&s, login), "login": login})),
        ("GET", ["user", "orgs"]) => {
            let orgs = s.orgs.iter().map(|o| json!({"id": 1, "name": o, "username": o, "full_name": "", "avatar_url": null})).collect();
            paginate(base, req, orgs, None)
        }
        ("GET", ["user", "repos"]) => {
            let orgs = s.orgs.clone();
            paginate(base, req, listed(&s, &|r| r.owner == LOGIN || orgs.contains(&r.owner)), None)
        }
        ("GET", ["orgs", org, "repos"]) => {
            let org = org.to_string();
            if !s.orgs.contains(&org) {
                return not_found();
            }
            paginate(base, req, listed(&s, &|r| r.owner == org), None)
        }
        ("GET", ["users", user, "repos"]) => {
            let user = user.to_string();
            paginate(base, req, listed(&s, &|r| r.owner == user && (!r.private || user == LOGIN)), None)
        }
        ("GET", ["repos", "search"]) => {
            let text = q.get("q").cloned().unwrap_or_default().to_lowercase();
            let uid: i64 = q.get("uid").and_then(|v| v.parse().ok()).unwrap_or(0);
            let exclusive = q.get("exclusive").is_some_and(|v| v == "true");
            let orgs = s.orgs.clone();
            let found = {
                let st = &*s;
                listed(st, &|r| {
                    let owner = owner_id(st, &r.owner);
                    let visible = owner == uid || (!exclusive && uid == MY_ID && orgs.contains(&r.owner));
                    visible && r.name.to_lowercase().contains(&text)
                })
            };
            paginate(base, req, found, Some("data"))
        }
        (_, ["repos", o, r, tail @ ..]) => {
            let k = format!("{o}/{r}").to_lowercase();
            if !s.repos.contains_key(&k) {
                return not_found();
            }
            repo_api(&mut s, req, base, &k, method, tail, &body)
        }
        _ => not_found(),
    }
}

fn branch_sha(s: &GiteaState, r: &FakeRepo, branch: &str) -> Option<String> {
    if r.git {
        let dir = s.git_root.as_ref()?.join(format!("{}.git", r.full()));
        return smart_http::branch_sha(&dir, branch);
    }
    r.branches.get(branch).cloned()
}

fn repo_api(
    s: &mut GiteaState,
    req: &HttpRequest,
    base: &str,
    k: &str,
    method: &str,
    tail: &[&str],
    body: &Value,
) -> HttpResponse {
    let conflict = s.merge_conflict;
    let snap = s.repos[k].clone();
    let number = |n: &str| n.parse::<i64>().ok();
    let is_pull = |n: i64| snap.items.get(&n).is_some_and(|i| i.get("head").is_some());
    match (method, tail) {
        ("GET", []) => HttpResponse::Ok().json(snap.json(base)),
        ("GET", ["commits"]) => paginate(base, req, snap.commits.clone(), None),
        ("GET", ["git", "commits", sha]) => {
            match snap
                .commits
                .iter()
                .find(|c| c["sha"].as_str().is_some_and(|x| x.starts_with(sha)))
            {
                Some(c) => HttpResponse::Ok().json(c),
                None => not_found(),
            }
        }
        ("GET", ["commits", sha, "statuses"]) => {
            paginate(base, req, snap.statuses.get(*sha).cloned().unwrap_or_default(), None)
        }
        ("GET", ["branches", branch]) => match branch_sha(s, &snap, branch) {
            Some(sha) => HttpResponse::Ok().json(json!({"name": branch, "commit": {"id": sha}})),
            None => not_found(),
        },
        ("GET", ["issues"]) => {
            let open = snap
                .items
                .values()
                .rev()
                .filter(|i| {
                    i["state"] == "open" && (q_type(req) != "issues" || i.get("head").is_none())
                })
                .cloned()
                .map(|mut i| {
                    if i.get("head").is_some() {
                        i["pull_request"] = json!({"merged": false});
                    }
                    i
                })
                .collect();
            paginate(base, req, open, None)
        }
        ("GET", ["issues", n]) => match number(n).and_then(|n| snap.items.get(&n)) {
            Some(i) => {
                let mut i = i.clone();
                if i.get("head").is_some() {
                    i["pull_request"] = json!({"merged": false});
                }
                HttpResponse::Ok().json(i)
            }
            None => not_found(),
        },
        ("GET", ["issues", n, "comments"]) => paginate(
            base,
            req,
            number(n).and_then(|n| snap.comments.get(&n).cloned()).unwrap_or_default(),
            None,
        ),
        ("GET", ["pulls"]) => {
            let open = snap
                .items
                .values()
                .rev()
                .filter(|i| i.get("head").is_some() && i["state"] == "open")
                .cloned()
                .collect();
            paginate(base, req, open, None)
        }
        ("GET", ["pulls", n]) => match number(n).filter(|n| is_pull(*n)) {
            Some(n) => HttpResponse::Ok().json(&snap.items[&n]),
            None => not_found(),
        },
        ("GET", ["pulls", n, "reviews"]) => {
            let has =
                number(n).and_then(|n| snap.review_comments.get(&n)).is_some_and(|c| !c.is_empty());
            let reviews = if has { vec![json!({"id": 1, "state": "COMMENT"})] } else { Vec::new() };
            paginate(base, req, reviews, None)
        }
        ("GET", ["pulls", n, "reviews", "1", "comments"]) => HttpResponse::Ok().json(
            number(n).and_then(|n| snap.review_comments.get(&n).cloned()).unwrap_or_default(),
        ),
        ("POST", ["pulls"]) => {
            let (Some(title), Some(head), Some(target)) =
                (body["title"].as_str(), body["head"].as_str(), body["base"].as_str())
            else {
                return error(422, "[Title]: Required; [Head]: Required; [Base]: Required");
            };
            if !body["body"].is_string() {
                return error(422, "body must be a string");
            }
            if branch_sha(s, &snap, head).is_none() || branch_sha(s, &snap, target).is_none() {
                return not_found();
            }
            if let Some(open) =
                snap.items.values().find(|i| i["head"]["ref"] == head && i["state"] == "open")
            {
                return error(409, &format!("pull request already exists for these targets [id: {}, head_branch: {head}, base_branch: {target}]", open["id"]));
            }
            let n = snap.items.len() as i64 + 1;
            let pr = pull_json(
                base,
                &snap,
                n,
                title,
                body["body"].as_str().unwrap_or_default(),
                head,
                target,
            );
            s.repos.get_mut(k).unwrap().items.insert(n, pr.clone());
            HttpResponse::Created().json(pr)
        }
        ("PATCH", ["pulls", n]) => {
            let Some(n) = number(n).filter(|n| is_pull(*n)) else { return not_found() };
            let wanted = body["state"].as_str().unwrap_or_default();
            if !["open", "closed"].contains(&wanted) {
                return error(422, "state must be open or closed");
            }
            let pr = s.repos.get_mut(k).unwrap().items.get_mut(&n).unwrap();
            if pr["merged"] == true {
                return error(409, "cannot change state of a merged pull request");
            }
            pr["state"] = wanted.into();
            pr["updated_at"] = now().into();
            HttpResponse::Created().json(pr.clone())
        }
        ("POST", ["pulls", n, "merge"]) => {
            let Some(n) = number(n).filter(|n| is_pull(*n)) else { return not_found() };
            if !["merge", "rebase", "rebase-merge", "squash", "manually-merged"]
                .contains(&body["Do"].as_str().unwrap_or_default())
            {
                return error(422, "[Do]: Required");
            }
            if conflict {
                return error(409, "Merge conflict: resolve the conflicts and try again");
            }
            let pr = s.repos.get_mut(k).unwrap().items.get_mut(&n).unwrap();
            if pr["state"] != "open" {
                return error(405, "Please try again later");
            }
            pr["state"] = "closed".into();
            pr["merged"] = true.into();
            pr["merged_at"] = now().into();
            pr["merge_commit_sha"] = format!("{:040x}", n + 0xfee000).into();
            HttpResponse::Ok().finish()
        }
        _ => not_found(),
    }
}

fn q_type(req: &HttpRequest) -> String {
    query(req).get("type").cloned().unwrap_or_default()
}
