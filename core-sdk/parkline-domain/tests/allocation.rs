//! Allocation and occupancy: policy examples, then properties checked against a plain scan.

use parkline_domain::layout::{FloorDef, SpotDef, ZoneDef};
use parkline_domain::{
    Charging, Facility, Feature, Features, LatLon, LayoutFile, Occupancy, Preferences, SpotState, Vehicle,
    VehicleClass,
};
use proptest::prelude::*;

/// One spot for a test layout: (level, size, features, metres from the floor entrance).
type S = (i16, VehicleClass, &'static [Feature], f64);

fn facility(spots: &[(i16, VehicleClass, Features, f64)]) -> Facility {
    let mut levels: Vec<i16> = spots.iter().map(|s| s.0).collect();
    levels.sort();
    levels.dedup();
    let floors = levels
        .iter()
        .map(|&level| FloorDef {
            level,
            label: None,
            name: None,
            entrance: [0.0, 0.0],
            zones: vec![ZoneDef {
                code: "A".into(),
                name: None,
                rows: vec![],
                spots: spots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.0 == level)
                    .map(|(i, &(_, size, features, x))| SpotDef {
                        number: i as u16 + 1,
                        size,
                        x,
                        y: 0.0,
                        features,
                        sensor: None,
                        sensors: Vec::new(),
                    })
                    .collect(),
            }],
        })
        .collect();
    let file = LayoutFile {
        id: "prop".into(),
        name: "Prop".into(),
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
    };
    Facility::from_layout(&file).unwrap()
}

fn levels(f: &Facility) -> Vec<i16> {
    f.floors.iter().map(|fl| fl.level).collect()
}

/// Builds a facility from `spots`, marks `occupied` (by spot number, 1-based), and returns the codes of the
/// best `n` spots for the vehicle.
fn best(spots: &[S], occupied: &[usize], vehicle: Vehicle, prefs: Preferences, n: usize) -> Vec<String> {
    let spots: Vec<_> = spots.iter().map(|&(l, s, f, x)| (l, s, Features::of(f), x)).collect();
    let f = facility(&spots);
    let mut occ = Occupancy::new(&f);
    for &number in occupied {
        let code = f.spots.iter().position(|s| s.code.ends_with(&format!("-{number:03}"))).unwrap();
        occ.set_state(code as u32, SpotState::Occupied).unwrap();
    }
    occ.best_spots(vehicle, &prefs, &levels(&f), n).into_iter().map(|c| f.spot(c.spot).code.clone()).collect()
}

use Feature::*;
use VehicleClass::*;
const SEDAN: Vehicle = Vehicle::new(Sedan, false);
const COMPACT: Vehicle = Vehicle::new(Compact, false);
const EV_SEDAN: Vehicle = Vehicle::new(Sedan, true);

#[test]
fn nearest_fitting_spot_wins_and_smaller_spots_are_never_offered() {
    let spots: &[S] = &[(0, Compact, &[], 1.0), (0, Sedan, &[], 20.0), (0, Sedan, &[], 10.0)];
    assert_eq!(best(spots, &[], SEDAN, Preferences::default(), 5), ["GA-003", "GA-002"]);
}

#[test]
fn exact_size_beats_a_slightly_nearer_larger_spot() {
    let spots: &[S] = &[(0, Suv, &[], 5.0), (0, Compact, &[], 20.0)];
    assert_eq!(best(spots, &[], COMPACT, Preferences::default(), 1), ["GA-002"]);
    // ...but not one much further away.
    let spots: &[S] = &[(0, Suv, &[], 5.0), (0, Compact, &[], 200.0)];
    assert_eq!(best(spots, &[], COMPACT, Preferences::default(), 1), ["GA-001"]);
}

