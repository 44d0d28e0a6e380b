//! Gate controllers behind one trait: a Modbus TCP relay module, a relay driven over HTTP, and a
//! simulated barrier. The lane only ever asks to open; closing is refused while the loop detector sees a
//! vehicle, whatever asks.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_modbus::client::{Context, Reader, Writer};
use tokio_modbus::prelude::{Slave, tcp};

use crate::Error;

/// What the barrier's sensors say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateStatus {
    /// The loop detector under the barrier sees a vehicle.
    pub vehicle_on_loop: bool,
    /// The barrier is down.
    pub closed: bool,
}

#[async_trait]
pub trait GateController: Send + Sync {
    /// Lifts the barrier.
    async fn open(&self) -> Result<(), Error>;
    /// Lowers the barrier, unless a vehicle is on the loop (then [`Error::VehicleOnLoop`]).
    async fn close(&self) -> Result<(), Error>;
    async fn status(&self) -> Result<GateStatus, Error>;
}

/// A Modbus TCP relay module (the common DIN-rail kind): a coil pulsed to open, an optional coil pulsed
/// to close, discrete inputs for the loop and the barrier's closed switch. One connection, kept open and
/// made again after a failure.
pub struct ModbusGate {
    address: SocketAddr,
    unit: u8,
    open_coil: u16,
    close_coil: Option<u16>,
    loop_input: u16,
    closed_input: u16,
    pulse: Duration,
    connection: tokio::sync::Mutex<Option<Context>>,
}

impl std::fmt::Debug for ModbusGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModbusGate").field("address", &self.address).field("unit", &self.unit).finish()
    }
}

impl ModbusGate {
    pub fn new(
        address: &str,
        unit: u8,
        coils: (u16, Option<u16>),
        inputs: (u16, u16),
        pulse: Duration,
    ) -> Result<ModbusGate, Error> {
        let address =
            address.parse().map_err(|e| Error::Config(format!("modbus address {address:?}: {e}")))?;
        Ok(ModbusGate {
            address,
            unit,
            open_coil: coils.0,
            close_coil: coils.1,
            loop_input: inputs.0,
            closed_input: inputs.1,
            pulse,
            connection: tokio::sync::Mutex::new(None),
        })
    }

    async fn with<T>(
        &self,
        what: &str,
        f: impl AsyncFnOnce(&mut Context) -> tokio_modbus::Result<T>,
    ) -> Result<T, Error> {
        let mut connection = self.connection.lock().await;
        if connection.is_none() {
            let ctx = tokio::time::timeout(
                Duration::from_secs(2),
                tcp::connect_slave(self.address, Slave(self.unit)),
            )
            .await
            .map_err(|_| Error::Gate(format!("{}: no answer", self.address)))?
            .map_err(|e| Error::Gate(format!("{}: {e}", self.address)))?;
            *connection = Some(ctx);
        }
        let ctx = connection.as_mut().expect("connected above");
        match f(ctx).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(exception)) => Err(Error::Gate(format!("{what}: the module refused ({exception})"))),
            Err(e) => {
                *connection = None;
                Err(Error::Gate(format!("{what}: {e}")))
            }
        }
    }

    async fn pulse(&self, coil: u16) -> Result<(), Error> {
        self.with("open", async |ctx| ctx.write_single_coil(coil, true).await).await?;
        tokio::time::sleep(self.pulse).await;
        self.with("release", async |ctx| ctx.write_single_coil(coil, false).await).await
    }
}

#[async_trait]
impl GateController for ModbusGate {
    async fn open(&self) -> Result<(), Error> {
        self.pulse(self.open_coil).await
    }

    async fn close(&self) -> Result<(), Error> {
        if self.status().await?.vehicle_on_loop {
            return Err(Error::VehicleOnLoop);
        }
        match self.close_coil {
            Some(coil) => self.pulse(coil).await,
            // Barriers without a close input lower themselves once the vehicle has passed.
            None => Ok(()),
        }
    }

    async fn status(&self) -> Result<GateStatus, Error> {
        let (first, count) =
            (self.loop_input.min(self.closed_input), self.loop_input.abs_diff(self.closed_input) + 1);
        let inputs = self.with("status", async |ctx| ctx.read_discrete_inputs(first, count).await).await?;
        let at = |input: u16| inputs.get(usize::from(input - first)).copied().unwrap_or(false);
        Ok(GateStatus { vehicle_on_loop: at(self.loop_input), closed: at(self.closed_input) })
    }
}

