//! Route × caller × scope: every route of the table, called by every kind of caller, on things at the
//! caller's own facility, at another facility of the same operator outside a staff member's list, and
//! at another operator's facility. Callers the route's roles refuse get 401 or 403; callers out of
//! reach get the same 404 as for a thing that does not exist; everyone else gets past the guard. On
//! SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::collections::HashMap;

use common::{Backend, TestDb, TestServer};
use jiff::SignedDuration;
use parkline_protocol::Role;
use parkline_server::auth::{Access, Actor};
use parkline_server::http::route_table;
use parkline_server::http::scope::{Locate, Scope};
use serde_json::{Value, json};

/// The demo city's `seattle-city` operator runs these two; `northline` the third.
const OWN: &str = "waterfront-lot";
const SIBLING: &str = "pike-place-garage";
const OTHER: &str = "capitol-hill-station";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Place {
    /// The limited staff's (and the lane devices') facility.
    Own,
    /// The same operator's, outside the limited staff's list.
    Sibling,
    /// Another operator's.
    Other,
}

impl Place {
    const ALL: [Place; 3] = [Place::Own, Place::Sibling, Place::Other];

    fn facility(self) -> &'static str {
        match self {
            Place::Own => OWN,
            Place::Sibling => SIBLING,
            Place::Other => OTHER,
        }
    }

    fn operator(self) -> &'static str {
        if self == Place::Other { "northline" } else { "seattle-city" }
    }
}

/// What a route's thing concerns: one facility, one facility and a driver who owns it, or an operator
/// as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Facility,
    Owned,
    Operator,
    /// A partner's own: no one else of its operator reaches it.
    Partners,
}

fn level(locate: Locate) -> Level {
    match locate {
        Locate::Facility | Locate::Gate | Locate::Permit | Locate::Device | Locate::Alert => Level::Facility,
        Locate::Payment | Locate::Reservation => Level::Owned,
        Locate::Pool | Locate::Webhook | Locate::User | Locate::ApiKey => Level::Operator,
        Locate::Grant => Level::Partners,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// Owns the stay paid and the booking made at the own facility.
    Driver,
    /// City staff limited to the own facility.
    LimitedAttendant,
    LimitedManager,
    /// The city's manager, all of its facilities.
    Manager,
    /// Northline's manager.
    Manager2,
    Admin,
    /// Devices at the own facility.
    Kiosk,
    Gateway,
    /// A partner's key of the city.
    Partner,
}

/// Who may act on what, stated plainly (not computed the server's way).
fn may(who: Who, place: Place, level: Level) -> bool {
    use Place::*;
    match who {
        Who::Anonymous => false,
        Who::Admin => true,
        Who::Driver => level == Level::Owned && place == Own,
        Who::LimitedAttendant | Who::LimitedManager | Who::Kiosk | Who::Gateway => {
            place == Own && level != Level::Operator && level != Level::Partners
        }
        Who::Partner if level == Level::Partners => place == Own,
        Who::Manager | Who::Partner => place != Other && level != Level::Partners,
        Who::Manager2 => place == Other,
    }
}

fn actor(who: Who) -> Option<Actor> {
    match who {
        Who::Anonymous => None,
        Who::Driver => Some(Actor::Driver),
        Who::LimitedAttendant => Some(Actor::Attendant),
        Who::LimitedManager | Who::Manager | Who::Manager2 => Some(Actor::Manager),
        Who::Admin => Some(Actor::Admin),
        Who::Kiosk => Some(Actor::Kiosk),
        Who::Gateway => Some(Actor::SensorGateway),
        Who::Partner => Some(Actor::Partner),
    }
}

/// The code a thing out of reach (or not there) is answered with.
fn not_found_code(locate: Locate) -> &'static str {
    match locate {
        Locate::Facility => "unknown_facility",
        Locate::Gate => "unknown_gate",
        _ => "not_found",
    }
}

