//! The OpenAPI document, from the handlers' annotations. A test checks it lists every route of the table.

use utoipa::OpenApi;

use super::{ops, v1};

#[derive(OpenApi)]
#[openapi(
    info(title = "Parkline API", description = "Smart parking: facilities, live availability, identity."),
    paths(
        ops::healthz,
        ops::readyz,
        ops::metrics,
        ops::openapi,
        v1::auth::login,
        v1::auth::signup,
        v1::auth::refresh,
        v1::auth::logout,
        v1::auth::me,
        v1::auth::my_data,
        v1::auth::my_notices,
        v1::auth::erase_me,
        v1::admin::purge,
        v1::admin::run_billing,
        v1::facilities::list,
        v1::facilities::availability,
        v1::facilities::best_spots,
        v1::facilities::layout,
        v1::pricing::get_rates,
        v1::pricing::put_rates,
        v1::pricing::quote,
        v1::admin::import_facility,
        v1::admin::set_spot_service,
        v1::admin::operators,
        v1::admin::create_operator,
        v1::admin::create_user,
        v1::admin::set_staff_facilities,
        v1::admin::create_device,
        v1::admin::create_api_key,
        v1::admin::alerts,
        v1::admin::acknowledge_alert,
        v1::admin::revenue,
        v1::admin::open_balances,
        v1::admin::occupancy,
        v1::admin::find_sessions,
        v1::admin::audit,
        v1::admin::verify_audit,
        v1::admin::devices,
        v1::admin::revoke_device,
        v1::admin::users,
        v1::admin::permits,
        v1::sensors::ingest,
        v1::stream::stream,
        v1::gates::event,
        v1::gates::overrides,
        v1::gates::ticket,
        v1::gates::sessions,
        v1::payments::pay,
        v1::payments::receipt,
        v1::payments::refund,
        v1::payments::account,
        v1::payments::top_up,
        v1::reservations::book,
        v1::reservations::get,
        v1::reservations::mine,
        v1::reservations::modify,
        v1::reservations::cancel,
        v1::permits::create,
        v1::permits::get,
        v1::permits::revoke,
        v1::permits::set_pool,
        v1::webhooks::create,
        v1::validations::create,
        v1::validations::apply,
        v1::webhooks::list,
        v1::webhooks::remove,
    ),
    modifiers(&BearerAuth)
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}
