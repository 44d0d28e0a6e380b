//! The console's window: Tauri commands, each a thin wrapper over [`Console`], and the task that
//! forwards the realtime stream to the window as `live` events.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use jiff::civil::Date;
use parkline_admin::board::{Change, FacilityCard};
use parkline_admin::console::{DemandView, ExportFormat, Fetched, RevenueReport, Session};
use parkline_admin::floor_map::FloorMap;
use parkline_admin::rates::{Preview, PreviewRequest};
use parkline_admin::{CommandError, Console};
use parkline_sdk::protocol::{
    Acknowledgement, Alert, AuditRecord, AuditVerification, DeviceView, IssuedSecret, NewDevice, NewUser,
    OperatorView, PermitList, Receipt, SessionTimeline, UserView, ValidationRequest,
};
use parkline_sdk::{Credentials, Event};
use tauri::{Emitter, Manager, State};

#[derive(Debug, Parser)]
#[command(about = "Parkline admin console", ignore_errors = true)]
struct Args {
    /// The Parkline server.
    #[arg(long, env = "PARKLINE_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Where the offline cache is kept [default: the platform's app data folder].
    #[arg(long, env = "PARKLINE_ADMIN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the sign-in in this file (mode 0600) instead of the OS keyring.
    #[arg(long, env = "PARKLINE_ADMIN_CREDENTIALS_FILE")]
    credentials_file: Option<PathBuf>,
    /// Where exports are written [default: the Downloads folder].
    #[arg(long, env = "PARKLINE_ADMIN_EXPORTS")]
    exports: Option<PathBuf>,
}

type Reply<T> = Result<T, CommandError>;

/// Access tokens last minutes; the console renews its sign-in well before.
const RENEW_EVERY: Duration = Duration::from_secs(5 * 60);

#[tauri::command]
async fn restore(console: State<'_, Console>) -> Reply<Option<Session>> {
    console.restore().await
}

#[tauri::command]
async fn sign_in(console: State<'_, Console>, email: String, password: String) -> Reply<Session> {
    console.sign_in(&email, &password).await
}

#[tauri::command]
fn sign_out(console: State<'_, Console>) -> Reply<()> {
    console.sign_out()
}

#[tauri::command]
async fn overview(console: State<'_, Console>) -> Reply<Fetched<Vec<FacilityCard>>> {
    console.overview().await
}

#[tauri::command]
async fn floor_map(
    console: State<'_, Console>,
    facility: String,
    level: Option<i16>,
) -> Reply<Fetched<FloorMap>> {
    console.floor_map(&facility, level).await
}

#[tauri::command]
async fn rate_plan(console: State<'_, Console>, facility: String) -> Reply<String> {
    console.rate_plan(&facility).await
}

#[tauri::command]
async fn preview_quote(
    console: State<'_, Console>,
    facility: String,
    draft: String,
    stay: PreviewRequest,
) -> Reply<Preview> {
    console.preview_quote(&facility, &draft, &stay).await
}

#[tauri::command]
async fn save_rate_plan(console: State<'_, Console>, facility: String, draft: String) -> Reply<()> {
    console.save_rate_plan(&facility, &draft).await
}

#[tauri::command]
async fn alerts(console: State<'_, Console>) -> Reply<Fetched<Vec<Alert>>> {
    console.alerts().await
}

#[tauri::command]
async fn acknowledge_alert(console: State<'_, Console>, id: String, note: String) -> Reply<Acknowledgement> {
    console.acknowledge_alert(&id, &note).await
}

#[tauri::command]
async fn revenue(console: State<'_, Console>, from: Date, to: Date) -> Reply<Fetched<RevenueReport>> {
    console.revenue(from, to).await
}

#[tauri::command]
async fn demand(console: State<'_, Console>, facility: String) -> Reply<Fetched<DemandView>> {
    console.demand(&facility).await
}

