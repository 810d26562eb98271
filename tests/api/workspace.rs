//! The web editor's routes on a live sandbox's working tree: what the owner can do, what
//! another user cannot see, and the attacks an agent can plant in the tree (links out, FIFOs,
//! huge files, folders where files are expected), none of which reach outside it.

use reqwest::Method;
use serde_json::{json, Value};

use crate::host_attacks::{follow_up, host_repo};
use crate::support::git::BareRepo;
use crate::support::{finished, json as expect_json, TestApp};

/// A kept-alive task whose first run ran `prompt`, finished; returns (token, task id, task,
/// its remote).
async fn live_task(app: &TestApp, user: &str, prompt: &str) -> (String, String, Value, BareRepo) {
    let (token, _) = app.agent_user(user).await;
    let repo = BareRepo::new();
    let task = app
        .create_task(
            &token,
            json!({"repo_url": repo.url(), "agent": "claude", "keep_alive": true, "prompt": prompt}),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let done = app.wait_for(&token, &id, "the run", finished).await;
    assert_eq!(done["status"], "completed", "{done}");
    (token, id, done, repo)
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: impl AsRef<str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path.as_ref())).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn put(app: &TestApp, token: &str, id: &str, path: &str, body: &str) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/tasks/{id}/workspace/file?path={path}")))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// The reason a 422 gives for `field`.
async fn refused(res: reqwest::Response, field: &str) -> String {
    let problem = expect_json(res, 422).await;
    problem["errors"][field][0].as_str().unwrap_or_else(|| panic!("no {field}: {problem}")).into()
}

#[actix_web::test]
async fn the_owner_lists_reads_and_changes_the_live_tree_and_nobody_else_sees_it() {
    let app = TestApp::with_workers(1, "").await;
    let (token, id, task, _repo) =
        live_task(&app, "editor", "first [[sh:mkdir src && printf alpha > src/a.txt]]").await;
    let dir = host_repo(&app, &task);
    let base = format!("/api/v1/tasks/{id}/workspace");

    let root =
        expect_json(call(&app, &token, Method::GET, &format!("{base}/entries"), None).await, 200)
            .await;
    let names: Vec<_> =
        root["entries"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"src") && names.contains(&".git"), "{root}");
    let src = expect_json(
        call(&app, &token, Method::GET, &format!("{base}/entries?path=src"), None).await,
        200,
    )
    .await;
    assert_eq!(
        src["entries"],
        json!([{"name": "a.txt", "path": "src/a.txt", "kind": "file", "size": 5}])
    );
    let file = expect_json(
        call(&app, &token, Method::GET, &format!("{base}/file?path=src/a.txt"), None).await,
        200,
    )
    .await;
    assert_eq!((file["content"].as_str(), file["binary"].as_bool()), (Some("alpha"), Some(false)));

    assert_eq!(put(&app, &token, &id, "src/a.txt", "beta").await.status(), 204);
    assert_eq!(std::fs::read_to_string(dir.join("src/a.txt")).unwrap(), "beta");
    let created = call(
        &app,
        &token,
        Method::POST,
        &format!("{base}/files"),
        Some(json!({"path": "src/b.txt", "content": "bee"})),
    )
    .await;
    assert_eq!(created.status(), 201);
    let again = call(
        &app,
        &token,
        Method::POST,
        &format!("{base}/files"),
        Some(json!({"path": "src/b.txt"})),
    )
    .await;
    expect_json(again, 409).await;
    let folder =
        call(&app, &token, Method::POST, &format!("{base}/folders"), Some(json!({"path": "docs"})))
            .await;
    assert_eq!(folder.status(), 201);
    let moved = call(
        &app,
        &token,
        Method::POST,
        &format!("{base}/moves"),
        Some(json!({"from": "src/b.txt", "to": "docs/b.txt"})),
    )
    .await;
    assert_eq!(moved.status(), 204);
    let copied = call(
        &app,
        &token,
        Method::POST,
        &format!("{base}/copies"),
        Some(json!({"from": "docs/b.txt", "to": "docs/c.txt"})),
    )
    .await;
    assert_eq!(copied.status(), 201);
    assert_eq!(std::fs::read_to_string(dir.join("docs/c.txt")).unwrap(), "bee");
    assert!(!dir.join("src/b.txt").exists());
    let deleted =
        call(&app, &token, Method::DELETE, &format!("{base}/entries?path=docs"), None).await;
    assert_eq!(deleted.status(), 204);
    assert!(!dir.join("docs").exists());
    // What the host creates belongs to the sandbox's owner at once, so that the agent can
    // change it while its commands run (as root each sandbox has a uid of its own).
    use std::os::unix::fs::MetadataExt;
    let made = call(
        &app,
        &token,
        Method::POST,
        &format!("{base}/files"),
        Some(json!({"path": "src/new.txt"})),
    )
    .await;
    assert_eq!(made.status(), 201);
    let made =
        call(&app, &token, Method::POST, &format!("{base}/folders"), Some(json!({"path": "made"})))
            .await;
    assert_eq!(made.status(), 201);
    let owner = std::fs::metadata(&dir).unwrap().uid();
    for path in ["src/new.txt", "made"] {
        assert_eq!(std::fs::metadata(dir.join(path)).unwrap().uid(), owner, "{path}");
    }

    // Another user: every route is 404, and nothing changed.
    let (other, _) = app.agent_user("intruder").await;
    for (method, path, body) in [
        (Method::GET, format!("{base}/entries"), None),
        (Method::GET, format!("{base}/file?path=src/a.txt"), None),
        (Method::POST, format!("{base}/files"), Some(json!({"path": "x"}))),
        (Method::POST, format!("{base}/folders"), Some(json!({"path": "x"}))),
        (Method::POST, format!("{base}/moves"), Some(json!({"from": "src/a.txt", "to": "x"}))),
        (Method::POST, format!("{base}/copies"), Some(json!({"from": "src/a.txt", "to": "x"}))),
        (Method::DELETE, format!("{base}/entries?path=src"), None),
    ] {
        expect_json(call(&app, &other, method, &path, body).await, 404).await;
    }
    expect_json(put(&app, &other, &id, "src/a.txt", "pwned").await, 404).await;
    assert_eq!(std::fs::read_to_string(dir.join("src/a.txt")).unwrap(), "beta");
    assert!(dir.join("src").is_dir() && !dir.join("x").exists());
}

