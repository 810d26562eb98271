//! Pull request (GitLab: merge request) actions: open, merge (squash / merge / rebase, as the
//! forge offers them), close, reopen; checks and comments as the API reports them.

use shared::github::{
    CommentKind, CreatePullRequest, MergeMethod, MergePullRequest, PrComment, PrStatus, PullRequest,
};
use shared::tasks::{CreateMessage, Task};
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{bind, target_value};
use crate::components::markdown::Markdown;
use crate::hooks::{use_action, use_fetch, FetchState};
use crate::services::api;

/// The follow-up that asks the agent to act on a pull request comment.
pub fn comment_follow_up(c: &PrComment) -> String {
    let who = c.user_login.as_deref().map(|l| format!(" by @{l}")).unwrap_or_default();
    let place = match (c.kind, &c.path) {
        (CommentKind::Review, Some(p)) => format!("A review comment{who} on `{p}`"),
        (CommentKind::Review, None) => format!("A review comment{who}"),
        (CommentKind::Issue, _) => format!("A comment{who}"),
    };
    let quoted: Vec<String> = c.body.lines().map(|l| format!("> {l}")).collect();
    format!(
        "{place} on the pull request ({url}) says:\n\n{body}\n\nPlease address it.",
        url = c.html_url,
        body = quoted.join("\n")
    )
}

/// The follow-up that asks the agent to resolve merge conflicts with the base branch.
pub fn conflicts_follow_up(base: &str) -> String {
    format!(
        "The pull request cannot be merged because it conflicts with `{base}`. Merge the latest \
         `{base}` into this branch, resolve every conflict keeping the intent of both sides, make \
         sure the project still builds and its tests pass, then commit and push."
    )
}

/// What a button of the panel asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrAction {
    Create,
    Merge,
    Close,
    Reopen,
}

/// The merge methods, as the select offers them.
const MERGE_METHODS: [(MergeMethod, &str, &str); 3] = [
    (MergeMethod::Squash, "squash", "Squash and merge"),
    (MergeMethod::Merge, "merge", "Merge commit"),
    (MergeMethod::Rebase, "rebase", "Rebase and merge"),
];

/// Props of [`PrPanel`].
#[derive(Properties, PartialEq)]
pub struct PrPanelProps {
    /// The task.
    pub task: Task,
    /// Called after a follow-up was sent from this tab (a new run started).
    #[prop_or_default]
    pub on_sent: Callback<()>,
}

