//! The git pipeline against local bare repositories.

use std::sync::{Arc, Mutex};

use drydock_sandbox::git::{
    branch_name, Author, ChangeStatus, CloneRequest, CommandRecord, Git, GitError,
};

use crate::common::{bare_repo, git};

fn author() -> Author {
    Author { name: "Drydock".into(), email: "drydock@example.com".into() }
}

fn request(url: &str, dest: std::path::PathBuf, title: &str) -> CloneRequest {
    CloneRequest {
        url: url.to_string(),
        dest,
        credentials: None,
        base_branch: None,
        branch: branch_name(title),
    }
}

#[tokio::test]
async fn clone_branch_commit_push_on_a_dotted_repo_with_trunk() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "my.repo.git", "trunk", 3);
    let records = Arc::new(Mutex::new(Vec::<CommandRecord>::new()));
    let sink = records.clone();
    let git_client =
        Git::new().allow_local(true).with_recorder(Arc::new(move |r| sink.lock().unwrap().push(r)));

    let req = request(bare.to_str().unwrap(), tmp.path().join("work/repo"), "Add a greeting");
    let repo = git_client.clone_repo(&req).await.unwrap();
    assert_eq!(repo.base_branch.as_deref(), Some("trunk"));
    assert!(repo.branch.starts_with("drydock/add-a-greeting-"));
    assert_eq!(git(&repo.dir, &["branch", "--show-current"]).trim(), repo.branch);

    assert!(git_client.stage_all(&repo).await.unwrap().is_empty());
    assert_eq!(git_client.commit_all(&repo, "nothing", &author()).await.unwrap(), None);

    std::fs::write(repo.dir.join("hello.txt"), "hello\n").unwrap();
    std::fs::write(repo.dir.join("README.md"), "# seed\nmore\n").unwrap();
    std::fs::remove_file(repo.dir.join("src/d0/f0.txt")).unwrap();
    let mut staged = git_client.stage_all(&repo).await.unwrap();
    staged.sort();
    assert_eq!(staged, ["README.md", "hello.txt", "src/d0/f0.txt"]);
    let commit = git_client
        .commit_all(&repo, "Add a greeting\n\nBody.", &author())
        .await
        .unwrap()
        .expect("a commit");
    assert_eq!(
        git(&repo.dir, &["log", "-1", "--format=%an <%ae> %s"]).trim(),
        "Drydock <drydock@example.com> Add a greeting"
    );

    let mut files = git_client.changed_files(&repo).await.unwrap();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let summary: Vec<_> =
        files.iter().map(|f| (f.path.as_str(), f.status, f.additions, f.deletions)).collect();
    assert_eq!(
        summary,
        [
            ("README.md", ChangeStatus::Modified, 1, 0),
            ("hello.txt", ChangeStatus::Added, 1, 0),
            ("src/d0/f0.txt", ChangeStatus::Deleted, 0, 2),
        ]
    );
    assert_eq!(git_client.file_at_base(&repo, "README.md").await.unwrap().unwrap(), b"# seed\n");
    assert_eq!(
        git_client.file_at_head(&repo, "README.md").await.unwrap().unwrap(),
        b"# seed\nmore\n"
    );
    assert_eq!(git_client.file_at_base(&repo, "hello.txt").await.unwrap(), None);

    git_client.push(&repo, None).await.unwrap();
    assert_eq!(git(&bare, &["rev-parse", &repo.branch]).trim(), commit);
    assert_eq!(git(&bare, &["show", &format!("{}:hello.txt", repo.branch)]), "hello\n");

    let records = records.lock().unwrap();
    let commands: Vec<String> = records.iter().map(|r| r.argv.join(" ")).collect();
    assert!(commands.iter().any(|c| c.starts_with("git clone")), "{commands:?}");
    assert!(commands.iter().any(|c| c.starts_with("git push")), "{commands:?}");
    assert!(records.iter().all(|r| !r.argv.iter().any(|a| a.contains("credential.helper"))));
}

#[tokio::test]
async fn empty_repository_gets_an_orphan_branch() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "empty.git", "main", 0);
    let git_client = Git::new().allow_local(true);
    let url = format!("file://{}", bare.display());
    let repo =
        git_client.clone_repo(&request(&url, tmp.path().join("repo"), "First")).await.unwrap();
    assert_eq!(repo.base_branch, None);
    assert_eq!(repo.base_commit, None);
    std::fs::write(repo.dir.join("first.txt"), "1\n").unwrap();
    let commit = git_client.commit_all(&repo, "first", &author()).await.unwrap().unwrap();
    let files = git_client.changed_files(&repo).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].status, ChangeStatus::Added);
    git_client.push(&repo, None).await.unwrap();
    assert_eq!(git(&bare, &["rev-parse", &repo.branch]).trim(), commit);
}

