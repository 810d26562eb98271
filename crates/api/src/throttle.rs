//! Throttling: the endpoints that guess at secrets or mint credentials are rate-limited per
//! client address and per account, and live event streams are capped per user.
//!
//! Sign-in (local login, first-run setup, invitation use) and token creation each have two
//! keyed GCRA limiters (`governor`): one by client address (an IPv6 address by its /64, which
//! one machine usually holds whole), one by account (the username tried, or the user). A
//! refusal is a 429 with `Retry-After`, decided before any password is hashed, so a flood
//! costs neither an Argon2 hash nor a database round trip. The limiters live in this process:
//! N processes behind a balancer allow N times the rate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::config::Settings;
use crate::error::ApiError;

/// What is being attempted; each has limiters of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Local login, first-run setup, accepting an invitation.
    SignIn,
    /// Creating an API token.
    CreateToken,
}

/// The process's limiters and stream counts; cheap to clone.
#[derive(Clone)]
pub struct Throttle {
    inner: Arc<Inner>,
}

struct Inner {
    by_address: DefaultKeyedRateLimiter<(Action, IpAddr)>,
    by_account: DefaultKeyedRateLimiter<(Action, String)>,
    streams: Mutex<HashMap<Uuid, u32>>,
    max_streams: u32,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").field("max_streams", &self.inner.max_streams).finish()
    }
}

/// The longest account key kept: usernames are at most 64 characters.
const ACCOUNT_KEY_MAX: usize = 64;

impl Throttle {
    /// Limiters as configured (`auth.attempts_per_minute`, `auth.attempts_burst`,
    /// `tasks.max_streams_per_user`).
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let nonzero = |v: u32, key: &str| {
            NonZeroU32::new(v).ok_or_else(|| anyhow::anyhow!("{key} must be at least 1"))
        };
        let per_minute = nonzero(settings.auth.attempts_per_minute, "auth.attempts_per_minute")?;
        let burst = nonzero(settings.auth.attempts_burst, "auth.attempts_burst")?;
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Ok(Self {
            inner: Arc::new(Inner {
                by_address: DefaultKeyedRateLimiter::keyed(quota),
                by_account: DefaultKeyedRateLimiter::keyed(quota),
                streams: Mutex::new(HashMap::new()),
                max_streams: settings.tasks.max_streams_per_user.max(1),
            }),
        })
    }

    /// Counts one attempt of `action` from `address` on `account`; a 429 when either has
    /// used up its allowance. The address is checked first, so a flood from one address does
    /// not also lock its victim's account for everyone else longer than needed.
    pub fn check(
        &self,
        action: Action,
        address: Option<IpAddr>,
        account: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Some(address) = address {
            let key = (action, address_key(address));
            if let Err(not_until) = self.inner.by_address.check_key(&key) {
                let wait = not_until.wait_time_from(self.inner.by_address.clock().now());
                return Err(limited(wait, "Too many attempts from your address."));
            }
        }
        if let Some(account) = account {
            let key = (action, account_key(account));
            if let Err(not_until) = self.inner.by_account.check_key(&key) {
                let wait = not_until.wait_time_from(self.inner.by_account.clock().now());
                return Err(limited(wait, "Too many attempts for this account."));
            }
        }
        Ok(())
    }

    /// Drops the state of keys that are back to a full allowance, so guessed usernames do not
    /// pile up in memory. Run it every minute or so.
    pub fn forget_idle(&self) {
        self.inner.by_account.retain_recent();
        self.inner.by_account.shrink_to_fit();
        self.inner.by_address.retain_recent();
        self.inner.by_address.shrink_to_fit();
    }

    fn streams(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, u32>> {
        // A poisoned map only means another thread panicked mid-update of a counter.
        self.inner.streams.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An IPv6 address counts by its /64; IPv4 (and IPv4-mapped IPv6) by the address.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
        v4 => v4,
    }
}

fn account_key(account: &str) -> String {
    account.trim().to_lowercase().chars().take(ACCOUNT_KEY_MAX).collect()
}

