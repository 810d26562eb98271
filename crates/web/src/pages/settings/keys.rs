//! Provider API keys: write-only. The page shows whether a key is set (and its last 4
//! characters), never the key itself.

use shared::agents::{KeyProvider, KeyStatus, PutKey};
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{bind, confirm};
use crate::hooks::{use_action, use_fetch};
use crate::services::api;
use crate::util::provider_label;

/// The keys section.
#[component]
pub fn Keys() -> Html {
    let list = use_fetch((), |()| api::keys());
    html! {
        <div class="card" data-testid="keys">
            <p class="muted">{ "Agents run with your own keys. Keys are encrypted at rest and never shown again." }</p>
            { async_content(&list.state, |keys| html! {
                <div class="key-rows">
                    { for KeyProvider::ALL.into_iter().map(|p| {
                        let status = keys.iter().find(|k| k.provider == p).cloned();
                        html! { <KeyRow provider={p} {status} reload={list.reload.clone()} /> }
                    }) }
                </div>
            }) }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct KeyRowProps {
    provider: KeyProvider,
    status: Option<KeyStatus>,
    reload: Callback<()>,
}

#[component]
fn KeyRow(props: &KeyRowProps) -> Html {
    let value = use_state(String::new);
    let base_url =
        use_state(|| props.status.as_ref().and_then(|s| s.base_url.clone()).unwrap_or_default());
    let provider = props.provider;
    let p = provider.as_str();
    let configured = props.status.as_ref().is_some_and(|s| s.configured);
    let save = {
        let (value, reload) = (value.clone(), props.reload.clone());
        use_action(move |body: PutKey| {
            let (value, reload) = (value.clone(), reload.clone());
            async move {
                api::set_key(provider, &body).await?;
                value.set(String::new());
                reload.emit(());
                Ok(())
            }
        })
    };
    let remove = {
        let reload = props.reload.clone();
        use_action(move |()| {
            let reload = reload.clone();
            async move {
                let result = api::delete_key(provider).await;
                reload.emit(());
                result
            }
        })
    };
    let onsubmit = {
        let (value, base_url, run) = (value.clone(), base_url.clone(), save.run.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit(PutKey {
                value: value.trim().to_owned(),
                base_url: (!base_url.trim().is_empty()).then(|| base_url.trim().to_owned()),
            });
        })
    };
    let clear = {
        let run = remove.run.clone();
        Callback::from(move |_: MouseEvent| {
            if confirm("Remove this key?") {
                run.emit(());
            }
        })
    };
    html! {
        <form class="key-row" id={format!("key-form-{p}")} data-testid="key-row" data-provider={p} data-configured={configured.to_string()} {onsubmit}>
            <div class="row">
                <strong>{ provider_label(props.provider) }</strong>
                <span class="spacer" />
                if configured {
                    <span class="badge ok" data-testid="key-configured">
                        { format!("Configured{}", props.status.as_ref().and_then(|s| s.last4.clone()).map(|l| format!(" ••••{l}")).unwrap_or_default()) }
                    </span>
                } else {
                    <span class="badge" data-testid="key-missing">{ "Not set" }</span>
                }
            </div>
            <div class="row wrap">
                <input type="password" id={format!("key-value-{p}")} data-testid="key-value" autocomplete="off"
                       placeholder={if configured { "Replace key…" } else { "Paste key…" }} required=true
                       value={(*value).clone()} oninput={bind(&value)} />
                <input type="url" id={format!("key-base-url-{p}")} data-testid="key-base-url" placeholder="Base URL (optional)"
                       value={(*base_url).clone()} oninput={bind(&base_url)} />
                <button class="btn primary small" type="submit" data-testid="key-save" disabled={save.busy}>{ "Save" }</button>
                if configured {
                    <button class="btn small danger-text" type="button" data-testid="key-delete" onclick={clear}>{ "Remove" }</button>
                }
            </div>
            { maybe_error(&save.error) }
            { maybe_error(&remove.error) }
        </form>
    }
}
