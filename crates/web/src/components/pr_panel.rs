//! Pull request actions: open, merge (squash / merge / rebase), close, reopen; checks and
//! comments as the API reports them.

use shared::github::{CommentKind, PrComment};
use shared::tasks::{CreateMessage, Task};
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{bind, bind_select};
use crate::components::markdown::Markdown;
use crate::hooks::use_fetch;
use crate::services::{api, ApiError};
use crate::types::pulls::{CreatePullRequest, MergePullRequest};

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
    let title = use_state(|| t.title.clone());
    let body = use_state(|| t.prompt.clone());
    let method = use_state(|| "squash".to_owned());
    let error = use_state(|| None::<ApiError>);
    let busy = use_state(|| false);
    let comments = use_fetch(id, api::pr_comments);
    // Set when a merge answered 409: the branch conflicts with its base.
    let conflict = use_state(|| false);
    let follow_error = use_state(|| None::<ApiError>);
    let sent = use_state(|| None::<String>);
    // Posts a follow-up; `tag` says which button sent it (shown as confirmation).
    let follow_up = {
        let (follow_error, sent, on_sent) =
            (follow_error.clone(), sent.clone(), props.on_sent.clone());
        let conflict = conflict.clone();
        Callback::from(move |(tag, content): (String, String)| {
            let (follow_error, sent, on_sent, conflict) =
                (follow_error.clone(), sent.clone(), on_sent.clone(), conflict.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::send_message(id, &CreateMessage { content }).await {
                    Ok(()) => {
                        follow_error.set(None);
                        if tag == "conflicts" {
                            conflict.set(false);
                        }
                        sent.set(Some(tag));
                        on_sent.emit(());
                    }
                    Err(e) => follow_error.set(Some(e)),
                }
            });
        })
    };
    let base = t.base_branch.clone().unwrap_or_else(|| "the base branch".to_owned());
    // Runs an action, then reloads the pull request.
    let act = {
        let (error, busy, reload) = (error.clone(), busy.clone(), pr.reload.clone());
        let (title, body, method) = (title.clone(), body.clone(), method.clone());
        let conflict = conflict.clone();
        Callback::from(move |action: &'static str| {
            let (error, busy, reload) = (error.clone(), busy.clone(), reload.clone());
            let conflict = conflict.clone();
            let create = CreatePullRequest { title: (*title).clone(), body: (*body).clone() };
            let merge = MergePullRequest { method: (*method).clone() };
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let result = match action {
                    "create" => api::create_pull_request(id, &create).await.map(|_| ()),
                    "merge" => api::merge_pull_request(id, &merge).await,
                    other => api::pull_request_action(id, other).await,
                };
                match result {
                    Ok(()) => {
                        error.set(None);
                        conflict.set(false);
                        reload.emit(());
                    }
                    Err(e) => {
                        if action == "merge" && e.status() == Some(409) {
                            conflict.set(true);
                        }
                        error.set(Some(e));
                    }
                }
                busy.set(false);
            });
        })
    };
    let click = |a: &'static str| {
        let act = act.clone();
        Callback::from(move |_: MouseEvent| act.emit(a))
    };
    if t.branch_name.is_none() {
        return html! { <p class="muted" data-testid="pr-no-branch">{ "No branch has been pushed yet." }</p> };
    }
    html! {
        <div class="pr-panel" data-testid="pr-panel">
            { async_content(&pr.state, |p| match p {
                None => html! {
                    <form class="stack" id="create-pr-form" onsubmit={let a = act.clone(); move |e: SubmitEvent| { e.prevent_default(); a.emit("create"); }}>
                        <label for="pr-title">{ "Title" }</label>
                        <input id="pr-title" value={(*title).clone()} oninput={bind(&title)} />
                        <label for="pr-body">{ "Description" }</label>
                        <textarea id="pr-body" rows="5" value={(*body).clone()} oninput={bind(&body)} />
                        <button class="btn primary" id="create-pr" data-testid="create-pr" type="submit" disabled={*busy}>{ "Open pull request" }</button>
                    </form>
                },
                Some(p) => html! {
                    <div class="stack">
                        <div class="row">
                            <a href={p.url.clone()} target="_blank" rel="noopener noreferrer" data-testid="pr-link">{ format!("#{} {}", p.number, p.title) }</a>
                            <span class={classes!("badge", format!("pr-{}", p.state))} data-testid="pr-state" data-state={p.state.clone()}>{ &p.state }</span>
                        </div>
                        if p.state == "open" {
                            <div class="row wrap">
                                <select id="merge-method" data-testid="merge-method" onchange={bind_select(&method)}>
                                    <option value="squash" selected={*method == "squash"}>{ "Squash and merge" }</option>
                                    <option value="merge" selected={*method == "merge"}>{ "Merge commit" }</option>
                                    <option value="rebase" selected={*method == "rebase"}>{ "Rebase and merge" }</option>
                                </select>
                                <button class="btn primary" id="merge-pr" data-testid="merge-pr" disabled={*busy} onclick={click("merge")}>{ "Merge" }</button>
                                <button class="btn" id="close-pr" data-testid="close-pr" disabled={*busy} onclick={click("close")}>{ "Close" }</button>
                            </div>
                        }
                        if p.state == "closed" {
                            <button class="btn" id="reopen-pr" data-testid="reopen-pr" disabled={*busy} onclick={click("reopen")}>{ "Reopen" }</button>
                        }
                    </div>
                },
            }) }
            { maybe_error(&error) }
            if *conflict {
                <div class="row wrap conflict" data-testid="merge-conflict">
                    <span>{ "The branch conflicts with its base." }</span>
                    <button class="btn primary" id="resolve-conflicts" data-testid="resolve-conflicts"
                            onclick={let f = follow_up.clone(); let c = conflicts_follow_up(&base); move |_: MouseEvent| f.emit(("conflicts".to_owned(), c.clone()))}>
                        { "Resolve the conflicts" }
                    </button>
                </div>
            }
            if let Some(tag) = &*sent {
                <p class="notice" data-testid="follow-up-sent" data-source={tag.clone()}>{ "Follow-up sent: a new run is starting." }</p>
            }
            { maybe_error(&follow_error) }
            <h3>{ "Comments" }</h3>
            { async_content(&comments.state, |list| html! {
                <ul class="pr-comments" data-testid="pr-comments">
                    if list.is_empty() { <li class="muted">{ "No comments." }</li> }
                    { for list.iter().map(|c| {
                        let f = follow_up.clone();
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
                                            onclick={move |_: MouseEvent| f.emit((tag.clone(), content.clone()))}>
                                        { "Send as follow-up" }
                                    </button>
                                </div>
                                <Markdown source={AttrValue::from(c.body.clone())} />
                            </li>
                        }
                    }) }
                </ul>
            }) }
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
