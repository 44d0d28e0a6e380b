//! The route table: every path, its method, who may call it, and its handler. The router, the OpenAPI
//! document and the authorization test are all built from this one list.

use axum::routing::{MethodRouter, delete, get, post, put};

use super::{ops, v1};
use crate::app::App;
use crate::auth::Access::{self, Only, People, Public};
use crate::auth::Actor::{self, *};

#[derive(Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<App>,
}

fn route(method: &'static str, path: &'static str, access: Access, handler: MethodRouter<App>) -> Route {
    Route { method, path, access, handler }
}

pub fn route_table() -> Vec<Route> {
    vec![
        route("GET", "/healthz", Public, get(ops::healthz)),
        route("GET", "/readyz", Public, get(ops::readyz)),
        route("GET", "/metrics", Public, get(ops::metrics)),
        route("GET", "/openapi.json", Public, get(ops::openapi)),
        route("POST", "/v1/auth/login", Public, post(v1::auth::login)),
        route("POST", "/v1/auth/signup", Public, post(v1::auth::signup)),
        route("POST", "/v1/auth/refresh", Public, post(v1::auth::refresh)),
        route("GET", "/v1/me", People, get(v1::auth::me)),
        route("DELETE", "/v1/me", People, delete(v1::auth::erase_me)),
        route("GET", "/v1/me/data", People, get(v1::auth::my_data)),
        route("GET", "/v1/me/notices", People, get(v1::auth::my_notices)),
        route("POST", "/v1/admin/retention/purge", Only(&[Admin]), post(v1::admin::purge)),
        route("POST", "/v1/admin/billing/run", Only(&[Admin]), post(v1::admin::run_billing)),
        route("GET", "/v1/facilities", Public, get(v1::facilities::list)),
        route("POST", "/v1/facilities", Only(&[Manager, Admin]), post(v1::admin::import_facility)),
        route("GET", "/v1/facilities/{id}/availability", Public, get(v1::facilities::availability)),
        route("GET", "/v1/facilities/{id}/best-spots", Public, get(v1::facilities::best_spots)),
        route("GET", "/v1/facilities/{id}/layout", Public, get(v1::facilities::layout)),
        route("GET", "/v1/facilities/{id}/rates", Public, get(v1::pricing::get_rates)),
        route("PUT", "/v1/facilities/{id}/rates", Only(&[Manager, Admin]), put(v1::pricing::put_rates)),
        route("GET", "/v1/facilities/{id}/quote", Public, get(v1::pricing::quote)),
        route(
            "PUT",
            "/v1/facilities/{id}/spots/{code}/service",
            Only(&[Attendant, Manager, Admin]),
            put(v1::admin::set_spot_service),
        ),
        route("POST", "/v1/sensors/events", Only(&[SensorGateway, Admin]), post(v1::sensors::ingest)),
        route("GET", "/v1/stream", Only(&Actor::ALL), get(v1::stream::stream)),
        route("POST", "/v1/gates/{gate}/events", Only(&[Kiosk, Attendant, Admin]), post(v1::gates::event)),
        route(
            "POST",
            "/v1/gates/{gate}/overrides",
            Only(&[Attendant, Manager, Admin]),
            post(v1::gates::overrides),
        ),
        route("GET", "/v1/tickets/{ticket}", Public, get(v1::gates::ticket)),
        route("POST", "/v1/tickets/{ticket}/payments", Public, post(v1::payments::pay)),
        route("POST", "/v1/tickets/{ticket}/validations", Public, post(v1::validations::apply)),
        route("POST", "/v1/validations", Only(&[Manager, Admin]), post(v1::validations::create)),
        route("GET", "/v1/me/account", People, get(v1::payments::account)),
        route("POST", "/v1/me/account/top-ups", People, post(v1::payments::top_up)),
        route("GET", "/v1/payments/{id}", Only(&Actor::ALL), get(v1::payments::receipt)),
        route("POST", "/v1/payments/{id}/refunds", Only(&[Manager, Admin]), post(v1::payments::refund)),
        route(
            "GET",
            "/v1/facilities/{id}/sessions",
            Only(&[Kiosk, Attendant, Manager, Admin]),
            get(v1::gates::sessions),
        ),
        route("POST", "/v1/reservations", People, post(v1::reservations::book)),
        route("GET", "/v1/reservations/{id}", People, get(v1::reservations::get)),
        route("GET", "/v1/me/reservations", People, get(v1::reservations::mine)),
        route("PUT", "/v1/reservations/{id}", People, put(v1::reservations::modify)),
        route("DELETE", "/v1/reservations/{id}", People, delete(v1::reservations::cancel)),
        route("POST", "/v1/permits", Only(&[Manager, Admin]), post(v1::permits::create)),
        route("GET", "/v1/permits/{id}", Only(&[Attendant, Manager, Admin]), get(v1::permits::get)),
        route("DELETE", "/v1/permits/{id}", Only(&[Manager, Admin]), delete(v1::permits::revoke)),
        route("PUT", "/v1/permit-pools/{id}", Only(&[Manager, Admin]), put(v1::permits::set_pool)),
        route("POST", "/v1/webhooks", Only(&[Manager, Admin]), post(v1::webhooks::create)),
        route("GET", "/v1/webhooks", Only(&[Manager, Admin]), get(v1::webhooks::list)),
        route("DELETE", "/v1/webhooks/{id}", Only(&[Manager, Admin]), delete(v1::webhooks::remove)),
        route("POST", "/v1/admin/users", Only(&[Admin]), post(v1::admin::create_user)),
        route("POST", "/v1/admin/devices", Only(&[Manager, Admin]), post(v1::admin::create_device)),
        route("GET", "/v1/admin/devices", Only(&[Manager, Admin]), get(v1::admin::devices)),
        route("DELETE", "/v1/admin/devices/{id}", Only(&[Manager, Admin]), delete(v1::admin::revoke_device)),
        route("GET", "/v1/admin/users", Only(&[Admin]), get(v1::admin::users)),
        route("GET", "/v1/permits", Only(&[Manager, Admin]), get(v1::admin::permits)),
        route("POST", "/v1/admin/api-keys", Only(&[Admin]), post(v1::admin::create_api_key)),
        route("GET", "/v1/admin/alerts", Only(&[Manager, Admin]), get(v1::admin::alerts)),
        route(
            "POST",
            "/v1/admin/alerts/{id}/acknowledgement",
            Only(&[Manager, Admin]),
            post(v1::admin::acknowledge_alert),
        ),
        route("GET", "/v1/admin/revenue", Only(&[Manager, Admin]), get(v1::admin::revenue)),
        route("GET", "/v1/admin/balances", Only(&[Manager, Admin]), get(v1::admin::open_balances)),
        route("GET", "/v1/admin/sessions", Only(&[Manager, Admin]), get(v1::admin::find_sessions)),
        route("GET", "/v1/admin/audit", Only(&[Manager, Admin]), get(v1::admin::audit)),
        route("POST", "/v1/admin/audit/verification", Only(&[Manager, Admin]), post(v1::admin::verify_audit)),
        route(
            "GET",
            "/v1/admin/facilities/{id}/occupancy",
            Only(&[Manager, Admin]),
            get(v1::admin::occupancy),
        ),
    ]
}
