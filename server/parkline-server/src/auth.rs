//! Who is calling, and what they may do.
//!
//! Three kinds of credentials arrive as `Authorization: Bearer <token>`:
//! - people: a short-lived JWT (HS256) from `/v1/auth/login`, renewed with a single-use refresh token;
//! - devices (sensor gateways, kiosks): opaque tokens starting `pld_`;
//! - third parties: API keys starting `plk_`, each with its own rate limit, or the short-lived tokens
//!   (`plt_`, a JWT) an API key gets from `/v1/oauth/token` (OAuth 2.0 client credentials) with some of
//!   its scopes.
//!
//! Passwords are hashed with argon2id; refresh tokens, device tokens and API keys are stored only as
//! SHA-256 hashes, so a database leak does not leak credentials.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use parkline_protocol::{DeviceKind, ErrorCode, Role, TokenResponse};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use parkline_store::{Store, UserRecord};

pub const DEVICE_TOKEN_PREFIX: &str = "pld_";
pub const API_KEY_PREFIX: &str = "plk_";
pub const PARTNER_TOKEN_PREFIX: &str = "plt_";

/// Every kind of caller a route can admit. Each authenticated principal is exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    Driver,
    Attendant,
    Manager,
    Admin,
    SensorGateway,
    Kiosk,
    Partner,
}

impl Actor {
    pub const ALL: [Actor; 7] = [
        Actor::Driver,
        Actor::Attendant,
        Actor::Manager,
        Actor::Admin,
        Actor::SensorGateway,
        Actor::Kiosk,
        Actor::Partner,
    ];
}

/// Who a route admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (public data feeds); rate limited per client address.
    Public,
    /// Any signed-in person.
    People,
    /// Only these.
    Only(&'static [Actor]),
}

impl Access {
    pub fn admits(self, actor: Option<Actor>) -> bool {
        match (self, actor) {
            (Access::Public, _) => true,
            (_, None) => false,
            (Access::People, Some(a)) => {
                matches!(a, Actor::Driver | Actor::Attendant | Actor::Manager | Actor::Admin)
            }
            (Access::Only(list), Some(a)) => list.contains(&a),
        }
    }
}

/// An authenticated caller, with the operator it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person. Staff have an operator and may be limited to some of its facilities (`facilities`
    /// empty: all of them); drivers and platform admins have none.
    User { id: i64, role: Role, operator: Option<String>, facilities: Vec<String> },
    /// A kiosk or sensor gateway of one operator, at one facility.
    Device { id: i64, kind: DeviceKind, operator: String, facility: Option<String> },
    /// A partner's key: one operator's data, within its scopes.
    ApiKey { id: i64, requests_per_minute: u32, operator: String, scopes: Vec<String> },
}

/// Where a caller may act: what the route guard checks a route's target against, and what lists and
/// reports keep to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Platform admins.
    Everywhere,
    /// One operator's facilities, or only those listed (none listed: all of them). Staff, a device
    /// (its one facility), a partner's key.
    Operator { operator: String, facilities: Vec<String> },
    /// Drivers and anonymous callers: no facility. What drivers own is theirs by ownership instead.
    Nowhere,
}

impl Reach {
    /// Whether `facility`, owned by `operator`, is within reach.
    pub fn holds(&self, operator: &str, facility: &str) -> bool {
        match self {
            Reach::Everywhere => true,
            Reach::Operator { operator: own, facilities } => {
                own == operator && (facilities.is_empty() || facilities.iter().any(|f| f == facility))
            }
            Reach::Nowhere => false,
        }
    }

    /// Whether everything of `operator` is within reach: what belongs to the operator as a whole (its
    /// webhooks, staff, keys, pools) is managed only by those who reach all of its facilities.
    pub fn holds_operator(&self, operator: &str) -> bool {
        match self {
            Reach::Everywhere => true,
            Reach::Operator { operator: own, facilities } => own == operator && facilities.is_empty(),
            Reach::Nowhere => false,
        }
    }

    /// The operator things made by this caller belong to: an admin names one (`named`), staff get
    /// their own (naming another is refused as unknown, so operators cannot be probed).
    pub fn home(&self, named: Option<&str>) -> Result<String> {
        match (self, named) {
            (Reach::Everywhere, Some(op)) => Ok(op.to_owned()),
            (Reach::Everywhere, None) => Err(Error::validation("name the operator this belongs to")),
            (Reach::Operator { operator, facilities }, named) if facilities.is_empty() => match named {
                Some(op) if op != operator => Err(Error::unknown_operator(op)),
                _ => Ok(operator.clone()),
            },
            _ => Err(Error::api(
                ErrorCode::Forbidden,
                "only those who reach all of an operator's facilities manage what belongs to it",
            )),
        }
    }
}

