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
        v1::auth::confirm_signup,
        v1::auth::refresh,
        v1::auth::logout,
        v1::auth::me,
        v1::auth::my_data,
        v1::auth::my_notices,
        v1::auth::erase_me,
        v1::admin::purge,
        v1::admin::run_billing,
        v1::facilities::list,
        v1::facilities::detail,
        v1::facilities::availability,
        v1::facilities::best_spots,
        v1::facilities::layout,
        v1::open_data::datex2_table,
        v1::open_data::datex2_status,
        v1::open_data::parkapi,
        v1::partners::token,
        v1::partners::grant,
        v1::partners::grants_list,
        v1::partners::revoke,
        v1::partners::charges,
        v1::partners::webhook,
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
        v1::admin::api_keys,
        v1::admin::revoke_api_key,
        v1::admin::alerts,
        v1::admin::acknowledge_alert,
        v1::admin::revenue,
        v1::admin::open_balances,
        v1::admin::check_balances,
        v1::admin::occupancy,
        v1::admin::find_sessions,
        v1::admin::audit,
        v1::admin::verify_audit,
        v1::admin::devices,
        v1::admin::revoke_device,
        v1::admin::users,
        v1::admin::permits,
        v1::sensors::ingest,
        v1::sensors::camera,
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
    components(schemas(parkline_domain::Charging)),
    modifiers(&BearerAuth, &CommonResponses)
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

/// The answers every route can give besides its own, documented from the route table so the document
/// cannot forget one: the guard's (401 for missing or bad credentials, even on public routes; 403 for a
/// role or key scope it refuses; 429 over a rate limit; 404 for a thing out of reach), the body's (400
/// unparsable, 413 too large, 415 not JSON, 422 not acceptable, 404 naming what does not exist), and a
/// path's or query's that cannot be read (400). All are `ApiError`s.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ApiError"))).build();
            ResponseBuilder::new().description(description).content("application/json", content).build()
        };
        // What `payments::idempotency_key` accepts.
        let idempotency_key = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(128))
            .build();
        for route in super::route_table() {
            let Some(item) = openapi.paths.paths.get_mut(route.path) else { continue };
            let operation = match route.method {
                "GET" => item.get.as_mut(),
                "POST" => item.post.as_mut(),
                "PUT" => item.put.as_mut(),
                "DELETE" => item.delete.as_mut(),
                "PATCH" => item.patch.as_mut(),
                _ => None,
            };
            let Some(operation) = operation else { continue };
            let mut add: Vec<(&str, &str)> =
                vec![("429", "rate_limited: too many requests; retry after the delay given")];
            if route.access == crate::auth::Access::Public {
                add.push((
                    "401",
                    "unauthenticated or token_expired: credentials were sent and are not valid (send none)",
                ));
            } else {
                add.push(("401", "unauthenticated or token_expired: no, unknown or expired credentials"));
                add.push(("403", "forbidden: this caller's role or key scope may not use this route"));
            }
            if operation.request_body.is_some() {
                add.push(("400", "malformed_request: the body is not JSON of the expected shape"));
                add.push(("413", "payload_too_large: the body is over the size limit"));
                add.push(("415", "unsupported_media_type: send Content-Type: application/json"));
                add.push(("422", "validation_failed: a value is not acceptable (the message says which)"));
                add.push(("404", "not_found, unknown_facility, unknown_operator...: something the body names does not exist or is out of the caller's reach"));
            }
            let has_params =
                route.path.contains('{') || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            if has_params {
                add.push(("400", "malformed_request: a path or query parameter cannot be read"));
            }
            if route.path.contains('{') {
                add.push(("404", "not_found (or unknown_facility, unknown_gate, ...): no such thing, or out of the caller's reach"));
            }
            for param in operation.parameters.iter_mut().flatten().filter(|p| p.name == "Idempotency-Key") {
                param.schema = Some(idempotency_key.clone().into());
            }
            for (status, description) in add {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description).into());
            }
        }
    }
}