struct World {
    s: TestServer,
    admin: String,
    driver: String,
    driver2: String,
    manager: String,
    manager2: String,
    /// First entry gate and first spot of each facility.
    gates: HashMap<Place, String>,
    spots: HashMap<Place, String>,
    tickets: HashMap<Place, String>,
    payments: HashMap<Place, String>,
    reservations: HashMap<Place, String>,
    permits: HashMap<Place, String>,
    pools: HashMap<Place, String>,
    alerts: HashMap<Place, String>,
    staff: HashMap<Place, String>,
    /// A partner's key (with every scope) of each place's operator; the own one is the walk's partner.
    partners: HashMap<Place, String>,
    made: std::sync::atomic::AtomicU32,
}

/// The email and password of a caller who is a person.
fn account(who: Who) -> Option<(&'static str, &'static str)> {
    Some(match who {
        Who::Driver => ("driver@demo.parkline", common::PASSWORD),
        Who::LimitedAttendant => ("limited.attendant@example.com", "a long passphrase"),
        Who::LimitedManager => ("limited.manager@example.com", "a long passphrase"),
        Who::Manager => ("manager@demo.parkline", common::PASSWORD),
        Who::Manager2 => ("manager2@demo.parkline", common::PASSWORD),
        Who::Admin => ("admin@demo.parkline", common::PASSWORD),
        Who::Anonymous | Who::Kiosk | Who::Gateway | Who::Partner => return None,
    })
}

