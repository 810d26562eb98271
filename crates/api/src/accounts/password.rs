//! Argon2id password hashes in PHC string format.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes a password. Runs on a blocking thread: argon2 is deliberately slow.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await?
}

/// Checks a password against a stored hash; `None` still spends the hashing time, so that a
/// missing user and a wrong password take the same time.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$yG0bR8h1F4c3w8Q2l7m2mJYvLgC3y0Z4b0m2QnXr7mA";
        let target = stored.as_deref().unwrap_or(DECOY);
        let Ok(parsed) = PasswordHash::new(target) else { return false };
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        ok && stored.is_some()
    })
    .await
    .unwrap_or(false)
}

/// Why a password is unacceptable, if it is.
pub fn weakness(password: &str) -> Option<String> {
    (password.chars().count() < MIN_PASSWORD_LEN)
        .then(|| format!("must be at least {MIN_PASSWORD_LEN} characters"))
}

/// Why a username is unacceptable, if it is.
pub fn username_problem(username: &str) -> Option<String> {
    let ok_chars = username.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if username.is_empty() || username.len() > 64 || !ok_chars {
        Some("must be 1 to 64 characters of letters, digits, '-', '_' or '.'".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verify_accepts_the_right_password_only() {
        let stored = hash("correct horse".into()).await.unwrap();
        assert!(verify("correct horse".into(), Some(stored.clone())).await);
        assert!(!verify("wrong horse".into(), Some(stored)).await);
        assert!(!verify("correct horse".into(), None).await);
    }

    #[test]
    fn usernames_and_passwords_are_checked() {
        assert!(username_problem("alice.b-c_1").is_none());
        assert!(username_problem("").is_some());
        assert!(username_problem("a b").is_some());
        assert!(weakness("short").is_some());
        assert!(weakness("long enough").is_none());
    }
}