impl Principal {
    /// Where this caller may act: admins anywhere; staff at their operator's facilities (or those of
    /// them they are limited to); a device only at its own facility; a partner's key at its
    /// operator's. Drivers act on their own things, never on a facility.
    pub fn reach(&self) -> Reach {
        match self {
            Principal::User { role: Role::Admin, .. } => Reach::Everywhere,
            Principal::User { role: Role::Driver, .. } | Principal::User { operator: None, .. } => {
                Reach::Nowhere
            }
            Principal::User { operator: Some(operator), facilities, .. } => {
                Reach::Operator { operator: operator.clone(), facilities: facilities.clone() }
            }
            Principal::Device { facility: None, .. } => Reach::Nowhere,
            Principal::Device { operator, facility: Some(facility), .. } => {
                Reach::Operator { operator: operator.clone(), facilities: vec![facility.clone()] }
            }
            Principal::ApiKey { operator, .. } => {
                Reach::Operator { operator: operator.clone(), facilities: Vec::new() }
            }
        }
    }

    /// Whether this caller may act at `facility`, owned by `operator`.
    pub fn may_act_at(&self, operator: &str, facility: &str) -> bool {
        self.reach().holds(operator, facility)
    }

    /// The person calling, if it is one.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Principal::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// Whether a partner's key carries `scope`; other callers are not limited by key scopes.
    pub fn has_key_scope(&self, scope: &str) -> bool {
        match self {
            Principal::ApiKey { scopes, .. } => scopes.iter().any(|s| s == scope),
            _ => true,
        }
    }

    pub fn actor(&self) -> Actor {
        match self {
            Principal::User { role: Role::Driver, .. } => Actor::Driver,
            Principal::User { role: Role::Attendant, .. } => Actor::Attendant,
            Principal::User { role: Role::Manager, .. } => Actor::Manager,
            Principal::User { role: Role::Admin, .. } => Actor::Admin,
            Principal::Device { kind: DeviceKind::SensorGateway, .. } => Actor::SensorGateway,
            Principal::Device { kind: DeviceKind::Kiosk, .. } => Actor::Kiosk,
            Principal::ApiKey { .. } => Actor::Partner,
        }
    }

    /// Stable key for per-caller rate limiting.
    pub fn rate_key(&self) -> String {
        match self {
            Principal::User { id, .. } => format!("user:{id}"),
            Principal::Device { id, .. } => format!("device:{id}"),
            Principal::ApiKey { id, .. } => format!("key:{id}"),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: i64,
    role: Role,
    exp: i64,
    iat: i64,
    /// A staff member's operator and the facilities they are limited to, as they were when the token
    /// was issued (an access token lives minutes; a change shows at the next refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fac: Vec<String>,
    /// The user's token epoch at issue: signing out moves it on, ending this token everywhere.
    #[serde(default)]
    ep: i64,
}

/// A partner's access token: its API key (`sub`) and the scopes granted, space-separated.
#[derive(Debug, Serialize, Deserialize)]
struct PartnerClaims {
    sub: i64,
    scope: String,
    exp: i64,
    iat: i64,
    /// Tells partner tokens from people's: a person's token never verifies as a partner's.
    aud: String,
}

const PARTNER_AUDIENCE: &str = "parkline-partner";
/// How long a partner's access token lives; the key behind it is checked on every use.
pub const PARTNER_TOKEN_TTL: SignedDuration = SignedDuration::from_secs(3600);

/// How long a device token or API key, once looked up, is trusted without asking the database again.
/// Bounds how long a revoked credential keeps working.
const CREDENTIAL_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Token issuing and checking.
pub struct Auth {
    /// Device tokens and API keys recently looked up, by hash: lanes and gateways call many times a second.
    /// `None`: looked up and unknown, so a stream of made-up tokens does not reach the database.
    credentials: std::sync::Mutex<std::collections::HashMap<String, (Option<Principal>, std::time::Instant)>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: SignedDuration,
    pub refresh_ttl: SignedDuration,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("access_ttl", &self.access_ttl).finish_non_exhaustive()
    }
}

impl Auth {
    pub fn new(secret: &[u8], access_ttl: SignedDuration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        Auth {
            credentials: Default::default(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl: SignedDuration::from_hours(24 * 30),
        }
    }

    /// Issues an access token and a refresh token for a user who just proved who they are.
    pub async fn issue(&self, store: &dyn Store, user: &UserRecord, now: Timestamp) -> Result<TokenResponse> {
        let claims = Claims {
            sub: user.id,
            role: user.role,
            iat: now.as_second(),
            exp: (now + self.access_ttl).as_second(),
            op: user.operator.clone(),
            fac: user.facilities.clone(),
            ep: user.token_epoch,
        };
        let access_token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing a token: {e}"))?;
        let refresh_token = random_token("plr_");
        store.insert_refresh_token(&sha256_hex(&refresh_token), user.id, now + self.refresh_ttl).await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: self.access_ttl.as_secs().max(0) as u64,
            refresh_token,
            role: user.role,
        })
    }

