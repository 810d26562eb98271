//! The GitHub repository picker of the new-task form: an owner select, then a debounced search
//! of that owner's repositories with "load more". Choosing one emits its `repo_url`. Without a
//! GitHub token the API answers 422: its detail is shown and the pasted URL input still works.
//! Below the list, "New repository" creates one and picks it.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use shared::github::{GithubOwner, GithubRepo, OwnerKind};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::{loading, maybe_error, ErrorBox};
use crate::components::forms::target_value;
use crate::components::new_repo::NewRepo;
use crate::hooks::{use_fetch, FetchState};
use crate::services::{api, ApiError};

/// How long typing must pause before the search runs.
const DEBOUNCE_MS: u32 = 300;

/// Props of [`RepoPicker`].
#[derive(Properties, PartialEq)]
pub struct RepoPickerProps {
    /// Called with the chosen repository's `repo_url`.
    pub on_pick: Callback<String>,
    /// The repository URL currently in the form, to mark the chosen row.
    #[prop_or_default]
    pub selected: AttrValue,
}

/// What the list holds for the current owner and search.
#[derive(Debug, Clone, Default, PartialEq)]
struct Listing {
    items: Vec<GithubRepo>,
    next_cursor: Option<String>,
    loading: bool,
    error: Option<ApiError>,
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

/// The repository picker.
#[component]
pub fn RepoPicker(props: &RepoPickerProps) -> Html {
    let owners = use_fetch((), |()| api::github_owners());
    let owner = use_state(String::new);
    let input = use_state(String::new);
    let query = use_state(String::new);
    let listing = use_state(Listing::default);
    let timer: Rc<RefCell<Option<Timeout>>> = use_mut_ref(|| None);
    // Bumped on every new search so answers to older ones are dropped.
    let generation = use_mut_ref(|| 0u64);

    // The first owner (the user) is preselected once the owners arrive.
    let current_owner = match (&*owners.state, owner.is_empty()) {
        (FetchState::Ready(list), true) => {
            list.first().map(|o| o.login.clone()).unwrap_or_default()
        }
        _ => (*owner).clone(),
    };

    {
        let (listing, generation) = (listing.clone(), generation.clone());
        use_effect_with((current_owner.clone(), (*query).clone()), move |(owner, q)| {
            *generation.borrow_mut() += 1;
            let mine = *generation.borrow();
            if owner.is_empty() {
                listing.set(Listing::default());
            } else {
                listing.set(Listing { loading: true, ..Listing::default() });
                let (owner, q) = (owner.clone(), q.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let result = api::github_repos(&owner, &q, None).await;
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
    {
        // A pending debounce must not fire after the picker is gone.
        let timer = timer.clone();
        use_effect_with((), move |()| move || drop(timer.borrow_mut().take()));
    }

    let on_owner = {
        let (owner, input, query) = (owner.clone(), input.clone(), query.clone());
        Callback::from(move |e: Event| {
            owner.set(target_value(&e));
            input.set(String::new());
            query.set(String::new());
        })
    };
    let on_search = {
        let (input, query, timer) = (input.clone(), query.clone(), timer.clone());
        Callback::from(move |e: InputEvent| {
            let v = target_value(&e);
            input.set(v.clone());
            let query = query.clone();
            *timer.borrow_mut() = Some(Timeout::new(DEBOUNCE_MS, move || query.set(v)));
        })
    };
    let load_more = {
        let (listing, generation) = (listing.clone(), generation.clone());
        let (owner, q) = (current_owner.clone(), (*query).clone());
        Callback::from(move |_: MouseEvent| {
            let Some(cursor) = listing.next_cursor.clone() else { return };
            if listing.loading {
                return;
            }
            let mine = *generation.borrow();
            let before = (*listing).clone();
            listing.set(Listing { loading: true, error: None, ..before.clone() });
            let (listing, generation, owner, q) =
                (listing.clone(), generation.clone(), owner.clone(), q.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = api::github_repos(&owner, &q, Some(&cursor)).await;
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
        FetchState::Loading => {
            return html! { <div class="repo-picker" data-testid="repo-picker">{ loading() }</div> }
        }
        FetchState::Failed(e) => {
            return html! {
                <div class="repo-picker" data-testid="repo-picker">
                    <div data-testid="repo-picker-error"><ErrorBox error={e.clone()} /></div>
                </div>
            };
        }
        FetchState::Ready(list) => list,
    };
    html! {
        <div class="repo-picker stack" data-testid="repo-picker">
            <div class="row wrap">
                <select id="repo-owner" data-testid="repo-owner" aria-label="GitHub owner" onchange={on_owner}>
                    { for list.iter().map(|o| html! {
                        <option value={o.login.clone()} selected={o.login == current_owner}>{ owner_label(o) }</option>
                    }) }
                </select>
                <input id="repo-search" data-testid="repo-search" type="search" autocomplete="off"
                       placeholder="Search repositories…" aria-label="Search repositories"
                       value={(*input).clone()} oninput={on_search} />
            </div>
            <ul class="repo-list" data-testid="repo-list">
                if !listing.loading && listing.error.is_none() && listing.items.is_empty() {
                    <li class="muted" data-testid="repo-empty">{ "No repositories found." }</li>
                }
                { for listing.items.iter().map(|r| {
                    let on_pick = props.on_pick.clone();
                    let url = r.repo_url.clone();
                    let chosen = props.selected.as_str() == r.repo_url;
                    html! {
                        <li key={r.full_name.clone()}>
                            <button type="button" class={classes!("repo-option", chosen.then_some("selected"))}
                                    data-testid="repo-option" data-repo={r.full_name.clone()}
                                    aria-pressed={chosen.to_string()}
                                    onclick={move |_: MouseEvent| on_pick.emit(url.clone())}>
                                <strong>{ &r.full_name }</strong>
                                if r.private { <span class="badge">{ "private" }</span> }
                                if let Some(l) = &r.language { <span class="muted small">{ format!(" {l}") }</span> }
                                if let Some(d) = &r.description { <span class="muted small repo-desc">{ format!(" — {d}") }</span> }
                            </button>
                            <span class="repo-browse" data-testid="repo-browse" data-repo={r.full_name.clone()}>
                                <Link<Route> to={Route::Repo { owner: r.owner.clone(), repo: r.name.clone() }}>
                                    { "Issues, PRs, commits" }
                                </Link<Route>>
                            </span>
                        </li>
                    }
                }) }
            </ul>
            if listing.loading { { loading() } }
            { maybe_error(&listing.error) }
            if listing.next_cursor.is_some() && !listing.loading {
                <button type="button" class="btn small" data-testid="repo-load-more" onclick={load_more}>{ "Load more" }</button>
            }
            <NewRepo owners={list.clone()} owner={current_owner.clone()} on_created={props.on_pick.clone()} />
        </div>
    }
}

#[cfg(test)]
mod tests {
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
}