#[tokio::test]
async fn dangling_head_falls_back_to_an_existing_branch() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "r.git", "dev", 1);
    git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    let repo = Git::new()
        .allow_local(true)
        .clone_repo(&request(bare.to_str().unwrap(), tmp.path().join("repo"), "x"))
        .await
        .unwrap();
    assert_eq!(repo.base_branch.as_deref(), Some("dev"));
}

#[tokio::test]
async fn local_repositories_need_permission() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "r.git", "main", 1);
    let err = Git::new()
        .clone_repo(&request(bare.to_str().unwrap(), tmp.path().join("repo"), "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::LocalNotAllowed { .. }), "{err}");
    assert!(err.to_string().contains("not allowed"));
}

#[tokio::test]
async fn rejected_push_reports_the_remote_message() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "guarded.git", "main", 1);
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'pushes are frozen today' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let git_client = Git::new().allow_local(true);
    let repo = git_client
        .clone_repo(&request(bare.to_str().unwrap(), tmp.path().join("repo"), "x"))
        .await
        .unwrap();
    std::fs::write(repo.dir.join("a.txt"), "a").unwrap();
    git_client.commit_all(&repo, "a", &author()).await.unwrap();
    let err = git_client.push(&repo, None).await.unwrap_err();
    assert!(matches!(err, GitError::PushRejected { .. }), "{err}");
    assert!(err.to_string().contains("pushes are frozen today"), "{err}");
}

#[tokio::test]
async fn workspace_hooks_and_config_are_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "r.git", "main", 1);
    let git_client = Git::new().allow_local(true);
    let repo = git_client
        .clone_repo(&request(bare.to_str().unwrap(), tmp.path().join("repo"), "x"))
        .await
        .unwrap();
    // What a hostile agent could plant for the host-side git to run.
    let marker = tmp.path().join("pwned");
    let script = format!("#!/bin/sh\ntouch {}\n", marker.display());
    std::fs::create_dir_all(repo.dir.join(".git/hooks")).unwrap();
    let hook = repo.dir.join(".git/hooks/pre-commit");
    std::fs::write(&hook, &script).unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let evil = tmp.path().join("evil.sh");
    std::fs::write(&evil, &script).unwrap();
    std::fs::set_permissions(&evil, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut config = std::fs::read_to_string(repo.dir.join(".git/config")).unwrap();
    config.push_str(&format!(
        "[core]\n\tfsmonitor = {0}\n[filter \"x\"]\n\tclean = {0}\n[url \"/nonexistent/\"]\n\tinsteadOf = {1}\n",
        evil.display(),
        bare.display()
    ));
    std::fs::write(repo.dir.join(".git/config"), config).unwrap();
    std::fs::write(repo.dir.join(".gitattributes"), "* filter=x\n").unwrap();
    std::fs::write(repo.dir.join("b.txt"), "b").unwrap();

    git_client.commit_all(&repo, "b", &author()).await.unwrap().unwrap();
    git_client.push(&repo, None).await.unwrap();
    assert!(!marker.exists(), "host-side git ran code planted in the workspace");
    assert!(git(&bare, &["show", &format!("{}:b.txt", repo.branch)]) == "b");
}

#[tokio::test]
async fn read_only_inspection_ignores_a_planted_fsmonitor_and_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "r.git", "main", 1);
    let git_client = Git::new().allow_local(true);
    let repo = git_client
        .clone_repo(&request(bare.to_str().unwrap(), tmp.path().join("repo"), "x"))
        .await
        .unwrap();
    let marker = tmp.path().join("pwned");
    let evil = tmp.path().join("evil.sh");
    std::fs::write(&evil, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    std::fs::set_permissions(&evil, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut config = std::fs::read_to_string(repo.dir.join(".git/config")).unwrap();
    config.push_str(&format!("[core]\n\tfsmonitor = {}\n", evil.display()));
    std::fs::write(repo.dir.join(".git/config"), config).unwrap();
    // Plain git honours the planted monitor: the attack is real.
    git(&repo.dir, &["ls-files"]);
    assert!(marker.exists(), "the planted fsmonitor should run under plain git");
    std::fs::remove_file(&marker).unwrap();

    std::fs::write(repo.dir.join("untracked.txt"), "u").unwrap();
    let files = git_client.ls_files(&repo.dir).await.unwrap();
    assert!(files.contains(&"README.md".to_string()), "{files:?}");
    assert!(files.contains(&"untracked.txt".to_string()), "{files:?}");
    let head = git_client.head(&repo.dir).await.unwrap().expect("a head");
    assert_eq!(head, git(&repo.dir, &["rev-parse", "HEAD"]).trim());
    assert_eq!(git_client.merge_base(&repo.dir, "main").await.unwrap(), Some(head));
    assert_eq!(git_client.merge_base(&repo.dir, "no-such-branch").await.unwrap(), None);
    assert!(!marker.exists(), "host-side inspection ran the planted fsmonitor");
}

#[tokio::test]
async fn a_follow_up_clone_takes_the_task_branch_name_back() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "r.git", "main", 1);
    git(&bare, &["branch", "drydock/task-1", "main"]);
    let git_client = Git::new().allow_local(true);
    let mut req = request(bare.to_str().unwrap(), tmp.path().join("repo"), "x");
    req.base_branch = Some("drydock/task-1".into());
    req.branch = "drydock/task-1-drydock-resume".into();
    let repo = git_client.clone_repo(&req).await.unwrap();
    git_client.adopt_branch(&repo.dir, &req.branch, "drydock/task-1").await.unwrap();
    assert_eq!(git(&repo.dir, &["branch", "--show-current"]).trim(), "drydock/task-1");
    assert_eq!(git(&repo.dir, &["branch", "--list", "*resume*"]).trim(), "");
    let empty = bare_repo(tmp.path(), "empty.git", "main", 0);
    let unborn = git_client
        .clone_repo(&request(empty.to_str().unwrap(), tmp.path().join("unborn"), "y"))
        .await
        .unwrap();
    assert_eq!(git_client.head(&unborn.dir).await.unwrap(), None);
}