async fn login(s: &TestServer, email: &str, password: &str) -> String {
    let (status, body) =
        s.post_as(None, "/v1/auth/login", &json!({"email": email, "password": password})).await;
    assert_eq!(status, 200, "{email}: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn created(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = s.post_as(Some(token), path, &body).await;
    assert_eq!(status, 201, "{path} {body}: {answer}");
    answer
}

impl World {
    async fn build(s: TestServer) -> World {
        let admin = s.login(Role::Admin).await.access_token;
        let demo = |name: &str| format!("{name}@demo.parkline");
        let mut gates = HashMap::new();
        let mut spots = HashMap::new();
        for place in Place::ALL {
            let layout = s.get(&format!("/v1/facilities/{}/layout", place.facility())).await.1;
            let gate =
                layout["gates"].as_array().unwrap().iter().find(|g| g["direction"] == "entry").unwrap();
            gates.insert(place, gate["id"].as_str().unwrap().to_owned());
            spots.insert(place, layout["spots"][0]["code"].as_str().unwrap().to_owned());
        }
        // A stay at each facility, two hours long by the time it is paid; a sensor at each that reports
        // once and falls silent (an alert).
        let mut tickets = HashMap::new();
        for (i, place) in Place::ALL.into_iter().enumerate() {
            let reading = json!({"facility": place.facility(), "spot": spots[&place], "occupied": false,
                "confidence": 0.95, "kind": "magnetic", "observed_at": s.server.app.now().to_string()});
            let gateway = &s.gateways[place.facility()];
            let (status, body) =
                s.post_as(Some(gateway), "/v1/sensors/events", &json!({"readings": [reading]})).await;
            assert_eq!(status, 200, "{body}");
            let event = json!({"event_id": format!("scope-in-{i}"), "plate": {"text": format!("SCP {i:03}"), "confidence": 0.95}});
            let (status, d) =
                s.post_as(Some(&admin), &format!("/v1/gates/{}/events", gates[&place]), &event).await;
            assert_eq!(status, 200, "{d}");
            tickets.insert(place, d["ticket"]["id"].as_str().unwrap().to_owned());
        }
        s.clock.advance(SignedDuration::from_hours(2));

        let admin = s.login(Role::Admin).await.access_token;
        let driver = s.login(Role::Driver).await.access_token;
        let (status, body) = s.sign_up("other.driver@example.com", "another passphrase").await;
        assert_eq!(status, 201, "{body}");
        let driver2 = body["access_token"].as_str().unwrap().to_owned();
        let manager = login(&s, &demo("manager"), common::PASSWORD).await;
        let manager2 = login(&s, &demo("manager2"), common::PASSWORD).await;

        // Both drivers keep money on their accounts: the walk books more than a few reservations, and
        // beyond four the booking rules want their no-show fees covered.
        for (n, token) in [&driver, &driver2].into_iter().enumerate() {
            let top_up = json!({"amount_minor": 100_000, "currency": "USD", "card_token": "tok_visa"});
            let r = s.http.post(s.url("/v1/me/account/top-ups")).bearer_auth(token);
            let r =
                r.header("idempotency-key", format!("scope-deposit-{n}")).json(&top_up).send().await.unwrap();
            assert_eq!(r.status(), 201);
        }
        let mut payments = HashMap::new();
        for place in Place::ALL {
            let payer = if place == Place::Own { &driver } else { &driver2 };
            let receipt = s.pay_by_card(&tickets[&place], &format!("scope-pay-{place:?}"), Some(payer)).await;
            payments.insert(place, receipt["id"].as_str().unwrap().to_owned());
        }

        let mut world = World {
            s,
            admin,
            driver,
            driver2,
            manager,
            manager2,
            gates,
            spots,
            tickets,
            payments,
            reservations: HashMap::new(),
            permits: HashMap::new(),
            pools: HashMap::new(),
            alerts: HashMap::new(),
            staff: HashMap::new(),
            partners: HashMap::new(),
            made: Default::default(),
        };
        for place in Place::ALL {
            let body = json!({"name": format!("partner {place:?}"), "requests_per_minute": 100000,
                "operator": place.operator(), "scopes": ["occupancy", "rates", "partner", "grants"]});
            let key = created(&world.s, &world.admin, "/v1/admin/api-keys", body).await;
            world.partners.insert(place, key["token"].as_str().unwrap().to_owned());
        }
        for place in Place::ALL {
            let r = world.reservation(place).await;
            world.reservations.insert(place, r);
            let p = world.permit(place).await;
            world.permits.insert(place, p);
        }
        for (place, pool) in [(Place::Own, "city-pool"), (Place::Other, "northline-pool")] {
            let r = world
                .s
                .http
                .put(world.s.url(&format!("/v1/permit-pools/{pool}")))
                .bearer_auth(&world.admin)
                .json(&json!({"limit": 3, "operator": place.operator()}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 204);
        }
        world.pools = HashMap::from([
            (Place::Own, "city-pool".into()),
            (Place::Sibling, "city-pool".into()),
            (Place::Other, "northline-pool".into()),
        ]);
        // Silent sensors: every facility has alerts by now (two hours without a reading).
        for _ in 0..50 {
            let (_, all) = world.s.get_as(&world.admin, "/v1/admin/alerts").await;
            for place in Place::ALL {
                if let Some(a) = all.as_array().unwrap().iter().find(|a| a["facility"] == place.facility()) {
                    world.alerts.insert(place, a["id"].as_str().unwrap().to_owned());
                }
            }
            if world.alerts.len() == 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(world.alerts.len(), 3, "an alert at each facility");
        world
    }

    fn next(&self) -> u32 {
        self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// A booking two hours ahead (cancelled for free: a fee owed would block the next booking): the
    /// driver's at the own facility, the other driver's elsewhere.
    async fn reservation(&self, place: Place) -> String {
        let n = self.next();
        let now = self.s.server.app.now();
        let (start, end) = (now + SignedDuration::from_hours(2), now + SignedDuration::from_hours(3));
        let body = json!({"facility": place.facility(), "plate": format!("RSV {n:03}"), "vehicle_class": "sedan",
            "start": start.to_string(), "end": end.to_string()});
        let who = if place == Place::Own { &self.driver } else { &self.driver2 };
        created(&self.s, who, "/v1/reservations", body).await[0]["id"].as_str().unwrap().to_owned()
    }

    async fn permit(&self, place: Place) -> String {
        let id = format!("scope-permit-{}", self.next());
        let body = json!({"id": id, "holder": "Scope Co", "kind": "monthly", "plates": [format!("PRM {:03}", self.next())],
            "facilities": [place.facility()], "operator": place.operator(),
            "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2036-01-01T00:00:00Z"});
        created(&self.s, &self.admin, "/v1/permits", body).await;
        id
    }

    /// A grant by the place's partner at the place's facility.
    async fn grant(&self, place: Place) -> String {
        let now = self.s.server.app.now();
        let body = json!({"plate": format!("GRT {:03}", self.next()), "facility": place.facility(),
            "valid_from": now.to_string(), "valid_until": (now + SignedDuration::from_hours(1)).to_string()});
        created(&self.s, &self.partners[&place], "/v1/partner/grants", body).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn webhook(&self, place: Place) -> String {
        let body = json!({"url": "http://127.0.0.1:9/hook", "topics": ["*"], "operator": place.operator()});
        created(&self.s, &self.admin, "/v1/webhooks", body).await["id"].as_str().unwrap().to_owned()
    }

    async fn device(&self, place: Place) -> String {
        let body =
            json!({"name": format!("d{}", self.next()), "kind": "kiosk", "facility": place.facility()});
        created(&self.s, &self.admin, "/v1/admin/devices", body).await["id"].to_string()
    }

    async fn api_key(&self, place: Place) -> String {
        let body = json!({"name": format!("k{}", self.next()), "requests_per_minute": 60,
            "operator": place.operator()});
        created(&self.s, &self.admin, "/v1/admin/api-keys", body).await["id"].to_string()
    }

    /// The key naming the `place` thing a route acts on; deleting routes get a fresh one each call.
    async fn key(&self, locate: Locate, place: Place, fresh: bool) -> String {
        match locate {
            Locate::Facility => place.facility().to_owned(),
            Locate::Gate => self.gates[&place].clone(),
            Locate::Payment => self.payments[&place].clone(),
            Locate::Reservation if fresh => self.reservation(place).await,
            Locate::Reservation => self.reservations[&place].clone(),
            Locate::Permit if fresh => self.permit(place).await,
            Locate::Permit => self.permits[&place].clone(),
            Locate::Pool => self.pools[&place].clone(),
            Locate::Webhook => self.webhook(place).await,
            Locate::Device => self.device(place).await,
            Locate::ApiKey => self.api_key(place).await,
            Locate::Alert => self.alerts[&place].replace(':', "%3A"),
            Locate::User => self.staff[&place].clone(),
            Locate::Grant => self.grant(place).await,
        }
    }
}

async fn every_route_admits_its_roles_within_their_reach(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let mut w = World::build(TestServer::start(&db.config()).await).await;

    // The callers: limited staff and devices of the city at the own facility, both managers, a
    // driver, an admin, a partner's key of the city.
    let s = &w.s;
    let limited = |role: &str, email: &str| {
        json!({"email": email, "password": "a long passphrase", "role": role,
            "operator": "seattle-city", "facilities": [OWN]})
    };
    let attendant_id =
        created(s, &w.admin, "/v1/admin/users", limited("attendant", "limited.attendant@example.com")).await;
    created(s, &w.admin, "/v1/admin/users", limited("manager", "limited.manager@example.com")).await;
    let northline = json!({"email": "north.attendant@example.com", "password": "a long passphrase",
        "role": "attendant", "operator": "northline"});
    let north_id = created(s, &w.admin, "/v1/admin/users", northline).await;
    let kiosk =
        created(s, &w.admin, "/v1/admin/devices", json!({"name": "lane", "kind": "kiosk", "facility": OWN}))
            .await;
    let mut callers: Vec<(Who, Option<String>)> = vec![
        (Who::Anonymous, None),
        (Who::Driver, Some(w.driver.clone())),
        (Who::LimitedAttendant, Some(login(s, "limited.attendant@example.com", "a long passphrase").await)),
        (Who::LimitedManager, Some(login(s, "limited.manager@example.com", "a long passphrase").await)),
        (Who::Manager, Some(w.manager.clone())),
        (Who::Manager2, Some(w.manager2.clone())),
        (Who::Admin, Some(w.admin.clone())),
        (Who::Kiosk, Some(kiosk["token"].as_str().unwrap().to_owned())),
        (Who::Gateway, Some(s.sensors.clone())),
        (Who::Partner, Some(w.partners[&Place::Own].clone())),
    ];
    let actors: std::collections::HashSet<_> = callers.iter().filter_map(|(who, _)| actor(*who)).collect();
    assert_eq!(actors.len(), Actor::ALL.len(), "every kind of caller is exercised");
    w.staff = HashMap::from([
        (Place::Own, attendant_id.to_string()),
        (Place::Sibling, attendant_id.to_string()),
        (Place::Other, north_id.to_string()),
    ]);
    let s = &w.s;

    // Signing out and then erasing one's own account go last: the callers keep their tokens and
    // accounts for every other route (and sign in again after signing out).
    let mut routes = route_table();
    routes.sort_by_key(|r| match (r.method, r.path) {
        ("POST", "/v1/auth/logout") => 1,
        ("DELETE", "/v1/me") => 2,
        _ => 0,
    });
    let mut checked = 0;
    for route in &routes {
        let who = format!("{} {}", route.method, route.path);
        // A route naming a thing in its path (other than a ticket, itself the credential) declares
        // how its scope is found, and partners' routes the key scope they need.
        let names_thing = ["{id}", "{gate}"].iter().any(|p| route.path.contains(p));
        if names_thing && route.access != Access::Public {
            assert!(matches!(route.scope, Scope::At(_)), "{who} names a thing but declares no scope for it");
        }
        if route.access.admits(Some(Actor::Partner)) && route.access != Access::Public {
            assert!(route.key_scope.is_some(), "{who} admits partners without naming the key scope");
        }
        let places: &[Place] = if matches!(route.scope, Scope::At(_)) { &Place::ALL } else { &[Place::Own] };
        for &place in places {
            for (caller, token) in &callers {
                let mut path =
                    route.path.replace("{code}", &w.spots[&place]).replace("{ticket}", &w.tickets[&place]);
                if let Scope::At(locate) = route.scope {
                    let key = w.key(locate, place, route.method == "DELETE").await;
                    path = path.replace(&format!("{{{}}}", locate.param()), &key);
                } else {
                    path = path.replace("{id}", OWN).replace("{operator}", Place::Own.operator());
                }
                let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
                let mut req = s.http.request(method.clone(), s.url(&path));
                // An empty object is never a valid body: admitted calls fail validation, change nothing.
                if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
                    req = req.json(&json!({}));
                }
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let (status, body) = common::split(req.send().await.unwrap()).await;
                let call = format!("{caller:?} {who} at {place:?} ({path})");
                let code = body["code"].as_str();
                if !route.access.admits(actor(*caller)) {
                    let refused =
                        if *caller == Who::Anonymous { (401, "unauthenticated") } else { (403, "forbidden") };
                    assert_eq!((status, code), (refused.0, Some(refused.1)), "{call}: {body}");
                } else if let Scope::At(locate) = route.scope
                    && !may(*caller, place, level(locate))
                {
                    assert_eq!(
                        (status, code),
                        (404, Some(not_found_code(locate))),
                        "{call} is out of reach: {body}"
                    );
                } else {
                    assert!(
                        ![401, 403, 404].contains(&status),
                        "{call} should get past the guard, got {status} {body}"
                    );
                }
                checked += 1;
            }
        }
        if (route.method, route.path) == ("POST", "/v1/auth/logout") {
            for (who, token) in callers.iter_mut() {
                if let Some((email, password)) = account(*who) {
                    *token = Some(login(s, email, password).await);
                }
            }
        }
    }
    assert!(checked > route_table().len() * callers.len(), "{checked} calls");
    w.s.stop().await;
    db.cleanup().await;
}

on_both_backends!(every_route_admits_its_roles_within_their_reach);
