//! Scopes: how each route finds what it acts on, and the one check made before its handler runs.
//!
//! A route either names one thing in its path (a facility, a gate, a payment...): the guard finds the
//! operator and facility that thing belongs to, and who owns it, and refuses a caller it is out of
//! reach of exactly as it refuses a thing that does not exist, so ids cannot be probed. Or it acts on
//! the caller's own things, or on many facilities at once (a list, a report, a sensor batch): the guard
//! hands the handler the caller's [`Reach`] and the service keeps to it.

use parkline_protocol::ErrorCode;

use crate::app::App;
use crate::auth::{Principal, Reach};
use crate::error::{Error, Result};

/// How a route's scope is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Nothing beyond the route's access list: public data, signing in, platform-wide admin runs.
    Open,
    /// The caller's own things (profile, account, bookings): the handler acts for the caller only.
    Own,
    /// Many facilities at once, or something new: the service keeps to the caller's [`Reach`].
    Reach,
    /// One thing the path names.
    At(Locate),
}

/// What a path names, and so where its facility comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locate {
    /// `{id}` is a facility.
    Facility,
    /// `{gate}`: the gate's facility.
    Gate,
    /// `{id}`: a payment's or refund's facility; a driver's own payments are theirs.
    Payment,
    /// `{id}`: a reservation's facility; a driver's own bookings are theirs.
    Reservation,
    /// `{id}`: a permit's operator and the facilities it lists.
    Permit,
    /// `{id}`: a permit pool's operator. A pool not made yet is made for the caller's operator.
    Pool,
    /// `{id}`: a webhook endpoint's operator.
    Webhook,
    /// `{id}`: a device's facility.
    Device,
    /// `{id}`: a partner API key's operator.
    ApiKey,
    /// `{id}`: a current alert's facility.
    Alert,
    /// `{id}`: a staff member's operator.
    User,
    /// `{id}`: a partner's grant, reached by that partner alone.
    Grant,
}

/// Whose a thing is: its operator (none: a driver's account, reached by its owner and admins), the
/// facilities it concerns (none: the operator as a whole), and the person who owns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub operator: Option<String>,
    pub facilities: Vec<String>,
    pub owner: Option<i64>,
    /// The partner (API key) it belongs to: no one else of its operator reaches it.
    pub partner: Option<i64>,
}

impl Target {
    fn at(operator: &str, facility: &str) -> Target {
        Target {
            operator: Some(operator.to_owned()),
            facilities: vec![facility.to_owned()],
            owner: None,
            partner: None,
        }
    }

    /// Whether `principal` may act on it: its owner may, and so may whoever reaches all it concerns.
    pub fn admits(&self, principal: &Principal) -> bool {
        if self.owner.is_some() && self.owner == principal.user_id() {
            return true;
        }
        let reach = principal.reach();
        if let Some(partner) = self.partner {
            return reach == Reach::Everywhere
                || matches!(principal, Principal::ApiKey { id, .. } if *id == partner);
        }
        match &self.operator {
            None => reach == Reach::Everywhere,
            Some(op) if self.facilities.is_empty() => reach.holds_operator(op),
            Some(op) => self.facilities.iter().all(|f| reach.holds(op, f)),
        }
    }
}

