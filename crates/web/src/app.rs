//! Routes, the session provider and the signed-in shell (header, sidebar, shortcuts).

use std::rc::Rc;

use gloo_events::EventListener;
use shared::auth::Me;
use uuid::Uuid;
use wasm_bindgen::JsCast;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::async_content::loading;
use crate::components::icon::{Icon, IconName};
use crate::components::lazy_pages::LazyPages;
use crate::components::sandboxes_dialog::SandboxesButton;
use crate::components::shortcuts::ShortcutHelp;
use crate::components::sidebar::Sidebar;
use crate::components::toasts::ToastProvider;
use crate::components::user_menu::UserMenu;
use crate::hooks::{Session, SessionState};
use crate::layout::is_narrow;
use crate::pages::admin::Admin;
use crate::pages::home::Home;
use crate::pages::invite::Invite;
use crate::pages::not_found::NotFound;
use crate::pages::repo::RepoPage;
use crate::pages::settings::Settings;
use crate::pages::sign_in::{Setup, SignIn};
use crate::pages::task::TaskPage;
use crate::pages::tasks::TaskList;
use crate::services::api::RepoSource;
use crate::services::{api, client, config, storage};
use crate::theme::Theme;

/// The SPA's routes (yew-router 0.20 uses `:param` segments).
#[derive(Debug, Clone, PartialEq, Eq, Routable)]
pub enum Route {
    /// New task form.
    #[at("/")]
    Home,
    /// Sign-in page (`?redirect=/path`, `?error=<reason>` after a failed provider sign-in).
    #[at("/sign-in")]
    SignIn,
    /// The same page under the name links elsewhere use.
    #[at("/login")]
    Login,
    /// First-run setup (`?token=...`, the link printed by `drydock serve`).
    #[at("/setup")]
    Setup,
    /// An invitation (`?token=...`, the link an administrator hands out).
    #[at("/invite")]
    Invite,
    /// Administration: users, invitations, limits (administrators only).
    #[at("/admin")]
    Admin,
    /// All tasks.
    #[at("/tasks")]
    Tasks,
    /// One task.
    #[at("/tasks/:id")]
    Task {
        /// Task id.
        id: Uuid,
    },
    /// A GitHub repository's issues, pull requests and commits.
    #[at("/repos/:owner/:repo")]
    Repo {
        /// Owner login.
        owner: String,
        /// Repository name.
        repo: String,
    },
    /// A GitLab or Gitea repository's issues, merge requests and commits.
    #[at("/forges/:host/*path")]
    ForgeRepo {
        /// The forge's host (`name` or `name:port`).
        host: String,
        /// The project's path (`owner/name`, `group/sub/name`).
        path: String,
    },
    /// Settings, first section.
    #[at("/settings")]
    Settings,
    /// Settings section: `tokens`, `keys` or `connectors`.
    #[at("/settings/:section")]
    SettingsSection {
        /// Section name.
        section: String,
    },
    /// The new-task form for a GitHub repository (`?agent=&model=&prompt=&branch=` too).
    #[at("/:owner/:repo")]
    RepoLink {
        /// Owner login.
        owner: String,
        /// Repository name.
        repo: String,
    },
    /// Anything else.
    #[not_found]
    #[at("/404")]
    NotFound,
}

impl Route {
    /// Routes shown without signing in.
    pub fn is_public(&self) -> bool {
        matches!(self, Self::SignIn | Self::Login | Self::Setup | Self::Invite | Self::NotFound)
    }
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <Home /> },
        Route::RepoLink { owner, repo } => html! { <Home github={Some((owner, repo))} /> },
        Route::Tasks => html! { <TaskList /> },
        Route::Task { id } => html! { <TaskPage key={id.to_string()} {id} /> },
        Route::NotFound => html! { <NotFound /> },
        // The rest are loaded on demand (see `components::lazy_pages`), which renders them
        // through `lazy_switch`.
        _ => html! { <LazyPages /> },
    }
}

/// The pages of the lazily loaded module (`crates/web-lazy`), by route; the main app's
/// `switch` never reaches these, so its bundle does not contain them.
pub fn lazy_switch(route: Route) -> Html {
    match route {
        Route::SignIn | Route::Login => html! { <SignIn /> },
        Route::Setup => html! { <Setup /> },
        Route::Invite => html! { <Invite /> },
        Route::Admin => html! { <Admin /> },
        Route::Repo { owner, repo } => {
            html! { <RepoPage source={RepoSource::Github { owner, repo }} /> }
        }
        Route::ForgeRepo { host, path } => {
            html! { <RepoPage source={RepoSource::Forge { host, path }} /> }
        }
        Route::Settings => html! { <Settings section="tokens" /> },
        Route::SettingsSection { section } => html! { <Settings {section} /> },
        Route::Home
        | Route::RepoLink { .. }
        | Route::Tasks
        | Route::Task { .. }
        | Route::NotFound => Html::default(),
    }
}