/// The pull request tab.
#[component]
pub fn PrPanel(props: &PrPanelProps) -> Html {
    let t = &props.task;
    let id = t.id;
    let pr = use_fetch(id, api::pull_request);
    let checks = use_fetch(id, api::task_checks);
    let comments = use_fetch(id, api::pr_comments);
    // The forge's words and merge methods; GitHub's until it answers.
    let forge = use_fetch(id, api::task_forge);
    let (noun, methods) = match &*forge.state {
        FetchState::Ready(f) if f.kind.is_some() => {
            (f.request_noun.clone(), f.merge_methods.clone())
        }
        _ => ("pull request".to_owned(), MERGE_METHODS.iter().map(|(m, ..)| *m).collect()),
    };
    let title = use_state(|| t.title.clone());
    let body = use_state(|| t.prompt.clone());
    let method = use_state(MergeMethod::default);
    // Set when a merge answered 409: the branch conflicts with its base.
    let conflict = use_state(|| false);
    // Which button sent the last follow-up (shown as confirmation).
    let sent = use_state(|| None::<String>);
    let follow_up = {
        let (sent, on_sent, conflict) = (sent.clone(), props.on_sent.clone(), conflict.clone());
        use_action(move |(tag, content): (String, String)| {
            let (sent, on_sent, conflict) = (sent.clone(), on_sent.clone(), conflict.clone());
            async move {
                api::send_message(id, &CreateMessage { content }).await?;
                if tag == "conflicts" {
                    conflict.set(false);
                }
                sent.set(Some(tag));
                on_sent.emit(());
                Ok(())
            }
        })
    };
    // Runs a pull request action, then reloads the pull request.
    let act = {
        let (reload, conflict) = (pr.reload.clone(), conflict.clone());
        let (title, body, method) = ((*title).clone(), (*body).clone(), *method);
        use_action(move |action: PrAction| {
            let (reload, conflict) = (reload.clone(), conflict.clone());
            let create = CreatePullRequest {
                title: Some(title.clone()),
                body: Some(body.clone()),
                base: None,
            };
            let merge = MergePullRequest { method, ..MergePullRequest::default() };
            async move {
                let result = match action {
                    PrAction::Create => api::create_pull_request(id, &create).await,
                    PrAction::Merge => api::merge_pull_request(id, &merge).await,
                    PrAction::Close => api::set_pull_request_open(id, false).await,
                    PrAction::Reopen => api::set_pull_request_open(id, true).await,
                };
                if let Err(e) = &result {
                    if action == PrAction::Merge && e.status() == Some(409) {
                        conflict.set(true);
                    }
                    return result.map(drop);
                }
                conflict.set(false);
                reload.emit(());
                Ok(())
            }
        })
    };
    let click = |a: PrAction| act.run.reform(move |_: MouseEvent| a);
    if t.branch_name.is_none() {
        return html! { <p class="muted" data-testid="pr-no-branch">{ "No branch has been pushed yet." }</p> };
    }
    // A repository on a host without pull requests (a plain git host): the API's 422 says so,
    // and there is nothing else to show here.
    if let crate::hooks::FetchState::Failed(e) = &*pr.state {
        if e.status() == Some(422) && e.message().starts_with("This host has no pull requests") {
            return html! { <p class="notice" data-testid="pr-unsupported">{ e.message() }</p> };
        }
    }
    let base = t.base_branch.clone().unwrap_or_else(|| "the base branch".to_owned());
    let create_form = html! {
        <form class="stack" id="create-pr-form" onsubmit={act.run.reform(|e: SubmitEvent| { e.prevent_default(); PrAction::Create })}>
            <label for="pr-title">{ "Title" }</label>
            <input id="pr-title" value={(*title).clone()} oninput={bind(&title)} />
            <label for="pr-body">{ "Description" }</label>
            <textarea id="pr-body" rows="5" value={(*body).clone()} oninput={bind(&body)} />
            <button class="btn primary" id="create-pr" data-testid="create-pr" type="submit" disabled={act.busy}>{ format!("Open {noun}") }</button>
        </form>
    };
    let on_method = {
        let method = method.clone();
        Callback::from(move |e: Event| {
            let v = target_value(&e);
            if let Some((m, ..)) = MERGE_METHODS.iter().find(|(_, key, _)| *key == v) {
                method.set(*m);
            }
        })
    };
    let existing = |p: &PullRequest| {
        let state = p.status.as_str();
        html! {
            <div class="stack">
                <div class="row">
                    <a href={p.url.clone()} target="_blank" rel="noopener noreferrer" data-testid="pr-link">{ format!("#{} {}", p.number, p.title) }</a>
                    <span class={classes!("badge", format!("pr-{state}"))} data-testid="pr-state" data-state={state}>{ state }</span>
                </div>
                if p.status == PrStatus::Open {
                    <div class="row wrap">
                        <select id="merge-method" data-testid="merge-method" onchange={on_method.clone()}>
                            { for MERGE_METHODS.iter().filter(|(m, ..)| methods.contains(m)).map(|(m, key, label)| html! {
                                <option value={*key} selected={*method == *m}>{ *label }</option>
                            }) }
                        </select>
                        <button class="btn primary" id="merge-pr" data-testid="merge-pr" disabled={act.busy} onclick={click(PrAction::Merge)}>{ "Merge" }</button>
                        <button class="btn" id="close-pr" data-testid="close-pr" disabled={act.busy} onclick={click(PrAction::Close)}>{ "Close" }</button>
                    </div>
                }
                if p.status == PrStatus::Closed {
                    <button class="btn" id="reopen-pr" data-testid="reopen-pr" disabled={act.busy} onclick={click(PrAction::Reopen)}>{ "Reopen" }</button>
                }
            </div>
        }
    };
    html! {
        <div class="pr-panel" data-testid="pr-panel">
            { async_content(&pr.state, |p| match p {
                None => create_form.clone(),
                Some(p) => existing(p),
            }) }
            { maybe_error(&act.error) }
            if *conflict {
                <div class="row wrap conflict" data-testid="merge-conflict">
                    <span>{ "The branch conflicts with its base." }</span>
                    <button class="btn primary" id="resolve-conflicts" data-testid="resolve-conflicts"
                            onclick={let c = conflicts_follow_up(&base); follow_up.run.reform(move |_: MouseEvent| ("conflicts".to_owned(), c.clone()))}>
                        { "Resolve the conflicts" }
                    </button>
                </div>
            }
            if let Some(tag) = &*sent {
                <p class="notice" data-testid="follow-up-sent" data-source={tag.clone()}>{ "Follow-up sent: a new run is starting." }</p>
            }
            { maybe_error(&follow_up.error) }
            <h3>{ "Comments" }</h3>
            { async_content(&comments.state, |list| comment_list(list, &follow_up.run)) }
            <h3>{ "Checks" }</h3>
            { async_content(&checks.state, |checks| html! {
                <ul class="checks" data-testid="checks">
                    if checks.check_runs.is_empty() { <li class="muted">{ "No checks." }</li> }
                    { for checks.check_runs.iter().map(|c| {
                        let conclusion = c.conclusion.clone().unwrap_or_default();
                        html! {
                            <li data-testid="check" data-conclusion={conclusion.clone()}>
                                <strong>{ &c.name }</strong>{ " " }
                                <span class="muted">{ format!("{} {conclusion}", c.status) }</span>
                            </li>
                        }
                    }) }
                </ul>
            }) }
        </div>
    }
}

