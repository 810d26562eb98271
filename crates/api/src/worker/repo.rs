//! The git steps of a run, on the host side of the sandbox's workspace: clone onto the task
//! branch, install dependencies by lockfile, commit and push. The token reaches only the git
//! processes Drydock runs (see `sandbox::git`), never the agent.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sandbox::git::{Author, CloneRequest, ClonedRepo, CommandRecord, Credentials, Git};
use shared::events::EventBody;

use super::claim::Job;
use super::context::RunContext;
use crate::config::Settings;

/// A git runner whose every command becomes a `command` event.
fn git(settings: &Settings, ctx: &RunContext) -> Git {
    let ctx = ctx.clone();
    let recorder = Arc::new(move |record: CommandRecord| {
        ctx.event(EventBody::Command {
            argv: record.argv,
            exit_code: record.exit_code,
            duration_ms: record.duration.as_millis() as u64,
        });
    });
    Git::new()
        .allow_local(settings.tasks.allow_local_repos)
        .allow_http(settings.github.api_url.starts_with("http://"))
        .timeout(Duration::from_secs(600))
        .with_recorder(recorder)
}

fn credentials(token: Option<&str>) -> Option<Credentials> {
    token.map(Credentials::token)
}

/// Clones the repository for this run: onto a new branch for the first run, or onto the
/// task's existing branch for a follow-up in a fresh sandbox.
pub async fn prepare(
    settings: &Settings,
    ctx: &RunContext,
    job: &Job,
    title: &str,
    dir: &Path,
    token: Option<&str>,
) -> anyhow::Result<ClonedRepo> {
    let task = &job.task;
    let git = git(settings, ctx);
    if let Some(branch) =
        task.branch_name.clone().filter(|_| job.number > 1 || task.branch_name.is_some())
    {
        // A follow-up continues the pushed branch: clone it under a temporary name, then take
        // the branch's own name back.
        let temp = format!("{branch}-drydock-resume");
        let mut repo = git
            .clone_repo(&CloneRequest {
                url: task.repo_url.clone(),
                dest: dir.to_path_buf(),
                credentials: credentials(token),
                base_branch: Some(branch.clone()),
                branch: temp.clone(),
            })
            .await?;
        plain_git(dir, &["checkout", "-q", "-B", &branch]).await?;
        plain_git(dir, &["branch", "-q", "-D", &temp]).await?;
        repo.branch = branch;
        repo.base_branch = task.base_branch.clone().or(repo.base_branch);
        return Ok(repo);
    }
    let branch = sandbox::git::branch_name(title);
    let repo = git
        .clone_repo(&CloneRequest {
            url: task.repo_url.clone(),
            dest: dir.to_path_buf(),
            credentials: credentials(token),
            base_branch: task.base_branch.clone(),
            branch,
        })
        .await?;
    Ok(repo)
}

/// The clone of a kept-alive sandbox, described again from the task.
pub fn reopen(job: &Job, dir: &Path) -> ClonedRepo {
    ClonedRepo {
        dir: dir.to_path_buf(),
        url: job.task.repo_url.clone(),
        base_branch: job.task.base_branch.clone(),
        base_commit: None,
        branch: job.task.branch_name.clone().unwrap_or_default(),
        object_format: "sha1".into(),
    }
}

/// Runs git on the host in `dir` with no credentials.
async fn plain_git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = tokio::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await?;
    if !out.status.success() {
        anyhow::bail!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// The dependency install commands for the lockfiles present.
pub fn install_plan(dir: &Path) -> Vec<Vec<String>> {
    sandbox::install_plan::install_plan_for_dir(dir)
        .map(|steps| steps.into_iter().map(|s| s.argv).collect())
        .unwrap_or_default()
}

/// Stages everything the agent changed (after making the clone safe for host-side git);
/// returns the staged paths, empty when the agent changed nothing.
pub async fn stage(
    settings: &Settings,
    ctx: &RunContext,
    repo: &ClonedRepo,
) -> anyhow::Result<Vec<String>> {
    Ok(git(settings, ctx).stage_all(repo).await?)
}

/// Commits everything the agent changed with `subject` and the run's prompt as the body; `true`
/// when there was something to commit.
pub async fn commit(
    settings: &Settings,
    ctx: &RunContext,
    repo: &ClonedRepo,
    subject: &str,
    prompt: &str,
) -> anyhow::Result<bool> {
    let author = Author {
        name: settings.tasks.git_author_name.clone(),
        email: settings.tasks.git_author_email.clone(),
    };
    let message = commit_message(subject, prompt);
    Ok(git(settings, ctx).commit_all(repo, &message, &author).await?.is_some())
}

/// Pushes the task branch.
pub async fn push(
    settings: &Settings,
    ctx: &RunContext,
    repo: &ClonedRepo,
    token: Option<&str>,
) -> anyhow::Result<()> {
    git(settings, ctx).push(repo, credentials(token).as_ref()).await?;
    Ok(())
}

/// The deterministic commit message: the title, then the prompt of this run.
pub fn commit_message(title: &str, prompt: &str) -> String {
    let subject: String = title.chars().take(72).collect();
    let body = prompt.trim();
    if body.is_empty() || body == title {
        subject
    } else {
        format!("{subject}\n\n{body}")
    }
}

/// The commit `HEAD` points at, if any.
pub async fn head(dir: &Path) -> Option<String> {
    let out = tokio::process::Command::new("git")
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
