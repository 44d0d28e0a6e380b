//! A kiosk's configuration, one TOML file: where the server is, and each lane's gate, camera, gate
//! controller and printer.

use std::path::{Path, PathBuf};

use parkline_domain::Direction;
use parkline_protocol::Secret;
use serde::Deserialize;

use crate::Error;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Parkline server, `http://host:port`.
    pub server: String,
    /// The kiosk's device token (issued by a manager at `POST /v1/admin/devices`).
    pub device_token: Secret,
    /// The facility the lanes belong to.
    pub facility: String,
    /// Where the offline cache, outbox and kept images live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Plate formats to read: `us`, `us-<state>`, `eu`, `eu-<country>` (`eu-de`, `eu-gb`, ...), `br`;
    /// without it, those of the facility's country (its layout's `country`, asked of the server or
    /// its cached answer), and none (plates as read) where no country is known.
    #[serde(default)]
    pub region: Option<String>,
    /// Where the kiosk's own HTTP API listens (plate-reading cameras push to it; attendant actions for
    /// headless lanes), e.g. `127.0.0.1:8090`; none without it.
    #[serde(default)]
    pub listen: Option<std::net::SocketAddr>,
    /// The secret attendant actions on the API need (`Authorization: Bearer ...`), at least 16
    /// characters; required with `listen`.
    #[serde(default)]
    pub api_secret: Option<Secret>,
    /// Cores the plate reader may use for one image (default: all, up to 4).
    #[serde(default)]
    pub reader_threads: Option<usize>,
    /// The key that seals the offline cache, the outbox and kept camera images (BASE64 of 32 bytes);
    /// generated into `data_dir/kiosk.key` (readable by its owner only) when unset.
    #[serde(default)]
    pub seal_key: Option<Secret>,
    /// Days to keep camera images, answered commands and cached answers; queued commands are kept until
    /// sent. Match the server's `pii_retention_days`.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// How long a lane waits for the server before deciding on its own.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    /// An OTLP/HTTP collector for the lanes' spans (`http://collector:4318`); the server's spans of a
    /// passage join the lane's trace. None are sent without it.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    pub lanes: Vec<LaneConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaneConfig {
    /// The gate's id in the facility's layout.
    pub gate: String,
    pub direction: Direction,
    pub camera: CameraConfig,
    pub gate_controller: GateConfig,
    /// An ESC/POS ticket printer, `host:port` (usually port 9100); tickets show on screen without one.
    #[serde(default)]
    pub printer: Option<String>,
}

/// Where a lane's frames come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CameraConfig {
    /// Cameras that drop images into a folder (by FTP, say), `frames_per_vehicle` per trigger (1).
    Folder {
        path: PathBuf,
        #[serde(default = "one")]
        frames_per_vehicle: u32,
    },
    /// A camera's JPEG snapshot URL, fetched every `interval_ms`.
    Snapshot {
        url: String,
        #[serde(default = "default_interval_ms")]
        interval_ms: u64,
    },
    /// A camera's MJPEG stream URL.
    Mjpeg { url: String },
    /// Cameras that read plates themselves and push them to the kiosk's `POST /lanes/{gate}/plates`
    /// with their own `secret` (at least 16 characters), good for their own lane only.
    Plates { secret: Secret },
}

/// What opens the barrier.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GateConfig {
    /// A Modbus TCP relay module: a coil pulsed to open (and one to close, if wired); discrete inputs for
    /// the vehicle loop and the barrier's closed switch.
    Modbus {
        address: String,
        #[serde(default = "default_unit")]
        unit: u8,
        open_coil: u16,
        #[serde(default)]
        close_coil: Option<u16>,
        loop_input: u16,
        closed_input: u16,
        #[serde(default = "default_pulse_ms")]
        pulse_ms: u64,
    },
    /// A relay driven over HTTP: `POST open_url` opens, `GET status_url` answers
    /// `{"vehicle_on_loop": bool, "closed": bool}`.
    Http {
        open_url: String,
        #[serde(default)]
        close_url: Option<String>,
        status_url: String,
    },
    /// No hardware: a barrier in memory (demos, camera-only lanes).
    Simulated,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Config::parse(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Config, Error> {
        let config: Config = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        if config.lanes.is_empty() {
            return Err(Error::Config("at least one [[lanes]] is needed".into()));
        }
        if let Some(region) = &config.region {
            parkline_domain::plate_format::Region::by_name(region)
                .ok_or_else(|| Error::Config(format!("unknown plate region {region:?}")))?;
        }
        config.secrets()?;
        Ok(config)
    }

    /// The API's secrets, checked: long enough, each different, the API's set when it listens.
    pub fn secrets(&self) -> Result<crate::api::Secrets, Error> {
        let long = |what: &str, secret: &str| {
            if secret.chars().count() < crate::api::MIN_SECRET_LEN {
                return Err(Error::Config(format!(
                    "{what} must be at least {} characters",
                    crate::api::MIN_SECRET_LEN
                )));
            }
            Ok(secret.to_owned())
        };
        let attendant = match (&self.listen, &self.api_secret) {
            (_, Some(secret)) => long("api_secret", secret)?,
            (Some(_), None) => return Err(Error::Config("listen needs an api_secret".into())),
            (None, None) => String::new(),
        };
        let mut cameras = std::collections::HashMap::new();
        for lane in &self.lanes {
            if let CameraConfig::Plates { secret } = &lane.camera {
                let secret = long(&format!("lane {}'s camera secret", lane.gate), secret)?;
                if secret == attendant || cameras.values().any(|s| *s == secret) {
                    return Err(Error::Config(format!(
                        "lane {}'s camera secret is used elsewhere",
                        lane.gate
                    )));
                }
                cameras.insert(lane.gate.clone(), secret);
            }
        }
        Ok(crate::api::Secrets { attendant, cameras })
    }
}

