//! `parkline-server`: run the API, run the demo city, import layouts, create accounts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use parkline_protocol::Role;
use parkline_server::clock::SystemClock;
use parkline_server::config::{Config, Settings};
use parkline_server::{demo, facilities, mqtt, setup, start, users};

#[derive(Debug, Parser)]
#[command(name = "parkline-server", version, about = "Parkline smart-parking server")]
struct Cli {
    /// TOML file with settings; flags and PARKLINE_* variables override it.
    #[arg(long, env = "PARKLINE_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API.
    Serve(Settings),
    /// Serve the demo city with simulated sensors (SQLite in a fresh temporary directory unless
    /// --data-dir is given).
    Demo {
        #[command(flatten)]
        settings: Settings,
        /// Seconds between simulated sensor batches; 0 turns the simulation off.
        #[arg(long, default_value_t = 1.0)]
        simulate_every_s: f64,
    },
    /// Validate layout files and add them as new facilities (all or none, a few hundred per
    /// transaction).
    ImportLayout {
        #[command(flatten)]
        settings: Settings,
        /// `.toml` or `.json` layout files, or directories of them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The operator the facilities belong to.
        #[arg(long, default_value = parkline_store::DEFAULT_OPERATOR)]
        operator: String,
    },
    /// Write a generated city for measuring at scale: `facilities` layouts of about 50 spots each,
    /// spread over ten real city centres and time zones, as JSON files in `out` (for `import-layout`).
    GenerateCity {
        #[arg(long)]
        facilities: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Create an account; the password is read from PARKLINE_NEW_PASSWORD or standard input.
    CreateUser {
        #[command(flatten)]
        settings: Settings,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The operator staff (attendants, managers) work for.
        #[arg(long)]
        operator: Option<String>,
    },
    /// Re-encrypt every plate, permit and webhook secret sealed with an older key under the first key of
    /// `plate_keys` (key rotation: add the new key first, run this, then remove the old one).
    Rekey {
        #[command(flatten)]
        settings: Settings,
    },
    /// Check the audit chain end to end and every ledger row against its audit record; exits 1 on
    /// any problem, listing each.
    VerifyAudit {
        #[command(flatten)]
        settings: Settings,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not one of driver, attendant, manager, admin"))
}

fn config(file: &Option<PathBuf>, flags: Settings) -> anyhow::Result<Config> {
    let from_file = match file {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    flags.or(from_file).resolve()
}

/// Logs to standard output (JSON lines if `json`), and spans to an OTLP collector if `otlp` names one.
/// Keep the returned telemetry alive: dropping it sends what is left.
fn init_logs(json: bool, otlp: Option<&str>) -> anyhow::Result<Option<parkline_telemetry::Telemetry>> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let fmt = if json {
        tracing_subscriber::fmt::layer().json().boxed()
    } else {
        tracing_subscriber::fmt::layer().boxed()
    };
    let telemetry =
        otlp.map(|url| parkline_telemetry::Telemetry::otlp("parkline-server", url)).transpose()?;
    let spans = telemetry.as_ref().map(|t| t.layer());
    tracing_subscriber::registry().with(filter).with(fmt).with(spans).init();
    Ok(telemetry)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(flags) => {
            let config = config(&cli.config, flags)?;
            let _telemetry = init_logs(config.json_logs, config.otlp_endpoint.as_deref())?;
            let server = start(&config).await?;
            shutdown_signal().await;
            server.stop().await;
        }
        Command::Demo { mut settings, simulate_every_s } => {
            if settings.data_dir.is_none() && settings.database_url.is_none() {
                let dir = std::env::temp_dir().join(format!("parkline-demo-{}", std::process::id()));
                settings.data_dir = Some(dir);
            }
            let mut config = config(&cli.config, settings)?;
            // The demo takes test cards unless told otherwise, and says so.
            config.payment_provider.get_or_insert_with(|| "simulated".into());
            // And its mail (sign-up codes) goes into the log.
            config.mail_url.get_or_insert_with(|| "log".into());
            let _telemetry = init_logs(config.json_logs, config.otlp_endpoint.as_deref())?;
            let server = start(&config).await?;
            let tokens = demo::seed(&server.app).await?;
            demo::seed_history(&server.app, 4).await?;
            print_banner(&server.url(), &config, &tokens);
            let simulator = if simulate_every_s > 0.0 {
                let period = Duration::from_secs_f64(simulate_every_s.max(0.05));
                // Through the broker when the server listens to one, as real sensors would.
                let transport = match config.mqtt_url.as_deref() {
                    Some(url) => {
                        // The broker's address, never the credentials the URL may carry.
                        println!("  Simulated sensors publish to {:?}", mqtt::BrokerUrl::parse(url)?);
                        let ca = config.mqtt_ca_file.as_deref();
                        demo::Transport::mqtt(&server.app, url, ca, &tokens).await?
                    }
                    None => demo::Transport::Http { url: server.url(), tokens },
                };
                Some(tokio::spawn(demo::simulate(server.app.clone(), transport, period)))
            } else {
                None
            };
            shutdown_signal().await;
            if let Some(s) = simulator {
                s.abort();
            }
            server.stop().await;
        }
        Command::ImportLayout { settings, files, operator } => {
            let config = config(&cli.config, settings)?;
            init_logs(config.json_logs, None)?;
            let started = std::time::Instant::now();
            let app = setup::open(&config, Arc::new(SystemClock)).await?;
            let mut layouts = Vec::new();
            for path in layout_files(&files)? {
                layouts.push(facilities::read_layout(&path)?);
            }
            let what = match layouts.len() {
                n @ 0 | n @ 11.. => format!("{n} facilities"),
                _ => layouts.iter().map(|l| l.id.as_str()).collect::<Vec<_>>().join(", "),
            };
            facilities::import_all(&app, &operator, layouts).await.context("importing")?;
            println!("imported {what} in {:.1} s", started.elapsed().as_secs_f64());
        }
        Command::GenerateCity { facilities, out } => {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            for layout in parkline_server::city::layouts(facilities) {
                let path = out.join(format!("{}.json", layout.id));
                std::fs::write(&path, serde_json::to_vec(&layout)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            println!("wrote {facilities} layouts to {}", out.display());
        }
        Command::CreateUser { settings, email, role, operator } => {
            let config = config(&cli.config, settings)?;
            init_logs(config.json_logs, None)?;
            let password = match std::env::var("PARKLINE_NEW_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let app = setup::open(&config, Arc::new(SystemClock)).await?;
            // Staff join the default operator unless one is named.
            let staff = matches!(role, Role::Attendant | Role::Manager);
            let operator = operator.or_else(|| staff.then(|| parkline_store::DEFAULT_OPERATOR.to_owned()));
            let id = users::create(&app, &email, &password, role, operator.as_deref()).await?;
            println!("created {} {email} (id {id})", role.as_str());
        }
        Command::Rekey { settings } => {
            let config = config(&cli.config, settings)?;
            let store = parkline_store::open(&config.database_url, Arc::new(setup::vault(&config)?)).await?;
            let moved = store.rekey().await?;
            println!("re-encrypted {moved} values under the current key");
        }
        Command::VerifyAudit { settings } => {
            let config = config(&cli.config, settings)?;
            let store = parkline_store::open(&config.database_url, Arc::new(setup::vault(&config)?)).await?;
            let report = parkline_store::audit::verify(store.as_ref()).await?;
            for problem in &report.problems {
                println!("PROBLEM {problem}");
            }
            println!(
                "audit chain: {} records, {} ledger entries, {}",
                report.records,
                report.ledger_entries,
                if report.ok() { "verified" } else { "NOT VERIFIED" }
            );
            if !report.ok() {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

fn print_banner(url: &str, config: &Config, tokens: &std::collections::BTreeMap<String, String>) {
    println!();
    println!("  Parkline demo is running at {url}");
    match config.payment_provider.as_deref() {
        Some("simulated") => println!("  Payments are SIMULATED: test cards (tok_visa) pass, no money moves"),
        other => println!("  Payments: {}", other.unwrap_or("none")),
    }
    if config.mail_url.as_deref() == Some("log") {
        println!("  Mail goes into this log: sign-up codes are printed there");
    }
    println!("  Database: {}", config.database_url);
    println!();
    println!("  Try:  curl '{url}/v1/facilities?lat=47.6062&lon=-122.3321&radius_m=3000'");
    println!("        curl '{url}/v1/facilities/pike-place-garage/availability'");
    println!("        curl '{url}/openapi.json'");
    println!();
    println!("  Accounts (password: {}):", demo::PASSWORD);
    for (email, role, operator) in demo::accounts() {
        let of = operator.map(|o| format!(" ({o})")).unwrap_or_default();
        println!("    {:<10} {email}{of}", role.as_str());
    }
    println!("  Operators:");
    for (id, name, facilities) in demo::OPERATORS {
        println!("    {id:<15} {name}: {}", facilities.join(", "));
    }
    println!("  Sensor gateway tokens:");
    for (facility, token) in tokens {
        println!("    {facility:<22} {token}");
    }
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// The layout files named, with directories replaced by the `.toml` and `.json` files in them, sorted.
fn layout_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml" || e == "json"))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}
