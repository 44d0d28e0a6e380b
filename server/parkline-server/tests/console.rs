//! What the managers' console reads: alerts (computed, acknowledged once with a note) and revenue by
//! local day, facility and method. On SQLite and PostgreSQL.

#[macro_use]
mod common;

use common::lane::{LOT, Lane};
use common::{Backend, TestServer};
use jiff::SignedDuration;
use parkline_protocol::Role;
use serde_json::{Value, json};

async fn alerts(s: &TestServer, token: &str) -> Vec<Value> {
    let (status, body) = s.get_as(token, "/v1/admin/alerts").await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

/// The alerts once `done` holds for them (the server checks for silent sensors every second), or after
/// five seconds.
async fn until(s: &TestServer, token: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..50 {
        let now = alerts(s, token).await;
        if done(&now) {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    alerts(s, token).await
}

async fn acknowledge(s: &TestServer, token: &str, id: &str, note: &str) -> (u16, Value) {
    let path = format!("/v1/admin/alerts/{}/acknowledgement", id.replace(':', "%3A"));
    s.post_as(Some(token), &path, &json!({ "note": note })).await
}

async fn silent_sensors_and_a_full_lot_raise_alerts_acknowledged_once_with_a_note(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    let driver = s.login(Role::Driver).await.access_token;
    assert_eq!(s.get_as(&driver, "/v1/admin/alerts").await.0, 403, "drivers see no alerts");

    // Every spot of the lot reports occupied, once.
    let layout = s.get(&format!("/v1/facilities/{LOT}/layout")).await.1;
    let spots: Vec<String> =
        layout["spots"].as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap().to_owned()).collect();
    let readings: Vec<(&str, &str, bool, f64, i64)> =
        spots.iter().map(|c| (LOT, c.as_str(), true, 0.95, 0)).collect();
    assert_eq!(s.report(&readings).await.0, 200);
    let now = alerts(s, &manager).await;
    let full: Vec<&Value> = now.iter().filter(|a| a["kind"] == "capacity_high").collect();
    assert_eq!(full.len(), 1, "{now:?}");
    assert_eq!(full[0]["facility"], LOT);
    assert!(full[0]["text"].as_str().unwrap().contains("100% full"), "{}", full[0]);

    // A minute later the sensors have gone quiet: one alert for the lot's many silent sensors (a
    // gateway or the network down), not one per spot.
    s.clock.advance(SignedDuration::from_secs(61));
    let silent = |alerts: &[Value]| -> Vec<String> {
        let of_lot = alerts.iter().filter(|a| a["kind"] == "sensor_offline" && a["facility"] == LOT);
        of_lot.map(|a| a["subject"].as_str().unwrap().to_owned()).collect()
    };
    let all_silent = format!("{} sensors", spots.len());
    let now = until(s, &manager, |now| silent(now) == [all_silent.clone()]).await;
    assert_eq!(silent(&now), [all_silent], "{now:?}");

    let id = full[0]["id"].as_str().unwrap().to_owned();
    let (status, body) = acknowledge(s, &manager, &id, "  ").await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "a note is required");
    let (status, ack) = acknowledge(s, &manager, &id, "Event at the stadium; overflow to Pier 66.").await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["by"], "manager@demo.parkline");
    let (status, again) = acknowledge(s, &manager, &id, "second thoughts").await;
    assert_eq!((status, &again), (200, &ack), "the first acknowledgement stands");
    let (status, body) = acknowledge(s, &manager, "capacity_high:nowhere:2020-01-01", "x").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));

    let now = alerts(s, &manager).await;
    let listed = now.iter().find(|a| a["id"] == id.as_str()).unwrap();
    assert_eq!(listed["acknowledged"]["note"], "Event at the stadium; overflow to Pier 66.");
    assert!(now.last().unwrap()["acknowledged"].is_object(), "acknowledged alerts come last");
    assert!(now.first().unwrap()["acknowledged"].is_null());
    // A page at a time.
    assert!(now.len() >= 2, "{now:?}");
    let page = async |q: &str| s.get_as(&manager, &format!("/v1/admin/alerts?{q}")).await.1;
    let ids =
        |page: Value| -> Vec<Value> { page.as_array().unwrap().iter().map(|a| a["id"].clone()).collect() };
    assert_eq!(ids(page("limit=1").await), [now[0]["id"].clone()]);
    assert_eq!(ids(page("limit=1&offset=1").await), [now[1]["id"].clone()]);
    assert_eq!(ids(page("offset=100000").await), Vec::<Value>::new());
    assert_eq!(page("limit=0").await["code"], "validation_failed");

    // A sensor that reports again clears its alert (its reading is "now" on the server's advanced clock).
    let first = &spots[0];
    let heartbeat = json!({"readings": [{"facility": LOT, "spot": first, "occupied": true, "confidence": 0.95,
        "kind": "ultrasonic", "observed_at": s.server.app.now().to_string()}]});
    let (status, body) = s.post_as(Some(&s.sensors.clone()), "/v1/sensors/events", &heartbeat).await;
    assert_eq!(status, 200, "{body}");
    let fewer = format!("{} sensors", spots.len() - 1);
    let now = until(s, &manager, |now| silent(now) == [fewer.clone()]).await;
    assert_eq!(silent(&now), [fewer], "the one reporting again is no longer counted");
    lane.close().await;
}