#[test]
fn chargers_are_for_electric_vehicles_and_preferred_by_them() {
    let spots: &[S] = &[(0, Sedan, &[EvCharger], 1.0), (0, Sedan, &[], 10.0)];
    assert_eq!(best(spots, &[], SEDAN, Preferences::default(), 5), ["GA-002"]);
    assert_eq!(best(spots, &[], EV_SEDAN, Preferences::default(), 5), ["GA-001", "GA-002"]);
    let spots: &[S] = &[(0, Sedan, &[EvCharger], 30.0), (0, Sedan, &[], 1.0)];
    assert_eq!(best(spots, &[], EV_SEDAN, Preferences::default(), 1), ["GA-001"]);
    let no = Preferences { charging: Charging::No, ..Preferences::default() };
    assert_eq!(best(spots, &[], EV_SEDAN, no, 1), ["GA-002"]);
    let require = Preferences { charging: Charging::Require, ..Preferences::default() };
    assert_eq!(best(spots, &[1], EV_SEDAN, require, 5), Vec::<String>::new());
}

#[test]
fn accessible_spots_go_only_to_permit_holders_who_get_them_first() {
    let spots: &[S] = &[(0, Sedan, &[Accessible], 1.0), (0, Sedan, &[], 100.0)];
    assert_eq!(best(spots, &[], SEDAN, Preferences::default(), 5), ["GA-002"]);
    let permit = Preferences { accessible: true, ..Preferences::default() };
    assert_eq!(best(spots, &[], SEDAN, permit, 5), ["GA-001", "GA-002"]);
}

#[test]
fn covered_and_level_preferences_steer_the_choice() {
    let spots: &[S] = &[(0, Sedan, &[], 1.0), (0, Sedan, &[Covered], 10.0)];
    assert_eq!(best(spots, &[], SEDAN, Preferences::default(), 1), ["GA-001"]);
    let covered = Preferences { covered: true, ..Preferences::default() };
    assert_eq!(best(spots, &[], SEDAN, covered, 1), ["GA-002"]);
    let spots: &[S] = &[(0, Sedan, &[], 1.0), (1, Sedan, &[], 1.0)];
    let upstairs = Preferences { level: Some(1), ..Preferences::default() };
    assert_eq!(best(spots, &[], SEDAN, upstairs, 1), ["1A-002"]);
}

#[test]
fn a_busy_floor_sends_drivers_to_an_emptier_one_at_similar_distance() {
    // Ground floor: 4 spots, 3 taken; the basement is empty but a 40 m ramp away, too far to be worth it.
    let mut spots: Vec<S> = (0..4).map(|i| (0, Sedan, &[][..], 10.0 + f64::from(i))).collect();
    spots.extend((0..4).map(|i| (-1, Sedan, &[][..], 10.0 + f64::from(i))));
    assert_eq!(best(&spots, &[1, 2, 3], SEDAN, Preferences::default(), 1), ["GA-004"]);
    // Levels 1 and -1 are both one ramp away. Level 1's free spots are nearer, but half of it is taken.
    let mut spots: Vec<S> = (0..4).map(|i| (1, Sedan, &[][..], 10.0 + f64::from(i))).collect();
    spots.extend((0..4).map(|i| (-1, Sedan, &[][..], 14.0 + f64::from(i))));
    assert_eq!(best(&spots, &[], SEDAN, Preferences::default(), 1), ["1A-001"]);
    assert_eq!(best(&spots, &[1, 2], SEDAN, Preferences::default(), 1), ["B1A-005"]);
}