    /// An access token for the API key `key`, carrying `scopes` (some of the key's).
    pub fn issue_partner(&self, key: i64, scopes: &[String], now: Timestamp) -> Result<String> {
        let claims = PartnerClaims {
            sub: key,
            scope: scopes.join(" "),
            iat: now.as_second(),
            exp: (now + PARTNER_TOKEN_TTL).as_second(),
            aud: PARTNER_AUDIENCE.into(),
        };
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing a token: {e}"))?;
        Ok(format!("{PARTNER_TOKEN_PREFIX}{jwt}"))
    }

    /// Resolves a bearer token to a principal.
    /// The caller a token names. A device token or API key not in the cache is looked up in the
    /// store only once `may_look_up` allows it (the caller's rate limit).
    pub async fn authenticate(
        &self,
        store: &dyn Store,
        token: &str,
        may_look_up: impl FnOnce() -> Result<()>,
    ) -> Result<Principal> {
        let unknown = || Error::api(ErrorCode::Unauthenticated, "unknown or revoked token");
        let is_device = token.starts_with(DEVICE_TOKEN_PREFIX);
        if is_device || token.starts_with(API_KEY_PREFIX) {
            let hash = sha256_hex(token);
            if let Some(known) = self.cached(&hash) {
                return known.ok_or_else(unknown);
            }
            may_look_up()?;
            let principal = if is_device {
                store.device_by_token(&hash).await?.map(|d| Principal::Device {
                    id: d.id,
                    kind: d.kind,
                    operator: d.operator,
                    facility: d.facility,
                })
            } else {
                store.api_key_by_hash(&hash).await?.map(|k| Principal::ApiKey {
                    id: k.id,
                    requests_per_minute: k.requests_per_minute,
                    operator: k.operator,
                    scopes: k.scopes,
                })
            };
            self.remember(hash, principal.clone());
            return principal.ok_or_else(unknown);
        }
        if let Some(jwt) = token.strip_prefix(PARTNER_TOKEN_PREFIX) {
            let mut validation = self.validation.clone();
            validation.set_audience(&[PARTNER_AUDIENCE]);
            let claims = jsonwebtoken::decode::<PartnerClaims>(jwt, &self.decoding, &validation)
                .map_err(token_error)?
                .claims;
            // The key behind the token is checked (through the cache) on every use: revoking it ends
            // its tokens within the cache's lifetime, at once on this instance.
            let key_id = format!("key-id:{}", claims.sub);
            let key = match self.cached(&key_id) {
                Some(known) => known,
                None => {
                    may_look_up()?;
                    let key = store.api_key(claims.sub).await?.map(|k| Principal::ApiKey {
                        id: k.id,
                        requests_per_minute: k.requests_per_minute,
                        operator: k.operator,
                        scopes: k.scopes,
                    });
                    self.remember(key_id, key.clone());
                    key
                }
            };
            let Some(Principal::ApiKey { id, requests_per_minute, operator, scopes }) = key else {
                return Err(unknown());
            };
            let granted: Vec<&str> = claims.scope.split_whitespace().collect();
            let scopes = scopes.into_iter().filter(|s| granted.contains(&s.as_str())).collect();
            return Ok(Principal::ApiKey { id, requests_per_minute, operator, scopes });
        }
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(token_error)?;
        let claims = data.claims;
        // Asked of the store on every request, so a sign-out or erasure ends the token at once on every
        // instance. Only a token with a valid signature gets this far.
        if store.token_epoch(claims.sub).await? != Some(claims.ep) {
            return Err(Error::api(ErrorCode::Unauthenticated, "signed out: sign in again"));
        }
        Ok(Principal::User { id: claims.sub, role: claims.role, operator: claims.op, facilities: claims.fac })
    }
}

impl Auth {
    fn cached(&self, hash: &str) -> Option<Option<Principal>> {
        let cache = self.credentials.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(hash).filter(|(_, at)| at.elapsed() < CREDENTIAL_CACHE_TTL).map(|(p, _)| p.clone())
    }

