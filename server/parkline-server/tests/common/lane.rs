//! A kiosk's lanes at the demo's waterfront lot, for tests that drive entries and exits.
#![allow(dead_code)]

use parkline_protocol::DeviceKind;
use serde_json::{Value, json};

use super::{Backend, TestDb, TestServer};

pub const LOT: &str = "waterfront-lot";
pub const IN: &str = "waterfront-in-1";
pub const OUT: &str = "waterfront-out-1";

pub struct Lane {
    pub s: TestServer,
    pub db: TestDb,
    pub kiosk: String,
}

impl Lane {
    pub async fn open(backend: Backend) -> Option<Lane> {
        let db = TestDb::new(backend).await?;
        let s = TestServer::start(&db.config()).await;
        let kiosk = s.device_token(DeviceKind::Kiosk).await;
        Some(Lane { s, db, kiosk })
    }

    pub async fn event(&self, gate: &str, body: Value) -> (u16, Value) {
        self.s.post_as(Some(&self.kiosk), &format!("/v1/gates/{gate}/events"), &body).await
    }

    /// A vehicle with `plate` at the entry; returns the decision.
    pub async fn enter(&self, id: &str, plate: &str) -> Value {
        let (status, d) =
            self.event(IN, json!({"event_id": id, "plate": {"text": plate, "confidence": 0.93}})).await;
        assert_eq!(status, 200, "{d}");
        d
    }

    pub async fn leave(&self, id: &str, plate: &str, paid: Option<i64>) -> Value {
        let mut body = json!({"event_id": id, "plate": {"text": plate, "confidence": 0.9}});
        if let Some(p) = paid {
            body["paid_at_gate"] = json!(p);
        }
        let (status, d) = self.event(OUT, body).await;
        assert_eq!(status, 200, "{d}");
        d
    }

    pub async fn held(&self) -> u64 {
        self.s.availability(LOT).await["counts"]["held"].as_u64().unwrap()
    }

    pub async fn close(self) {
        self.s.stop().await;
        self.db.cleanup().await;
    }
}

pub fn reason(d: &Value) -> (&str, &str) {
    (d["command"].as_str().unwrap(), d["reason"].as_str().unwrap())
}