#[test]
fn free_counts_by_class_count_spots_each_class_may_use() {
    let spots: Vec<_> = [
        (0, Motorcycle, Features::NONE, 1.0),
        (0, Compact, Features::NONE, 1.0),
        (0, Sedan, Features::NONE, 1.0),
        (0, Suv, Features::NONE, 1.0),
        (0, Suv, Features::of(&[EvCharger]), 1.0),
        (0, Sedan, Features::of(&[Accessible]), 1.0),
    ]
    .to_vec();
    let f = facility(&spots);
    let mut occ = Occupancy::new(&f);
    assert_eq!(occ.free_by_class(), [4, 3, 2, 1]);
    assert_eq!(occ.free_with(EvCharger), 1);
    assert_eq!(occ.free_with(Accessible), 1);
    occ.set_state(3, SpotState::OutOfService).unwrap();
    occ.set_state(4, SpotState::Occupied).unwrap();
    assert_eq!(occ.free_by_class(), [3, 2, 1, 0]);
    assert_eq!(occ.free_with(EvCharger), 0);
    assert!(occ.set_state(99, SpotState::Free).is_err());
}

// ----- properties ---------------------------------------------------------------------------------

fn arb_spot() -> impl Strategy<Value = (i16, VehicleClass, Features, f64)> {
    (
        -2i16..3,
        prop::sample::select(VehicleClass::ALL.to_vec()),
        (0usize..Features::COMBINATIONS).prop_map(Features::from_index),
        0u16..300,
    )
        .prop_map(|(l, s, f, x)| (l, s, f, f64::from(x)))
}

fn arb_prefs() -> impl Strategy<Value = (Vehicle, Preferences)> {
    (
        prop::sample::select(VehicleClass::ALL.to_vec()),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec![Charging::Auto, Charging::Require, Charging::No]),
        any::<bool>(),
        prop::option::of(-2i16..3),
    )
        .prop_map(|(class, electric, accessible, charging, covered, level)| {
            (Vehicle::new(class, electric), Preferences { accessible, charging, covered, level })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// After any sequence of state changes the counts add up, and the index answers exactly what a full
    /// scan of free, eligible spots sorted by (cost, index) answers.
    #[test]
    fn index_matches_a_full_scan_and_counts_never_drift(
        spots in prop::collection::vec(arb_spot(), 1..60),
        ops in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4), 0..120),
        (vehicle, prefs) in arb_prefs(),
        n in 1usize..10,
    ) {
        let f = facility(&spots);
        let levels = levels(&f);
        let mut occ = Occupancy::new(&f);
        for (spot, state) in ops {
            occ.set_state(spot.index(f.capacity()) as u32, SpotState::ALL[state]).unwrap();
            prop_assert_eq!(occ.check_invariants(), Ok(()));
        }
        let t = occ.totals();
        prop_assert_eq!((t.free + t.occupied + t.held + t.out_of_service) as usize, f.capacity());

        let mut scan: Vec<(u64, u32)> = (0..f.capacity() as u32)
            .filter(|&i| occ.state(i) == SpotState::Free)
            .filter_map(|i| occ.cost_of(i, vehicle, &prefs, &levels).map(|c| (c, i)))
            .collect();
        scan.sort();
        scan.truncate(n);
        let got: Vec<(u64, u32)> =
            occ.best_spots(vehicle, &prefs, &levels, n).into_iter().map(|c| (c.cost, c.spot)).collect();
        prop_assert_eq!(got, scan);
    }

    /// No answer ever puts a vehicle in a spot smaller than it, and results are sorted best first.
    #[test]
    fn answers_fit_the_vehicle_and_come_best_first(
        spots in prop::collection::vec(arb_spot(), 1..60),
        (vehicle, prefs) in arb_prefs(),
    ) {
        let f = facility(&spots);
        let occ = Occupancy::new(&f);
        let best = occ.best_spots(vehicle, &prefs, &levels(&f), 20);
        for pair in best.windows(2) {
            prop_assert!((pair[0].cost, pair[0].spot) < (pair[1].cost, pair[1].spot));
        }
        for c in best {
            let spot = f.spot(c.spot);
            prop_assert!(vehicle.class.fits_in(spot.size));
            prop_assert!(!spot.features.has(Accessible) || prefs.accessible);
            prop_assert!(!spot.features.has(EvCharger) || vehicle.electric);
        }
    }
}