fn limited(wait: std::time::Duration, why: &str) -> ApiError {
    // Whole seconds, rounded up, so a client that waits `Retry-After` is let in.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = i64::try_from(secs.max(1)).unwrap_or(i64::MAX / 2);
    // Half a second of slack: `Retry-After` is computed from `reset_at` a moment later and
    // truncated, and must still say `secs`.
    ApiError::RateLimited {
        detail: format!("{why} Try again in {secs} s."),
        reset_at: Utc::now()
            + chrono::Duration::seconds(secs)
            + chrono::Duration::milliseconds(500),
    }
}

/// One open event stream of a user, counted against `tasks.max_streams_per_user` until it is
/// dropped. Hold it for as long as the stream's response body lives.
#[derive(Debug)]
pub struct StreamPermit {
    throttle: Throttle,
    user_id: Uuid,
}

impl StreamPermit {
    /// Takes a slot for a new stream of `user_id`, or a 429 when they hold the most allowed.
    pub fn acquire(throttle: &Throttle, user_id: Uuid) -> Result<Self, ApiError> {
        let max = throttle.inner.max_streams;
        let mut streams = throttle.streams();
        let open = streams.entry(user_id).or_insert(0);
        if *open >= max {
            return Err(ApiError::RateLimited {
                detail: format!(
                    "You have {max} live event streams open, the most allowed; close one (a tab) first."
                ),
                reset_at: Utc::now() + chrono::Duration::seconds(5),
            });
        }
        *open += 1;
        drop(streams);
        Ok(Self { throttle: throttle.clone(), user_id })
    }

    /// Streams `user_id` holds open right now.
    pub fn open_for(throttle: &Throttle, user_id: Uuid) -> u32 {
        throttle.streams().get(&user_id).copied().unwrap_or(0)
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut streams = self.throttle.streams();
        if let Some(open) = streams.get_mut(&self.user_id) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                streams.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(extra: &str) -> Throttle {
        Throttle::new(&Settings::from_toml(extra).unwrap()).unwrap()
    }

    #[test]
    fn stream_permits_are_capped_per_user_and_released_on_drop() {
        let t = throttle("[tasks]\nmax_streams_per_user = 2\n");
        let (alice, bob) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let a1 = StreamPermit::acquire(&t, alice).unwrap();
        let a2 = StreamPermit::acquire(&t, alice).unwrap();
        let refused = StreamPermit::acquire(&t, alice).unwrap_err();
        assert!(matches!(refused, ApiError::RateLimited { .. }), "{refused:?}");
        let _b1 = StreamPermit::acquire(&t, bob).expect("another user has slots of their own");
        drop(a1);
        assert_eq!(StreamPermit::open_for(&t, alice), 1);
        let _a3 = StreamPermit::acquire(&t, alice).expect("a closed stream frees its slot");
        drop(a2);
        drop(_a3);
        assert_eq!(StreamPermit::open_for(&t, alice), 0);
        assert!(t.streams().get(&alice).is_none(), "no entry is left behind");
    }

    #[test]
    fn attempts_beyond_the_burst_are_refused_per_address_and_per_account() {
        let t = throttle("[auth]\nattempts_burst = 3\nattempts_per_minute = 1\n");
        let here: IpAddr = "192.0.2.1".parse().unwrap();
        let there: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            t.check(Action::SignIn, Some(here), Some("walt")).unwrap();
        }
        let err = t.check(Action::SignIn, Some(here), Some("other")).unwrap_err();
        let ApiError::RateLimited { reset_at, .. } = err else { panic!("{err:?}") };
        assert!(reset_at > Utc::now(), "the reset lies ahead");
        // Another address is not limited, but the account it tries still is.
        assert!(t.check(Action::SignIn, Some(there), Some("WALT")).is_err(), "case-blind");
        t.check(Action::SignIn, Some(there), Some("fresh")).unwrap();
        // Token creation has an allowance of its own.
        t.check(Action::CreateToken, Some(here), Some("walt")).unwrap();
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn retry_after_rounds_up() {
        let ApiError::RateLimited { detail, .. } =
            limited(std::time::Duration::from_millis(1200), "x")
        else {
            panic!()
        };
        assert!(detail.contains("2 s"), "{detail}");
    }
}