/// The comments, each with a button that sends it to the agent as a follow-up.
fn comment_list(list: &[PrComment], follow_up: &Callback<(String, String)>) -> Html {
    html! {
        <ul class="pr-comments" data-testid="pr-comments">
            if list.is_empty() { <li class="muted">{ "No comments." }</li> }
            { for list.iter().map(|c| {
                let (tag, content) = (format!("comment-{}", c.id), comment_follow_up(c));
                let kind = match c.kind { CommentKind::Issue => "issue", CommentKind::Review => "review" };
                html! {
                    <li key={c.id.to_string()} class="pr-comment" data-testid="pr-comment" data-comment-id={c.id.to_string()} data-kind={kind}>
                        <div class="row wrap">
                            <strong>{ c.user_login.clone().unwrap_or_else(|| "someone".to_owned()) }</strong>
                            if let Some(p) = &c.path { <code class="small">{ p }</code> }
                            <a class="muted small" href={c.html_url.clone()} target="_blank" rel="noopener noreferrer">
                                { c.created_at.format("%Y-%m-%d %H:%M").to_string() }
                            </a>
                            <span class="spacer" />
                            <button class="btn small" data-testid="comment-follow-up"
                                    onclick={follow_up.reform(move |_: MouseEvent| (tag.clone(), content.clone()))}>
                                { "Send as follow-up" }
                            </button>
                        </div>
                        <Markdown source={AttrValue::from(c.body.clone())} />
                    </li>
                }
            }) }
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(kind: CommentKind, path: Option<&str>) -> PrComment {
        PrComment {
            id: 7,
            kind,
            user_login: Some("rev".into()),
            user_avatar_url: None,
            body: "line one\nline two".into(),
            path: path.map(str::to_owned),
            html_url: "https://github.com/o/r/pull/1#c7".into(),
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn comment_follow_ups_quote_the_comment_and_say_where() {
        let review = comment_follow_up(&comment(CommentKind::Review, Some("src/a.rs")));
        assert!(review.starts_with("A review comment by @rev on `src/a.rs`"));
        assert!(review.contains("> line one\n> line two"));
        assert!(review.contains("https://github.com/o/r/pull/1#c7"));
        let issue = comment_follow_up(&comment(CommentKind::Issue, None));
        assert!(issue.starts_with("A comment by @rev on the pull request"));
    }

    #[test]
    fn conflict_follow_up_names_the_base() {
        let text = conflicts_follow_up("main");
        assert!(text.contains("Merge the latest `main`"));
        assert!(text.contains("resolve every conflict"));
    }
}
