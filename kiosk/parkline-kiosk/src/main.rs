//! `parkline-kiosk --config kiosk.toml [--headless]`: runs a kiosk's lanes. Headless, it prints each
//! passage as a JSON line (without the plate: logs are not where plates are kept); otherwise it opens
//! the attendant window. `--open-image FILE` writes a kept (sealed) camera image to stdout.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "The Parkline gate kiosk")]
struct Cli {
    /// The kiosk's TOML configuration.
    #[arg(long, env = "PARKLINE_KIOSK_CONFIG")]
    config: PathBuf,
    /// Run the lanes without a window (camera-only lanes, servers, tests).
    #[arg(long)]
    headless: bool,
    /// Write this kept camera image (`done/<name>.sealed`), opened with the kiosk's key, to stdout.
    #[arg(long, value_name = "FILE")]
    open_image: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let cli = Cli::parse();
    let config = parkline_kiosk::Config::load(&cli.config)?;
    // Spans go to the collector from a thread of their own; kept until the kiosk stops.
    let telemetry = config
        .otlp_endpoint
        .as_deref()
        .map(|url| parkline_telemetry::Telemetry::otlp("parkline-kiosk", url))
        .transpose()?;
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::from_default_env())
        .with(tracing_subscriber::fmt::layer())
        .with(telemetry.as_ref().map(|t| t.layer()))
        .init();
    if let Some(image) = cli.open_image {
        use std::io::Write;
        let bytes = parkline_kiosk::camera::open_image(&image, &config.seal()?)?;
        std::io::stdout().write_all(&bytes)?;
        return Ok(());
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let running = runtime.block_on(parkline_kiosk::start(&config)).context("starting the kiosk")?;
    if cli.headless {
        runtime.block_on(headless(running));
        return Ok(());
    }
    let _guard = runtime.enter();
    parkline_kiosk::ui::launch(running);
    Ok(())
}

/// Prints every passage of every lane as a JSON line, until killed.
async fn headless(running: parkline_kiosk::Running) {
    let mut tasks = Vec::new();
    for lane in running.lanes {
        let mut view = lane.view.clone();
        tasks.push(tokio::spawn(async move {
            let mut last = None;
            while view.changed().await.is_ok() {
                let v = view.borrow_and_update().clone();
                if let Some(p) = v.passages.front()
                    && last.as_ref() != Some(p)
                {
                    println!("{}", passage_line(&v, p));
                    last = Some(p.clone());
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// A passage as headless mode prints it: whether a plate was read, never which.
fn passage_line(lane: &parkline_kiosk::lane::LaneView, p: &parkline_kiosk::lane::PassageView) -> String {
    let mut passage = serde_json::json!(p);
    passage["plate"] = serde_json::json!(p.plate.is_some());
    serde_json::json!({"gate": lane.gate, "passage": passage, "decision": lane.decision}).to_string()
}

#[cfg(test)]
mod tests {
    use parkline_domain::gate::DecisionReason;
    use parkline_kiosk::lane::{LaneView, PassageView};

    #[test]
    fn headless_lines_say_a_plate_was_read_not_which() {
        let lane = LaneView { gate: "in-1".into(), ..LaneView::default() };
        let passage = PassageView {
            at: jiff::Timestamp::UNIX_EPOCH,
            plate: Some("ABC1234".into()),
            reason: DecisionReason::Admitted,
            opened: true,
            offline: false,
            latency_ms: Some(80.0),
        };
        let line = super::passage_line(&lane, &passage);
        assert!(!line.contains("ABC1234"), "{line}");
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (parsed["gate"].as_str(), parsed["passage"]["plate"].as_bool()),
            (Some("in-1"), Some(true))
        );
    }
}
