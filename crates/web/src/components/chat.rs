//! The chat: the task's conversation grouped by run, follow-ups, and Stop while a run is active.
//! The agent's messages come from the live event stream as the agent writes them, so a run's
//! progress reads as it happens, not only its final message once it ends.

use std::collections::BTreeMap;

use shared::events::{EventBody, TaskEvent};
use shared::sandboxes::WarningKind;
use shared::tasks::{CreateMessage, MessageRole, TaskMessage};
use uuid::Uuid;
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{is_submit_key, target_value};
use crate::components::markdown::Markdown;
use crate::hooks::{use_action, use_fetch, use_stored, TaskEvents};
use crate::services::api;

/// One entry of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// Something the user wrote (the prompt or a follow-up).
    User(String),
    /// Something the agent wrote, as it streamed or as stored at the end of its run.
    Agent(String),
    /// The run is about to hit its time limit.
    Warning(String),
}

/// The conversation of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunGroup {
    /// The run number (0 for messages that name no run).
    pub run: i32,
    /// Its entries, in order.
    pub entries: Vec<Entry>,
}

/// The conversation grouped by run: each run's user message, then what the agent wrote during
/// it (its `agent_message` events and a time-limit warning), then the run's stored final message
/// unless the stream already showed that text.
pub fn conversation(messages: &[TaskMessage], events: &[TaskEvent]) -> Vec<RunGroup> {
    let mut runs: BTreeMap<i32, RunParts> = BTreeMap::new();
    for m in messages {
        let run = runs.entry(m.run.unwrap_or(0)).or_default();
        match m.role {
            MessageRole::User => run.user.push(Entry::User(m.content.clone())),
            MessageRole::Agent => run.finals.push(m.content.clone()),
        }
    }
    for e in events {
        let Some(run) = e.run else { continue };
        let entry = match &e.body {
            EventBody::AgentMessage { text } if !text.trim().is_empty() => {
                Entry::Agent(text.clone())
            }
            EventBody::Warning { warning: WarningKind::RunTimeLimit, message, .. } => {
                Entry::Warning(message.clone())
            }
            _ => continue,
        };
        runs.entry(run).or_default().streamed.push(entry);
    }
    runs.into_iter().map(|(run, parts)| RunGroup { run, entries: parts.into_entries() }).collect()
}

/// What one run's conversation is made of, before it is put in order.
#[derive(Default)]
struct RunParts {
    user: Vec<Entry>,
    streamed: Vec<Entry>,
    finals: Vec<String>,
}

impl RunParts {
    fn into_entries(self) -> Vec<Entry> {
        let streamed_text: Vec<&str> = self
            .streamed
            .iter()
            .filter_map(|e| match e {
                Entry::Agent(t) => Some(t.trim()),
                _ => None,
            })
            .collect();
        let finals: Vec<Entry> = self
            .finals
            .iter()
            .filter(|f| !streamed_text.contains(&f.trim()))
            .map(|f| Entry::Agent(f.clone()))
            .collect();
        let mut entries = self.user;
        entries.extend(self.streamed.iter().cloned());
        entries.extend(finals);
        entries
    }
}

/// Props of [`Chat`].
#[derive(Properties, PartialEq)]
pub struct ChatProps {
    /// The task.
    pub task_id: Uuid,
    /// The task's live events (the agent's messages as they stream).
    pub events: TaskEvents,
    /// Whether a run is active (shows Stop instead of Send).
    pub running: bool,
    /// Changes whenever the conversation may have changed (a run ended).
    pub refresh: usize,
    /// Called after a follow-up was accepted (the page reconnects the stream).
    pub on_sent: Callback<()>,
    /// Called after a stop was requested.
    pub on_stop: Callback<()>,
}

fn entry(e: &Entry) -> Html {
    match e {
        Entry::User(text) => html! {
            <li class="message user" data-testid="message" data-role="user">
                <div class="user-text">{ text }</div>
            </li>
        },
        Entry::Agent(text) => html! {
            <li class="message agent" data-testid="message" data-role="agent">
                <Markdown source={AttrValue::from(text.clone())} />
            </li>
        },
        Entry::Warning(text) => html! {
            <li class="message warning" data-testid="chat-warning" role="status">
                <strong class="warn">{ text }</strong>
            </li>
        },
    }
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
            { async_content(&messages.state, |list| {
                let groups = props.events.with_log(|log| conversation(list, log.events()));
                html! {
                    <ol class="messages" data-testid="messages">
                        { for groups.iter().map(|g| html! {
                            <li key={g.run} class="chat-run" data-testid="chat-run" data-run={g.run.to_string()}>
                                if groups.len() > 1 && g.run > 0 {
                                    <div class="run-label muted">{ if g.run == 1 { "Run 1".to_owned() } else { format!("Follow-up {} · run {}", g.run - 1, g.run) } }</div>
                                }
                                <ol class="run-messages">
                                    { for g.entries.iter().map(entry) }
                                </ol>
                            </li>
                        }) }
                    </ol>
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn message(role: MessageRole, run: i32, content: &str) -> TaskMessage {
        TaskMessage {
            id: Uuid::from_u128(u128::from(run.unsigned_abs()) << 8 | content.len() as u128),
            role,
            content: content.into(),
            created_at: chrono::Utc::now(),
            run: Some(run),
        }
    }

    fn event(seq: i64, run: i32, body: EventBody) -> TaskEvent {
        TaskEvent { seq, at: chrono::Utc::now(), run: Some(run), body }
    }

    fn say(text: &str) -> EventBody {
        EventBody::AgentMessage { text: text.into() }
    }

    #[test]
    fn runs_group_the_prompt_the_streamed_messages_and_a_new_final_message() {
        let messages = [
            message(MessageRole::User, 1, "Do it"),
            message(MessageRole::Agent, 1, "Done"),
            message(MessageRole::User, 2, "More"),
        ];
        let events = [
            event(1, 1, say("Looking")),
            event(2, 1, EventBody::Stage { stage: shared::tasks::TaskStage::RunningAgent }),
            event(3, 1, say("Done")),
            event(4, 2, say("On it")),
            event(
                5,
                2,
                EventBody::Warning {
                    warning: WarningKind::RunTimeLimit,
                    deadline: chrono::Utc::now(),
                    message: "One minute left".into(),
                },
            ),
        ];
        let groups = conversation(&messages, &events);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[0].entries,
            vec![
                Entry::User("Do it".into()),
                Entry::Agent("Looking".into()),
                Entry::Agent("Done".into())
            ],
            "the stored final message is not shown twice"
        );
        assert_eq!(
            groups[1].entries,
            vec![
                Entry::User("More".into()),
                Entry::Agent("On it".into()),
                Entry::Warning("One minute left".into())
            ]
        );
    }

    #[test]
    fn a_final_message_the_stream_did_not_carry_is_kept() {
        let messages =
            [message(MessageRole::User, 1, "Go"), message(MessageRole::Agent, 1, "Summary")];
        let groups = conversation(&messages, &[event(1, 1, say("Working"))]);
        assert_eq!(
            groups[0].entries,
            vec![
                Entry::User("Go".into()),
                Entry::Agent("Working".into()),
                Entry::Agent("Summary".into())
            ]
        );
    }
}
