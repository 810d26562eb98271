//! The task's title (and so its branch) and each commit's subject: generated through the
//! owner's own key when possible (see `crate::titles`), else derived from the prompt.

use std::time::Duration;

use crate::titles::{self, Generated, Namer};

use super::Turn;

fn namer(turn: &Turn<'_>) -> Namer {
    let tasks = &turn.ctx.settings.tasks;
    Namer::new(
        turn.inputs.keys.clone(),
        &tasks.egress_allow,
        Duration::from_millis(tasks.generation_timeout_ms),
        tasks.generate_names,
    )
}

/// The title to branch from. Only a task's very first run generates one (and records it);
/// later runs, and tasks that already have a branch, keep theirs.
pub(crate) async fn title(turn: &Turn<'_>) -> String {
    let task = &turn.job.task;
    if turn.job.number != 1 || task.branch_name.is_some() || task.sandbox_id.is_some() {
        return task.title.clone();
    }
    let provider = turn.inputs.strategy.spec().provider;
    match namer(turn).title(provider, &turn.job.prompt).await {
        Generated::Text { text, provider } => {
            titles::set_title(&turn.ctx.pool, task.id, &text).await;
            turn.run.log(format!("Title generated with your {} key: {text}", provider.as_str()));
            text
        }
        Generated::Fallback(reason) => {
            turn.run.log(format!("Titled from the prompt ({reason})."));
            task.title.clone()
        }
    }
}

/// The commit subject of this run: generated, else the title (first run) or the prompt
/// (follow-ups).
pub(crate) async fn commit_subject(
    turn: &Turn<'_>,
    title: &str,
    agent_message: Option<&str>,
    files: &[String],
) -> String {
    let provider = turn.inputs.strategy.spec().provider;
    let prompt = &turn.job.prompt;
    match namer(turn).commit_subject(provider, title, prompt, agent_message, files).await {
        Generated::Text { text, .. } => text,
        Generated::Fallback(reason) => {
            turn.run.log(format!("Commit message from the prompt ({reason})."));
            if turn.job.number == 1 {
                title.to_owned()
            } else {
                titles::fallback_title(prompt)
            }
        }
    }
}
