//! Sign-in (OAuth providers and the local form) and first-run setup.

use serde::Deserialize;
use shared::auth::{LocalLogin, SetupRequest, SignInFailure};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::bind;
use crate::hooks::{use_action, use_fetch, use_session};
use crate::services::{api, config};
use crate::util::{encode_component, is_safe_redirect};

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    #[serde(default)]
    redirect: Option<String>,
    /// Why a provider sign-in failed (`/sign-in?error=...` from the API's OAuth callback).
    #[serde(default)]
    error: Option<String>,
}

/// What a failed provider sign-in means, for people: what went wrong, then what to do.
fn sign_in_error(code: &str) -> (&'static str, &'static str) {
    let Some(reason) = SignInFailure::parse(code) else {
        return ("Signing in with the provider failed.", "Try again.");
    };
    match reason {
        SignInFailure::AccessDenied => (
            "Signing in was cancelled at the provider.",
            "To sign in, continue again and allow Drydock access.",
        ),
        SignInFailure::ProviderError => (
            "The provider refused to sign you in to Drydock.",
            "The server's OAuth application may be misconfigured or suspended: tell an administrator.",
        ),
        SignInFailure::StateMismatch => (
            "This sign-in could not be matched to one started in this browser.",
            "It may have expired or been started in another tab or browser. Start again from this page.",
        ),
        SignInFailure::TokenExchangeFailed => (
            "The provider did not confirm the sign-in.",
            "It may be unreachable for a moment. Try again; if it keeps failing, tell an administrator.",
        ),
        SignInFailure::ProfileFailed => (
            "Your profile could not be read from the provider.",
            "Try again; if it keeps failing, tell an administrator.",
        ),
        SignInFailure::AccountDisabled => {
            ("This account is disabled.", "Ask an administrator to enable it.")
        }
        SignInFailure::RegistrationClosed => (
            "This server does not take new accounts.",
            "Ask an administrator for an invitation link.",
        ),
        SignInFailure::InviteInvalid => (
            "That invitation is invalid, expired or already used.",
            "Ask for a new one.",
        ),
        SignInFailure::IdentityInUse => (
            "That GitHub account is connected to another Drydock account.",
            "Sign in with it instead, or disconnect it there first.",
        ),
        SignInFailure::OtherIdentityLinked => (
            "Another GitHub account is connected to this one already.",
            "Disconnect it in Settings → Accounts first.",
        ),
    }
}

#[derive(Debug, Default, Deserialize)]
struct SetupQuery {
    #[serde(default)]
    token: Option<String>,
}

/// Where to go after signing in: the `redirect` query when it is a same-origin path.
fn redirect_target(q: &SignInQuery) -> String {
    q.redirect
        .clone()
        .filter(|r| is_safe_redirect(r) && !r.starts_with("/sign-in") && !r.starts_with("/login"))
        .unwrap_or_else(|| "/".to_owned())
}

/// Navigates to a same-origin path through the router (the query part is dropped).
fn go(navigator: &Option<Navigator>, path: &str) {
    let path = path.split(['?', '#']).next().unwrap_or("/");
    if let Some(n) = navigator {
        n.push(&Route::recognize(path).unwrap_or(Route::Home));
    }
}

/// The sign-in page.
#[component]
pub fn SignIn() -> Html {
    let session = use_session();
    let location = use_location();
    let query: SignInQuery =
        location.and_then(|l| l.query::<SignInQuery>().ok()).unwrap_or_default();
    let target = redirect_target(&query);
    let navigator = use_navigator();
    let methods = use_fetch((), |()| api::auth_methods());
    let username = use_state(String::new);
    let password = use_state(String::new);
    {
        // Someone already signed in who lands here with an error (a failed second sign-in)
        // reads it first: the page offers the way on instead of leaving at once.
        let (target, failed) = (target.clone(), query.error.is_some());
        let navigator = navigator.clone();
        use_effect_with(session.me().is_some(), move |signed_in| {
            if *signed_in && !failed {
                go(&navigator, &target);
            }
        });
    }
    // The session effect above navigates once the user is known.
    let login = {
        let set = session.set.clone();
        use_action(move |body: LocalLogin| {
            let set = set.clone();
            async move {
                set.emit(Some(api::login(&body).await?));
                Ok(())
            }
        })
    };
    let onsubmit = {
        let (username, password, run) = (username.clone(), password.clone(), login.run.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit(LocalLogin { username: (*username).clone(), password: (*password).clone() });
        })
    };
    let base = config::base_url();
    html! {
        <section class="card narrow sign-in" id="sign-in" data-testid="sign-in">
            <h1>{ "Sign in to Drydock" }</h1>
            if let Some(code) = &query.error {
                <div class="error-box" role="alert" data-testid="sign-in-error" data-error={code.clone()}>
                    <strong>{ sign_in_error(code).0 }</strong>
                    <p data-testid="sign-in-error-hint">{ sign_in_error(code).1 }</p>
                </div>
            }
            if session.me().is_some() && query.error.is_some() {
                <p data-testid="signed-in-already">
                    { "You are still signed in. " }
                    <a href={target.clone()} onclick={let (n, t) = (navigator.clone(), target.clone()); move |e: MouseEvent| { e.prevent_default(); go(&n, &t); }}>{ "Continue to Drydock" }</a>
                </p>
            }
            { async_content(&methods.state, |m| html! {
                <>
                if m.setup_required {
                    <p class="notice" data-testid="setup-required">
                        { "No administrator exists yet. Open the setup link printed by " }
                        <code>{ "drydock serve" }</code>{ " to create one." }
                    </p>
                }
                <div class="providers">
                    { for m.providers.iter().map(|p| {
                        let sep = if p.login_url.contains('?') { '&' } else { '?' };
                        let href = format!("{}{sep}redirect={}", config::join(&base, &p.login_url), encode_component(&target));
                        html! {
                            <a class="btn provider" href={href} data-testid={format!("provider-{}", p.id)}>
                                { format!("Continue with {}", p.name) }
                            </a>
                        }
                    }) }
                </div>
                if m.local {
                    if !m.providers.is_empty() { <div class="divider">{ "or" }</div> }
                    <form id="login-form" data-testid="login-form" onsubmit={onsubmit.clone()}>
                        <label for="login-username">{ "Username" }</label>
                        <input id="login-username" name="username" autocomplete="username" required=true
                               value={(*username).clone()} oninput={bind(&username)} />
                        <label for="login-password">{ "Password" }</label>
                        <input id="login-password" name="password" type="password" autocomplete="current-password"
                               required=true value={(*password).clone()} oninput={bind(&password)} />
                        { maybe_error(&login.error) }
                        <button class="btn primary" id="login-submit" data-testid="login-submit" type="submit"
                                disabled={login.busy}>{ if login.busy { "Signing in…" } else { "Sign in" } }</button>
                    </form>
                }
                if !m.local && m.providers.is_empty() {
                    <p class="muted">{ "No sign-in method is configured on this server." }</p>
                }
                </>
            }) }
        </section>
    }
}

