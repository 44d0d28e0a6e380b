//! Request rate limits: per client address for anonymous public reads, per caller for everyone signed
//! in, and each API key's own quota. Generic cell rate limiting (governor): smooth, with bursts up to the
//! per-minute quota.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};

use crate::auth::Principal;
use crate::error::{Error, Result};

#[derive(Debug)]
pub struct RateLimits {
    /// `None` when the limit is switched off (0 per minute).
    anonymous: Option<DefaultKeyedRateLimiter<IpAddr>>,
    callers: Option<DefaultKeyedRateLimiter<String>>,
    api_keys: Mutex<HashMap<i64, Arc<DefaultDirectRateLimiter>>>,
    /// Validation codes tried per stay: a few at once, then one every two minutes, so codes cannot be
    /// guessed through a ticket (on each instance; always on).
    validation_attempts: DefaultKeyedRateLimiter<String>,
}

/// Codes a stay may try at once.
pub const VALIDATION_ATTEMPTS: u32 = 5;

fn quota(per_minute: u32) -> Option<Quota> {
    NonZeroU32::new(per_minute).map(Quota::per_minute)
}

impl RateLimits {
    /// Quotas in requests per minute; 0 turns a limit off.
    pub fn new(anonymous_per_minute: u32, caller_per_minute: u32) -> Self {
        RateLimits {
            anonymous: quota(anonymous_per_minute).map(RateLimiter::keyed),
            callers: quota(caller_per_minute).map(RateLimiter::keyed),
            api_keys: Mutex::new(HashMap::new()),
            validation_attempts: RateLimiter::keyed(
                Quota::with_period(std::time::Duration::from_secs(120))
                    .expect("a period")
                    .allow_burst(NonZeroU32::new(VALIDATION_ATTEMPTS).expect("positive")),
            ),
        }
    }

    /// Counts an attempt to apply a validation code to the stay `session`.
    pub fn validation_attempt(&self, session: &str) -> Result<()> {
        self.validation_attempts.check_key(&session.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::rate_limited(wait.as_secs() + 1)
        })
    }

    pub fn check(&self, principal: Option<&Principal>, client: Option<IpAddr>) -> Result<()> {
        let outcome = match principal {
            Some(Principal::ApiKey { id, requests_per_minute, .. }) => {
                let Some(q) = quota(*requests_per_minute) else { return Ok(()) };
                let limiter = {
                    let mut keys = self.api_keys.lock().unwrap_or_else(|p| p.into_inner());
                    keys.entry(*id).or_insert_with(|| Arc::new(RateLimiter::direct(q))).clone()
                };
                limiter.check()
            }
            Some(p) => match &self.callers {
                Some(l) => l.check_key(&p.rate_key()),
                None => Ok(()),
            },
            None => match (&self.anonymous, client) {
                (Some(l), Some(ip)) => l.check_key(&ip),
                _ => Ok(()),
            },
        };
        outcome.map_err(|not_until: NotUntil<_>| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::rate_limited(wait.as_secs() + 1)
        })
    }
}

impl RateLimits {
    /// Drops the state of callers that have been quiet long enough to be back at a full quota, so that
    /// memory follows active callers, not every address ever seen.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.anonymous {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.callers {
            l.retain_recent();
            l.shrink_to_fit();
        }
        self.validation_attempts.retain_recent();
        self.validation_attempts.shrink_to_fit();
    }
}
