//! Terminal tokens: how a browser, which cannot set headers on a WebSocket, proves who it is
//! when it opens a terminal.
//!
//! A token is `<user id>.<sealed>`, where `sealed` is `"<expiry>.<nonce>"` sealed under the
//! master key with the user and the task as associated data (see [`crate::crypto::SealedAt`]):
//! it opens for that one task of that one user and nothing else, any process of the deployment
//! can check it without a table, and it cannot be forged or moved to another task. It lives
//! [`TOKEN_TTL_SECS`] seconds and is used once (within this process: the terminal itself lives
//! in one process, see `docs/terminal.md`).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::crypto::{random_token, SealedAt, SecretBox};

/// How long a terminal token works after it is made.
pub const TOKEN_TTL_SECS: i64 = 60;

fn sealed_at(user_id: Uuid, task_row: &str) -> SealedAt<'_> {
    SealedAt { table: "terminal_tokens", column: "token", owner: user_id, row: task_row }
}

/// A token for `user_id`'s task `task_id` that expires at `expires_at` (tests make expired
/// ones with it; the API only through [`Tokens::issue`]).
pub fn seal(
    secrets: &SecretBox,
    user_id: Uuid,
    task_id: Uuid,
    expires_at: DateTime<Utc>,
) -> anyhow::Result<String> {
    let plain = format!("{}.{}", expires_at.timestamp(), random_token(16));
    let sealed = secrets.seal(&sealed_at(user_id, &task_id.to_string()), &plain)?;
    Ok(format!("{}.{sealed}", user_id.simple()))
}

/// Why a token was refused (all answer 401; the reason is logged and shown to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a token, or not one for this task.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Used already.
    Used,
}

impl Refused {
    /// For the problem's detail.
    pub fn message(self) -> &'static str {
        match self {
            Self::Invalid => "The terminal token is not valid for this task.",
            Self::Expired => "The terminal token has expired; ask for a new one.",
            Self::Used => "The terminal token was used already; ask for a new one.",
        }
    }
}

/// Makes tokens and remembers which were used.
#[derive(Debug, Default)]
pub struct Tokens {
    /// Nonces of redeemed tokens, until they expire anyway.
    used: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Tokens {
    /// A token for `user_id`'s task `task_id`, and when it expires.
    pub fn issue(
        &self,
        secrets: &SecretBox,
        user_id: Uuid,
        task_id: Uuid,
    ) -> anyhow::Result<(String, DateTime<Utc>)> {
        let expires_at = Utc::now() + Duration::seconds(TOKEN_TTL_SECS);
        Ok((seal(secrets, user_id, task_id, expires_at)?, expires_at))
    }

    /// The user a token for `task_id` was issued to, once; afterwards it is [`Refused::Used`].
    pub fn redeem(&self, secrets: &SecretBox, token: &str, task_id: Uuid) -> Result<Uuid, Refused> {
        let (user, sealed) = token.split_once('.').ok_or(Refused::Invalid)?;
        let user_id = Uuid::try_parse(user).map_err(|_| Refused::Invalid)?;
        let plain = secrets
            .open(&sealed_at(user_id, &task_id.to_string()), sealed)
            .map_err(|_| Refused::Invalid)?;
        let (expiry, nonce) = plain.expose_secret().split_once('.').ok_or(Refused::Invalid)?;
        let expires_at = expiry
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .ok_or(Refused::Invalid)?;
        let now = Utc::now();
        if expires_at <= now {
            return Err(Refused::Expired);
        }
        let mut used = self.used.lock().map_err(|_| Refused::Invalid)?;
        used.retain(|_, until| *until > now);
        if used.insert(nonce.to_owned(), expires_at).is_some() {
            return Err(Refused::Used);
        }
        Ok(user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_once_for_its_own_task_only() {
        let secrets = SecretBox::new([7; 32], &[]);
        let tokens = Tokens::default();
        let (user, task, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let (token, expires_at) = tokens.issue(&secrets, user, task).unwrap();
        assert!(expires_at > Utc::now());
        assert_eq!(tokens.redeem(&secrets, &token, other), Err(Refused::Invalid));
        assert_eq!(tokens.redeem(&secrets, &token, task), Ok(user));
        assert_eq!(tokens.redeem(&secrets, &token, task), Err(Refused::Used));
        // Another user's id in front does not open it either.
        let (_, sealed) = token.split_once('.').unwrap();
        let forged = format!("{}.{sealed}", Uuid::new_v4().simple());
        assert_eq!(tokens.redeem(&secrets, &forged, task), Err(Refused::Invalid));
        assert_eq!(tokens.redeem(&secrets, "garbage", task), Err(Refused::Invalid));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let secrets = SecretBox::new([7; 32], &[]);
        let (user, task) = (Uuid::new_v4(), Uuid::new_v4());
        let token = seal(&secrets, user, task, Utc::now() - Duration::seconds(5)).unwrap();
        assert_eq!(Tokens::default().redeem(&secrets, &token, task), Err(Refused::Expired));
    }
}
