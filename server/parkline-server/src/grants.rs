//! Partners' grants: an event venue, a hotel or a fleet lets one plate in at one of the operator's
//! facilities for a window, optionally to one zone. A grant is a permit of kind `grant` carrying the
//! partner (its API key), so the gates honour it as they do permits; the stay is billed to the partner
//! (`gates.rs`), and the partner's own webhook endpoints hear it start and end.

use parkline_domain::permit::{Permit, PermitKind};
use parkline_domain::plate::Plate;
use parkline_protocol::{ErrorCode, GrantRequest, GrantView, PartnerCharge};

use parkline_store::LedgerKind;

use crate::app::App;
use crate::auth::Principal;
use crate::error::{Error, Result};

/// Longest window one grant may cover.
const MAX_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(31 * 24);

/// The partner calling: its API key's id and operator. Only API keys (or their tokens) are partners.
pub fn partner(principal: &Principal) -> Result<(i64, &str)> {
    match principal {
        Principal::ApiKey { id, operator, .. } => Ok((*id, operator)),
        _ => Err(Error::api(ErrorCode::Forbidden, "only partners (API keys and their tokens) grant entries")),
    }
}

/// Saves a grant and puts it in force at the facility's gates.
pub async fn create(app: &App, principal: &Principal, req: GrantRequest) -> Result<GrantView> {
    let (key, operator) = partner(principal)?;
    // Another operator's facility is not found, as an unknown one is.
    let facility = app.live.get(&req.facility).filter(|f| f.operator == operator);
    let facility = facility.ok_or_else(|| Error::unknown_facility(&req.facility))?;
    if let Some(zone) = &req.zone {
        let f = &facility.facility;
        let known =
            f.zones.iter().any(|z| format!("{}{}", f.floors[usize::from(z.floor)].label, z.code) == *zone);
        if !known {
            return Err(Error::validation(format!("{} has no zone {zone:?}", req.facility)));
        }
    }
    let plate = Plate::parse(&req.plate).map_err(|e| Error::validation(e.to_string()))?;
    if req.valid_until <= app.now() || req.valid_until.duration_since(req.valid_from) > MAX_WINDOW {
        return Err(Error::validation("a grant ends in the future and covers at most 31 days"));
    }
    let name = app.store.api_key(key).await?.map(|k| k.name);
    let permit = Permit {
        id: crate::auth::random_token("grant-")[..30].to_owned(),
        holder: name.ok_or_else(|| Error::api(ErrorCode::Unauthenticated, "unknown or revoked key"))?,
        kind: PermitKind::Grant,
        operator: operator.to_owned(),
        plates: vec![plate],
        facilities: vec![req.facility.clone()],
        zones: req.zone.iter().cloned().collect(),
        valid_from: req.valid_from,
        valid_until: req.valid_until,
        hours: Vec::new(),
        pool: None,
        monthly_fee: None,
        account: None,
        partner: Some(key),
    };
    crate::permits::save(app, &permit).await?;
    Ok(view(&permit))
}

/// The partner's grants in force.
pub async fn list(app: &App, principal: &Principal) -> Result<Vec<GrantView>> {
    let (key, _) = partner(principal)?;
    let permits = app.store.permits().await?;
    Ok(permits.iter().filter(|p| p.partner == Some(key)).map(view).collect())
}

/// Ends a grant of the partner's: its plate is no longer let in on it. A stay it already let in is still
/// the partner's to pay. Another partner's grant is not found, as an unknown one is.
pub async fn revoke(app: &App, principal: &Principal, id: &str) -> Result<()> {
    let (key, _) = partner(principal)?;
    let own = app.permits.read().get(id).is_some_and(|p| p.partner == Some(key));
    if !own || !app.store.revoke_permit(id, app.now()).await? {
        return Err(Error::api(ErrorCode::NotFound, format!("no grant {id:?}")));
    }
    crate::permits::load(app).await
}

/// The stays the partner paid for on account and the refunds to it, oldest first.
pub async fn statement(app: &App, principal: &Principal) -> Result<Vec<PartnerCharge>> {
    let (key, _) = partner(principal)?;
    let entries = app.store.partner_ledger(key).await?;
    Ok(entries
        .into_iter()
        .map(|e| PartnerCharge {
            amount_minor: if e.kind == LedgerKind::Refund { -e.amount_minor } else { e.amount_minor },
            payment: e.key,
            session: e.session.unwrap_or_default(),
            facility: e.facility.unwrap_or_default(),
            currency: e.currency,
            at: e.at,
        })
        .collect())
}

fn view(p: &Permit) -> GrantView {
    GrantView {
        id: p.id.clone(),
        plate: p.plates.first().map(|p| p.as_str().to_owned()).unwrap_or_default(),
        facility: p.facilities.first().cloned().unwrap_or_default(),
        zone: p.zones.first().cloned(),
        valid_from: p.valid_from,
        valid_until: p.valid_until,
    }
}
