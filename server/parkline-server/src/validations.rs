//! Merchant validations: managers create codes for a facility (a fixed amount, a percentage or free
//! hours off, with an optional use limit and end date); merchants or visitors apply them to a ticket.

use parkline_protocol::{ApplyValidation, ErrorCode, SessionView, ValidationRequest};
use parkline_store::{Applied, ValidationRecord};

use crate::app::App;
use crate::auth::Reach;
use crate::error::{Error, Result};
use crate::stays;

fn valid_code(code: &str) -> bool {
    (4..=32).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Creates a validation code for one facility within reach.
pub async fn create(app: &App, reach: &Reach, req: ValidationRequest) -> Result<ValidationRecord> {
    let code = req.code.trim().to_ascii_uppercase();
    if !valid_code(&code) {
        return Err(Error::validation("code must be 4-32 letters, digits or dashes"));
    }
    app.facility_in(reach, &req.facility)?;
    let merchant = req.merchant.trim();
    if merchant.is_empty() || merchant.len() > 200 {
        return Err(Error::validation("merchant must be 1-200 characters"));
    }
    req.discount.validate().map_err(|e| Error::validation(e.to_string()))?;
    if req.max_uses == Some(0) || req.valid_until.is_some_and(|t| t <= app.now()) {
        return Err(Error::validation("max_uses must be positive and valid_until in the future"));
    }
    let record = ValidationRecord {
        code,
        facility: req.facility,
        merchant: merchant.to_owned(),
        discount: req.discount,
        max_uses: req.max_uses,
        uses: 0,
        valid_until: req.valid_until,
    };
    app.store.insert_validation(&record, app.now()).await.map_err(|e| match e {
        parkline_store::Error::Duplicate => Error::api(ErrorCode::Conflict, "this code exists"),
        e => e.into(),
    })?;
    Ok(record)
}

/// Applies a validation code to an active ticket (once per ticket; applying it again changes nothing)
/// and returns the stay with its new fee.
pub async fn apply(app: &App, ticket: &str, req: ApplyValidation) -> Result<SessionView> {
    let code = req.code.trim().to_ascii_uppercase();
    let (facility, session) = app
        .live
        .by_ticket(ticket)
        .ok_or_else(|| Error::api(ErrorCode::NotFound, "no active session has this ticket"))?;
    let found = if valid_code(&code) { app.store.validation(&code).await? } else { None };
    let v = found.ok_or_else(|| Error::api(ErrorCode::NotFound, "no such validation code"))?;
    let now = app.now();
    if v.facility != facility.facility.id {
        return Err(Error::validation("this code is for another facility"));
    }
    if v.valid_until.is_some_and(|t| t <= now) {
        return Err(Error::validation("this code has expired"));
    }
    {
        let _writer = facility.writer.lock().await;
        match app.store.apply_validation(&session.id, &v.code, now).await? {
            Applied::Now | Applied::Already => {
                facility.inside().add_validation(&session.id, v.code, v.discount)
            }
            Applied::Exhausted => return Err(Error::api(ErrorCode::Conflict, "this code has no uses left")),
        }
    }
    let session = facility
        .inside()
        .get(&session.id)
        .cloned()
        .ok_or_else(|| Error::api(ErrorCode::NotFound, "the session has just ended"))?;
    stays::view(&facility, &session, now)
}
