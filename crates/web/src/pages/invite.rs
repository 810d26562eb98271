//! The invitation page (`/invite?token=...`, the link an administrator hands out): make a local
//! account, or sign in with a provider, once.

use serde::Deserialize;
use shared::auth::AcceptInvite;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::bind;
use crate::hooks::{use_action, use_fetch, use_session};
use crate::services::{api, config};
use crate::util::encode_component;

#[derive(Debug, Default, Deserialize)]
struct InviteQuery {
    #[serde(default)]
    token: Option<String>,
}

/// Minimum password length, as the API enforces it.
const PASSWORD_MIN: usize = 8;

/// The page.
#[component]
pub fn Invite() -> Html {
    let session = use_session();
    let token: String = use_location()
        .and_then(|l| l.query::<InviteQuery>().ok())
        .and_then(|q| q.token)
        .unwrap_or_default();
    let methods = use_fetch((), |()| api::auth_methods());
    let username = use_state(String::new);
    let password = use_state(String::new);
    let navigator = use_navigator();
    use_effect_with(session.me().is_some(), move |signed_in| {
        if *signed_in {
            if let Some(n) = &navigator {
                n.push(&Route::Home);
            }
        }
    });
    let accept = {
        let set = session.set.clone();
        use_action(move |body: AcceptInvite| {
            let set = set.clone();
            async move {
                set.emit(Some(api::accept_invite(&body).await?));
                Ok(())
            }
        })
    };
    let too_short = !password.is_empty() && password.chars().count() < PASSWORD_MIN;
    let onsubmit = {
        let (username, password, run, token) =
            (username.clone(), password.clone(), accept.run.clone(), token.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if !too_short {
                run.emit(AcceptInvite {
                    invite_token: token.clone(),
                    username: (*username).clone(),
                    password: (*password).clone(),
                });
            }
        })
    };
    let base = config::base_url();
    html! {
        <section class="card narrow sign-in" id="invite" data-testid="invite">
            <h1>{ "You are invited to Drydock" }</h1>
            if token.is_empty() {
                <p class="error-box" data-testid="invite-no-token">{ "This link has no invitation token. Use the full link you were sent." }</p>
            }
            { async_content(&methods.state, |m| html! {
                <>
                <div class="providers">
                    { for m.providers.iter().map(|p| {
                        let sep = if p.login_url.contains('?') { '&' } else { '?' };
                        let href = format!("{}{sep}invite={}", config::join(&base, &p.login_url), encode_component(&token));
                        html! {
                            <a class="btn provider" href={href} data-testid={format!("invite-provider-{}", p.id)}>
                                { format!("Continue with {}", p.name) }
                            </a>
                        }
                    }) }
                </div>
                if m.local {
                    if !m.providers.is_empty() { <div class="divider">{ "or make an account" }</div> }
                    <form data-testid="invite-form" onsubmit={onsubmit.clone()}>
                        <label for="invite-username">{ "Username" }</label>
                        <input id="invite-username" autocomplete="username" required=true
                               value={(*username).clone()} oninput={bind(&username)} />
                        <label for="invite-password">{ "Password" }</label>
                        <input id="invite-password" type="password" autocomplete="new-password" required=true
                               minlength={PASSWORD_MIN.to_string()} value={(*password).clone()} oninput={bind(&password)} />
                        if too_short { <p class="field-error">{ format!("The password needs at least {PASSWORD_MIN} characters.") }</p> }
                        { maybe_error(&accept.error) }
                        <button class="btn primary" type="submit" data-testid="invite-submit"
                                disabled={accept.busy || token.is_empty()}>{ "Create account" }</button>
                    </form>
                }
                </>
            }) }
            <p><Link<Route> to={Route::SignIn}>{ "I already have an account" }</Link<Route>></p>
        </section>
    }
}
