//! The repository picker of the new-task form. A host select offers the configured GitHub and
//! every host the user stored a token for under Settings → Git hosts; the choice is
//! remembered. On a forge (GitHub, GitLab, Gitea/Forgejo) an owner select follows, then a
//! debounced search of that owner's repositories with "load more"; choosing one emits its
//! `repo_url`. A plain git host has no API to list from, so the user types the https URL.
//! Without a token for the host the API answers 422: its detail is shown and the pasted URL
//! input still works. Under GitHub's list, "New repository" creates one and picks it.

use shared::git_hosts::{GitCredential, GitHostKind};
use shared::github::{GithubOwner, GithubRepo, OwnerKind};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::{loading, maybe_error, ErrorBox};
use crate::components::forms::target_value;
use crate::components::new_repo::NewRepo;
use crate::hooks::{use_debounced_search, use_fetch, use_stored, FetchState};
use crate::services::api::{self, PickerSource};
use crate::services::ApiError;

/// Props of [`RepoPicker`].
#[derive(Properties, PartialEq)]
pub struct RepoPickerProps {
    /// Called with the chosen repository's `repo_url`.
    pub on_pick: Callback<String>,
    /// The repository URL currently in the form, to mark the chosen row.
    #[prop_or_default]
    pub selected: AttrValue,
}

/// A host the picker can list from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerHost {
    /// The select's value: empty for the configured GitHub, else the credential's host.
    pub key: String,
    /// What the select shows.
    pub label: String,
    /// The credential's kind; `None` for the configured GitHub.
    pub kind: Option<GitHostKind>,
}

impl PickerHost {
    /// Where its repositories are listed from; `None` for a plain git host (no API).
    pub fn source(&self) -> Option<PickerSource> {
        match self.kind {
            None => Some(PickerSource::Github),
            Some(k) if k.has_api() => Some(PickerSource::Forge(self.key.clone())),
            Some(_) => None,
        }
    }
}

/// The hosts to offer: the configured GitHub first, then each stored credential's host.
pub fn picker_hosts(credentials: &[GitCredential]) -> Vec<PickerHost> {
    let github = PickerHost { key: String::new(), label: "GitHub".into(), kind: None };
    let stored = credentials.iter().map(|c| PickerHost {
        key: c.host.clone(),
        label: format!("{} ({})", c.host, c.kind.label()),
        kind: Some(c.kind),
    });
    std::iter::once(github).chain(stored).collect()
}

/// The label of an owner in the select.
pub fn owner_label(o: &GithubOwner) -> String {
    let kind = match o.kind {
        OwnerKind::User => "you",
        OwnerKind::Organization => "organisation",
    };
    match &o.name {
        Some(n) if !n.is_empty() && *n != o.login => format!("{} — {n} ({kind})", o.login),
        _ => format!("{} ({kind})", o.login),
    }
}

/// The repository picker: the host select, then that host's part.
#[component]
pub fn RepoPicker(props: &RepoPickerProps) -> Html {
    let credentials = use_fetch((), |()| api::git_credentials());
    let (stored, set_host) = use_stored("drydock-repo-host".into(), String::new());
    let hosts = match &*credentials.state {
        FetchState::Loading => {
            return html! { <div class="repo-picker" data-testid="repo-picker">{ loading() }</div> }
        }
        // Without the list, GitHub is still there to pick from.
        FetchState::Failed(_) => picker_hosts(&[]),
        FetchState::Ready(list) => picker_hosts(list),
    };
    let current = hosts.iter().find(|h| h.key == *stored).unwrap_or(&hosts[0]).clone();
    let on_host = set_host.reform(|e: Event| target_value(&e));
    let part = match current.source() {
        Some(source) => html! {
            <HostRepos key={current.key.clone()} {source} on_pick={props.on_pick.clone()} selected={props.selected.clone()} />
        },
        None => plain_host(&current.key, &props.on_pick),
    };
    html! {
        <div class="repo-picker stack" data-testid="repo-picker" data-host={current.key.clone()}>
            <select id="repo-host" data-testid="repo-host" aria-label="Git host" onchange={on_host}>
                { for hosts.iter().map(|h| html! {
                    <option value={h.key.clone()} selected={h.key == current.key}>{ &h.label }</option>
                }) }
            </select>
            { part }
        </div>
    }
}

