//! Custom hooks: data loading, actions, the session, persisted values and the live event stream.

mod use_action;
mod use_debounced_search;
mod use_fetch;
mod use_live_tasks;
mod use_session;
mod use_stored;
mod use_task_events;

pub use use_action::{use_action, Action};
pub use use_debounced_search::{use_debounced_search, DebouncedSearch};
pub use use_fetch::{use_fetch, FetchHandle, FetchState};
pub use use_live_tasks::{use_live_tasks, LiveTaskList};
pub use use_session::{use_session, Session, SessionState};
pub use use_stored::use_stored;
pub use use_task_events::{use_task_events, StreamState, TaskEvents};