    /// Drops a revoked device from the credential cache: this instance refuses it at once, others as
    /// soon as the change feed tells them (`peers.rs`).
    pub fn forget_device(&self, device: i64) {
        let mut cache = self.credentials.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, (p, _)| !matches!(p, Some(Principal::Device { id, .. }) if *id == device));
    }

    /// Drops a revoked API key from the credential cache, as [`Auth::forget_device`] does a device.
    pub fn forget_api_key(&self, key: i64) {
        let mut cache = self.credentials.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, (p, _)| !matches!(p, Some(Principal::ApiKey { id, .. }) if *id == key));
    }

    fn remember(&self, hash: String, principal: Option<Principal>) {
        let mut cache = self.credentials.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= 10_000 {
            cache.retain(|_, (_, at)| at.elapsed() < CREDENTIAL_CACHE_TTL);
        }
        cache.insert(hash, (principal, std::time::Instant::now()));
    }
}

fn token_error(e: jsonwebtoken::errors::Error) -> Error {
    match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
            Error::api(ErrorCode::TokenExpired, "the access token has expired; get a new one")
        }
        _ => Error::api(ErrorCode::Unauthenticated, "the access token is not valid"),
    }
}

pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?
        .to_string())
}

/// [`hash_password`] on the blocking pool: hashing is slow on purpose and must not stall async workers.
pub async fn hash_password_off_thread(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|e| anyhow::anyhow!("{e}"))?
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A new random secret: `prefix` and 64 hex digits (256 bits).
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex(&bytes))
}

pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn callers_act_only_where_their_operator_and_facilities_reach() {
        let staff = |role, facilities: &[&str]| Principal::User {
            id: 1,
            role,
            operator: Some("city".into()),
            facilities: facilities.iter().map(|f| f.to_string()).collect(),
        };
        let manager = staff(Role::Manager, &[]);
        assert!(manager.may_act_at("city", "garage-a") && manager.may_act_at("city", "garage-b"));
        assert!(!manager.may_act_at("hospital", "ward-lot"), "another operator's facility");
        let attendant = staff(Role::Attendant, &["garage-a"]);
        assert!(attendant.may_act_at("city", "garage-a"));
        assert!(!attendant.may_act_at("city", "garage-b"), "outside their list");
        let no_operator = Principal::User { id: 2, role: Role::Manager, operator: None, facilities: vec![] };
        assert!(!no_operator.may_act_at("city", "garage-a"));
        let admin = Principal::User { id: 3, role: Role::Admin, operator: None, facilities: vec![] };
        assert!(admin.may_act_at("hospital", "ward-lot"));
        let driver = Principal::User { id: 4, role: Role::Driver, operator: None, facilities: vec![] };
        assert!(!driver.may_act_at("city", "garage-a"));

        let kiosk = |facility: Option<&str>| Principal::Device {
            id: 5,
            kind: DeviceKind::Kiosk,
            operator: "city".into(),
            facility: facility.map(str::to_owned),
        };
        assert!(kiosk(Some("garage-a")).may_act_at("city", "garage-a"));
        assert!(!kiosk(Some("garage-a")).may_act_at("city", "garage-b"));
        assert!(!kiosk(None).may_act_at("city", "garage-a"), "a device without a facility acts nowhere");
        let key =
            Principal::ApiKey { id: 6, requests_per_minute: 60, operator: "city".into(), scopes: vec![] };
        assert!(key.may_act_at("city", "garage-b") && !key.may_act_at("hospital", "ward-lot"));
    }

    #[test]
    fn what_belongs_to_an_operator_is_reached_only_by_those_who_reach_all_of_it() {
        let all = Reach::Operator { operator: "city".into(), facilities: vec![] };
        let some = Reach::Operator { operator: "city".into(), facilities: vec!["garage-a".into()] };
        assert!(all.holds_operator("city") && !all.holds_operator("hospital"));
        assert!(!some.holds_operator("city"), "limited staff do not manage the operator's webhooks");
        assert!(Reach::Everywhere.holds_operator("hospital") && !Reach::Nowhere.holds_operator("city"));
        assert_eq!(all.home(None).unwrap(), "city");
        assert_eq!(all.home(Some("hospital")).unwrap_err().code(), ErrorCode::UnknownOperator);
        assert_eq!(some.home(None).unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(Reach::Everywhere.home(Some("hospital")).unwrap(), "hospital");
        assert_eq!(Reach::Everywhere.home(None).unwrap_err().code(), ErrorCode::ValidationFailed);
    }

    #[test]
    fn access_lists_admit_exactly_their_actors() {
        assert!(Access::Public.admits(None));
        assert!(!Access::People.admits(None));
        assert!(Access::People.admits(Some(Actor::Driver)));
        assert!(!Access::People.admits(Some(Actor::Kiosk)));
        let admins = Access::Only(&[Actor::Admin]);
        assert!(admins.admits(Some(Actor::Admin)));
        assert!(!admins.admits(Some(Actor::Manager)));
    }
}
