//! Personal API tokens: create (the secret is shown once), list, revoke.

use shared::tokens::{CreateToken, CreatedToken, TOKEN_NAME_MAX};
use uuid::Uuid;
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{bind, confirm, copy_text};
use crate::hooks::{use_action, use_fetch};
use crate::services::api;
use crate::util::{now_ms, relative_time};

/// The tokens section.
#[component]
pub fn Tokens() -> Html {
    let list = use_fetch((), |()| api::tokens());
    let name = use_state(String::new);
    let created = use_state(|| None::<CreatedToken>);
    let create = {
        let (name, created, reload) = (name.clone(), created.clone(), list.reload.clone());
        use_action(move |body: CreateToken| {
            let (name, created, reload) = (name.clone(), created.clone(), reload.clone());
            async move {
                created.set(Some(api::create_token(&body).await?));
                name.set(String::new());
                reload.emit(());
                Ok(())
            }
        })
    };
    let revoke = {
        let reload = list.reload.clone();
        use_action(move |id: Uuid| {
            let reload = reload.clone();
            async move {
                let result = api::revoke_token(id).await;
                reload.emit(());
                result
            }
        })
    };
    let onsubmit = {
        let (name, run) = (name.clone(), create.run.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit(CreateToken { name: name.trim().to_owned(), ..Default::default() });
        })
    };
    let now = now_ms();
    html! {
        <div class="card" data-testid="tokens">
            <p class="muted">{ "Tokens authenticate scripts against the REST API: " }<code>{ "Authorization: Bearer <token>" }</code></p>
            <form class="row wrap" id="token-form" data-testid="token-form" {onsubmit}>
                <label for="token-name" class="sr-only">{ "Token name" }</label>
                <input id="token-name" data-testid="token-name" placeholder="Token name (e.g. CI)" required=true
                       maxlength={TOKEN_NAME_MAX.to_string()} value={(*name).clone()} oninput={bind(&name)} />
                <button class="btn primary" id="token-create" data-testid="token-create" type="submit" disabled={create.busy}>{ "Create token" }</button>
            </form>
            { maybe_error(&create.error) }
            { maybe_error(&revoke.error) }
            if let Some(t) = &*created {
                <div class="secret-once" data-testid="token-secret-box">
                    <p><strong>{ format!("Token “{}” created.", t.token.name) }</strong>{ " Copy it now: it will not be shown again." }</p>
                    <div class="row">
                        <code id="token-secret" data-testid="token-secret">{ &t.secret }</code>
                        <button class="btn small" data-testid="token-copy" onclick={let s = t.secret.clone(); move |_| copy_text(&s)}>{ "Copy" }</button>
                        <button class="btn small" data-testid="token-dismiss" onclick={let c = created.clone(); move |_| c.set(None)}>{ "Done" }</button>
                    </div>
                </div>
            }
            { async_content(&list.state, |tokens| html! {
                <table class="list" data-testid="token-list">
                    <thead><tr><th>{ "Name" }</th><th>{ "Prefix" }</th><th>{ "Created" }</th><th>{ "Last used" }</th><th /></tr></thead>
                    <tbody>
                    if tokens.is_empty() { <tr><td colspan="5" class="muted">{ "No tokens." }</td></tr> }
                    { for tokens.iter().map(|t| {
                        let (id, run) = (t.id, revoke.run.clone());
                        let on_revoke = Callback::from(move |_: MouseEvent| {
                            if confirm("Revoke this token? Scripts using it will stop working.") {
                                run.emit(id);
                            }
                        });
                        html! {
                            <tr key={t.id.to_string()} data-testid="token-row" data-token-id={t.id.to_string()}>
                                <td>{ &t.name }</td>
                                <td><code>{ format!("{}…", t.prefix) }</code></td>
                                <td>{ relative_time(t.created_at, now) }</td>
                                <td>{ t.last_used_at.map_or_else(|| "never".to_owned(), |d| relative_time(d, now)) }</td>
                                <td><button class="btn small danger-text" data-testid="token-revoke" onclick={on_revoke}>{ "Revoke" }</button></td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
            }) }
        </div>
    }
}
