//! A Modbus TCP relay module in software (tokio-modbus's server): coils written are recorded with when,
//! discrete inputs are what its owner sets. Demos run a lane against it without hardware; tests check what
//! the lane wrote.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio_modbus::prelude::{ExceptionCode, Request, Response};

/// The module's state, shared with every connection.
#[derive(Debug, Clone, Default)]
pub struct Relay {
    pub writes: Arc<Mutex<Vec<(Instant, u16, bool)>>>,
    pub inputs: Arc<Mutex<HashMap<u16, bool>>>,
}

impl tokio_modbus::server::Service for Relay {
    type Request = Request<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = std::future::Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        std::future::ready(match req {
            Request::WriteSingleCoil(addr, on) => {
                self.writes.lock().unwrap_or_else(|p| p.into_inner()).push((Instant::now(), addr, on));
                Ok(Response::WriteSingleCoil(addr, on))
            }
            Request::ReadDiscreteInputs(addr, count) => {
                let inputs = self.inputs.lock().unwrap_or_else(|p| p.into_inner());
                Ok(Response::ReadDiscreteInputs(
                    (addr..addr + count).map(|a| inputs.get(&a).copied().unwrap_or(false)).collect(),
                ))
            }
            _ => Err(ExceptionCode::IllegalFunction),
        })
    }
}

impl Relay {
    /// Serves on a free loopback port.
    pub async fn start() -> std::io::Result<(Relay, SocketAddr)> {
        let relay = Relay::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio_modbus::server::tcp::Server::new(listener);
        let service = relay.clone();
        tokio::spawn(async move {
            let on_connected = |stream, socket_addr| {
                let service = service.clone();
                async move {
                    tokio_modbus::server::tcp::accept_tcp_connection(stream, socket_addr, |_| {
                        Ok(Some(service.clone()))
                    })
                }
            };
            let _ = server.serve(&on_connected, |_| {}).await;
        });
        Ok((relay, addr))
    }

    /// When `coil` was first switched on after `since`.
    pub fn opened_at(&self, coil: u16, since: Instant) -> Option<Instant> {
        self.writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(at, c, on)| *c == coil && *on && *at >= since)
            .map(|w| w.0)
    }
}
