//! Parking operators: made by platform admins; each owns its facilities, staff, devices and keys.

use parkline_protocol::{ErrorCode, OperatorView};

use crate::app::App;
use crate::auth::Reach;
use crate::error::{Error, Result};

/// The operators within reach: all for admins, one's own for its staff.
pub async fn list(app: &App, reach: &Reach) -> Result<Vec<OperatorView>> {
    let all = app.store.operators().await?.into_iter();
    let own = |id: &str| match reach {
        Reach::Everywhere => true,
        Reach::Operator { operator, .. } => operator == id,
        Reach::Nowhere => false,
    };
    Ok(all.filter(|o| own(&o.id)).map(|o| OperatorView { id: o.id, name: o.name }).collect())
}

/// Adds an operator.
pub async fn create(app: &App, operator: OperatorView) -> Result<()> {
    if !parkline_domain::layout::is_slug(&operator.id) {
        return Err(Error::validation("operator ids are 1-64 lowercase letters, digits or dashes"));
    }
    let name = operator.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::validation("name must be 1-200 characters"));
    }
    app.store.insert_operator(&operator.id, name, app.now()).await.map_err(|e| match e {
        parkline_store::Error::Duplicate => {
            Error::api(ErrorCode::Conflict, format!("operator {:?} already exists", operator.id))
        }
        other => other.into(),
    })
}
