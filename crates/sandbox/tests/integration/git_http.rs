//! Clone and push over smart HTTP with a token; the token must end up nowhere on disk or in
//! the sandbox.

use drydock_sandbox::conformance::sh;
use drydock_sandbox::git::{branch_name, Author, CloneRequest, Credentials, Git, GitError};
use drydock_sandbox::testing::git_http::GitHttpServer;
use drydock_sandbox::{FileRoot, Sandbox, SandboxSpec};

use crate::common::{bare_repo, git, local_sandbox};

const TOKEN: &str = "ghp_TestToken0123456789abcdefSECRET";

#[tokio::test]
async fn clone_and_push_with_a_token_that_stays_out_of_the_sandbox() {
    let tmp = tempfile::tempdir().unwrap();
    let repos = tmp.path().join("repos");
    let bare = bare_repo(&repos, "my.repo.git", "trunk", 2);
    let server = GitHttpServer::start(&repos, TOKEN).await.unwrap();
    let url = server.url("my.repo.git");
    let git_client = Git::new().allow_http(true);

    // Without the right token the server refuses, and git does not prompt.
    let mut wrong = CloneRequest {
        url: url.clone(),
        dest: tmp.path().join("wrong"),
        credentials: Some(Credentials::token("not-the-token")),
        base_branch: None,
        branch: branch_name("x"),
    };
    let err = git_client.clone_repo(&wrong).await.unwrap_err();
    assert!(matches!(err, GitError::AuthenticationFailed { .. }), "{err}");
    assert!(!err.to_string().contains("not-the-token"), "{err}");
    wrong.credentials = None;
    assert!(git_client.clone_repo(&wrong).await.is_err());

    let sandboxes = tmp.path().join("sandboxes");
    let sandbox = local_sandbox(&sandboxes).await;
    let handle = sandbox.create(SandboxSpec::new("token-probe")).await.unwrap();
    let workspace = handle.host_workspace.clone().unwrap();
    let request = CloneRequest {
        url: url.clone(),
        dest: workspace.join("repo"),
        credentials: Some(Credentials::token(TOKEN)),
        base_branch: None,
        branch: branch_name("Token test"),
    };
    let repo = git_client.clone_repo(&request).await.unwrap();
    assert_eq!(repo.base_branch.as_deref(), Some("trunk"));
    let config = std::fs::read_to_string(repo.dir.join(".git/config")).unwrap();
    assert!(!config.contains(TOKEN), "{config}");
    assert_eq!(git(&repo.dir, &["remote", "get-url", "origin"]).trim(), url);

    // The agent works; then look for the token from inside the sandbox. The probe assembles it
    // from two halves so that its own argv and environment do not contain it.
    let (half_a, half_b) = TOKEN.split_at(TOKEN.len() / 2);
    sandbox.write_file(&handle, FileRoot::Home, ".probe/a", half_a.as_bytes()).await.unwrap();
    sandbox.write_file(&handle, FileRoot::Home, ".probe/b", half_b.as_bytes()).await.unwrap();
    let probe = "cd /workspace/repo && echo change >> README.md && git status --short >/dev/null; \
        printf '%s%s' \"$(cat ~/.probe/a)\" \"$(cat ~/.probe/b)\" > /tmp/pattern; \
        grep -rlF -f /tmp/pattern /workspace /home/agent && echo FOUND-IN-FILES; \
        env | grep -F -f /tmp/pattern && echo FOUND-IN-ENV; \
        cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | grep -aF -f /tmp/pattern && echo FOUND-IN-PROC; \
        echo probe-done";
    let (outcome, out) = sh(&sandbox, &handle, probe).await;
    assert!(outcome.exit_code.is_some(), "{outcome:?}");
    assert_eq!(out, ["probe-done"], "the token is visible in the sandbox");

    let author = Author { name: "Drydock".into(), email: "d@example.com".into() };
    let commit = git_client.commit_all(&repo, "change", &author).await.unwrap().unwrap();
    git_client.push(&repo, Some(&Credentials::token(TOKEN))).await.unwrap();
    assert_eq!(git(&bare, &["rev-parse", &repo.branch]).trim(), commit);
    let config = std::fs::read_to_string(repo.dir.join(".git/config")).unwrap();
    assert!(!config.contains(TOKEN));
    assert!(server.requests().iter().any(|r| r.authorized && r.uri.contains("git-receive-pack")));
    assert!(server.requests().iter().any(|r| !r.authorized));

    // A push without the token is refused, and the error says why.
    let err = git_client.push(&repo, None).await.unwrap_err();
    assert!(matches!(err, GitError::AuthenticationFailed { .. }), "{err}");
    sandbox.destroy(&handle).await.unwrap();
}
