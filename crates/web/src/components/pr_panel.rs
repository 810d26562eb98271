//! Pull request (GitLab: merge request) actions: open, merge (squash / merge / rebase, as the
//! forge offers them), close, reopen; checks (GitLab: the pipeline's jobs) and comments as the
//! API reports them. Every text uses the forge's own words (`GET /tasks/{id}/forge`), and a
//! repository on a plain git host gets a notice instead: that host has no pull requests.

use shared::forges::TaskForge;
use shared::git_hosts::ForgeKind;
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

/// What the panel calls things on the task's forge.
#[derive(Debug, Clone, PartialEq)]
pub struct ForgeWords {
    /// "pull request" or "merge request".
    pub noun: String,
    /// `#` or `!`.
    pub prefix: String,
    /// The heading of the CI results: "Pipeline" on GitLab, "Checks" elsewhere.
    pub checks: &'static str,
}

impl ForgeWords {
    /// The words of `forge`; GitHub's while it is not known.
    pub fn of(forge: Option<&TaskForge>) -> Self {
        match forge {
            Some(f) => Self {
                noun: f.request_noun.clone(),
                prefix: f.number_prefix.clone(),
                checks: if f.kind == Some(ForgeKind::Gitlab) { "Pipeline" } else { "Checks" },
            },
            None => Self {
                noun: ForgeKind::Github.request_noun().to_owned(),
                prefix: ForgeKind::Github.number_prefix().to_owned(),
                checks: "Checks",
            },
        }
    }

    /// The noun with a capital, for tabs and headings ("Merge request").
    pub fn title(&self) -> String {
        let mut chars = self.noun.chars();
        chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
    }
}

/// Whether the task's repository is on a host without pull requests (a plain git host, or a
/// host the user has no forge token for), as the forge endpoint reports it.
pub fn has_no_pull_requests(forge: &TaskForge) -> bool {
    forge.kind.is_none()
}

/// The follow-up that asks the agent to act on a comment on the pull (or merge) request.
pub fn comment_follow_up(c: &PrComment, noun: &str) -> String {
    let who = c.user_login.as_deref().map(|l| format!(" by @{l}")).unwrap_or_default();
    let place = match (c.kind, &c.path) {
        (CommentKind::Review, Some(p)) => format!("A review comment{who} on `{p}`"),
        (CommentKind::Review, None) => format!("A review comment{who}"),
        (CommentKind::Issue, _) => format!("A comment{who}"),
    };
    let quoted: Vec<String> = c.body.lines().map(|l| format!("> {l}")).collect();
    format!(
        "{place} on the {noun} ({url}) says:\n\n{body}\n\nPlease address it.",
        url = c.html_url,
        body = quoted.join("\n")
    )
}