#[tauri::command]
async fn find_sessions(
    console: State<'_, Console>,
    by: String,
    value: String,
) -> Reply<Vec<SessionTimeline>> {
    console.find_sessions(&by, &value).await
}

#[tauri::command]
async fn refund(
    console: State<'_, Console>,
    payment: String,
    amount_minor: i64,
    reason: String,
    key: String,
) -> Reply<Receipt> {
    console.refund(&payment, amount_minor, &reason, &key).await
}

#[tauri::command]
async fn receipt(console: State<'_, Console>, id: String) -> Reply<Receipt> {
    console.receipt(&id).await
}

#[tauri::command]
async fn set_spot_service(
    console: State<'_, Console>,
    facility: String,
    spot: String,
    out_of_service: bool,
) -> Reply<()> {
    console.set_spot_service(&facility, &spot, out_of_service).await
}

#[tauri::command]
async fn devices(console: State<'_, Console>) -> Reply<Vec<DeviceView>> {
    console.devices().await
}

#[tauri::command]
async fn create_device(console: State<'_, Console>, device: NewDevice) -> Reply<IssuedSecret> {
    console.create_device(&device).await
}

#[tauri::command]
async fn revoke_device(console: State<'_, Console>, id: i64) -> Reply<()> {
    console.revoke_device(id).await
}

#[tauri::command]
async fn users(console: State<'_, Console>) -> Reply<Vec<UserView>> {
    console.users().await
}

#[tauri::command]
async fn create_user(console: State<'_, Console>, user: NewUser) -> Reply<i64> {
    console.create_user(&user).await
}

#[tauri::command]
async fn set_staff_facilities(console: State<'_, Console>, user: i64, facilities: Vec<String>) -> Reply<()> {
    console.set_staff_facilities(user, &facilities).await
}

#[tauri::command]
async fn operators(console: State<'_, Console>) -> Reply<Vec<OperatorView>> {
    console.operators().await
}

#[tauri::command]
fn choose_operator(console: State<'_, Console>, operator: Option<String>) -> Reply<Session> {
    console.choose_operator(operator)
}

#[tauri::command]
async fn permits(console: State<'_, Console>) -> Reply<PermitList> {
    console.permits().await
}

#[tauri::command]
fn permit_template() -> &'static str {
    parkline_admin::config::PERMIT_TEMPLATE
}

#[tauri::command]
async fn create_permit(console: State<'_, Console>, draft: String) -> Reply<()> {
    console.create_permit(&draft).await
}

#[tauri::command]
async fn revoke_permit(console: State<'_, Console>, id: String) -> Reply<()> {
    console.revoke_permit(&id).await
}

#[tauri::command]
async fn set_pool(console: State<'_, Console>, id: String, limit: u32) -> Reply<()> {
    console.set_pool(&id, limit).await
}

#[tauri::command]
async fn create_validation(console: State<'_, Console>, request: ValidationRequest) -> Reply<String> {
    console.create_validation(&request).await
}

#[tauri::command]
async fn import_layout(console: State<'_, Console>, draft: String) -> Reply<String> {
    console.import_layout(&draft).await
}

#[tauri::command]
async fn audit(console: State<'_, Console>) -> Reply<Vec<AuditRecord>> {
    console.audit().await
}

#[tauri::command]
async fn verify_audit(console: State<'_, Console>) -> Reply<AuditVerification> {
    console.verify_audit().await
}

#[tauri::command]
fn export(console: State<'_, Console>, name: String, format: ExportFormat) -> Reply<String> {
    Ok(console.export(&name, format)?.display().to_string())
}

