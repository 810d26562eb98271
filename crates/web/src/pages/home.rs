//! Home: the new-task form, pre-filled by a deep link: `/?repo=&agent=&model=&prompt=&branch=`,
//! or `/:owner/:repo` for a GitHub repository (its task URL comes from the API).

use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::task_form::{Prefill, TaskForm};
use crate::hooks::use_fetch;
use crate::services::api;

/// Props of [`Home`].
#[derive(Properties, PartialEq)]
pub struct HomeProps {
    /// A GitHub repository named by the path, as `(owner, repo)`.
    #[prop_or_default]
    pub github: Option<(String, String)>,
}

/// The home page.
#[component]
pub fn Home(props: &HomeProps) -> Html {
    let location = use_location();
    let query: Prefill = location.and_then(|l| l.query::<Prefill>().ok()).unwrap_or_default();
    let named = use_fetch(props.github.clone(), |github| async move {
        match github {
            Some((owner, repo)) => api::github_repo(&owner, &repo).await.map(Some),
            None => Ok(None),
        }
    });
    let prefill = match named.data() {
        Some(Some(repo)) => Prefill { repo: Some(repo.repo_url.clone()), ..query },
        _ => query,
    };
    let failed = match (&*named.state, &props.github) {
        (crate::hooks::FetchState::Failed(e), Some((owner, repo))) => Some(html! {
            <p class="error-box" data-testid="deep-link-error">
                { format!("{owner}/{repo} could not be opened on GitHub: {}", e.message()) }
            </p>
        }),
        _ => None,
    };
    html! {
        <section class="page home" data-testid="home">
            <h1>{ "New task" }</h1>
            { for failed }
            <TaskForm {prefill} />
        </section>
    }
}