#[tokio::test]
async fn symlinks_the_agent_plants_do_not_lead_host_git_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "origin.git", "main", 2);
    let git_client = Git::new().allow_local(true);
    let repo = git_client
        .clone_repo(&request(bare.to_str().unwrap(), tmp.path().join("work/repo"), "Links"))
        .await
        .unwrap();

    // `.git/config` pointing at a host file: the host replaces the link, never the file.
    let host_file = tmp.path().join("host-file");
    std::fs::write(&host_file, "precious\n").unwrap();
    let config = repo.dir.join(".git/config");
    std::fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink(&host_file, &config).unwrap();
    std::fs::write(repo.dir.join("new.txt"), "new\n").unwrap();
    assert!(git_client
        .commit_all(&repo, "with a planted link", &author())
        .await
        .unwrap()
        .is_some());
    assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "precious\n");
    assert!(!std::fs::symlink_metadata(&config).unwrap().file_type().is_symlink());

    // The repository itself swapped for a link to another repository on the host.
    let other = tmp.path().join("other");
    git(tmp.path(), &["init", "--quiet", "other"]);
    std::fs::write(other.join("theirs.txt"), "not yours\n").unwrap();
    std::fs::rename(&repo.dir, tmp.path().join("moved")).unwrap();
    std::os::unix::fs::symlink(&other, &repo.dir).unwrap();
    let err = git_client.commit_all(&repo, "steered", &author()).await.unwrap_err();
    assert!(matches!(err, GitError::UnsafeRepository { .. }), "{err}");
    assert!(git(&other, &["status", "--porcelain"]).contains("?? theirs.txt"), "untouched");
}

#[tokio::test]
async fn queries_work_on_a_workspace_another_uid_owns_and_ignore_its_config() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path(), "origin.git", "main", 1);
    let git_client = Git::new().allow_local(true);
    let repo = git_client
        .clone_repo(&request(bare.to_str().unwrap(), tmp.path().join("work/repo"), "Query"))
        .await
        .unwrap();
    // The agent's config: an fsmonitor hook that leaves a mark when git runs it.
    let mark = tmp.path().join("fsmonitor-ran");
    let hook = tmp.path().join("hook.sh");
    std::fs::write(&hook, format!("#!/bin/sh\ntouch {}\n", mark.display())).unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = repo.dir.join(".git/config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("[core]\n\tfsmonitor = {}\n", hook.display()));
    std::fs::write(&config, text).unwrap();
    // Owned by another uid, as a sandbox's workspace is.
    let chown = std::process::Command::new("chown")
        .args(["-R", "200999:200999"])
        .arg(&repo.dir)
        .status()
        .unwrap();
    assert!(chown.success());

    let plain = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&repo.dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&plain.stderr).contains("dubious ownership"),
        "plain git refuses the tree: {plain:?}"
    );
    let head = git_client.head(&repo.dir).await.unwrap().expect("a HEAD");
    assert_eq!(Some(head.clone()), repo.base_commit);
    let files = git_client.query(&repo.dir, &["ls-files", "-z"]).await.unwrap();
    assert!(String::from_utf8_lossy(&files).contains("README.md"));
    git_client.query(&repo.dir, &["status", "--porcelain"]).await.unwrap();
    assert!(!mark.exists(), "the workspace's fsmonitor ran on the host");
    // ...which a plain git that trusted the tree would have run.
    let trusting = std::process::Command::new("git")
        .args(["-c", "safe.directory=*", "status", "--porcelain"])
        .current_dir(&repo.dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(trusting.status.success(), "{trusting:?}");
    assert!(mark.exists(), "the probe is meaningful: plain git runs the hook");
}
