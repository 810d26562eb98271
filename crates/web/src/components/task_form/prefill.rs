//! What a link fills into the new-task form: `/?repo=&agent=&model=&prompt=&branch=` (and
//! `/:owner/:repo`, which names a GitHub repository), and "New task" from a task page.

use serde::{Deserialize, Serialize};
use shared::tasks::Task;

/// Form fields a link sets; absent ones keep what the form remembers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefill {
    /// The repository URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The agent's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The base branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

impl Prefill {
    /// "New task" from a task: its repository, agent, model and base branch, a fresh prompt.
    pub fn from_task(task: &Task) -> Self {
        Self {
            repo: Some(task.repo_url.clone()),
            agent: Some(task.agent.clone()),
            model: task.model.clone(),
            prompt: None,
            branch: task.base_branch.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_with_some_fields_reads_back_with_only_those() {
        let p: Prefill =
            serde_urlencoded::from_str("repo=https%3A%2F%2Fx%2Fr.git&prompt=Fix+it&agent=codex")
                .unwrap();
        assert_eq!(p.repo.as_deref(), Some("https://x/r.git"));
        assert_eq!(p.prompt.as_deref(), Some("Fix it"));
        assert_eq!(p.agent.as_deref(), Some("codex"));
        assert_eq!((p.model, p.branch), (None, None));
        let back: Prefill = serde_urlencoded::from_str(
            &serde_urlencoded::to_string(Prefill {
                branch: Some("dev".into()),
                ..Prefill::default()
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(back.branch.as_deref(), Some("dev"));
        assert_eq!(back.repo, None);
    }
}
