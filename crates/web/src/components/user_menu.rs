//! The user menu: remaining daily quota, theme, settings and sign out.

use std::rc::Rc;

use shared::auth::Me;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::async_content;
use crate::hooks::{use_action, use_fetch, use_session};
use crate::services::api;
use crate::theme::Theme;

/// Props of [`UserMenu`].
#[derive(Properties, PartialEq)]
pub struct UserMenuProps {
    /// The signed-in user.
    pub me: Rc<Me>,
}

/// The avatar button and its menu.
#[component]
pub fn UserMenu(props: &UserMenuProps) -> Html {
    let open = use_state(|| false);
    let theme = use_state(Theme::load);
    let session = use_session();
    let navigator = use_navigator();
    // Fetched each time the menu opens, as the count changes with every task.
    let quota = use_fetch(*open, |open| async move {
        if open {
            api::quota().await.map(Some)
        } else {
            Ok(None)
        }
    });
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    // Signed out locally even if the call fails: the cookie may already be gone.
    let sign_out = {
        let set = session.set.clone();
        use_action(move |revoke_github: bool| {
            let (set, navigator) = (set.clone(), navigator.clone());
            async move {
                let _ = api::logout(revoke_github).await;
                set.emit(None);
                if let Some(n) = navigator {
                    n.push(&Route::SignIn);
                }
                Ok(())
            }
        })
    };
    let me = &props.me;
    let display = me.name.clone().unwrap_or_else(|| me.username.clone());
    html! {
        <div class="user-menu">
            <button class="avatar-btn" id="user-menu-button" data-testid="user-menu-button"
                    aria-haspopup="true" aria-expanded={open.to_string()} onclick={toggle.clone()}>
                { display.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default() }
            </button>
            if *open {
                <div class="menu" id="user-menu" data-testid="user-menu" role="menu">
                    <div class="menu-head">
                        <strong data-testid="user-name">{ display }</strong>
                        <small class="muted">{ format!("@{}", me.username) }</small>
                    </div>
                    <div class="menu-item" data-testid="quota">
                        { async_content(&quota.state, |q| match q {
                            Some(q) => html! { <span data-remaining={q.remaining.to_string()}>{ format!("{} of {} tasks left today", q.remaining, q.total) }</span> },
                            None => Html::default(),
                        }) }
                    </div>
                    <div class="menu-item theme-choice" role="group" aria-label="Theme">
                        <span>{ "Theme" }</span>
                        { for Theme::ALL.into_iter().map(|t| {
                            let selected = *theme == t;
                            let theme = theme.clone();
                            let onclick = Callback::from(move |_: MouseEvent| { t.save(); theme.set(t); });
                            html! {
                                <button class={classes!("chip", selected.then_some("selected"))}
                                        data-testid={format!("theme-{}", t.as_str())}
                                        aria-pressed={selected.to_string()} {onclick}>{ t.label() }</button>
                            }
                        }) }
                    </div>
                    <div onclick={toggle.clone()}>
                        <Link<Route> to={Route::Settings} classes="menu-item">{ "Settings" }</Link<Route>>
                    </div>
                    if me.is_admin {
                        <div onclick={toggle}>
                            <Link<Route> to={Route::Admin} classes="menu-item">
                                <span data-testid="menu-admin">{ "Administration" }</span>
                            </Link<Route>>
                        </div>
                    }
                    <button class="menu-item danger-text" id="sign-out" data-testid="sign-out"
                            disabled={sign_out.busy} onclick={sign_out.run.reform(|_: MouseEvent| false)}>{ "Sign out" }</button>
                    if me.github_connected {
                        <button class="menu-item danger-text" data-testid="sign-out-revoke"
                                title="Signs out and revokes Drydock's access to your GitHub account"
                                disabled={sign_out.busy} onclick={sign_out.run.reform(|_: MouseEvent| true)}>{ "Sign out and revoke GitHub access" }</button>
                    }
                </div>
            }
        </div>
    }
}
