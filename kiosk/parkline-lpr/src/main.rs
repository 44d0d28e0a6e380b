//! `parkline-lpr read IMAGE...` prints each photo's plate candidates as JSON; `parkline-lpr eval DIR`
//! scores a labelled folder (the shared benchmark's format) and writes the misses to a TSV.

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let region = Region::by_name(&cli.region).with_context(|| format!("unknown region {:?}", cli.region))?;
    let reader = PlateRecognizer::load(&parkline_lpr::models_dir(), region)?;
    match cli.command {
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
