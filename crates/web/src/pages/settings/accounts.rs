//! Connected accounts: a local or single-sign-on user connects GitHub (for its repositories and
//! pull requests) and disconnects it, optionally revoking Drydock's access at GitHub.

use shared::auth::Me;
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::confirm;
use crate::hooks::{use_action, use_fetch, use_session};
use crate::services::{api, config};
use crate::util::encode_component;

/// Where GitHub's consent sends the browser back to.
const BACK: &str = "/settings/accounts";

/// The accounts section.
#[component]
pub fn Accounts() -> Html {
    let session = use_session();
    let methods = use_fetch((), |()| api::auth_methods());
    let revoke = use_state(|| true);
    let disconnect = {
        let (set, revoke) = (session.set.clone(), revoke.clone());
        use_action(move |()| {
            let (set, revoke) = (set.clone(), *revoke);
            async move {
                if confirm("Disconnect GitHub? Tasks on GitHub repositories will need it again.") {
                    api::disconnect_identity("github", revoke).await?;
                    set.emit(Some(api::me().await?));
                }
                Ok(())
            }
        })
    };
    let Some(me) = session.me() else { return Html::default() };
    html! {
        <div class="card" data-testid="accounts">
            <p class="muted">{ "Connect GitHub to pick its repositories, open pull requests and push with your own access." }</p>
            { async_content(&methods.state, |m| {
                let Some(github) = m.providers.iter().find(|p| p.id == "github") else {
                    return html! { <p class="muted" data-testid="github-unavailable">{ "GitHub sign-in is not configured on this server." }</p> };
                };
                row(&me, &github.login_url, &revoke, &disconnect.run, disconnect.busy)
            }) }
            { maybe_error(&disconnect.error) }
        </div>
    }
}

fn row(
    me: &Me,
    login_url: &str,
    revoke: &UseStateHandle<bool>,
    disconnect: &Callback<()>,
    busy: bool,
) -> Html {
    let signs_in_with_it = me.auth_provider == "github";
    if !me.github_connected {
        let sep = if login_url.contains('?') { '&' } else { '?' };
        let href = format!(
            "{}{sep}link=true&redirect={}",
            config::join(&config::base_url(), login_url),
            encode_component(BACK)
        );
        return html! {
            <div class="row wrap" data-testid="github-account" data-connected="false">
                <strong>{ "GitHub" }</strong>
                <span class="muted">{ "Not connected" }</span>
                <a class="btn primary small" href={href} data-testid="connect-github">{ "Connect GitHub" }</a>
            </div>
        };
    }
    let toggle = {
        let revoke = revoke.clone();
        Callback::from(move |_: Event| revoke.set(!*revoke))
    };
    html! {
        <div class="row wrap" data-testid="github-account" data-connected="true">
            <strong>{ "GitHub" }</strong>
            <span>{ "Connected" }</span>
            if signs_in_with_it {
                <span class="muted">{ "You sign in with it, so it stays connected." }</span>
            } else {
                <label class="row">
                    <input type="checkbox" checked={**revoke} onchange={toggle} data-testid="revoke-github" />
                    { "Also revoke Drydock's access at GitHub" }
                </label>
                <button class="btn small danger" data-testid="disconnect-github" disabled={busy}
                        onclick={disconnect.reform(|_: MouseEvent| ())}>{ "Disconnect" }</button>
            }
        </div>
    }
}