#[actix_web::test]
async fn links_fifos_folders_huge_files_and_escapes_are_refused() {
    let app = TestApp::with_workers(1, "[tasks]\nmax_file_bytes = 1000\n").await;
    let outside = tempfile::tempdir().unwrap();
    // The links point here; the server, not the sandbox, would be the one to follow them.
    std::fs::write(outside.path().join("secret"), "host secret").unwrap();
    let out = outside.path().display();
    let prompt = format!(
        "traps [[sh:mkdir dir && echo in > dir/f && ln -s {out} out && ln -s {out}/secret secret \
         && ln -s dir inner && mkfifo pipe && head -c 2000 /dev/zero > big.bin]]"
    );
    let (token, id, task, _repo) = live_task(&app, "attacker", &prompt).await;
    let dir = host_repo(&app, &task);
    let base = format!("/api/v1/tasks/{id}/workspace");
    let get = |path: String| call(&app, &token, Method::GET, path, None);

    for path in ["../etc/passwd", "/etc/passwd", "dir/../../x"] {
        let reason = refused(get(format!("{base}/file?path={path}")).await, "path").await;
        assert!(reason.contains("..") || reason.contains("absolute"), "{path}: {reason}");
        refused(put(&app, &token, &id, path, "x").await, "path").await;
    }
    for (path, why) in [
        ("secret", "symlink"),
        ("out/secret", "symlink"),
        ("inner/f", "symlink"),
        ("pipe", "not a regular file"),
        ("dir", "not a regular file"),
        ("big.bin", "larger than 1000 bytes"),
    ] {
        let reason = refused(get(format!("{base}/file?path={path}")).await, "path").await;
        assert!(reason.contains(why), "{path}: {reason}");
    }
    for path in ["secret", "out/secret", "inner/f", "pipe", "dir"] {
        refused(put(&app, &token, &id, path, "pwned").await, "path").await;
    }
    refused(get(format!("{base}/entries?path=out")).await, "path").await;
    let listed = expect_json(get(format!("{base}/entries")).await, 200).await;
    let kind = |name: &str| {
        listed["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["kind"].clone())
    };
    assert_eq!(
        (kind("out"), kind("pipe"), kind("dir")),
        (Some(json!("symlink")), Some(json!("other")), Some(json!("directory")))
    );

    let post = |route: &str, body: Value| {
        call(&app, &token, Method::POST, format!("{base}/{route}"), Some(body))
    };
    refused(post("files", json!({"path": "out/new", "content": "x"})).await, "path").await;
    refused(post("folders", json!({"path": "out/new"})).await, "path").await;
    refused(post("moves", json!({"from": "dir/f", "to": "out/f"})).await, "from").await;
    refused(post("copies", json!({"from": "secret", "to": "stolen"})).await, "from").await;
    refused(post("moves", json!({"from": "dir", "to": ".git/hooks/dir"})).await, "to").await;
    refused(post("files", json!({"path": ".git/hooks/pre-commit", "content": "x"})).await, "path")
        .await;
    refused(
        call(&app, &token, Method::DELETE, &format!("{base}/entries?path=.git"), None).await,
        "path",
    )
    .await;
    // Deleting a link deletes the link, never what it points at.
    assert_eq!(
        call(&app, &token, Method::DELETE, &format!("{base}/entries?path=out"), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        call(&app, &token, Method::DELETE, &format!("{base}/entries?path=secret"), None)
            .await
            .status(),
        204
    );
    // A body over the cap is refused whole.
    let res = put(&app, &token, &id, "dir/f", &"x".repeat(1001)).await;
    expect_json(res, 413).await;

    assert_eq!(std::fs::read_to_string(outside.path().join("secret")).unwrap(), "host secret");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    assert_eq!(std::fs::read_to_string(dir.join("dir/f")).unwrap(), "in\n");
    assert!(!dir.join("stolen").exists() && !dir.join(".git/hooks/pre-commit").exists());
}

#[actix_web::test]
async fn during_a_run_the_tree_is_read_but_not_changed_and_without_a_sandbox_neither() {
    let app = TestApp::with_workers(1, "").await;
    let (token, id, _task, _repo) = live_task(&app, "racer", "first [[write:a.txt=a]]").await;
    let base = format!("/api/v1/tasks/{id}/workspace");
    follow_up(&app, &token, &id, "slow [[write:b.txt=b]] [[lines:1]] [[sleep:6]]").await;
    app.wait_for_event(&token, &id, "the follow-up to write", |e| {
        e["kind"] == "tool_result" && e["payload"].to_string().contains("b.txt")
    })
    .await;
    let file = expect_json(
        call(&app, &token, Method::GET, &format!("{base}/file?path=a.txt"), None).await,
        200,
    )
    .await;
    assert_eq!(file["content"], "a");
    let problem = expect_json(put(&app, &token, &id, "a.txt", "changed").await, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("run is active"), "{problem}");
    let done = app
        .wait_for(&token, &id, "the follow-up", |t| finished(t) && t["status"] != "pending")
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(put(&app, &token, &id, "a.txt", "changed").await.status(), 204);

    // A stopped sandbox: 409, pointing at start.
    let stop =
        call(&app, &token, Method::POST, &format!("/api/v1/tasks/{id}/sandbox/stop"), None).await;
    assert_eq!(stop.status(), 200, "{}", stop.text().await.unwrap());
    let problem =
        expect_json(call(&app, &token, Method::GET, &format!("{base}/entries"), None).await, 409)
            .await;
    assert!(problem["detail"].as_str().unwrap().contains("sandbox/start"), "{problem}");
}

#[actix_web::test]
async fn uncommitted_changes_sync_and_a_reset_that_can_be_undone() {
    let app = TestApp::with_workers(1, "").await;
    let (token, id, task, repo) =
        live_task(&app, "syncer", "first [[write:agent.txt=agent]]").await;
    let branch = task["branch_name"].as_str().unwrap().to_owned();
    let dir = host_repo(&app, &task);
    let base = format!("/api/v1/tasks/{id}/workspace");
    let get = |path: String| call(&app, &token, Method::GET, path, None);
    let post = |route: &str, body: Option<Value>| {
        call(&app, &token, Method::POST, format!("{base}/{route}"), body)
    };

    // Nothing uncommitted after the run; against the base, the agent's file.
    let head = expect_json(get(format!("{base}/changes")).await, 200).await;
    assert_eq!(head["files"], json!([]), "{head}");
    let vs_base = expect_json(get(format!("{base}/changes?against=base")).await, 200).await;
    assert_eq!(vs_base["files"][0]["path"], "agent.txt", "{vs_base}");

    // Edits by hand show up against HEAD, with a diff.
    assert_eq!(put(&app, &token, &id, "agent.txt", "agent\nand me\n").await.status(), 204);
    assert_eq!(
        post("files", Some(json!({"path": "mine.txt", "content": "mine\n"}))).await.status(),
        201
    );
    let head = expect_json(get(format!("{base}/changes")).await, 200).await;
    let seen: Vec<_> = head["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("agent.txt", "modified"), ("mine.txt", "added")], "{head}");
    let diff = expect_json(get(format!("{base}/diff?path=agent.txt")).await, 200).await;
    assert!(diff["patch"].as_str().unwrap().contains("+and me"), "{diff}");
    assert_eq!(diff["old_content"], "agent");

    // Discard one file's changes: back to HEAD; an untracked file goes.
    assert_eq!(post("discards", Some(json!({"path": "mine.txt"}))).await.status(), 204);
    assert!(!dir.join("mine.txt").exists());

    // Sync: a commit with the typed message on the remote branch.
    let synced = expect_json(post("sync", Some(json!({"message": "Hand edits"}))).await, 200).await;
    assert_eq!(
        (synced["message"].as_str(), synced["files"].clone()),
        (Some("Hand edits"), json!(["agent.txt"]))
    );
    assert_eq!(repo.show(&branch, "agent.txt"), "agent\nand me\n");
    let log = fakes::git::git(&repo.path, &["log", "-1", "--format=%s", &branch]);
    assert_eq!(log.trim(), "Hand edits");
    expect_json(post("sync", Some(json!({}))).await, 409).await;

    // Reset: unpushed edits and new files go, a checkpoint keeps them, and undo restores them.
    assert_eq!(put(&app, &token, &id, "agent.txt", "scribbles\n").await.status(), 204);
    assert_eq!(
        post("files", Some(json!({"path": "scratch.txt", "content": "x"}))).await.status(),
        201
    );
    let reset = expect_json(post("reset", None).await, 200).await;
    assert_eq!(std::fs::read_to_string(dir.join("agent.txt")).unwrap(), "agent\nand me\n");
    assert!(!dir.join("scratch.txt").exists());
    assert_eq!(reset["head"].as_str().unwrap(), synced["commit"].as_str().unwrap());
    let name = reset["checkpoint"]["name"].as_str().unwrap().to_owned();
    let listed = expect_json(get(format!("{base}/checkpoints")).await, 200).await;
    assert_eq!(listed[0]["name"], name.as_str(), "{listed}");
    let restored = post(&format!("checkpoints/{name}/restore"), None).await;
    assert_eq!(restored.status(), 204);
    assert_eq!(std::fs::read_to_string(dir.join("agent.txt")).unwrap(), "scribbles\n");
    assert_eq!(std::fs::read_to_string(dir.join("scratch.txt")).unwrap(), "x");
    let head = expect_json(get(format!("{base}/changes")).await, 200).await;
    assert_eq!(head["files"].as_array().unwrap().len(), 2, "{head}");
    expect_json(post("checkpoints/20000101T000000.000Z/restore", None).await, 404).await;
    expect_json(post("checkpoints/..%2F..%2Fheads/restore", None).await, 404).await;

    // Another user sees none of it.
    let (other, _) = app.agent_user("snoop").await;
    for (method, path, body) in [
        (Method::GET, format!("{base}/changes"), None),
        (Method::GET, format!("{base}/diff?path=agent.txt"), None),
        (Method::POST, format!("{base}/discards"), Some(json!({"path": "agent.txt"}))),
        (Method::POST, format!("{base}/sync"), Some(json!({}))),
        (Method::POST, format!("{base}/reset"), None),
        (Method::GET, format!("{base}/checkpoints"), None),
        (Method::POST, format!("{base}/checkpoints/{name}/restore"), None),
    ] {
        expect_json(call(&app, &other, method, &path, body).await, 404).await;
    }
    assert_eq!(std::fs::read_to_string(dir.join("agent.txt")).unwrap(), "scribbles\n");
}

#[actix_web::test]
async fn during_a_run_the_live_changes_show_and_sync_waits() {
    let app = TestApp::with_workers(1, "").await;
    let (token, id, _task, _repo) = live_task(&app, "watcher", "first [[write:a.txt=a]]").await;
    let base = format!("/api/v1/tasks/{id}/workspace");
    follow_up(&app, &token, &id, "slow [[write:b.txt=b]] [[lines:1]] [[sleep:6]]").await;
    app.wait_for_event(&token, &id, "the follow-up to write", |e| {
        e["kind"] == "tool_result" && e["payload"].to_string().contains("b.txt")
    })
    .await;
    let live =
        expect_json(call(&app, &token, Method::GET, &format!("{base}/changes"), None).await, 200)
            .await;
    assert_eq!(live["files"][0]["path"], "b.txt", "the run's edit, live: {live}");
    let problem = expect_json(
        call(&app, &token, Method::POST, &format!("{base}/sync"), Some(json!({}))).await,
        409,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("run is active"), "{problem}");
    expect_json(call(&app, &token, Method::POST, &format!("{base}/reset"), None).await, 409).await;
    let done = app
        .wait_for(&token, &id, "the follow-up", |t| finished(t) && t["status"] != "pending")
        .await;
    assert_eq!(done["status"], "completed", "{done}");
}
