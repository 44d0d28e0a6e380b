//! Latency of reading one 1280x720 photo end to end (detection and recognition, one intra-op thread):
//! `cargo bench -p parkline-lpr --bench read`. Needs the models (`tools/fetch-lpr-models`) and the
//! shared benchmark photos.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use parkline_domain::plate_format::Region;
use parkline_lpr::PlateRecognizer;

fn read_a_photo(c: &mut Criterion) {
    let photo =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/lpr-bench/us/wts-lg-000145.jpg");
    let Ok(bytes) = std::fs::read(&photo) else {
        eprintln!("SKIPPED LOUDLY: {} is absent", photo.display());
        return;
    };
    let image = parkline_lpr::decode(&bytes).unwrap();
    assert_eq!(image.dimensions(), (1280, 720));
    let reader = PlateRecognizer::load(&parkline_lpr::models_dir(), Region::us()).expect("models");
    c.bench_function("read a 1280x720 photo", |b| b.iter(|| reader.read(&image).unwrap()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = read_a_photo
}
criterion_main!(benches);