/// `localStorage` key of the sidebar's open state.
const SIDEBAR_KEY: &str = "drydock-sidebar-open";

/// The path and query of the page shown.
pub fn current_path() -> String {
    web_sys::window()
        .map(|w| {
            let l = w.location();
            format!("{}{}", l.pathname().unwrap_or_default(), l.search().unwrap_or_default())
        })
        .unwrap_or_else(|| "/".to_owned())
}

/// The root component: theme, runtime config, session.
#[component]
pub fn App() -> Html {
    let state = use_state(|| SessionState::Unknown);
    let set = {
        let state = state.clone();
        Callback::from(move |me: Option<Me>| {
            client::set_csrf_token(me.as_ref().and_then(|m| m.csrf_token.clone()));
            state.set(match me {
                Some(me) => SessionState::SignedIn(Rc::new(me)),
                None => SessionState::SignedOut,
            });
        })
    };
    {
        let set = set.clone();
        use_effect_with((), move |()| {
            Theme::load().apply();
            let on_401 = set.clone();
            client::set_unauthorized_handler(Callback::from(move |()| on_401.emit(None)));
            wasm_bindgen_futures::spawn_local(async move {
                config::load().await;
                set.emit(api::me().await.ok());
            });
        });
    }
    let session = Session { state: (*state).clone(), set };
    html! {
        <ContextProvider<Session> context={session}>
            <BrowserRouter>
                <ToastProvider>
                    <Shell />
                </ToastProvider>
            </BrowserRouter>
        </ContextProvider<Session>>
    }
}

#[component]
fn Shell() -> Html {
    let session = crate::hooks::use_session();
    let route = use_route::<Route>().unwrap_or(Route::NotFound);
    let navigator = use_navigator();
    let sidebar_open = use_state(|| match storage::get(SIDEBAR_KEY).as_deref() {
        Some("0") => false,
        Some(_) => !is_narrow(),
        None => !is_narrow(),
    });
    let toggle_sidebar = {
        let open = sidebar_open.clone();
        Callback::from(move |()| {
            let next = !*open;
            storage::set(SIDEBAR_KEY, if next { "1" } else { "0" });
            open.set(next);
        })
    };
    {
        // Ctrl/Cmd+B anywhere toggles the sidebar.
        let toggle = toggle_sidebar.clone();
        use_effect_with((), move |()| {
            let listener = web_sys::window().map(|w| {
                EventListener::new(&w, "keydown", move |e| {
                    if let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() {
                        if (k.ctrl_key() || k.meta_key()) && k.key().eq_ignore_ascii_case("b") {
                            k.prevent_default();
                            toggle.emit(());
                        }
                    }
                })
            });
            move || drop(listener)
        });
    }
    {
        // On a phone, following a link closes the overlay.
        let open = sidebar_open.clone();
        use_effect_with(route.clone(), move |_| {
            if is_narrow() {
                open.set(false);
            }
        });
    }
    let signed_out = session.state == SessionState::SignedOut;
    {
        let navigator = navigator.clone();
        use_effect_with((signed_out, route.clone()), move |(signed_out, route)| {
            if *signed_out && !route.is_public() {
                if let Some(nav) = navigator {
                    let _ = nav.replace_with_query(&Route::SignIn, &[("redirect", current_path())]);
                }
            }
        });
    }
    if route.is_public() {
        return html! {
            <main class="public-main" id="main">
                <Switch<Route> render={switch} />
            </main>
        };
    }
    let Some(me) = session.me() else {
        return html! { <main class="public-main">{ loading() }</main> };
    };
    let close_sidebar = {
        let t = toggle_sidebar.clone();
        Callback::from(move |_: MouseEvent| t.emit(()))
    };
    let open = *sidebar_open;
    html! {
        <div class={classes!("shell", open.then_some("sidebar-open"))}>
            <header class="topbar">
                <button class="icon-btn" id="sidebar-toggle" data-testid="sidebar-toggle"
                        title="Toggle sidebar (Ctrl/Cmd+B)" aria-expanded={open.to_string()}
                        aria-label="Toggle sidebar"
                        onclick={let t = toggle_sidebar.clone(); move |_| t.emit(())}><Icon name={IconName::Menu} /></button>
                <Link<Route> to={Route::Home} classes="brand">{ "Drydock" }</Link<Route>>
                <span class="spacer" />
                <Link<Route> to={Route::Home} classes="btn small" ><Icon name={IconName::Plus} /><span class="label">{ "New task" }</span></Link<Route>>
                <SandboxesButton />
                <ShortcutHelp />
                <UserMenu me={me} />
            </header>
            if open {
                <div class="backdrop" onclick={close_sidebar} data-testid="sidebar-backdrop" />
                <Sidebar />
            }
            <main class="content" id="main">
                <Switch<Route> render={switch} />
            </main>
        </div>
    }
}
