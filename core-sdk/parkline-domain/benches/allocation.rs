//! Allocation index at 500, 5,000 and 50,000 spots: query the best spot, allocate one, free one.
//! Run: `cargo bench -p parkline-domain --bench allocation`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use parkline_domain::layout::{FloorDef, RowDef, ZoneDef};
use parkline_domain::{
    Facility, Feature, Features, LatLon, LayoutFile, Occupancy, Preferences, SpotState, Vehicle, VehicleClass,
};

/// A garage of `spots` spots over 5 levels and 4 zones each, in rows of 50 with a realistic mix of sizes
/// and equipment.
fn garage(spots: usize) -> Facility {
    let per_zone = spots / 20;
    let mix: [(VehicleClass, &[Feature]); 6] = [
        (VehicleClass::Sedan, &[]),
        (VehicleClass::Compact, &[]),
        (VehicleClass::Suv, &[Feature::Covered]),
        (VehicleClass::Sedan, &[Feature::EvCharger]),
        (VehicleClass::Sedan, &[Feature::Accessible]),
        (VehicleClass::Motorcycle, &[]),
    ];
    let floors = (-1..4)
        .map(|level| FloorDef {
            level,
            label: None,
            name: None,
            entrance: [0.0, 0.0],
            zones: ["A", "B", "C", "D"]
                .iter()
                .enumerate()
                .map(|(z, code)| ZoneDef {
                    code: (*code).into(),
                    name: None,
                    spots: vec![],
                    rows: (0..per_zone.div_ceil(50))
                        .map(|r| {
                            let (size, features) = mix[(r + z) % mix.len()];
                            RowDef {
                                count: 50.min(per_zone - r * 50) as u16,
                                size,
                                origin: [z as f64 * 30.0, r as f64 * 6.0],
                                step: [2.5, 0.0],
                                features: Features::of(features),
                            }
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Facility::from_layout(&LayoutFile {
        id: "bench".into(),
        name: "Bench".into(),
        address: String::new(),
        location: LatLon { lat: 0.0, lon: 0.0 },
        time_zone: "UTC".into(),
        currency: "USD".into(),
        country: None,
        language: None,
        entry_level: 0,
        ramp_m_per_level: 40.0,
        floors,
        gates: vec![],
        cameras: vec![],
    })
    .unwrap()
}

/// Half full, every other spot taken.
fn half_full(f: &Facility) -> Occupancy {
    let mut occ = Occupancy::new(f);
    for i in (0..f.capacity() as u32).step_by(2) {
        occ.set_state(i, SpotState::Occupied).unwrap();
    }
    occ
}

fn bench(c: &mut Criterion) {
    let sedan = Vehicle::new(VehicleClass::Sedan, false);
    let prefs = Preferences { covered: true, ..Preferences::default() };
    let mut group = c.benchmark_group("allocation");
    for size in [500, 5_000, 50_000] {
        let f = garage(size);
        let levels: Vec<i16> = f.floors.iter().map(|fl| fl.level).collect();
        let mut occ = half_full(&f);

        group.bench_with_input(BenchmarkId::new("query_best_1", size), &size, |b, _| {
            b.iter(|| black_box(occ.best_spots(sedan, &prefs, &levels, 1)))
        });
        group.bench_with_input(BenchmarkId::new("query_best_10", size), &size, |b, _| {
            b.iter(|| black_box(occ.best_spots(sedan, &prefs, &levels, 10)))
        });
        // Allocate the best spot, then free it again so the state stays the same between iterations.
        group.bench_with_input(BenchmarkId::new("allocate_then_free", size), &size, |b, _| {
            b.iter(|| {
                let spot = occ.best_spots(sedan, &prefs, &levels, 1)[0].spot;
                occ.set_state(spot, SpotState::Occupied).unwrap();
                occ.set_state(black_box(spot), SpotState::Free).unwrap();
            })
        });
        group.bench_with_input(BenchmarkId::new("free_counts", size), &size, |b, _| {
            b.iter(|| black_box(occ.free_by_class()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
