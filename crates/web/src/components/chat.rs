//! The chat: the task's conversation, follow-ups, and Stop while a run is active.

use shared::tasks::{CreateMessage, MessageRole};
use uuid::Uuid;
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{is_submit_key, target_value};
use crate::components::markdown::Markdown;
use crate::hooks::{use_action, use_fetch, use_stored};
use crate::services::api;

/// Props of [`Chat`].
#[derive(Properties, PartialEq)]
pub struct ChatProps {
    /// The task.
    pub task_id: Uuid,
    /// Whether a run is active (shows Stop instead of Send).
    pub running: bool,
    /// Changes whenever the conversation may have changed (a run ended).
    pub refresh: usize,
    /// Called after a follow-up was accepted (the page reconnects the stream).
    pub on_sent: Callback<()>,
    /// Called after a stop was requested.
    pub on_stop: Callback<()>,
}

/// The conversation and its input.
#[component]
pub fn Chat(props: &ChatProps) -> Html {
    let id = props.task_id;
    let messages = use_fetch((id, props.refresh), |(id, _)| api::messages(id));
    let (draft, set_draft) = use_stored(format!("drydock-chat-{id}"), String::new());
    let send = {
        let (set_draft, on_sent) = (set_draft.clone(), props.on_sent.clone());
        let reload = messages.reload.clone();
        use_action(move |content: String| {
            let (set_draft, on_sent, reload) = (set_draft.clone(), on_sent.clone(), reload.clone());
            async move {
                api::send_message(id, &CreateMessage { content }).await?;
                set_draft.emit(String::new());
                reload.emit(());
                on_sent.emit(());
                Ok(())
            }
        })
    };
    let stop = {
        let on_stop = props.on_stop.clone();
        use_action(move |()| {
            let on_stop = on_stop.clone();
            async move {
                api::stop_task(id).await?;
                on_stop.emit(());
                Ok(())
            }
        })
    };
    // Enter and the Send button both end here; an empty draft sends nothing.
    let submit = {
        let (run, draft) = (send.run.clone(), draft.clone());
        Callback::from(move |()| {
            let content = draft.trim().to_owned();
            if !content.is_empty() {
                run.emit(content);
            }
        })
    };
    let onkeydown = {
        let submit = submit.clone();
        Callback::from(move |e: KeyboardEvent| {
            if is_submit_key(&e, true) {
                e.prevent_default();
                submit.emit(());
            }
        })
    };
    let onsubmit = {
        let submit = submit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            submit.emit(());
        })
    };
    let oninput = {
        let set = set_draft.clone();
        Callback::from(move |e: InputEvent| set.emit(target_value(&e)))
    };
    html! {
        <div class="chat" data-testid="chat">
            { async_content(&messages.state, |list| html! {
                <ol class="messages" data-testid="messages">
                    { for list.iter().map(|m| {
                        let role = match m.role { MessageRole::User => "user", MessageRole::Agent => "agent" };
                        html! {
                            <li key={m.id.to_string()} class={classes!("message", role)} data-testid="message" data-role={role}>
                                if m.role == MessageRole::Agent {
                                    <Markdown source={AttrValue::from(m.content.clone())} />
                                } else {
                                    <div class="user-text">{ &m.content }</div>
                                }
                            </li>
                        }
                    }) }
                </ol>
            }) }
            { maybe_error(&send.error) }
            { maybe_error(&stop.error) }
            <form class="chat-input" id="chat-form" data-testid="chat-form" {onsubmit}>
                <textarea id="chat-input" data-testid="chat-input" rows="3" value={(*draft).clone()}
                          placeholder="Send a follow-up… (Enter to send, Shift+Enter for a new line)"
                          disabled={props.running} {oninput} {onkeydown} />
                if props.running {
                    <button type="button" class="btn danger" id="chat-stop" data-testid="chat-stop"
                            disabled={stop.busy} onclick={stop.run.reform(|_: MouseEvent| ())}>{ "Stop" }</button>
                } else {
                    <button type="submit" class="btn primary" id="chat-send" data-testid="chat-send"
                            disabled={send.busy || draft.trim().is_empty()}>{ "Send" }</button>
                }
            </form>
        </div>
    }
}