/// Follows every facility and forwards what changes to the window as `live` events (and `link` events
/// for the connection's state). One task: it ends when the stream is dropped (sign-out, or following
/// again), and meanwhile refetches floors behind their totals and keeps the sign-in fresh.
#[tauri::command]
async fn follow(app: tauri::AppHandle, console: State<'_, Console>) -> Reply<()> {
    let mut events = console.follow();
    tauri::async_runtime::spawn(async move {
        let mut floors = tokio::time::interval(Duration::from_secs(1));
        let mut renew = tokio::time::interval(RENEW_EVERY);
        renew.tick().await; // the first tick is now: just signed in
        loop {
            let console = app.state::<Console>();
            tokio::select! {
                event = events.recv() => match event {
                    None => break,
                    Some(Event::Message(message)) => {
                        let changes = console.apply(&message);
                        if !changes.is_empty() {
                            let _ = app.emit("live", changes);
                        }
                    }
                    Some(Event::Connected) => {
                        let _ = app.emit("link", true);
                    }
                    Some(Event::Disconnected { .. }) => {
                        let _ = app.emit("link", false);
                    }
                    // Refused for good (the sign-in ended): the board stops; signing in again starts it.
                    Some(Event::Refused { code, .. }) => {
                        tracing::warn!(code, "the live stream was refused");
                        let _ = app.emit("link", false);
                        break;
                    }
                },
                _ = floors.tick() => {
                    let changes: Vec<Change> = console.refresh_floors().await;
                    if !changes.is_empty() {
                        let _ = app.emit("live", changes);
                    }
                }
                _ = renew.tick() => {
                    // The stream reconnects with the client's token: keep it from expiring while idle.
                    if let Err(e) = console.renew().await {
                        tracing::warn!(error = %e, "renewing the sign-in failed");
                    }
                }
            }
        }
    });
    Ok(())
}

/// The menu bar: the console's views, and signing out.
fn menu(app: &tauri::AppHandle) -> tauri::Result<tauri::menu::Menu<tauri::Wry>> {
    use tauri::menu::{MenuBuilder, SubmenuBuilder};
    let console =
        SubmenuBuilder::new(app, "Console").text("sign_out", "Sign out").separator().quit().build()?;
    let mut view = SubmenuBuilder::new(app, "View");
    for (id, label) in [
        ("overview", "Overview"),
        ("map", "Floor map"),
        ("revenue", "Revenue"),
        ("demand", "Demand"),
        ("sessions", "Sessions"),
        ("audit", "Audit"),
        ("alerts", "Alerts"),
        ("rates", "Rates"),
        ("setup", "Setup"),
    ] {
        view = view.text(id, label);
    }
    MenuBuilder::new(app).items(&[&console, &view.build()?]).build()
}

fn main() {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let args = Args::parse();
    tauri::Builder::default()
        .setup(move |app| {
            let paths = app.path();
            let data_dir = args.data_dir.clone().map_or_else(|| paths.app_data_dir(), Ok)?;
            let exports = args
                .exports
                .clone()
                .map_or_else(|| paths.download_dir().or_else(|_| paths.app_data_dir()), Ok)?;
            let credentials = match &args.credentials_file {
                Some(file) => Credentials::file(file),
                None => Credentials::keyring("net.parkline.admin"),
            };
            app.manage(Console::open(&args.server, &data_dir, credentials, exports)?);
            app.set_menu(menu(app.handle())?)?;
            // The window handles menu choices: a view's id, or `sign_out`.
            app.on_menu_event(|app, event| {
                let _ = app.emit("menu", event.id().as_ref());
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            restore,
            sign_in,
            sign_out,
            overview,
            floor_map,
            rate_plan,
            preview_quote,
            save_rate_plan,
            alerts,
            acknowledge_alert,
            revenue,
            demand,
            export,
            find_sessions,
            refund,
            receipt,
            set_spot_service,
            devices,
            create_device,
            revoke_device,
            users,
            create_user,
            set_staff_facilities,
            operators,
            choose_operator,
            permits,
            permit_template,
            create_permit,
            revoke_permit,
            set_pool,
            create_validation,
            import_layout,
            audit,
            verify_audit,
            follow,
        ])
        .run(tauri::generate_context!())
        .expect("the console window");
}
