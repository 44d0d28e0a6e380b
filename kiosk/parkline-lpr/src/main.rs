//! `parkline-lpr read IMAGE...` prints each photo's plate candidates as JSON; `parkline-lpr eval DIR`
//! scores a labelled folder (the shared benchmark's format) and writes the misses to a TSV;
//! `parkline-lpr leave-one-out DIR...` chooses the reader's thresholds on all sets but one and scores
//! the one left out, for each.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use parkline_domain::plate_format::Region;
use parkline_lpr::PlateRecognizer;

#[derive(Debug, Parser)]
#[command(name = "parkline-lpr", version, about = "Read licence plates in photos, offline")]
struct Cli {
    /// Plate formats: `us`, `us-<state>` (us-ca, us-wa, ...), `eu`, `eu-<country>` (eu-de, eu-fr, ...) or `br`.
    #[arg(long, default_value = "us", global = true)]
    region: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Candidates for each photo, as JSON lines.
    Read { images: Vec<PathBuf> },
    /// Scores a folder of labelled photos.
    Eval {
        dir: PathBuf,
        /// Where to write the misses.
        #[arg(long, default_value = "lpr-misses.tsv")]
        misses: PathBuf,
    },
    /// Leave one set out: each threshold candidate scored on every set (each read with the region its
    /// folder is named after: `us`, `eu`, `br`), then for each set the candidate best on the others,
    /// and its score on the set it never saw.
    LeaveOneOut { sets: Vec<PathBuf> },
}

/// The thresholds the leave-one-out check chooses among: the reader's own first.
fn tuning_candidates() -> Vec<parkline_lpr::Tuning> {
    let own = parkline_lpr::Tuning::default();
    let mut out = vec![own];
    for clear in [0.85, 0.9, 0.95] {
        for weak in [0.2, 0.4] {
            let t = parkline_lpr::Tuning { clear, weak, ..own };
            if t != own {
                out.push(t);
            }
        }
    }
    out
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let region = Region::by_name(&cli.region).with_context(|| format!("unknown region {:?}", cli.region))?;
    let mut reader = PlateRecognizer::load(&parkline_lpr::models_dir(), region)?;
    match cli.command {
        Command::LeaveOneOut { sets } => leave_one_out(&mut reader, &sets)?,
        Command::Read { images } => {
            for path in images {
                let bytes = std::fs::read(&path).with_context(|| path.display().to_string())?;
                let reading = parkline_lpr::decode(&bytes).and_then(|photo| reader.read(&photo));
                let line = match reading {
                    Ok(r) => serde_json::json!({
                        "image": path,
                        "candidates": r.candidates.iter().map(|c| serde_json::json!({
                            "plate": c.text, "confidence": c.confidence,
                            "box": [c.plate_box.x, c.plate_box.y, c.plate_box.w, c.plate_box.h],
                        })).collect::<Vec<_>>(),
                        "ms": {"detect": r.detect.as_secs_f64() * 1e3, "recognize": r.recognize.as_secs_f64() * 1e3},
                    }),
                    Err(e) => serde_json::json!({"image": path, "error": e.to_string()}),
                };
                println!("{line}");
            }
        }
        Command::Eval { dir, misses } => {
            let photos = parkline_lpr::eval::labelled(&dir)?;
            let bar = indicatif::ProgressBar::new(photos.len() as u64);
            let scores = parkline_lpr::eval::evaluate(&reader, &photos, || bar.inc(1))?;
            bar.finish_and_clear();
            let mut tsv = std::fs::File::create(&misses)?;
            writeln!(tsv, "image\texpected\tcandidates")?;
            for (image, expected, got) in &scores.misses {
                writeln!(tsv, "{image}\t{expected}\t{}", got.join(","))?;
            }
            println!("photos        {}", scores.photos);
            println!("top-1 exact   {:.1}%", scores.top1 * 100.0);
            println!("top-5         {:.1}%", scores.top5 * 100.0);
            println!("plate found   {:.1}%", scores.plate_found * 100.0);
            println!(
                "latency       p50 {:.0} ms  p95 {:.0} ms  p99 {:.0} ms",
                scores.p50_ms, scores.p95_ms, scores.p99_ms
            );
            println!("misses        {} in {}", scores.misses.len(), misses.display());
            let (confused, other_length) = parkline_lpr::eval::confusions(&scores.misses);
            let pairs: Vec<String> =
                confused.iter().take(12).map(|((e, r), n)| format!("{e}->{r} x{n}")).collect();
            println!(
                "confusions    {} (read for expected)",
                if pairs.is_empty() { "none".into() } else { pairs.join(", ") }
            );
            println!("other length  {other_length} (a character lost or added, or nothing read)");
        }
    }
    Ok(())
}

fn leave_one_out(reader: &mut PlateRecognizer, sets: &[PathBuf]) -> anyhow::Result<()> {
    let names: Vec<String> =
        sets.iter().map(|d| d.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    let photos: Vec<_> = sets.iter().map(|d| parkline_lpr::eval::labelled(d)).collect::<Result<_, _>>()?;
    let candidates = tuning_candidates();
    let mut top1 = Vec::new();
    for t in &candidates {
        reader.set_tuning(*t);
        let mut row = Vec::new();
        for (name, set) in names.iter().zip(&photos) {
            reader.set_region(Region::by_name(name).unwrap_or_else(Region::none));
            let scores = parkline_lpr::eval::evaluate(reader, set, || {})?;
            println!(
                "clear {:.2} sure {:.2} weak {:.2}  {name:>4}  top-1 {:5.1}%  p50 {:4.0} ms  p95 {:4.0} ms",
                t.clear,
                t.sure,
                t.weak,
                scores.top1 * 100.0,
                scores.p50_ms,
                scores.p95_ms
            );
            row.push(scores.top1);
        }
        top1.push(row);
    }
    let sizes: Vec<usize> = photos.iter().map(Vec::len).collect();
    for (held, (chosen, score)) in parkline_lpr::eval::leave_one_out(&top1, &sizes).into_iter().enumerate() {
        let (t, name) = (candidates[chosen], &names[held]);
        println!(
            "held out {name:>4}: chosen on the others clear {:.2} weak {:.2}: {:.1}% on {name} (the reader's own: {:.1}%)",
            t.clear,
            t.weak,
            score * 100.0,
            top1[0][held] * 100.0
        );
    }
    Ok(())
}
