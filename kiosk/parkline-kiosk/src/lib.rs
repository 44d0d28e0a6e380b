//! `parkline-kiosk`: the gate kiosk. Each lane reads plates from its camera with `parkline-lpr`, asks the
//! server for a decision through `parkline-sdk`, opens its barrier, prints the ticket, and decides on its
//! own when the server does not answer in time, replaying what it did from the SDK's outbox later.

pub mod api;
pub mod book;
pub mod camera;
pub mod config;
pub mod gate;
pub mod lane;
pub mod printer;
pub mod relay;
pub mod scene;
pub mod ui;

pub use config::Config;
pub use lane::{Input, Kiosk, LaneHandle, LaneView};

/// Why a device or the configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("camera: {0}")]
    Camera(String),
    #[error("gate controller: {0}")]
    Gate(String),
    #[error("a vehicle is on the loop: the barrier stays up")]
    VehicleOnLoop,
    #[error("printer: {0}")]
    Printer(String),
    #[error("plate reader: {0}")]
    Reader(#[from] parkline_lpr::Error),
    #[error(transparent)]
    Sdk(#[from] parkline_sdk::Error),
}

use std::sync::Arc;
use std::time::Duration;

use camera::{Camera, FolderCamera, MjpegCamera, SnapshotCamera};
use config::{CameraConfig, GateConfig};
use gate::{GateController, HttpGate, ModbusGate, SimulatedGate};

/// A kiosk started from its configuration.
#[derive(Debug)]
pub struct Running {
    pub kiosk: Arc<Kiosk>,
    pub lanes: Vec<LaneHandle>,
    /// Where the kiosk's API listens, if it does.
    pub api: Option<std::net::SocketAddr>,
}

/// The plate formats of the facility's country, from its layout (the server's answer, or the one cached
/// when it was last reachable); none where no country is known. What a lane reads without a `region`.
pub async fn plate_region(
    client: &parkline_sdk::Client,
    facility: &str,
) -> parkline_domain::plate_format::Region {
    use parkline_domain::plate_format::Region;
    let layout = tokio::time::timeout(Duration::from_secs(5), client.layout(facility)).await;
    let country = match layout {
        Ok(Ok(layout)) => layout.value.country,
        Ok(Err(e)) => {
            tracing::warn!(
                "the facility's country is unknown ({e}): plates are read without a region's formats"
            );
            None
        }
        Err(_) => {
            tracing::warn!(
                "the server did not say the facility's country in 5 s: plates are read without a region's formats"
            );
            None
        }
    };
    let region = country.as_deref().map_or_else(Region::none, Region::for_country);
    tracing::info!(region = %region.name, "plate formats from the facility's country");
    region
}

/// Starts every lane of `config`: its gate controller, its camera, the upkeep that replays queued
/// passages, and the API. Lanes run without a plate reader (attendant entry only) if the models are
/// missing; the lane's health says so.
pub async fn start(config: &Config) -> Result<Running, Error> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| Error::Config(format!("{}: {e}", config.data_dir.display())))?;
    let seal = config.seal()?;
    let cache = parkline_sdk::Cache::open_sealed(config.data_dir.join("kiosk.db"), seal.clone())?;
    let client = parkline_sdk::Client::new(&config.server, Some(cache.clone()))?;
    client.set_token(Some(config.device_token.to_string()));
    let region = match &config.region {
        Some(name) => parkline_domain::plate_format::Region::by_name(name)
            .ok_or_else(|| Error::Config(format!("unknown plate region {name:?}")))?,
        None => plate_region(&client, &config.facility).await,
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from).min(4);
    let threads = config.reader_threads.unwrap_or(cores);
    let reader = match parkline_lpr::PlateRecognizer::load_with_threads(
        &parkline_lpr::models_dir(),
        region,
        threads,
    ) {
        Ok(r) => Some(Arc::new(r)),
        Err(e) => {
            tracing::error!("no plate reading: {e}");
            None
        }
    };
    let kiosk = Kiosk::new(client, &config.facility, reader, Duration::from_millis(config.deadline_ms));
    kiosk.spawn_upkeep();
    let mut lanes = Vec::new();
    for lane in &config.lanes {
        let controller: Arc<dyn GateController> = match &lane.gate_controller {
            GateConfig::Modbus {
                address,
                unit,
                open_coil,
                close_coil,
                loop_input,
                closed_input,
                pulse_ms,
            } => Arc::new(ModbusGate::new(
                address,
                *unit,
                (*open_coil, *close_coil),
                (*loop_input, *closed_input),
                Duration::from_millis(*pulse_ms),
            )?),
            GateConfig::Http { open_url, close_url, status_url } => {
                Arc::new(HttpGate::new(open_url.clone(), close_url.clone(), status_url.clone()))
            }
            GateConfig::Simulated => Arc::new(SimulatedGate::new()),
        };
        let handle = kiosk.lane(&lane.gate, lane.direction, controller, lane.printer.clone());
        let camera: Option<Box<dyn Camera>> = match &lane.camera {
            CameraConfig::Folder { path, frames_per_vehicle } => {
                Some(Box::new(FolderCamera::new(path.clone(), *frames_per_vehicle, Some(seal.clone()))?))
            }
            CameraConfig::Snapshot { url, interval_ms } => {
                Some(Box::new(SnapshotCamera::new(url.clone(), Duration::from_millis(*interval_ms))))
            }
            CameraConfig::Mjpeg { url } => Some(Box::new(MjpegCamera::new(url.clone()))),
            CameraConfig::Plates { .. } => None,
        };
        if let Some(camera) = camera {
            handle.attach(camera);
        }
        lanes.push(handle);
    }
    spawn_retention(config, cache);
    let api = match config.listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Error::Config(format!("listen {addr}: {e}")))?;
            let bound = listener.local_addr().ok();
            let router = api::router(lanes.clone(), config.secrets()?);
            tokio::spawn(async move { axum::serve(listener, router).await });
            bound
        }
        None => None,
    };
    Ok(Running { kiosk, lanes, api })
}

/// Hourly, from start: forgets camera images, answered commands and cached answers older than the
/// retention (`retention_days`), as the server forgets plates of finished stays.
fn spawn_retention(config: &Config, cache: parkline_sdk::Cache) {
    let keep = Duration::from_secs(u64::from(config.retention_days.max(1)) * 86_400);
    let folders: Vec<std::path::PathBuf> = config
        .lanes
        .iter()
        .filter_map(|l| match &l.camera {
            CameraConfig::Folder { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect();
    tokio::spawn(async move {
        loop {
            let before = std::time::SystemTime::now() - keep;
            for dir in &folders {
                if let Err(e) = camera::forget_images_before(dir, before) {
                    tracing::warn!("forgetting old images in {}: {e}", dir.display());
                }
            }
            if let Ok(at) = jiff::Timestamp::try_from(before)
                && let Err(e) = cache.forget_before(at)
            {
                tracing::warn!("forgetting old cache rows: {e}");
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}
