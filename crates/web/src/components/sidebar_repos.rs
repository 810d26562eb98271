//! The sidebar's Repos tab: the user's repositories on GitHub or on a GitLab or Gitea host of
//! their credentials, searched by name, the next page loaded as the list scrolls to its end,
//! each with how many of the user's tasks are on it (`GET /me/repos`, read again whenever the
//! user's event stream says a task was created or deleted). A click opens the repository
//! browser.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use shared::git_hosts::GitHostKind;
use shared::github::GithubRepo;
use wasm_bindgen::JsCast;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::{loading, ErrorBox};
use crate::components::forms::target_value;
use crate::hooks::{use_debounced_search, use_fetch};
use crate::services::{api, ApiError};

/// How close to the end of the list (in pixels) scrolling loads the next page.
const NEAR_END_PX: i32 = 48;
/// The GitHub choice of the forge select.
const GITHUB: &str = "";

/// The list for the current forge and search.
#[derive(Debug, Clone, Default, PartialEq)]
struct Listing {
    items: Vec<GithubRepo>,
    next_cursor: Option<String>,
    loading: bool,
    error: Option<ApiError>,
}

/// Where a listed repository's browser is.
fn route_of(host: &str, repo: &GithubRepo) -> Route {
    if host == GITHUB {
        Route::Repo { owner: repo.owner.clone(), repo: repo.name.clone() }
    } else {
        Route::ForgeRepo { host: host.to_owned(), path: repo.full_name.clone() }
    }
}

/// Whether an element scrolled to within [`NEAR_END_PX`] of its end.
fn near_end(el: &web_sys::Element) -> bool {
    el.scroll_top() + el.client_height() >= el.scroll_height() - NEAR_END_PX
}

/// Loads one page into `listing` (appending after `cursor`), unless a newer search started.
fn load_page(
    listing: UseStateHandle<Listing>,
    generation: Rc<RefCell<u64>>,
    host: String,
    q: String,
    cursor: Option<String>,
) {
    let mine = *generation.borrow();
    let before = if cursor.is_some() { (*listing).clone() } else { Listing::default() };
    listing.set(Listing { loading: true, error: None, ..before.clone() });
    wasm_bindgen_futures::spawn_local(async move {
        let forge = (host != GITHUB).then_some(host.as_str());
        let result = api::user_repos(forge, &q, cursor.as_deref()).await;
        if *generation.borrow() != mine {
            return;
        }
        listing.set(match result {
            Ok(page) => {
                let mut items = before.items;
                items.extend(page.items);
                Listing { items, next_cursor: page.next_cursor, loading: false, error: None }
            }
            Err(e) => Listing { error: Some(e), loading: false, ..before },
        });
    });
}

/// Props of [`SidebarRepos`].
#[derive(Properties, PartialEq)]
pub struct SidebarReposProps {
    /// Changes whenever one of the user's tasks is created or deleted: the counts are read again.
    pub comings_and_goings: u64,
}

/// The Repos tab.
#[component]
pub fn SidebarRepos(props: &SidebarReposProps) -> Html {
    let hosts = use_fetch((), |()| api::git_credentials());
    let counts = use_fetch(props.comings_and_goings, |_| api::my_repos());
    let host = use_state(|| GITHUB.to_owned());
    let search = use_debounced_search();
    let listing = use_state(Listing::default);
    // Bumped on every new search so answers to older ones are dropped.
    let generation = use_mut_ref(|| 0u64);
    {
        let (listing, generation) = (listing.clone(), generation.clone());
        use_effect_with(((*host).clone(), search.query.clone()), move |(host, q)| {
            *generation.borrow_mut() += 1;
            load_page(listing, generation, host.clone(), q.clone(), None);
        });
    }
    let on_host = {
        let (host, clear) = (host.clone(), search.clear.clone());
        Callback::from(move |e: Event| {
            host.set(target_value(&e));
            clear.emit(());
        })
    };
    let more = {
        let (listing, generation) = (listing.clone(), generation.clone());
        let (host, q) = ((*host).clone(), search.query.clone());
        Callback::from(move |()| {
            if listing.loading || listing.error.is_some() {
                return;
            }
            let Some(cursor) = listing.next_cursor.clone() else { return };
            load_page(listing.clone(), generation.clone(), host.clone(), q.clone(), Some(cursor));
        })
    };
    let onscroll = {
        let more = more.clone();
        Callback::from(move |e: Event| {
            if e.target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| near_end(&el))
            {
                more.emit(());
            }
        })
    };
    let count_of: HashMap<&str, i64> = counts
        .data()
        .map(|list| list.iter().map(|r| (r.repo_url.as_str(), r.task_count)).collect())
        .unwrap_or_default();
    let forges: Vec<(String, &'static str)> = hosts
        .data()
        .map(|list| {
            list.iter()
                .filter_map(|c| match c.kind {
                    GitHostKind::Gitlab => Some((c.host.clone(), "GitLab")),
                    GitHostKind::Gitea => Some((c.host.clone(), "Gitea")),
                    GitHostKind::Github | GitHostKind::Git => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let current = (*host).clone();
    html! {
        <div class="sidebar-repos stack" data-testid="sidebar-repos">
            if !forges.is_empty() {
                <select data-testid="sidebar-repos-forge" aria-label="Forge" onchange={on_host}>
                    <option value={GITHUB} selected={current == GITHUB}>{ "GitHub" }</option>
                    { for forges.iter().map(|(h, kind)| html! {
                        <option value={h.clone()} selected={current == *h}>{ format!("{h} ({kind})") }</option>
                    }) }
                </select>
            }
            <input type="search" data-testid="sidebar-repos-search" placeholder="Search repositories"
                   aria-label="Search repositories" value={search.input.clone()} oninput={search.on_input.clone()} />
            <ul class="task-links repo-links" data-testid="sidebar-repo-list" {onscroll}>
                { for listing.items.iter().map(|r| {
                    let count = count_of.get(r.repo_url.as_str()).copied().unwrap_or(0);
                    html! {
                        <li key={r.full_name.clone()} data-testid="sidebar-repo" data-repo={r.full_name.clone()}>
                            <Link<Route> to={route_of(&current, r)}>
                                <span class="task-title">{ &r.full_name }</span>
                                <span class="badge" data-testid="sidebar-repo-count" title="Your tasks on it">{ count }</span>
                            </Link<Route>>
                        </li>
                    }
                }) }
                if !listing.loading && listing.error.is_none() && listing.items.is_empty() {
                    <li class="muted" data-testid="sidebar-repos-empty">{ "No repositories." }</li>
                }
            </ul>
            if listing.loading { { loading() } }
            if let Some(e) = &listing.error { <ErrorBox error={e.clone()} /> }
            if listing.next_cursor.is_some() && !listing.loading {
                <button class="btn small" data-testid="sidebar-repos-more" onclick={more.reform(|_: MouseEvent| ())}>{ "Load more" }</button>
            }
        </div>
    }
}
