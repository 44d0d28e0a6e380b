//! A generated city, for measuring the platform at the design's scale: `n` facilities of about 50
//! spots each, spread over the centres of ten real cities in their own time zones and currencies.
//! Deterministic: the same `n` gives the same facilities.

use parkline_domain::LayoutFile;
use rand::{Rng, SeedableRng};

/// (name, latitude, longitude, IANA time zone, currency, country).
const CENTRES: [(&str, f64, f64, &str, &str, &str); 10] = [
    ("seattle", 47.6062, -122.3321, "America/Los_Angeles", "USD", "US"),
    ("new-york", 40.7128, -74.0060, "America/New_York", "USD", "US"),
    ("chicago", 41.8781, -87.6298, "America/Chicago", "USD", "US"),
    ("toronto", 43.6532, -79.3832, "America/Toronto", "CAD", "CA"),
    ("sao-paulo", -23.5505, -46.6333, "America/Sao_Paulo", "BRL", "BR"),
    ("london", 51.5074, -0.1278, "Europe/London", "GBP", "GB"),
    ("paris", 48.8566, 2.3522, "Europe/Paris", "EUR", "FR"),
    ("berlin", 52.5200, 13.4050, "Europe/Berlin", "EUR", "DE"),
    ("tokyo", 35.6762, 139.6503, "Asia/Tokyo", "JPY", "JP"),
    ("sydney", -33.8688, 151.2093, "Australia/Sydney", "AUD", "AU"),
];

/// Facilities are placed within this many metres of their city's centre.
const SPREAD_M: f64 = 15_000.0;

/// The `n` facilities of the generated city, ids `gen-<city>-<number>`.
pub fn layouts(n: usize) -> Vec<LayoutFile> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(10_000);
    (0..n).map(|i| layout(i, &mut rng)).collect()
}

fn layout(i: usize, rng: &mut impl Rng) -> LayoutFile {
    let (city, lat, lon, time_zone, currency, country) = CENTRES[i % CENTRES.len()];
    let id = format!("gen-{city}-{:05}", i / CENTRES.len());
    // A uniform point in a disc around the centre.
    let (r, angle) = (SPREAD_M * rng.random::<f64>().sqrt(), rng.random_range(0.0..std::f64::consts::TAU));
    let lat = lat + r * angle.cos() / 111_320.0;
    let lon = lon + r * angle.sin() / (111_320.0 * lat.to_radians().cos());
    // 40 to 60 spots: sedans (some with chargers, some accessible), compacts and SUVs.
    let sedans = rng.random_range(20..=30);
    let compacts = rng.random_range(8..=14);
    let suvs = rng.random_range(6..=10);
    let json = serde_json::json!({
        "id": id,
        "name": format!("{} lot {}", city, i / CENTRES.len()),
        "location": {"lat": lat, "lon": lon},
        "time_zone": time_zone,
        "currency": currency,
        "country": country,
        "floors": [{"level": 0, "zones": [
            {"code": "A", "rows": [
                {"count": 2, "size": "sedan", "origin": [0.0, 0.0], "step": [3.6, 0.0], "features": ["accessible"]},
                {"count": 4, "size": "sedan", "origin": [8.0, 0.0], "step": [2.6, 0.0], "features": ["ev_charger"]},
                {"count": sedans, "size": "sedan", "origin": [20.0, 0.0], "step": [2.6, 0.0]},
            ]},
            {"code": "B", "rows": [
                {"count": compacts, "size": "compact", "origin": [0.0, 14.0], "step": [2.4, 0.0]},
                {"count": suvs, "size": "suv", "origin": [40.0, 14.0], "step": [3.0, 0.0]},
            ]},
        ]}],
        "gates": [
            {"id": format!("{id}-in"), "direction": "entry"},
            {"id": format!("{id}-out"), "direction": "exit"},
        ],
    });
    serde_json::from_value(json).expect("a generated layout is well formed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_is_valid_spread_out_and_the_same_every_time() {
        let city = layouts(40);
        assert_eq!(city, layouts(40));
        let ids: std::collections::BTreeSet<_> = city.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids.len(), 40, "unique ids");
        let mut zones = std::collections::BTreeSet::new();
        for l in &city {
            let f = parkline_domain::Facility::from_layout(l).expect("valid");
            assert!((40..=60).contains(&f.capacity()), "{} has {} spots", l.id, f.capacity());
            zones.insert(l.time_zone.as_str());
        }
        assert_eq!(zones.len(), 10, "ten cities, each in its own time zone");
    }

    /// The spatial index finds exactly what measuring the distance to every facility finds, nearest
    /// first, across the antimeridian too.
    #[test]
    fn nearby_search_through_the_index_finds_what_a_full_scan_finds() {
        use geo::Distance;
        let mut city = layouts(400);
        for (i, lon) in [179.999, -179.999, 179.95].into_iter().enumerate() {
            let mut l = city[0].clone();
            l.id = format!("fiji-{i}");
            l.location = parkline_domain::LatLon { lat: -17.7, lon };
            for (g, gate) in l.gates.iter_mut().enumerate() {
                gate.id = format!("fiji-{i}-{g}");
            }
            city.push(l);
        }
        let live = crate::live::Live::default();
        for l in &city {
            live.insert(
                crate::live::FacilityLive::new(l.clone(), "op".into(), jiff::Timestamp::UNIX_EPOCH, &[])
                    .unwrap(),
            );
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut found = 0;
        for probe in 0..300 {
            let near = &city[rng.random_range(0..city.len())].location;
            let (lat, lon) = (near.lat + rng.random_range(-0.1..0.1), near.lon + rng.random_range(-0.1..0.1));
            let lon = if lon > 180.0 {
                lon - 360.0
            } else if lon < -180.0 {
                lon + 360.0
            } else {
                lon
            };
            let radius = [500.0, 3_000.0, 20_000.0, 50_000.0][probe % 4];
            let here = geo::Point::new(lon, lat);
            let distance = |l: &LayoutFile| {
                geo::Haversine.distance(here, geo::Point::new(l.location.lon, l.location.lat))
            };
            let mut scan: Vec<(f64, &str)> =
                city.iter().map(|l| (distance(l), l.id.as_str())).filter(|(d, _)| *d <= radius).collect();
            scan.sort_by(|a, b| a.0.total_cmp(&b.0));
            let limit = [3, 50, 1000][probe % 3];
            scan.truncate(limit);
            let indexed = live.nearest(lat, lon, radius, limit);
            let indexed: Vec<(f64, &str)> =
                indexed.iter().map(|(d, f)| (*d, f.facility.id.as_str())).collect();
            assert_eq!(indexed, scan, "the {limit} nearest within {radius} m of ({lat}, {lon})");
            found += indexed.len();
        }
        assert!(found > 1000, "the probes found facilities: {found}");
        let across = live.nearest(-17.7, 179.999, 6_000.0, 10);
        assert_eq!(
            across.len(),
            3,
            "across the antimeridian: {:?}",
            across.iter().map(|(_, f)| &f.facility.id).collect::<Vec<_>>()
        );
    }
}