impl Locate {
    /// The path parameter holding the id.
    pub fn param(self) -> &'static str {
        if self == Locate::Gate { "gate" } else { "id" }
    }

    /// The answer for a thing that is not there, and for one out of the caller's reach.
    pub fn not_found(self, key: &str) -> Error {
        let (code, what) = match self {
            Locate::Facility => return Error::unknown_facility(key),
            Locate::Gate => (ErrorCode::UnknownGate, "gate"),
            Locate::Payment => (ErrorCode::NotFound, "payment or refund"),
            Locate::Reservation => (ErrorCode::NotFound, "reservation"),
            Locate::Permit => (ErrorCode::NotFound, "active permit"),
            Locate::Pool => (ErrorCode::NotFound, "permit pool"),
            Locate::Webhook => (ErrorCode::NotFound, "webhook"),
            Locate::Device => (ErrorCode::NotFound, "device"),
            Locate::ApiKey => (ErrorCode::NotFound, "API key"),
            Locate::Alert => (ErrorCode::NotFound, "current alert"),
            Locate::User => (ErrorCode::NotFound, "staff member"),
            Locate::Grant => (ErrorCode::NotFound, "grant"),
        };
        Error::api(code, format!("no {what} {key:?}"))
    }

    /// Finds whose the thing named `key` is; `None` if there is no such thing.
    pub async fn find(self, app: &App, key: &str) -> Result<Option<Target>> {
        let facility_of = |id: &str| app.live.get(id).map(|f| Target::at(&f.operator, id));
        Ok(match self {
            Locate::Facility => facility_of(key),
            Locate::Gate => app.live.gate(key).map(|f| Target::at(&f.operator, &f.facility.id)),
            Locate::Payment => app.store.ledger_entry(key).await?.and_then(|e| {
                let mut target = match &e.facility {
                    Some(f) => facility_of(f)?,
                    None => Target::default(),
                };
                target.owner = e.user;
                Some(target)
            }),
            Locate::Reservation => app.store.reservation(key).await?.and_then(|r| {
                let mut target = facility_of(&r.facility)?;
                target.owner = r.owner;
                Some(target)
            }),
            Locate::Permit => app.permits.read().get(key).map(|p| Target {
                operator: Some(p.operator.clone()),
                facilities: p.facilities.clone(),
                ..Target::default()
            }),
            Locate::Grant => app.permits.read().get(key).filter(|p| p.partner.is_some()).map(|p| Target {
                operator: Some(p.operator.clone()),
                facilities: p.facilities.clone(),
                owner: None,
                partner: p.partner,
            }),
            Locate::Pool => app
                .store
                .pools()
                .await?
                .into_iter()
                .find(|p| p.id == key)
                .map(|p| Target { operator: Some(p.operator), ..Target::default() }),
            Locate::Webhook => app
                .store
                .webhooks()
                .await?
                .into_iter()
                .find(|w| w.id == key)
                .map(|w| Target { operator: Some(w.operator), ..Target::default() }),
            Locate::Device => {
                let Ok(id) = key.parse::<i64>() else { return Ok(None) };
                app.store.devices().await?.into_iter().find(|d| d.id == id).map(|d| Target {
                    operator: Some(d.operator),
                    facilities: d.facility.into_iter().collect(),
                    ..Target::default()
                })
            }
            Locate::ApiKey => {
                let Ok(id) = key.parse::<i64>() else { return Ok(None) };
                app.store
                    .api_keys()
                    .await?
                    .into_iter()
                    .find(|k| k.id == id)
                    .map(|k| Target { operator: Some(k.operator), ..Target::default() })
            }
            Locate::Alert => crate::alerts::find(app, key).await?.and_then(|a| facility_of(&a.facility)),
            Locate::User => {
                let Ok(id) = key.parse::<i64>() else { return Ok(None) };
                app.store.user_by_id(id).await?.and_then(|u| {
                    let operator = u.operator?;
                    Some(Target { operator: Some(operator), ..Target::default() })
                })
            }
        })
    }
}

/// Checks that `principal` may act on the thing a route's path names, answering as for a missing thing
/// when it may not.
pub async fn check(app: &App, locate: Locate, key: &str, principal: Option<&Principal>) -> Result<()> {
    let admitted = match (locate.find(app, key).await?, principal) {
        (Some(target), Some(p)) => target.admits(p),
        // A pool not made yet is made for the caller's operator, by whoever may make pools.
        (None, Some(p)) if locate == Locate::Pool => p.reach() != Reach::Nowhere,
        _ => false,
    };
    if admitted { Ok(()) } else { Err(locate.not_found(key)) }
}
