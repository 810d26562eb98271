//! Git hosts: a personal access token per host (GitHub, GitLab, Gitea/Forgejo or a plain git
//! host), write-only. The list shows the host, kind, API URL and the token's last 4
//! characters, never the token.

use shared::git_hosts::{GitHostKind, PutGitCredential};
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{bind, bind_select, confirm};
use crate::hooks::{use_action, use_fetch};
use crate::services::api;
use crate::util::{now_ms, relative_time};

/// The git hosts section.
#[component]
pub fn GitHosts() -> Html {
    let list = use_fetch((), |()| api::git_credentials());
    let host = use_state(String::new);
    let kind = use_state(|| GitHostKind::Gitlab.as_str().to_owned());
    let api_url = use_state(String::new);
    let token = use_state(String::new);
    let save = {
        let (host, api_url, token, reload) =
            (host.clone(), api_url.clone(), token.clone(), list.reload.clone());
        use_action(move |(h, body): (String, PutGitCredential)| {
            let (host, api_url, token, reload) =
                (host.clone(), api_url.clone(), token.clone(), reload.clone());
            async move {
                api::put_git_credential(&h, &body).await?;
                host.set(String::new());
                api_url.set(String::new());
                token.set(String::new());
                reload.emit(());
                Ok(())
            }
        })
    };
    let remove = {
        let reload = list.reload.clone();
        use_action(move |h: String| {
            let reload = reload.clone();
            async move {
                let result = api::delete_git_credential(&h).await;
                reload.emit(());
                result
            }
        })
    };
    let onsubmit = {
        let (host, kind, api_url, token, run) =
            (host.clone(), kind.clone(), api_url.clone(), token.clone(), save.run.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let kind = GitHostKind::parse(&kind).unwrap_or(GitHostKind::Git);
            let api_url = (!api_url.trim().is_empty()).then(|| api_url.trim().to_owned());
            run.emit((
                host.trim().to_owned(),
                PutGitCredential { kind, api_url, token: token.trim().to_owned() },
            ));
        })
    };
    let is_git = *kind == GitHostKind::Git.as_str();
    let now = now_ms();
    html! {
        <div class="card" data-testid="git-hosts">
            <p class="muted">{ "A personal access token per git host. Drydock uses it to clone and push to that host only, and for that forge's API; tokens are encrypted at rest and never shown again. A GitHub token for this server's GitHub stands in for signing in with GitHub." }</p>
            <form class="row wrap" id="git-host-form" data-testid="git-host-form" {onsubmit}>
                <label for="git-host-host" class="sr-only">{ "Host" }</label>
                <input id="git-host-host" data-testid="git-host-host" placeholder="Host (gitlab.example.com)" required=true
                       value={(*host).clone()} oninput={bind(&host)} />
                <label for="git-host-kind" class="sr-only">{ "Kind" }</label>
                <select id="git-host-kind" data-testid="git-host-kind" onchange={bind_select(&kind)}>
                    { for GitHostKind::ALL.into_iter().map(|k| html! {
                        <option value={k.as_str()} selected={*kind == k.as_str()}>{ k.label() }</option>
                    }) }
                </select>
                <label for="git-host-api-url" class="sr-only">{ "API URL" }</label>
                <input id="git-host-api-url" data-testid="git-host-api-url" type="url" disabled={is_git}
                       placeholder={if is_git { "No API for plain git hosts" } else { "API URL (optional: defaulted from the host)" }}
                       value={(*api_url).clone()} oninput={bind(&api_url)} />
                <label for="git-host-token" class="sr-only">{ "Token" }</label>
                <input id="git-host-token" data-testid="git-host-token" type="password" autocomplete="off" required=true
                       placeholder="Personal access token" value={(*token).clone()} oninput={bind(&token)} />
                <button class="btn primary" id="git-host-save" data-testid="git-host-save" type="submit" disabled={save.busy}>{ "Save" }</button>
            </form>
            { maybe_error(&save.error) }
            { maybe_error(&remove.error) }
            { async_content(&list.state, |creds| html! {
                <table class="list" data-testid="git-host-list">
                    <thead><tr><th>{ "Host" }</th><th>{ "Kind" }</th><th>{ "API URL" }</th><th>{ "Token" }</th><th>{ "Added" }</th><th>{ "Last used" }</th><th /></tr></thead>
                    <tbody>
                    if creds.is_empty() { <tr><td colspan="7" class="muted">{ "No git hosts." }</td></tr> }
                    { for creds.iter().map(|c| {
                        let (h, run) = (c.host.clone(), remove.run.clone());
                        let on_remove = Callback::from(move |_: MouseEvent| {
                            if confirm("Remove this token? Tasks on this host will no longer be able to push.") {
                                run.emit(h.clone());
                            }
                        });
                        html! {
                            <tr key={c.host.clone()} data-testid="git-host-row" data-host={c.host.clone()}>
                                <td><code>{ &c.host }</code></td>
                                <td>{ c.kind.label() }</td>
                                <td>{ c.api_url.clone().unwrap_or_else(|| "—".into()) }</td>
                                <td><code data-testid="git-host-last4">{ format!("••••{}", c.token_last4) }</code></td>
                                <td>{ relative_time(c.created_at, now) }</td>
                                <td>{ c.last_used_at.map_or_else(|| "never".to_owned(), |d| relative_time(d, now)) }</td>
                                <td><button class="btn small danger-text" data-testid="git-host-remove" onclick={on_remove}>{ "Remove" }</button></td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
            }) }
        </div>
    }
}