/// The follow-up that asks the agent to resolve merge conflicts with the base branch.
pub fn conflicts_follow_up(base: &str, noun: &str) -> String {
    format!(
        "The {noun} cannot be merged because it conflicts with `{base}`. Merge the latest \
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
    /// The task's forge, once the page has it (`None` while loading or when it failed).
    #[prop_or_default]
    pub forge: Option<TaskForge>,
    /// Called after a follow-up was sent from this tab (a new run started).
    #[prop_or_default]
    pub on_sent: Callback<()>,
}

/// The pull (or merge) request tab.
#[component]
pub fn PrPanel(props: &PrPanelProps) -> Html {
    let t = &props.task;
    let id = t.id;
    let pr = use_fetch(id, api::pull_request);
    let checks = use_fetch(id, api::task_checks);
    let comments = use_fetch(id, api::pr_comments);
    // The forge's words and merge methods; GitHub's until the page has them.
    let words = ForgeWords::of(props.forge.as_ref());
    let methods: Vec<MergeMethod> = match &props.forge {
        Some(f) if f.kind.is_some() => f.merge_methods.clone(),
        _ => MERGE_METHODS.iter().map(|(m, ..)| *m).collect(),
    };
    let noun = words.noun.clone();
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
    // A repository on a host without pull requests (a plain git host): the API's 422 says why,
    // and there is nothing else to show here.
    if let FetchState::Failed(e) = &*pr.state {
        if e.status() == Some(422) && e.message().starts_with("This host has no pull requests") {
            return html! { <p class="notice" data-testid="pr-unsupported">{ e.message() }</p> };
        }
    }
    if props.forge.as_ref().is_some_and(has_no_pull_requests) {
        let host = props.forge.as_ref().and_then(|f| f.host.clone());
        let place = host.map(|h| format!(" ({h})")).unwrap_or_default();
        return html! {
            <p class="notice" data-testid="pr-unsupported">
                { format!("This host has no pull requests{place}: the task's branch is pushed there; merge it on the host itself.") }
            </p>
        };
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
                    <a href={p.url.clone()} target="_blank" rel="noopener noreferrer" data-testid="pr-link">{ format!("{}{} {}", words.prefix, p.number, p.title) }</a>
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
                            onclick={let c = conflicts_follow_up(&base, &noun); follow_up.run.reform(move |_: MouseEvent| ("conflicts".to_owned(), c.clone()))}>
                        { "Resolve the conflicts" }
                    </button>
                </div>
            }
            if let Some(tag) = &*sent {
                <p class="notice" data-testid="follow-up-sent" data-source={tag.clone()}>{ "Follow-up sent: a new run is starting." }</p>
            }
            { maybe_error(&follow_up.error) }
            <h3>{ "Comments" }</h3>
            { async_content(&comments.state, |list| comment_list(list, &noun, &follow_up.run)) }
            <h3 data-testid="checks-title">{ words.checks }</h3>
            { async_content(&checks.state, |checks| html! {
                <ul class="checks" data-testid="checks">
                    if checks.check_runs.is_empty() { <li class="muted">{ format!("No {}.", if words.checks == "Pipeline" { "pipeline jobs" } else { "checks" }) }</li> }
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
fn comment_list(list: &[PrComment], noun: &str, follow_up: &Callback<(String, String)>) -> Html {
    html! {
        <ul class="pr-comments" data-testid="pr-comments">
            if list.is_empty() { <li class="muted">{ "No comments." }</li> }
            { for list.iter().map(|c| {
                let (tag, content) = (format!("comment-{}", c.id), comment_follow_up(c, noun));
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
        let review =
            comment_follow_up(&comment(CommentKind::Review, Some("src/a.rs")), "pull request");
        assert!(review.starts_with("A review comment by @rev on `src/a.rs`"));
        assert!(review.contains("> line one\n> line two"));
        assert!(review.contains("https://github.com/o/r/pull/1#c7"));
        let issue = comment_follow_up(&comment(CommentKind::Issue, None), "merge request");
        assert!(issue.starts_with("A comment by @rev on the merge request"), "{issue}");
    }

    #[test]
    fn conflict_follow_up_names_the_base() {
        let text = conflicts_follow_up("main", "merge request");
        assert!(text.starts_with("The merge request cannot be merged"));
        assert!(text.contains("Merge the latest `main`"));
        assert!(text.contains("resolve every conflict"));
    }

    fn forge(kind: Option<ForgeKind>) -> TaskForge {
        let words = kind.unwrap_or(ForgeKind::Github);
        TaskForge {
            kind,
            host: Some("git.example".into()),
            repo: None,
            request_noun: words.request_noun().into(),
            number_prefix: words.number_prefix().into(),
            merge_methods: words.merge_methods(),
        }
    }

    #[test]
    fn each_forge_has_its_words() {
        let gl = ForgeWords::of(Some(&forge(Some(ForgeKind::Gitlab))));
        assert_eq!(
            (gl.title().as_str(), gl.prefix.as_str(), gl.checks),
            ("Merge request", "!", "Pipeline")
        );
        let gt = ForgeWords::of(Some(&forge(Some(ForgeKind::Gitea))));
        assert_eq!(
            (gt.title().as_str(), gt.prefix.as_str(), gt.checks),
            ("Pull request", "#", "Checks")
        );
        assert_eq!(ForgeWords::of(None).title(), "Pull request");
        assert!(has_no_pull_requests(&forge(None)));
        assert!(!has_no_pull_requests(&forge(Some(ForgeKind::Github))));
    }
}