/// A plain git host: no API to list from, so the https URL is typed.
fn plain_host(host: &str, on_pick: &Callback<String>) -> Html {
    html! {
        <div class="stack" data-testid="repo-plain">
            <p class="muted small">
                { format!("{host} is a plain git host: Drydock clones and pushes there with your token, but cannot list its repositories and it has no pull requests. Type the repository's URL.") }
            </p>
            <input id="repo-plain-url" data-testid="repo-plain-url" type="text" inputmode="url" autocomplete="off"
                   aria-label="Repository URL" placeholder={format!("https://{host}/owner/repo.git")}
                   oninput={on_pick.reform(|e: InputEvent| target_value(&e))} />
        </div>
    }
}

/// What the list holds for the current owner and search.
#[derive(Debug, Clone, Default, PartialEq)]
struct Listing {
    items: Vec<GithubRepo>,
    next_cursor: Option<String>,
    loading: bool,
    error: Option<ApiError>,
}

/// Props of [`HostRepos`].
#[derive(Properties, PartialEq)]
struct HostReposProps {
    source: PickerSource,
    on_pick: Callback<String>,
    selected: AttrValue,
}

/// One forge's owners and repositories. Keyed by host, so switching hosts starts afresh.
#[component]
fn HostRepos(props: &HostReposProps) -> Html {
    let owners = use_fetch(props.source.clone(), api::picker_owners);
    let owner = use_state(String::new);
    let search = use_debounced_search();
    let listing = use_state(Listing::default);
    // Bumped on every new search so answers to older ones are dropped.
    let generation = use_mut_ref(|| 0u64);
    let source = props.source.clone();

    // The first owner (the user) is preselected once the owners arrive.
    let current_owner = match (&*owners.state, owner.is_empty()) {
        (FetchState::Ready(list), true) => {
            list.first().map(|o| o.login.clone()).unwrap_or_default()
        }
        _ => (*owner).clone(),
    };

    {
        let (listing, generation, source) = (listing.clone(), generation.clone(), source.clone());
        use_effect_with((current_owner.clone(), search.query.clone()), move |(owner, q)| {
            *generation.borrow_mut() += 1;
            let mine = *generation.borrow();
            if owner.is_empty() {
                listing.set(Listing::default());
            } else {
                listing.set(Listing { loading: true, ..Listing::default() });
                let (owner, q) = (owner.clone(), q.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let result = api::picker_repos(&source, &owner, &q, None).await;
                    if *generation.borrow() != mine {
                        return;
                    }
                    listing.set(match result {
                        Ok(page) => Listing {
                            items: page.items,
                            next_cursor: page.next_cursor,
                            ..Listing::default()
                        },
                        Err(e) => Listing { error: Some(e), ..Listing::default() },
                    });
                });
            }
        });
    }

    let on_owner = {
        let (owner, clear) = (owner.clone(), search.clear.clone());
        Callback::from(move |e: Event| {
            owner.set(target_value(&e));
            clear.emit(());
        })
    };
    let load_more = {
        let (listing, generation) = (listing.clone(), generation.clone());
        let (owner, q) = (current_owner.clone(), search.query.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(cursor) = listing.next_cursor.clone() else { return };
            if listing.loading {
                return;
            }
            let mine = *generation.borrow();
            let before = (*listing).clone();
            listing.set(Listing { loading: true, error: None, ..before.clone() });
            let (listing, generation, owner, q, source) =
                (listing.clone(), generation.clone(), owner.clone(), q.clone(), source.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = api::picker_repos(&source, &owner, &q, Some(&cursor)).await;
                if *generation.borrow() != mine {
                    return;
                }
                listing.set(match result {
                    Ok(page) => {
                        let mut items = before.items;
                        items.extend(page.items);
                        Listing { items, next_cursor: page.next_cursor, ..Listing::default() }
                    }
                    Err(e) => Listing { error: Some(e), ..before },
                });
            });
        })
    };

    let list = match &*owners.state {
        FetchState::Loading => return loading(),
        FetchState::Failed(e) => {
            return html! { <div data-testid="repo-picker-error"><ErrorBox error={e.clone()} /></div> };
        }
        FetchState::Ready(list) => list,
    };
    let github = props.source == PickerSource::Github;
    html! {
        <>
            <div class="row wrap">
                <select id="repo-owner" data-testid="repo-owner" aria-label="Owner" onchange={on_owner}>
                    { for list.iter().map(|o| html! {
                        <option value={o.login.clone()} selected={o.login == current_owner}>{ owner_label(o) }</option>
                    }) }
                </select>
                <input id="repo-search" data-testid="repo-search" type="search" autocomplete="off"
                       placeholder="Search repositories…" aria-label="Search repositories"
                       value={search.input.clone()} oninput={search.on_input.clone()} />
            </div>
            <ul class="repo-list" data-testid="repo-list">
                if !listing.loading && listing.error.is_none() && listing.items.is_empty() {
                    <li class="muted" data-testid="repo-empty">{ "No repositories found." }</li>
                }
                { for listing.items.iter().map(|r| repo_row(r, &props.source, &props.on_pick, &props.selected)) }
            </ul>
            if listing.loading { { loading() } }
            { maybe_error(&listing.error) }
            if listing.next_cursor.is_some() && !listing.loading {
                <button type="button" class="btn small" data-testid="repo-load-more" onclick={load_more}>{ "Load more" }</button>
            }
            if github {
                <NewRepo owners={list.clone()} owner={current_owner.clone()} on_created={props.on_pick.clone()} />
            }
        </>
    }
}