async fn revenue_is_reported_by_local_day_facility_and_method_net_of_refunds(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    // One stay paid at the lane, one by card and then partly refunded.
    lane.enter("in-1", "REV001").await;
    let t2 = lane.enter("in-2", "REV002").await["ticket"]["id"].as_str().unwrap().to_owned();
    s.clock.advance(SignedDuration::from_hours(2));
    let due = lane.leave("out-1", "REV001", None).await["amount_due"]["minor"].as_i64().unwrap();
    lane.leave("out-1b", "REV001", Some(due)).await;
    let r = s
        .http
        .post(s.url(&format!("/v1/tickets/{t2}/payments")))
        .header("idempotency-key", "card-1")
        .json(&json!({"card_token": "tok_visa"}))
        .send()
        .await
        .unwrap();
    let (status, receipt) = common::split(r).await;
    assert_eq!(status, 201, "{receipt}");
    let card = receipt["amount"]["minor"].as_i64().unwrap();
    let r = s
        .http
        .post(s.url(&format!("/v1/payments/{}/refunds", receipt["id"].as_str().unwrap())))
        .bearer_auth(&manager)
        .header("idempotency-key", "refund-1")
        .json(&json!({"amount_minor": 100, "reason": "barrier fault"}))
        .send()
        .await
        .unwrap();
    assert_eq!(common::split(r).await.0, 201);

    let today =
        s.server.app.now().to_zoned_datetime(jiff::tz::TimeZone::get("America/Los_Angeles").unwrap()).date();
    let (status, rows) = s
        .get_as(&manager, &format!("/v1/admin/revenue?from={}&to={today}", today.yesterday().unwrap()))
        .await;
    assert_eq!(status, 200, "{rows}");
    let rows = rows.as_array().unwrap();
    let row = |method: &str| rows.iter().find(|r| r["method"] == method).cloned().unwrap_or(Value::Null);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(row("lane")["taken_minor"].as_i64(), Some(due));
    assert_eq!(row("card")["taken_minor"].as_i64(), Some(card));
    assert_eq!(row("card")["refunded_minor"].as_i64(), Some(100));
    for r in rows {
        assert_eq!(
            (r["date"].as_str(), r["facility"].as_str()),
            (Some(today.to_string().as_str()), Some(LOT))
        );
    }

    // A range before any of it is empty; a backwards or too long range is refused.
    let (_, none) = s.get_as(&manager, "/v1/admin/revenue?from=2020-01-01&to=2020-01-31").await;
    assert_eq!(none, json!([]));
    let (status, body) = s.get_as(&manager, "/v1/admin/revenue?from=2026-02-01&to=2026-01-01").await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")));
    let (status, _) = s.get_as(&manager, "/v1/admin/revenue?from=2020-01-01&to=2026-01-01").await;
    assert_eq!(status, 422);
    let (status, _) = s.get_as(&manager, "/v1/admin/revenue?from=yesterday&to=2026-01-01").await;
    assert_eq!(status, 400);
    lane.close().await;
}

