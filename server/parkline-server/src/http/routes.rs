//! The route table: every path, its method, who may call it, how its scope is found, and its handler.
//! The router, the OpenAPI document and the authorization test are all built from this one list.

use axum::routing::{MethodRouter, delete, get, post, put};

use super::scope::Locate::*;
use super::scope::Scope::{self, At, Open, Own, Reach};
use super::{ops, v1};
use crate::app::App;
use crate::auth::Access::{self, Only, People, Public};
use crate::auth::Actor::{self, *};

#[derive(Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub scope: Scope,
    /// The scope a partner's API key needs here, on routes that admit partners.
    pub key_scope: Option<&'static str>,
    pub handler: MethodRouter<App>,
}

fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    scope: Scope,
    handler: MethodRouter<App>,
) -> Route {
    Route { method, path, access, scope, key_scope: None, handler }
}

impl Route {
    fn for_keys_with(mut self, scope: &'static str) -> Route {
        self.key_scope = Some(scope);
        self
    }
}

const STAFF: &[Actor] = &[Attendant, Manager, Admin];
const MANAGERS: &[Actor] = &[Manager, Admin];
const ADMINS: &[Actor] = &[Admin];

pub fn route_table() -> Vec<Route> {
    vec![
        route("GET", "/healthz", Public, Open, get(ops::healthz)),
        route("GET", "/readyz", Public, Open, get(ops::readyz)),
        route("GET", "/metrics", Public, Open, get(ops::metrics)),
        route("GET", "/openapi.json", Public, Open, get(ops::openapi)),
        route("POST", "/v1/auth/login", Public, Open, post(v1::auth::login)),
        route("POST", "/v1/auth/signup", Public, Open, post(v1::auth::signup)),
        route("POST", "/v1/auth/signup/confirm", Public, Open, post(v1::auth::confirm_signup)),
        route("POST", "/v1/auth/refresh", Public, Open, post(v1::auth::refresh)),
        route("POST", "/v1/auth/logout", People, Own, post(v1::auth::logout)),
        route("GET", "/v1/me", People, Own, get(v1::auth::me)),
        route("DELETE", "/v1/me", People, Own, delete(v1::auth::erase_me)),
        route("GET", "/v1/me/data", People, Own, get(v1::auth::my_data)),
        route("GET", "/v1/me/notices", People, Own, get(v1::auth::my_notices)),
        route("POST", "/v1/admin/retention/purge", Only(ADMINS), Open, post(v1::admin::purge)),
        route("POST", "/v1/admin/billing/run", Only(ADMINS), Open, post(v1::admin::run_billing)),
        route("GET", "/v1/admin/operators", Only(MANAGERS), Reach, get(v1::admin::operators)),
        route("POST", "/v1/admin/operators", Only(ADMINS), Open, post(v1::admin::create_operator)),
        route("GET", "/v1/facilities", Public, Open, get(v1::facilities::list)),
        route("POST", "/v1/facilities", Only(MANAGERS), Reach, post(v1::admin::import_facility)),
        route("GET", "/v1/facilities/{id}", Public, Open, get(v1::facilities::detail)),
        route(
            "GET",
            "/v1/open-data/{operator}/datex2/parking-table",
            Public,
            Open,
            get(v1::open_data::datex2_table),
        ),
        route(
            "GET",
            "/v1/open-data/{operator}/datex2/parking-status",
            Public,
            Open,
            get(v1::open_data::datex2_status),
        ),
        route("GET", "/v1/open-data/{operator}/parkapi", Public, Open, get(v1::open_data::parkapi)),
        route("GET", "/v1/facilities/{id}/availability", Public, Open, get(v1::facilities::availability)),
        route("GET", "/v1/facilities/{id}/best-spots", Public, Open, get(v1::facilities::best_spots)),
        route("GET", "/v1/facilities/{id}/layout", Public, Open, get(v1::facilities::layout)),
        route("GET", "/v1/facilities/{id}/rates", Public, Open, get(v1::pricing::get_rates)),
        route("PUT", "/v1/facilities/{id}/rates", Only(MANAGERS), At(Facility), put(v1::pricing::put_rates)),
        route("GET", "/v1/facilities/{id}/quote", Public, Open, get(v1::pricing::quote)),
        route(
            "PUT",
            "/v1/facilities/{id}/spots/{code}/service",
            Only(STAFF),
            At(Facility),
            put(v1::admin::set_spot_service),
        ),
        route("POST", "/v1/sensors/events", Only(&[SensorGateway, Admin]), Reach, post(v1::sensors::ingest)),
        route(
            "POST",
            "/v1/facilities/{id}/cameras/{camera}/occupancy",
            Only(&[SensorGateway, Admin]),
            At(Facility),
            post(v1::sensors::camera),
        ),
        // Spot changes are public data; a person also hears their own notices.
        route("GET", "/v1/stream", Only(&Actor::ALL), Open, get(v1::stream::stream))
            .for_keys_with("occupancy"),
        route(
            "POST",
            "/v1/gates/{gate}/events",
            Only(&[Kiosk, Attendant, Admin]),
            At(Gate),
            post(v1::gates::event),
        ),
        route(
            "POST",
            "/v1/gates/{gate}/overrides",
            Only(&[Kiosk, Attendant, Manager, Admin]),
            At(Gate),
            post(v1::gates::overrides),
        ),
        route("POST", "/v1/oauth/token", Public, Open, post(v1::partners::token)),
        route("POST", "/v1/partner/grants", Only(&[Partner]), Reach, post(v1::partners::grant))
            .for_keys_with("grants"),
        route("GET", "/v1/partner/grants", Only(&[Partner]), Own, get(v1::partners::grants_list))
            .for_keys_with("grants"),
        route("DELETE", "/v1/partner/grants/{id}", Only(&[Partner]), At(Grant), delete(v1::partners::revoke))
            .for_keys_with("grants"),
        route("GET", "/v1/partner/charges", Only(&[Partner]), Own, get(v1::partners::charges))
            .for_keys_with("grants"),
        route("POST", "/v1/partner/webhooks", Only(&[Partner]), Own, post(v1::partners::webhook))
            .for_keys_with("grants"),
        route("GET", "/v1/tickets/{ticket}", Public, Open, get(v1::gates::ticket)),
        route("POST", "/v1/tickets/{ticket}/payments", Public, Open, post(v1::payments::pay)),
        route("POST", "/v1/tickets/{ticket}/validations", Public, Open, post(v1::validations::apply)),
        route("POST", "/v1/validations", Only(MANAGERS), Reach, post(v1::validations::create)),
        route("GET", "/v1/me/account", People, Own, get(v1::payments::account)),
        route("POST", "/v1/me/account/top-ups", People, Own, post(v1::payments::top_up)),
        route("GET", "/v1/payments/{id}", Only(&Actor::ALL), At(Payment), get(v1::payments::receipt))
            .for_keys_with("partner"),
        route("POST", "/v1/payments/{id}/refunds", Only(MANAGERS), At(Payment), post(v1::payments::refund)),
        route(
            "GET",
            "/v1/facilities/{id}/sessions",
            Only(&[Kiosk, Attendant, Manager, Admin]),
            At(Facility),
            get(v1::gates::sessions),
        ),
        route("POST", "/v1/reservations", People, Own, post(v1::reservations::book)),
        route("GET", "/v1/reservations/{id}", People, At(Reservation), get(v1::reservations::get)),
        route("GET", "/v1/me/reservations", People, Own, get(v1::reservations::mine)),
        route("PUT", "/v1/reservations/{id}", People, At(Reservation), put(v1::reservations::modify)),
        route("DELETE", "/v1/reservations/{id}", People, At(Reservation), delete(v1::reservations::cancel)),
        route("POST", "/v1/permits", Only(MANAGERS), Reach, post(v1::permits::create)),
        route("GET", "/v1/permits/{id}", Only(STAFF), At(Permit), get(v1::permits::get)),
        route("DELETE", "/v1/permits/{id}", Only(MANAGERS), At(Permit), delete(v1::permits::revoke)),
        route("PUT", "/v1/permit-pools/{id}", Only(MANAGERS), At(Pool), put(v1::permits::set_pool)),
        route("POST", "/v1/webhooks", Only(MANAGERS), Reach, post(v1::webhooks::create)),
        route("GET", "/v1/webhooks", Only(MANAGERS), Reach, get(v1::webhooks::list)),
        route("DELETE", "/v1/webhooks/{id}", Only(MANAGERS), At(Webhook), delete(v1::webhooks::remove)),
        route("POST", "/v1/admin/users", Only(MANAGERS), Reach, post(v1::admin::create_user)),
        route("GET", "/v1/admin/users", Only(MANAGERS), Reach, get(v1::admin::users)),
        route(
            "PUT",
            "/v1/admin/users/{id}/facilities",
            Only(MANAGERS),
            At(User),
            put(v1::admin::set_staff_facilities),
        ),
        route("POST", "/v1/admin/devices", Only(MANAGERS), Reach, post(v1::admin::create_device)),
        route("GET", "/v1/admin/devices", Only(MANAGERS), Reach, get(v1::admin::devices)),
        route(
            "DELETE",
            "/v1/admin/devices/{id}",
            Only(MANAGERS),
            At(Device),
            delete(v1::admin::revoke_device),
        ),
        route("GET", "/v1/permits", Only(MANAGERS), Reach, get(v1::admin::permits)),
        route("POST", "/v1/admin/api-keys", Only(MANAGERS), Reach, post(v1::admin::create_api_key)),
        route("GET", "/v1/admin/api-keys", Only(MANAGERS), Reach, get(v1::admin::api_keys)),
        route(
            "DELETE",
            "/v1/admin/api-keys/{id}",
            Only(MANAGERS),
            At(ApiKey),
            delete(v1::admin::revoke_api_key),
        ),
        route("GET", "/v1/admin/alerts", Only(MANAGERS), Reach, get(v1::admin::alerts)),
        route(
            "POST",
            "/v1/admin/alerts/{id}/acknowledgement",
            Only(MANAGERS),
            At(Alert),
            post(v1::admin::acknowledge_alert),
        ),
        route("GET", "/v1/admin/revenue", Only(MANAGERS), Reach, get(v1::admin::revenue)),
        route("GET", "/v1/admin/balances", Only(MANAGERS), Reach, get(v1::admin::open_balances)),
        route("GET", "/v1/admin/balances/check", Only(ADMINS), Open, get(v1::admin::check_balances)),
        route("GET", "/v1/admin/sessions", Only(MANAGERS), Reach, get(v1::admin::find_sessions)),
        route("GET", "/v1/admin/audit", Only(MANAGERS), Reach, get(v1::admin::audit)),
        // One chain for the platform: a manager checks it holds (their records are in it), and learns
        // only whether it does and how long it is.
        route("POST", "/v1/admin/audit/verification", Only(MANAGERS), Open, post(v1::admin::verify_audit)),
        route(
            "GET",
            "/v1/admin/facilities/{id}/occupancy",
            Only(MANAGERS),
            At(Facility),
            get(v1::admin::occupancy),
        ),
    ]
}