/// Minimum password length, as the API enforces it.
const PASSWORD_MIN: usize = 8;

/// The first-run setup page: creates the administrator with the setup token.
#[component]
pub fn Setup() -> Html {
    let session = use_session();
    let location = use_location();
    let token: String = location
        .and_then(|l| l.query::<SetupQuery>().ok())
        .and_then(|q| q.token)
        .unwrap_or_default();
    let username = use_state(String::new);
    let password = use_state(String::new);
    let confirm = use_state(String::new);
    let navigator = use_navigator();
    use_effect_with(session.me().is_some(), move |signed_in| {
        if *signed_in {
            go(&navigator, "/");
        }
    });
    let local_problem = if password.chars().count() < PASSWORD_MIN && !password.is_empty() {
        Some(format!("The password needs at least {PASSWORD_MIN} characters."))
    } else if !confirm.is_empty() && *password != *confirm {
        Some("The passwords differ.".to_owned())
    } else {
        None
    };
    let setup = {
        let set = session.set.clone();
        use_action(move |body: SetupRequest| {
            let set = set.clone();
            async move {
                set.emit(Some(api::setup(&body).await?));
                Ok(())
            }
        })
    };
    let onsubmit = {
        let (username, password, run) = (username.clone(), password.clone(), setup.run.clone());
        let token = token.clone();
        let invalid = local_problem.is_some();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if !invalid {
                run.emit(SetupRequest {
                    setup_token: token.clone(),
                    username: (*username).clone(),
                    password: (*password).clone(),
                });
            }
        })
    };
    html! {
        <section class="card narrow" id="setup" data-testid="setup">
            <h1>{ "Set up Drydock" }</h1>
            <p class="muted">{ "Create the first administrator account." }</p>
            if token.is_empty() {
                <p class="error-box" data-testid="setup-no-token">
                    { "This link has no setup token. Use the full link printed by " }<code>{ "drydock serve" }</code>{ "." }
                </p>
            }
            <form id="setup-form" data-testid="setup-form" {onsubmit}>
                <label for="setup-username">{ "Username" }</label>
                <input id="setup-username" autocomplete="username" required=true
                       value={(*username).clone()} oninput={bind(&username)} />
                <label for="setup-password">{ "Password" }</label>
                <input id="setup-password" type="password" autocomplete="new-password" required=true
                       minlength={PASSWORD_MIN.to_string()} value={(*password).clone()} oninput={bind(&password)} />
                <label for="setup-password-confirm">{ "Repeat password" }</label>
                <input id="setup-password-confirm" type="password" autocomplete="new-password" required=true
                       value={(*confirm).clone()} oninput={bind(&confirm)} />
                if let Some(p) = &local_problem { <p class="field-error" data-testid="setup-invalid">{ p }</p> }
                { maybe_error(&setup.error) }
                <button class="btn primary" id="setup-submit" data-testid="setup-submit" type="submit"
                        disabled={setup.busy || token.is_empty()}>{ "Create administrator" }</button>
            </form>
            <p><Link<Route> to={Route::SignIn}>{ "Back to sign in" }</Link<Route>></p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_the_api_sends_has_its_own_explanation() {
        let fallback = sign_in_error("no-such-reason");
        for reason in SignInFailure::ALL {
            let (what, next) = sign_in_error(reason.as_str());
            assert_ne!((what, next), fallback, "{reason:?} falls back to the generic text");
            assert!(!next.is_empty());
        }
    }
}