/// A relay behind HTTP endpoints (many IP barrier controllers).
#[derive(Debug)]
pub struct HttpGate {
    http: reqwest::Client,
    open_url: String,
    close_url: Option<String>,
    status_url: String,
}

impl HttpGate {
    pub fn new(open_url: String, close_url: Option<String>, status_url: String) -> HttpGate {
        let http = crate::camera::http_client(Duration::from_secs(2));
        HttpGate { http, open_url, close_url, status_url }
    }

    async fn post(&self, url: &str) -> Result<(), Error> {
        let fail = |e: reqwest::Error| Error::Gate(format!("{url}: {e}"));
        self.http.post(url).send().await.map_err(fail)?.error_for_status().map_err(fail)?;
        Ok(())
    }
}

#[async_trait]
impl GateController for HttpGate {
    async fn open(&self) -> Result<(), Error> {
        self.post(&self.open_url).await
    }

    async fn close(&self) -> Result<(), Error> {
        if self.status().await?.vehicle_on_loop {
            return Err(Error::VehicleOnLoop);
        }
        match &self.close_url {
            Some(url) => self.post(url).await,
            None => Ok(()),
        }
    }

    async fn status(&self) -> Result<GateStatus, Error> {
        let fail = |e: reqwest::Error| Error::Gate(format!("{}: {e}", self.status_url));
        let response = self.http.get(&self.status_url).send().await.map_err(fail)?;
        response.error_for_status().map_err(fail)?.json().await.map_err(fail)
    }
}

/// A barrier in memory: opens when told, and a test (or the demo) puts vehicles on its loop.
#[derive(Debug, Default)]
pub struct SimulatedGate {
    state: Mutex<GateStatus>,
    opened: std::sync::atomic::AtomicU64,
}

impl SimulatedGate {
    pub fn new() -> SimulatedGate {
        SimulatedGate {
            state: Mutex::new(GateStatus { vehicle_on_loop: false, closed: true }),
            ..Default::default()
        }
    }

    pub fn set_vehicle_on_loop(&self, on: bool) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).vehicle_on_loop = on;
    }

    /// How many times it opened.
    pub fn opened(&self) -> u64 {
        self.opened.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl GateController for SimulatedGate {
    async fn open(&self) -> Result<(), Error> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).closed = false;
        self.opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    async fn close(&self) -> Result<(), Error> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.vehicle_on_loop {
            return Err(Error::VehicleOnLoop);
        }
        state.closed = true;
        Ok(())
    }

    async fn status(&self) -> Result<GateStatus, Error> {
        Ok(*self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_barrier_never_closes_on_a_vehicle() {
        let gate = SimulatedGate::new();
        gate.open().await.unwrap();
        gate.set_vehicle_on_loop(true);
        assert!(matches!(gate.close().await, Err(Error::VehicleOnLoop)));
        assert!(!gate.status().await.unwrap().closed);
        gate.set_vehicle_on_loop(false);
        gate.close().await.unwrap();
        assert!(gate.status().await.unwrap().closed);
    }

    #[tokio::test]
    async fn a_modbus_relay_is_pulsed_to_open_and_never_to_close_on_a_vehicle() {
        let (relay, addr) = crate::relay::Relay::start().await.unwrap();
        let gate =
            ModbusGate::new(&addr.to_string(), 1, (2, Some(4)), (7, 6), Duration::from_millis(30)).unwrap();
        relay.inputs.lock().unwrap().extend([(7, true), (6, false)]);
        gate.open().await.unwrap();
        assert_eq!(gate.status().await.unwrap(), GateStatus { vehicle_on_loop: true, closed: false });
        assert!(matches!(gate.close().await, Err(Error::VehicleOnLoop)));
        let coils = |relay: &crate::relay::Relay| -> Vec<(u16, bool)> {
            relay.writes.lock().unwrap().iter().map(|w| (w.1, w.2)).collect()
        };
        assert_eq!(coils(&relay), [(2, true), (2, false)], "opened with a pulse, no close while on the loop");
        relay.inputs.lock().unwrap().insert(7, false);
        gate.close().await.unwrap();
        assert_eq!(coils(&relay)[2..], [(4, true), (4, false)]);
    }
}
