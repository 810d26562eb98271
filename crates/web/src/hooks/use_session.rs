//! The session: who is signed in, shared through a context by the app shell.

use std::rc::Rc;

use shared::auth::Me;
use yew::prelude::*;

/// Whether someone is signed in.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// `GET /me` has not answered yet.
    Unknown,
    /// Nobody is signed in (or the session expired).
    SignedOut,
    /// The signed-in user.
    SignedIn(Rc<Me>),
}

/// The session context.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The current state.
    pub state: SessionState,
    /// Replaces the signed-in user (`None` signs out locally).
    pub set: Callback<Option<Me>>,
}

impl Session {
    /// The signed-in user, if any.
    pub fn me(&self) -> Option<Rc<Me>> {
        match &self.state {
            SessionState::SignedIn(me) => Some(me.clone()),
            SessionState::Unknown | SessionState::SignedOut => None,
        }
    }
}

/// Reads the session context provided by the app shell.
#[hook]
pub fn use_session() -> Session {
    use_context::<Session>()
        .unwrap_or_else(|| Session { state: SessionState::Unknown, set: Callback::noop() })
}
