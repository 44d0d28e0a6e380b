//! The driver app on the desktop (for development): `cargo run -p parkline-driver -- --server URL`.
//! On phones the same app is bundled with the Dioxus CLI (`dx bundle --platform android|ios`).

use clap::Parser;
use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;
use jiff::{SignedDuration, Timestamp};
use parkline_domain::{LatLon, VehicleClass};
use parkline_driver::model::{Driver, Load, Payment, Plan, Vehicle};
use parkline_driver::platform::{FixedLocation, Location};
use parkline_driver::platform::{Notifier, PrintNotifier};
use parkline_driver::screens::{
    AccountScreen, Actions, DetailScreen, FindScreen, ParkScreen, ReservationsScreen,
};

const CSS: &str = include_str!("app.css");

#[derive(Debug, Clone, Parser)]
#[command(about = "The Parkline driver app (desktop build)")]
struct Cli {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    #[arg(long, default_value = "driver@demo.parkline")]
    email: String,
    #[arg(long, env = "PARKLINE_PASSWORD", default_value = "parkline-demo")]
    password: String,
    /// The car's plate.
    #[arg(long, default_value = "DRV 1234")]
    plate: String,
    /// Where the driver is going, `lat,lon` (the desktop stands in for the phone's location).
    #[arg(long, default_value = "47.6097,-122.3422")]
    at: String,
    #[arg(long, default_value = "Pike Place Market")]
    destination: String,
    /// Where the app keeps its offline cache and outbox.
    #[arg(long, default_value = ".parkline-driver")]
    data_dir: std::path::PathBuf,
    /// The screen to open on: `find`, `facility:ID` or `ticket:TICKET`.
    #[arg(long, default_value = "find")]
    open: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Screen {
    Find,
    Facility(String),
    Reservations,
    Park(String),
    Account,
}

#[derive(Debug, Clone)]
struct Setup {
    driver: Driver,
    here: LatLon,
    destination: String,
    first: Screen,
    /// Who is signed in at start.
    signed_in_as: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (lat, lon) = cli.at.split_once(',').ok_or_else(|| anyhow::anyhow!("--at is lat,lon"))?;
    let location = FixedLocation(LatLon { lat: lat.trim().parse()?, lon: lon.trim().parse()? });
    std::fs::create_dir_all(&cli.data_dir)?;
    // Sealed: the driver's plates and stays are on the device only encrypted.
    let seal = parkline_sdk::Seal::load_or_create(&cli.data_dir.join("driver.key"))?;
    let cache = parkline_sdk::Cache::open_sealed(cli.data_dir.join("driver.db"), seal)?;
    let client = parkline_sdk::Client::new(&cli.server, Some(cache))?;
    let runtime = tokio::runtime::Runtime::new()?;
    // Signing in needs the server; without it the app still shows what it can (offline badges).
    let signed_in_as = match runtime.block_on(client.login(&cli.email, &cli.password)) {
        Ok(_) => Some(cli.email.clone()),
        Err(e) => {
            eprintln!("not signed in: {e}");
            None
        }
    };
    let driver =
        Driver { client, vehicle: Vehicle { plate: cli.plate, class: VehicleClass::Sedan, electric: false } };
    let first = match cli.open.split_once(':') {
        Some(("facility", id)) => Screen::Facility(id.to_owned()),
        Some(("ticket", t)) => Screen::Park(t.to_owned()),
        _ if cli.open == "reservations" => Screen::Reservations,
        _ => Screen::Find,
    };
    // Not signed in: the app opens on the account screen.
    let first = if signed_in_as.is_none() && first == Screen::Find { Screen::Account } else { first };
    let setup = Setup {
        driver,
        here: location.here().unwrap_or(location.0),
        destination: cli.destination,
        first,
        signed_in_as,
    };
    let window = WindowBuilder::new().with_title("Parkline").with_inner_size(LogicalSize::new(420.0, 860.0));
    let config = Config::new().with_window(window).with_menu(None);
    let _guard = runtime.enter();
    dioxus::LaunchBuilder::desktop().with_cfg(config).with_context(setup).launch(app);
    Ok(())
}

/// A resource's state as a screen shows it.
fn load<T>(r: Option<Result<T, String>>) -> Load<T> {
    match r {
        None => Load::Loading,
        Some(Ok(v)) => Load::Ready(v),
        Some(Err(e)) => Load::Failed(e),
    }
}

/// The stay being planned: from now for two hours.
fn plan() -> Plan {
    let from = Timestamp::now() + SignedDuration::from_mins(15);
    Plan { from, to: from + SignedDuration::from_hours(2) }
}

fn app() -> Element {
    let setup = use_context::<Setup>();
    let mut screen = use_signal(|| setup.first.clone());
    let mut notice = use_signal(|| None::<String>);
    let mut paid = use_signal(|| false);
    let mut signed_in_as = use_signal(|| setup.signed_in_as.clone());
    let mut account_error = use_signal(|| None::<String>);
    let mut awaiting_code = use_signal(|| None::<String>);
    let ticket = use_signal(|| match &setup.first {
        Screen::Park(t) => Some(t.clone()),
        _ => None,
    });
    let driver = setup.driver.clone();
    let (d1, d2, d3, d4) = (driver.clone(), driver.clone(), driver.clone(), driver.clone());
    let here = setup.here;
    let mut finds = use_resource(move || {
        let d = d1.clone();
        async move { d.find(here, 3000.0, plan()).await.map_err(|e| e.to_string()) }
    });
    let detail = use_resource(move || {
        let d = d2.clone();
        let screen = screen();
        async move {
            match screen {
                Screen::Facility(id) => Some(d.detail(&id, plan()).await.map_err(|e| e.to_string())),
                _ => None,
            }
        }
    });
    let mut parked = use_resource(move || {
        let d = d3.clone();
        let t = ticket();
        async move {
            match t {
                Some(t) => Some(d.parked(&t).await.map_err(|e| e.to_string())),
                None => None,
            }
        }
    });
    let mut bookings = use_resource(move || {
        let d = d4.clone();
        async move { d.reservations().await.map_err(|e| e.to_string()) }
    });
    let (reserve_driver, pay_driver, cancel_driver) = (driver.clone(), driver.clone(), driver.clone());
    let extend_driver = driver.clone();
    let notify_driver = driver.clone();
    let favourite_driver = driver.clone();
    let account_driver = driver.clone();
    let confirm_driver = driver.clone();
    // Notices from the stream, in the app and outside it.
    let notices_driver = driver.clone();
    use_future(move || {
        let d = notices_driver.clone();
        async move {
            let (_stream, mut notices) = d.notices();
            while let Some(n) = notices.recv().await {
                PrintNotifier.notify("Parkline", &n.text);
                notice.set(Some(n.text));
            }
        }
    });
    // What was done offline goes out when the server is back.
    let sync_driver = driver.clone();
    use_future(move || {
        let d = sync_driver.clone();
        async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                if let Ok(receipts) = d.sync().await {
                    for r in receipts {
                        paid.set(true);
                        notice.set(Some(format!("Your offline payment of {} went through.", r.amount)));
                    }
                }
            }
        }
    });
    use_context_provider(|| Actions {
        open_facility: Callback::new(move |id: String| screen.set(Screen::Facility(id))),
        back: Callback::new(move |_| screen.set(Screen::Find)),
        sign_in: Callback::new(move |(email, password, create): (String, String, bool)| {
            let d = account_driver.clone();
            spawn(async move {
                if create {
                    match d.client.sign_up(&email, &password).await {
                        Ok(_) => {
                            awaiting_code.set(Some(email.trim().to_lowercase()));
                            account_error.set(None);
                        }
                        Err(e) => account_error.set(Some(e.to_string())),
                    }
                    return;
                }
                match d.client.login(&email, &password).await {
                    Ok(_) => {
                        signed_in_as.set(Some(email.trim().to_lowercase()));
                        account_error.set(None);
                        finds.restart();
                        screen.set(Screen::Find);
                    }
                    Err(e) => account_error.set(Some(e.to_string())),
                }
            });
        }),
        confirm_sign_up: Callback::new(move |(email, code): (String, String)| {
            let d = confirm_driver.clone();
            spawn(async move {
                match d.client.confirm_sign_up(&email, &code).await {
                    Ok(_) => {
                        signed_in_as.set(Some(email));
                        awaiting_code.set(None);
                        account_error.set(None);
                        finds.restart();
                        screen.set(Screen::Find);
                    }
                    Err(e) => account_error.set(Some(e.to_string())),
                }
            });
        }),
        toggle_favourite: Callback::new(move |id: String| {
            let _ = favourite_driver.toggle_favourite(&id);
            finds.restart();
        }),
        notify_me: Callback::new(move |id: String| {
            let d = notify_driver.clone();
            notice.set(Some("We will tell you when a spot for your car frees up.".to_owned()));
            spawn(async move {
                if let Ok(free) = d.wait_for_space(&id).await {
                    let text = format!("A spot for your car is free at {id} ({free} free now).");
                    PrintNotifier.notify("Parkline", &text);
                    notice.set(Some(text));
                }
            });
        }),
        extend: Callback::new(move |id: String| {
            let d = extend_driver.clone();
            spawn(async move {
                let found = d.reservations().await.ok().and_then(|b| b.list.into_iter().find(|r| r.id == id));
                let Some(r) = found else { return };
                notice.set(Some(match d.extend(&r, jiff::SignedDuration::from_hours(1)).await {
                    Ok(r) => format!(
                        "Extended to {} UTC; now quoted {}.",
                        r.end.strftime("%H:%M"),
                        parkline_domain::Money::new(r.quote_minor, parkline_domain::Currency::USD)
                    ),
                    Err(e) => format!("Could not extend: {e}"),
                }));
                bookings.restart();
            });
        }),
        cancel: Callback::new(move |id: String| {
            let d = cancel_driver.clone();
            spawn(async move {
                notice.set(Some(match d.cancel(&id).await {
                    Ok(r) if r.fee_minor > 0 => format!(
                        "Cancelled; a late cancellation costs {}.",
                        parkline_domain::Money::new(r.fee_minor, parkline_domain::Currency::USD)
                    ),
                    Ok(_) => "Cancelled, free of charge.".to_owned(),
                    Err(e) => format!("Could not cancel: {e}"),
                }));
                bookings.restart();
            });
        }),
        reserve: Callback::new(move |id: String| {
            let d = reserve_driver.clone();
            spawn(async move {
                let key = parkline_sdk::Client::new_key();
                notice.set(Some(match d.reserve(&id, plan(), &key).await {
                    Ok(r) => format!(
                        "Reserved spot {} from {} to {} UTC, quoted {}.",
                        r.spot,
                        r.start.strftime("%H:%M"),
                        r.end.strftime("%H:%M"),
                        parkline_domain::Money::new(r.quote_minor, parkline_domain::Currency::USD)
                    ),
                    Err(e) => format!("Could not reserve: {e}"),
                }));
                bookings.restart();
            });
        }),
        pay: Callback::new(move |_| {
            let d = pay_driver.clone();
            let t = ticket();
            spawn(async move {
                if let Some(t) = t {
                    match d.pay(&t, "tok_visa", &parkline_sdk::Client::new_key()).await {
                        Ok(Payment::Done(r)) => {
                            paid.set(true);
                            notice.set(Some(format!("Paid {}. The exit opens for your car.", r.amount)));
                        }
                        Ok(Payment::Queued) => notice.set(Some(
                            "Offline: your payment is saved and will be sent as soon as the app is back online."
                                .to_owned(),
                        )),
                        Err(e) => notice.set(Some(format!("Payment failed: {e}"))),
                    }
                    parked.restart();
                }
            });
        }),
    });
    let body = match screen() {
        Screen::Find => {
            let state = load(finds.read().clone());
            rsx! { FindScreen { state, destination: setup.destination.clone(), center: here } }
        }
        Screen::Facility(_) => {
            let state = load(detail.read().clone().flatten());
            rsx! { DetailScreen { state } }
        }
        Screen::Account => {
            rsx! { AccountScreen { signed_in_as: signed_in_as(), error: account_error(), awaiting_code: awaiting_code() } }
        }
        Screen::Reservations => {
            let state = load(bookings.read().clone());
            rsx! { ReservationsScreen { state } }
        }
        Screen::Park(_) => {
            let state = load(parked.read().clone().flatten());
            rsx! { ParkScreen { state, paid: paid() } }
        }
    };
    rsx! {
        style { {CSS} }
        div { class: "app",
            if let Some(n) = notice() { div { class: "notice", onclick: move |_| notice.set(None), "{n}" } }
            div { class: "body", {body} }
            nav { class: "tabs",
                button { class: if screen() == Screen::Find { "on" } else { "" }, onclick: move |_| { finds.restart(); screen.set(Screen::Find) }, "Find" }
                button { class: if screen() == Screen::Reservations { "on" } else { "" }, onclick: move |_| { bookings.restart(); screen.set(Screen::Reservations) }, "Reservations" }
                if let Some(t) = ticket() {
                    button { class: if matches!(screen(), Screen::Park(_)) { "on" } else { "" }, onclick: move |_| { parked.restart(); screen.set(Screen::Park(t.clone())) }, "My stay" }
                }
                button { class: if screen() == Screen::Account { "on" } else { "" }, onclick: move |_| screen.set(Screen::Account), "Account" }
            }
        }
    }
}
