//! Stage 5: commit what the agent changed, push the task branch, and open the pull request
//! when the task asked for one.

use sandbox::git::{Author, ClonedRepo};
use shared::events::{EventBody, LogLevel};
use shared::tasks::TaskStage;

use super::{naming, Turn};
use crate::worker::error::RunError;

pub(crate) async fn publish(
    turn: &Turn<'_>,
    repo: &ClonedRepo,
    title: &str,
    agent_message: Option<&str>,
    start_head: Option<String>,
) -> Result<(), RunError> {
    turn.run.stage(TaskStage::Committing).await;
    let git = turn.git();
    // Describe the change only when there is one: the subject costs a model call on the
    // user's key.
    let changed = git.stage_all(repo).await?;
    let committed = if changed.is_empty() {
        false
    } else {
        let subject = naming::commit_subject(turn, title, agent_message, &changed).await;
        let settings = &turn.ctx.settings.tasks;
        let author = Author {
            name: settings.git_author_name.clone(),
            email: settings.git_author_email.clone(),
        };
        let message = commit_message(&subject, &turn.job.prompt);
        git.commit_all(repo, &message, &author).await?.is_some()
    };
    // An agent that committed by itself leaves nothing to commit but work to push; staging has
    // sanitised the repository, so reading HEAD on the host is safe here.
    if !committed && git.head(&repo.dir).await? == start_head {
        turn.run.log("The agent changed no files; nothing to commit.");
        return Ok(());
    }
    turn.run.stage(TaskStage::Pushing).await;
    let credentials = turn.inputs.git_credentials();
    git.push(repo, credentials.as_ref()).await?;
    let ctx = turn.ctx;
    let deps = crate::github::auto_pr::Deps {
        settings: &ctx.settings,
        pool: &ctx.pool,
        secrets: &ctx.secrets,
        forges: None,
    };
    match crate::github::auto_pr::open_if_requested(deps, turn.job.task.id, agent_message).await {
        Ok(Some(opened)) => turn.run.log(opened),
        Ok(None) => {}
        Err(reason) => turn.run.event(EventBody::Log { level: LogLevel::Warn, message: reason }),
    }
    Ok(())
}

/// The commit message: the subject, then the prompt of this run.
pub fn commit_message(subject: &str, prompt: &str) -> String {
    let subject: String = subject.chars().take(72).collect();
    let body = prompt.trim();
    if body.is_empty() || body == subject {
        subject
    } else {
        format!("{subject}\n\n{body}")
    }
}

#[cfg(test)]
mod tests {
    use super::commit_message;

    #[test]
    fn the_prompt_is_the_body_unless_it_is_the_subject() {
        assert_eq!(commit_message("Fix it", "Fix it"), "Fix it");
        assert_eq!(commit_message("Fix it", "  "), "Fix it");
        assert_eq!(
            commit_message("Fix it", "Please fix\nthe bug"),
            "Fix it\n\nPlease fix\nthe bug"
        );
        assert_eq!(commit_message(&"x".repeat(100), "p").lines().next().unwrap().len(), 72);
    }
}