impl Config {
    /// The sealing key: `seal_key`, else `data_dir/kiosk.key` (made on first use).
    pub fn seal(&self) -> Result<parkline_sdk::Seal, Error> {
        Ok(match &self.seal_key {
            Some(key) => parkline_sdk::Seal::from_base64(key)?,
            None => parkline_sdk::Seal::load_or_create(&self.data_dir.join("kiosk.key"))?,
        })
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("kiosk-data")
}
fn default_retention_days() -> u32 {
    90
}
fn default_deadline_ms() -> u64 {
    1500
}
fn default_interval_ms() -> u64 {
    200
}
fn one() -> u32 {
    1
}
fn default_unit() -> u8 {
    1
}
fn default_pulse_ms() -> u64 {
    500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_lane_kiosk_parses_and_bad_files_say_why() {
        let config = Config::parse(
            r#"
            server = "http://127.0.0.1:8080"
            device_token = "dev_x"
            facility = "waterfront-lot"
            [[lanes]]
            gate = "waterfront-in-1"
            direction = "entry"
            camera = { kind = "folder", path = "/var/spool/cam-in" }
            gate_controller = { kind = "modbus", address = "10.0.0.9:502", open_coil = 0, loop_input = 0, closed_input = 1 }
            printer = "10.0.0.20:9100"
            [[lanes]]
            gate = "waterfront-out-1"
            direction = "exit"
            camera = { kind = "snapshot", url = "http://10.0.0.7/snap.jpg" }
            gate_controller = { kind = "simulated" }
            "#,
        )
        .unwrap();
        assert_eq!(config.lanes.len(), 2);
        assert_eq!(config.deadline_ms, 1500);
        assert!(matches!(config.lanes[0].gate_controller, GateConfig::Modbus { pulse_ms: 500, unit: 1, .. }));
        assert!(matches!(config.lanes[1].camera, CameraConfig::Snapshot { interval_ms: 200, .. }));

        let no_lanes = Config::parse("server = \"x\"\ndevice_token = \"y\"\nfacility = \"z\"\nlanes = []");
        assert!(no_lanes.unwrap_err().to_string().contains("[[lanes]]"));
        let typo = Config::parse("server = \"x\"\ndevice_tokn = \"y\"\nfacility = \"z\"\nlanes = []");
        assert!(typo.unwrap_err().to_string().contains("device_tokn"));
    }

    #[test]
    fn the_api_listens_only_behind_long_distinct_secrets() {
        let kiosk = |extra: &str, camera: &str| {
            Config::parse(&format!(
                "server = \"x\"\ndevice_token = \"y\"\nfacility = \"z\"\n{extra}\n\
                 [[lanes]]\ngate = \"in\"\ndirection = \"entry\"\ncamera = {camera}\n\
                 gate_controller = {{ kind = \"simulated\" }}"
            ))
        };
        let folder = "{ kind = \"folder\", path = \"/tmp\" }";
        let err = |r: Result<Config, Error>| r.unwrap_err().to_string();
        assert!(err(kiosk("listen = \"127.0.0.1:8090\"", folder)).contains("needs an api_secret"));
        assert!(
            err(kiosk("listen = \"127.0.0.1:8090\"\napi_secret = \"short\"", folder)).contains("at least 16")
        );
        let listening = "listen = \"127.0.0.1:8090\"\napi_secret = \"attendant-secret-0001\"";
        assert!(kiosk(listening, folder).is_ok());
        let camera = |secret: &str| format!("{{ kind = \"plates\", secret = \"{secret}\" }}");
        assert!(err(kiosk(listening, &camera("attendant-secret-0001"))).contains("used elsewhere"));
        assert!(err(kiosk(listening, &camera("cam"))).contains("at least 16"));
        let config =
            kiosk(&format!("{listening}\nseal_key = \"c2VhbA==\""), &camera("camera-secret-in-0001"));
        let config = config.unwrap();
        assert_eq!(config.secrets().unwrap().cameras["in"], "camera-secret-in-0001");
        let shown = format!("{config:?}");
        for secret in ["attendant-secret-0001", "camera-secret-in-0001", "c2VhbA==", "device_token: \"y\""] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
