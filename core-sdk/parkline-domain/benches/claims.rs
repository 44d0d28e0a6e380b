//! A gate's questions of a facility's reservations at 1,000, 10,000 and 100,000 claims: is this plate
//! booked now (check-in), and which spots are kept for arrivals soon (every walk-in asks). Before the
//! index both were a scan of every claim.
//! Run: `cargo bench -p parkline-domain --bench claims`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use parkline_domain::claims::Claims;
use parkline_domain::plate::Plate;
use parkline_domain::reservation::{Reservation, Status};
use parkline_domain::{Vehicle, VehicleClass};

/// `n` bookings spread over the 30 days ahead, an hour to a day each, on 2,000 spots.
fn claims(n: usize, now: Timestamp) -> Claims {
    (0..n)
        .map(|i| {
            let start = now + SignedDuration::from_mins(((i * 7919) % (30 * 24 * 60)) as i64);
            Reservation {
                id: format!("res_{i}"),
                facility: "f".into(),
                spot: format!("S{}", i % 2000),
                plate: Plate::parse(&format!("B{i:06}")).unwrap(),
                vehicle: Vehicle::new(VehicleClass::Sedan, false),
                start,
                end: start + SignedDuration::from_mins(60 + (i % 24 * 60) as i64),
                status: Status::Confirmed,
                quote_minor: 1000,
                fee_minor: 0,
                owner: Some((i % 500) as i64),
                group: None,
            }
        })
        .collect()
}

fn gate_questions(c: &mut Criterion) {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let mut group = c.benchmark_group("claims");
    for n in [1_000, 10_000, 100_000] {
        let claims = claims(n, now);
        let plate = Plate::parse("WALKIN1").unwrap();
        group.bench_with_input(BenchmarkId::new("check_in", n), &claims, |b, claims| {
            b.iter(|| black_box(claims.check_in(black_box(&plate), now)))
        });
        group.bench_with_input(BenchmarkId::new("kept_for_arrivals", n), &claims, |b, claims| {
            b.iter(|| black_box(claims.kept_for_arrivals(now).count()))
        });
        group.bench_with_input(BenchmarkId::new("scan_all_for_arrivals", n), &claims, |b, claims| {
            b.iter(|| black_box(claims.iter().filter(|r| r.keeps_walk_ins_out(now)).count()))
        });
    }
    group.finish();
}

criterion_group!(benches, gate_questions);
criterion_main!(benches);
