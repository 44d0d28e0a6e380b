//! `parkline-kiosk --config kiosk.toml [--headless]`: runs a kiosk's lanes. Headless, it prints each
//! passage as a JSON line; otherwise it opens the attendant window.

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
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let cli = Cli::parse();
    let config = parkline_kiosk::Config::load(&cli.config)?;
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
                    println!("{}", serde_json::json!({"gate": v.gate, "passage": p, "decision": v.decision}));
                    last = Some(p.clone());
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}
