//! Merchant validations: managers create codes for a facility (a fixed amount, a percentage or free
//! hours off, with an optional use limit and end date); merchants or visitors apply them to a ticket.
//!
//! Codes are random unless the manager chooses one. Applying is public, so it must not help anyone
//! guess: every refusal is the same answer, and each ticket has a few attempts at a time.

use parkline_protocol::{ApplyValidation, ErrorCode, SessionView, ValidationRequest};
use parkline_store::{Applied, ValidationRecord};

use crate::app::App;
use crate::auth::Reach;
use crate::error::{Error, Result};
use crate::stays;

fn valid_code(code: &str) -> bool {
    (4..=32).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A code to type from a receipt: 12 characters (60 bits) from an alphabet without look-alikes.
fn random_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..12).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The one answer to every code that cannot be applied: unknown, another facility's, expired or used up.
fn refused() -> Error {
    Error::api(ErrorCode::NotFound, "this code cannot be applied to this ticket")
}

/// Creates a validation code for one facility within reach.
pub async fn create(app: &App, reach: &Reach, req: ValidationRequest) -> Result<ValidationRecord> {
    let code = match &req.code {
        Some(code) => code.trim().to_ascii_uppercase(),
        None => random_code(),
    };
    if !valid_code(&code) {
        return Err(Error::validation("code must be 4-32 letters, digits or dashes"));
    }
    app.facility_in(reach, &req.facility)?;
    let merchant = req.merchant.trim();
    if merchant.is_empty() || merchant.chars().count() > 200 {
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
    let (facility, session) = crate::stays::with_ticket(app, ticket).await?;
    app.limits.validation_attempt(&session.id)?;
    let found = if valid_code(&code) { app.store.validation(&code).await? } else { None };
    let now = app.now();
    let v = found
        .filter(|v| v.facility == facility.facility.id && v.valid_until.is_none_or(|t| t > now))
        .ok_or_else(refused)?;
    {
        let _writer = facility.writer.lock().await;
        match app.store.apply_validation(&session.id, &v.code, now).await? {
            Applied::Now | Applied::Already => {
                facility.inside().add_validation(&session.id, v.code, v.discount)
            }
            Applied::Exhausted => return Err(refused()),
        }
    }
    let session = facility
        .inside()
        .get(&session.id)
        .cloned()
        .ok_or_else(|| Error::api(ErrorCode::NotFound, "the session has just ended"))?;
    stays::view(&facility, &session, now).map(stays::public)
}
