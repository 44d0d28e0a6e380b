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
    /// Device tokens and API keys looked up in the store per client address (unknown ones are cached
    /// as unknown besides); shares the anonymous quota's size.
    lookups: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Sign-ins and sign-ups per client address, and sign-ins per account: a password cannot be tried
    /// hundreds of times, from one address or from many.
    logins: Option<(DefaultKeyedRateLimiter<IpAddr>, DefaultKeyedRateLimiter<String>)>,
}

/// Sign-ins an account may try at once; then one a minute.
pub const LOGIN_ATTEMPTS: u32 = 5;

/// Codes a stay may try at once.
pub const VALIDATION_ATTEMPTS: u32 = 5;

fn quota(per_minute: u32) -> Option<Quota> {
    NonZeroU32::new(per_minute).map(Quota::per_minute)
}

impl RateLimits {
    /// Quotas in requests per minute; 0 turns a limit off.
    pub fn new(anonymous_per_minute: u32, caller_per_minute: u32, logins_per_minute: u32) -> Self {
        let per_account = Quota::per_minute(NonZeroU32::MIN)
            .allow_burst(NonZeroU32::new(LOGIN_ATTEMPTS).expect("positive"));
        RateLimits {
            lookups: quota(anonymous_per_minute).map(RateLimiter::keyed),
            logins: quota(logins_per_minute)
                .map(|q| (RateLimiter::keyed(q), RateLimiter::keyed(per_account))),
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

    /// Counts a look-up of a device token or API key for `client`.
    pub fn token_lookup(&self, client: Option<IpAddr>) -> Result<()> {
        match (&self.lookups, client) {
            (Some(l), Some(ip)) => l.check_key(&ip).map_err(refused),
            _ => Ok(()),
        }
    }

    /// Counts a sign-in (with its account's email) or a sign-up (`None`) from `client`.
    pub fn login_attempt(&self, client: Option<IpAddr>, email: Option<&str>) -> Result<()> {
        let Some((by_address, by_account)) = &self.logins else { return Ok(()) };
        if let Some(ip) = client {
            by_address.check_key(&ip).map_err(refused)?;
        }
        if let Some(email) = email {
            by_account.check_key(&email.trim().to_lowercase()).map_err(refused)?;
        }
        Ok(())
    }

    /// Counts an attempt to apply a validation code to the stay `session`.
    pub fn validation_attempt(&self, session: &str) -> Result<()> {
        self.validation_attempts.check_key(&session.to_owned()).map_err(refused)
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
        outcome.map_err(refused)
    }
}

/// The answer to a request over its quota: when to come back.
fn refused(not_until: NotUntil<<DefaultClock as Clock>::Instant>) -> Error {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    Error::rate_limited(wait.as_secs() + 1)
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
        if let Some(l) = &self.lookups {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some((a, b)) = &self.logins {
            a.retain_recent();
            b.retain_recent();
        }
    }
}