async fn occupancy_is_sampled_every_five_minutes_and_queried_by_range(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    let layout = s.get(&format!("/v1/facilities/{LOT}/layout")).await.1;
    let half: Vec<String> = layout["spots"]
        .as_array()
        .unwrap()
        .iter()
        .step_by(2)
        .map(|s| s["code"].as_str().unwrap().to_owned())
        .collect();
    let readings: Vec<(&str, &str, bool, f64, i64)> =
        half.iter().map(|c| (LOT, c.as_str(), true, 0.95, 0)).collect();
    assert_eq!(s.report(&readings).await.0, 200);
    let from = s.server.app.now() - SignedDuration::from_hours(1);
    let to = s.server.app.now() + SignedDuration::from_hours(1);
    let path = format!("/v1/admin/facilities/{LOT}/occupancy?from={from}&to={to}");
    // The samples stored, polled until there are `count` of them or five seconds have passed (the
    // sampler ticks every 250 ms on its own task).
    let samples = |count: usize| {
        let (manager, path) = (&manager, &path);
        async move {
            let mut samples = Vec::new();
            for _ in 0..50 {
                let (status, body) = s.get_as(manager, path).await;
                assert_eq!(status, 200, "{body}");
                assert_eq!(body["time_zone"], "America/Los_Angeles");
                samples = body["samples"].as_array().unwrap().clone();
                if samples.len() >= count {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            samples
        }
    };
    // The start-up sample is taken on the sampler's first tick: wait for it before time moves on.
    assert!(!samples(1).await.is_empty(), "a sample at start");
    s.clock.advance(SignedDuration::from_mins(5));
    let samples = samples(2).await;
    assert!(samples.len() >= 2, "one at start, one five minutes later: {samples:?}");
    let last = samples.last().unwrap();
    assert_eq!(last["taken"].as_u64(), Some(half.len() as u64), "{last}");
    assert!(last["in_service"].as_u64().unwrap() > last["taken"].as_u64().unwrap());
    let at = |v: &Value| v["at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert!(at(last).duration_since(at(&samples[0])) >= SignedDuration::from_mins(5));
    assert_eq!(at(last).as_millisecond() % 300_000, 0, "slots start on the five minutes");

    let (status, _) =
        s.get_as(&manager, &format!("/v1/admin/facilities/nowhere/occupancy?from={from}&to={to}")).await;
    assert_eq!(status, 404);
    let (status, _) =
        s.get_as(&manager, &format!("/v1/admin/facilities/{LOT}/occupancy?from={to}&to={from}")).await;
    assert_eq!(status, 422);
    lane.close().await;
}

on_both_backends!(
    card_payments_failing_above_two_percent_raise_an_alert_that_clears,
    plate_reads_staff_correct_too_often_raise_an_alert_that_clears,
    a_reservation_nobody_came_for_is_a_no_show_alert,
    a_car_let_out_offline_without_paying_is_an_open_balance,
    a_busy_gate_gone_quiet_and_plate_reads_losing_confidence_raise_alerts,
    stays_are_found_by_plate_or_ticket_with_their_timeline_and_the_audit_chain_verifies,
    occupancy_is_sampled_every_five_minutes_and_queried_by_range,
    silent_sensors_and_a_full_lot_raise_alerts_acknowledged_once_with_a_note,
    revenue_is_reported_by_local_day_facility_and_method_net_of_refunds,
);

async fn stays_are_found_by_plate_or_ticket_with_their_timeline_and_the_audit_chain_verifies(
    backend: Backend,
) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    let ticket = lane.enter("in-1", "TML 4242").await["ticket"]["id"].as_str().unwrap().to_owned();
    s.clock.advance(SignedDuration::from_hours(2));
    let due = lane.leave("out-1", "TML4242", None).await["amount_due"]["minor"].as_i64().unwrap();
    lane.leave("out-2", "TML4242", Some(due)).await;
    lane.enter("in-2", "TML 4242").await; // back again: a second stay, still inside

    // By plate, written another way: both stays, newest first.
    let (status, found) = s.get_as(&manager, "/v1/admin/sessions?plate=tml-4242").await;
    assert_eq!(status, 200, "{found}");
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0]["exit_gate"].is_null() && found[1]["exit_gate"].as_str() == Some(common::lane::OUT));
    let kinds: Vec<&str> =
        found[1]["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["entered", "charge", "payment", "left"], "{}", found[1]);
    assert_eq!(
        found[1]["session"]["fee"]["minor"].as_i64(),
        Some(due),
        "a finished stay shows what it was charged"
    );
    assert_eq!(found[1]["session"]["ticket"], ticket.as_str());

    // By ticket: that stay alone. Neither, both, or a bad plate are refused.
    let (_, by_ticket) = s.get_as(&manager, &format!("/v1/admin/sessions?ticket={ticket}")).await;
    assert_eq!(by_ticket.as_array().unwrap().len(), 1);
    assert_eq!(s.get_as(&manager, "/v1/admin/sessions").await.0, 422);
    assert_eq!(s.get_as(&manager, &format!("/v1/admin/sessions?plate=TML4242&ticket={ticket}")).await.0, 422);
    assert_eq!(s.get_as(&manager, "/v1/admin/sessions?plate=%21%21").await.0, 422);
    let driver = s.login(Role::Driver).await.access_token;
    assert_eq!(s.get_as(&driver, "/v1/admin/sessions?plate=TML4242").await.0, 403);

    // The audit chain holds the stay's charge and payment, and verifies.
    let (status, records) = s.get_as(&manager, "/v1/admin/audit?after=0&limit=500").await;
    assert_eq!(status, 200, "{records}");
    assert!(records.as_array().unwrap().len() >= 2);
    let (_, newest) = s.get_as(&manager, "/v1/admin/audit?newest=true&limit=2").await;
    let seqs: Vec<i64> = newest.as_array().unwrap().iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    let last = records.as_array().unwrap().last().unwrap()["seq"].as_i64().unwrap();
    assert_eq!(seqs, vec![last, last - 1], "the newest records, newest first");
    let (status, verified) = s.post_as(Some(&manager), "/v1/admin/audit/verification", &json!({})).await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(
        (verified["ok"].as_bool(), verified["problems"].as_array().map(Vec::len)),
        (Some(true), Some(0))
    );
    assert_eq!(s.get_as(&manager, "/v1/admin/audit?limit=0").await.0, 422);
    lane.close().await;
}

async fn a_busy_gate_gone_quiet_and_plate_reads_losing_confidence_raise_alerts(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    // To 10:00 in Seattle, in business hours.
    let tz = jiff::tz::TimeZone::get("America/Los_Angeles").unwrap();
    let local = s.server.app.now().to_zoned_datetime(tz.clone());
    let mut ten = local.date().at(10, 0, 0, 0).to_zoned_datetime(tz).unwrap().timestamp();
    if ten <= s.server.app.now() {
        ten += SignedDuration::from_hours(24);
    }
    s.clock.advance(ten.duration_since(s.server.app.now()));
    // Forty cars in: thirty read surely, the last ten barely.
    for n in 0..40 {
        let confidence = if n < 30 { 0.95 } else { 0.5 };
        let (status, d) = lane
            .event(common::lane::IN, json!({"event_id": format!("in-{n}"), "plate": {"text": format!("GH{n:04}"), "confidence": confidence}}))
            .await;
        assert_eq!((status, d["command"].as_str()), (200, Some("open")), "{d}");
    }
    let now = alerts(s, &manager).await;
    let lpr: Vec<&Value> = now.iter().filter(|a| a["kind"] == "lpr_confidence").collect();
    assert_eq!(lpr.len(), 1, "{now:?}");
    assert!(lpr[0]["text"].as_str().unwrap().contains("50% confidence, against 95%"), "{}", lpr[0]);
    assert!(!now.iter().any(|a| a["kind"] == "gate_idle"), "just opened");

    s.clock.advance(SignedDuration::from_mins(6));
    let now = alerts(s, &manager).await;
    let idle: Vec<&Value> = now.iter().filter(|a| a["kind"] == "gate_idle").collect();
    assert_eq!(idle.len(), 1, "{now:?}");
    assert_eq!(idle[0]["subject"], common::lane::IN);
    lane.close().await;
}

async fn a_car_let_out_offline_without_paying_is_an_open_balance(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    let now = s.server.app.now();
    let at = |t: jiff::Timestamp| t.to_string();
    let (status, d) = lane
        .event(
            common::lane::IN,
            json!({"event_id": "in-1", "plate": {"text": "OWE 001", "confidence": 0.9},
                "offline": {"at": at(now - SignedDuration::from_hours(3)), "ticket": "LOWE001"}}),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    // Let out by the lane while the server was away, nothing paid; and a stay that paid in full.
    let (status, d) = lane
        .event(
            common::lane::OUT,
            json!({"event_id": "out-1", "plate": {"text": "OWE 001", "confidence": 0.9}, "offline": {"at": at(now)}}),
        )
        .await;
    assert_eq!((status, d["reason"].as_str()), (200, Some("left_owing")), "{d}");
    let owed = d["amount_due"]["minor"].as_i64().unwrap();
    lane.enter("in-2", "PAID 002").await;
    s.clock.advance(SignedDuration::from_hours(1));
    let due = lane.leave("out-2", "PAID002", None).await["amount_due"]["minor"].as_i64().unwrap();
    lane.leave("out-3", "PAID002", Some(due)).await;

    let (status, balances) = s.get_as(&manager, "/v1/admin/balances").await;
    assert_eq!(status, 200, "{balances}");
    let balances = balances.as_array().unwrap();
    assert_eq!(balances.len(), 1, "only the unpaid stay: {balances:?}");
    assert_eq!(
        (balances[0]["ticket"].as_str(), balances[0]["owed_minor"].as_i64()),
        (Some("LOWE001"), Some(owed))
    );
    lane.close().await;
}

async fn a_reservation_nobody_came_for_is_a_no_show_alert(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    let driver = s.login(Role::Driver).await.access_token;
    let start = s.server.app.now() + SignedDuration::from_mins(30);
    let body = json!({"facility": LOT, "plate": "GHOST2", "vehicle_class": "sedan",
        "start": start.to_string(), "end": (start + SignedDuration::from_hours(1)).to_string()});
    let (status, booked) = s.post_as(Some(&driver), "/v1/reservations", &body).await;
    assert_eq!(status, 201, "{booked}");
    let id = booked[0]["id"].as_str().unwrap().to_owned();
    assert!(!alerts(s, &manager).await.iter().any(|a| a["kind"] == "no_show"));
    // A quarter of an hour after its start, nobody came: a no-show (the check runs every second).
    s.clock.advance(SignedDuration::from_mins(46));
    let now = until(s, &manager, |now| now.iter().any(|a| a["kind"] == "no_show")).await;
    let alert = now.iter().find(|a| a["kind"] == "no_show").expect("a no-show alert");
    assert_eq!((alert["subject"].as_str(), alert["facility"].as_str()), (Some(id.as_str()), Some(LOT)));
    assert_eq!(alert["id"], format!("no_show:{id}"));
    lane.close().await;
}

async fn card_payments_failing_above_two_percent_raise_an_alert_that_clears(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let manager = s.login(Role::Manager).await.access_token;
    let d = lane.enter("pf-in", "PAYF01").await;
    let ticket = d["ticket"]["id"].as_str().unwrap().to_owned();
    s.clock.advance(SignedDuration::from_hours(3));
    // One cent at a time: each is a charge through the (simulated) provider.
    let pay = async |key: String, token: &str| {
        s.pay_as(None, &ticket, &key, &json!({"card_token": token, "amount_minor": 1})).await.0
    };
    let failing =
        |all: &[Value]| all.iter().filter(|a| a["kind"] == "payment_failures").cloned().collect::<Vec<_>>();
    assert_eq!(pay("d".into(), "tok_chargeDeclined").await, 402);
    for n in 0..8 {
        assert_eq!(pay(format!("ok-{n}"), "tok_visa").await, 201);
    }
    // Nine tries are too few to judge; the tenth makes one failure in ten.
    assert!(failing(&alerts(s, &manager).await).is_empty());
    assert_eq!(pay("ok-8".into(), "tok_visa").await, 201);
    let raised = failing(&alerts(s, &manager).await);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(
        (raised[0]["facility"].as_str(), raised[0]["subject"].as_str()),
        (Some(LOT), Some("simulated"))
    );
    assert!(raised[0]["text"].as_str().unwrap().contains("1 of 10 card payments"), "{}", raised[0]);
    // Forty more go through: one in fifty is 2%, not above it.
    for n in 9..49 {
        assert_eq!(pay(format!("ok-{n}"), "tok_visa").await, 201);
    }
    assert!(failing(&alerts(s, &manager).await).is_empty(), "cleared at 2%");
    // A provider error counts as a failure too; an hour later the window has moved on.
    assert_eq!(pay("e".into(), "tok_processingError").await, 502);
    assert_eq!(failing(&alerts(s, &manager).await).len(), 1);
    s.clock.advance(SignedDuration::from_mins(61));
    assert!(failing(&alerts(s, &manager).await).is_empty(), "cleared as the hour passed");
    lane.close().await;
}

async fn plate_reads_staff_correct_too_often_raise_an_alert_that_clears(backend: Backend) {
    let Some(lane) = Lane::open(backend).await else { return };
    let s = &lane.s;
    let (manager, attendant) =
        (s.login(Role::Manager).await.access_token, s.login(Role::Attendant).await.access_token);
    let accuracy =
        |all: &[Value]| all.iter().filter(|a| a["kind"] == "lpr_accuracy").cloned().collect::<Vec<_>>();
    // Twenty cars in; the attendant corrects two plates the camera misread (90% right).
    let mut tickets = Vec::new();
    for n in 0..20 {
        let d = lane.enter(&format!("acc-{n}"), &format!("ACC{n:03}")).await;
        tickets.push(d["ticket"]["id"].as_str().unwrap().to_owned());
    }
    assert!(accuracy(&alerts(s, &manager).await).is_empty());
    for (n, ticket) in tickets.iter().take(2).enumerate() {
        let fix = json!({"action": "set_plate", "reason": "misread at entry", "session": ticket, "plate": format!("ACX{n:03}")});
        let (status, body) =
            s.post_as(Some(&attendant), &format!("/v1/gates/{}/overrides", common::lane::OUT), &fix).await;
        assert_eq!(status, 200, "{body}");
    }
    let raised = accuracy(&alerts(s, &manager).await);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["subject"], common::lane::IN, "the gate that read them");
    assert!(raised[0]["text"].as_str().unwrap().contains("90.0% of plates right"), "{}", raised[0]);
    assert!(raised[0]["text"].as_str().unwrap().contains("corrected 2 of 20"), "{}", raised[0]);
    // Twenty more read right: 38 of 40 is 95%, which is not below it.
    for n in 20..40 {
        lane.enter(&format!("acc-{n}"), &format!("ACC{n:03}")).await;
    }
    assert!(accuracy(&alerts(s, &manager).await).is_empty(), "cleared at 95%");
    lane.close().await;
}
