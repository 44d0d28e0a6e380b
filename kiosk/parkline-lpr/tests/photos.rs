//! The whole reader on the shared benchmark's 150 US photos: top-1 exact match (O folded into 0).
//! `parkline-lpr eval ../shared/lpr-bench/us` prints the same figures and writes the misses.

use std::path::PathBuf;

use parkline_domain::plate_format::Region;
use parkline_lpr::PlateRecognizer;

/// Measured 2026-11-24 (session 6): 86.0% top-1 (OpenALPR 2.3: 51.4%); the test fails below this (a
/// little under: the 8-bit detector is calibrated on the machine that fetches it, which may move a read or
/// two; the unquantized detector reads 82.0%).
const FLOOR: f64 = 0.84;

#[test]
fn reads_the_benchmark_photos() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/lpr-bench/us");
    if !dir.is_dir() {
        eprintln!("SKIPPED LOUDLY: the LPR benchmark is not at {}", dir.display());
        return;
    }
    let reader = PlateRecognizer::load(&parkline_lpr::models_dir(), Region::us()).expect("models");
    let photos = parkline_lpr::eval::labelled(&dir).unwrap();
    assert_eq!(photos.len(), 150);
    let scores = parkline_lpr::eval::evaluate(&reader, &photos, || {}).unwrap();
    println!(
        "us photos: top-1 {:.1}%, top-5 {:.1}%, plate found {:.1}%; p50 {:.0} ms, p95 {:.0} ms",
        scores.top1 * 100.0,
        scores.top5 * 100.0,
        scores.plate_found * 100.0,
        scores.p50_ms,
        scores.p95_ms
    );
    assert!(scores.top1 >= FLOOR, "{:.1}% is under the floor", scores.top1 * 100.0);
}