/// One repository: picking it emits its URL; a link opens its issues, pull or merge requests
/// and commits (the repository browser, on GitHub or the forge).
fn repo_row(
    r: &GithubRepo,
    source: &PickerSource,
    on_pick: &Callback<String>,
    selected: &str,
) -> Html {
    let browse = match source {
        PickerSource::Github => Route::Repo { owner: r.owner.clone(), repo: r.name.clone() },
        PickerSource::Forge(host) => {
            Route::ForgeRepo { host: host.clone(), path: r.full_name.clone() }
        }
    };
    let on_pick = on_pick.clone();
    let url = r.repo_url.clone();
    let chosen = selected == r.repo_url;
    html! {
        <li key={r.full_name.clone()}>
            <button type="button" class={classes!("repo-option", chosen.then_some("selected"))}
                    data-testid="repo-option" data-repo={r.full_name.clone()}
                    data-default-branch={r.default_branch.clone()}
                    aria-pressed={chosen.to_string()}
                    onclick={move |_: MouseEvent| on_pick.emit(url.clone())}>
                <strong>{ &r.full_name }</strong>
                if r.private { <span class="badge">{ "private" }</span> }
                <span class="muted small">{ format!(" {}", r.default_branch) }</span>
                if let Some(l) = &r.language { <span class="muted small">{ format!(" {l}") }</span> }
                if let Some(d) = &r.description { <span class="muted small repo-desc">{ format!(" — {d}") }</span> }
            </button>
            <span class="repo-browse" data-testid="repo-browse" data-repo={r.full_name.clone()}>
                <Link<Route> to={browse}>{ "Issues, PRs, commits" }</Link<Route>>
            </span>
        </li>
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn owner_labels_show_the_kind_and_a_distinct_name() {
        let mut o = GithubOwner {
            login: "acme".into(),
            kind: OwnerKind::Organization,
            name: None,
            avatar_url: None,
        };
        assert_eq!(owner_label(&o), "acme (organisation)");
        o.name = Some("Acme Inc".into());
        assert_eq!(owner_label(&o), "acme — Acme Inc (organisation)");
        o.kind = OwnerKind::User;
        o.name = Some("acme".into());
        assert_eq!(owner_label(&o), "acme (you)");
    }

    /// A stored credential for `host`, as the API lists it (other components' tests use it too).
    pub(crate) fn credential(host: &str, kind: GitHostKind) -> GitCredential {
        GitCredential {
            host: host.into(),
            kind,
            api_url: None,
            token_last4: "abcd".into(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            last_used_at: None,
        }
    }

    #[test]
    fn hosts_are_github_then_each_credential_listed_by_its_api() {
        let hosts = picker_hosts(&[
            credential("gitlab.example", GitHostKind::Gitlab),
            credential("git.example:8443", GitHostKind::Git),
        ]);
        assert_eq!(hosts.len(), 3);
        assert_eq!(hosts[0].source(), Some(PickerSource::Github));
        assert_eq!(hosts[1].source(), Some(PickerSource::Forge("gitlab.example".into())));
        assert_eq!(hosts[1].label, "gitlab.example (GitLab)");
        assert_eq!(hosts[2].source(), None, "a plain git host has no API to list from");
    }
}
