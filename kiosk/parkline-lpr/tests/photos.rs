//! The whole reader on the shared benchmark's photos: 150 US, 54 European and 57 Brazilian, top-1 exact
//! match. `parkline-lpr [--region eu|br] eval ../shared/lpr-bench/<set>` prints the same figures and
//! writes the misses.

use std::path::PathBuf;

use parkline_domain::plate_format::Region;
use parkline_lpr::PlateRecognizer;

/// Measured 2026-11-24 (session 6): 86.0% top-1 (OpenALPR 2.3: 51.4%); the test fails below this (a
/// little under: the 8-bit detector is calibrated on the machine that fetches it, which may move a read or
/// two; the unquantized detector reads 82.0%).
const FLOOR: f64 = 0.84;

/// Measured 2026-12-05: European photos 92.6% top-1 with `eu` (as with no rules), Brazilian 94.7% with
/// `br` (91.2% with none); floors a read under each.
const EU_FLOOR: f64 = 0.90;
const BR_FLOOR: f64 = 0.92;

/// Top-1 of a set read with `region`, or `None` (loudly) when the set is absent.
fn top1(set: &str, region: Region, photos_in_set: usize) -> Option<f64> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/lpr-bench").join(set);
    if !dir.is_dir() {
        eprintln!("SKIPPED LOUDLY: the LPR benchmark is not at {}", dir.display());
        return None;
    }
    let name = region.name.clone();
    let reader = PlateRecognizer::load(&parkline_lpr::models_dir(), region).expect("models");
    let photos = parkline_lpr::eval::labelled(&dir).unwrap();
    assert_eq!(photos.len(), photos_in_set);
    let scores = parkline_lpr::eval::evaluate(&reader, &photos, || {}).unwrap();
    println!(
        "{set} photos ({name}): top-1 {:.1}%, top-5 {:.1}%, plate found {:.1}%; p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms",
        scores.top1 * 100.0,
        scores.top5 * 100.0,
        scores.plate_found * 100.0,
        scores.p50_ms,
        scores.p95_ms,
        scores.p99_ms
    );
    Some(scores.top1)
}

#[test]
fn reads_the_benchmark_photos() {
    let Some(top1) = top1("us", Region::us(), 150) else { return };
    assert!(top1 >= FLOOR, "{:.1}% is under the floor", top1 * 100.0);
}

#[test]
fn reads_european_photos_and_the_region_s_rules_never_make_it_worse() {
    let Some(eu) = top1("eu", Region::eu(), 54) else { return };
    assert!(eu >= EU_FLOOR, "{:.1}% is under the floor", eu * 100.0);
    let plain = top1("eu", Region::none(), 54).unwrap();
    assert!(eu >= plain, "eu rules {:.1}% against none {:.1}%", eu * 100.0, plain * 100.0);
}

#[test]
fn reads_brazilian_photos() {
    let Some(br) = top1("br", Region::br(), 57) else { return };
    assert!(br >= BR_FLOOR, "{:.1}% is under the floor", br * 100.0);
}
