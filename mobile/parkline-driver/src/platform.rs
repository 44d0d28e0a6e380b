//! What only a phone has, behind small traits with desktop stand-ins: where the driver is, and
//! notifications outside the app.

use parkline_domain::LatLon;

/// Where the driver is (the phone's location service on iOS/Android).
pub trait Location {
    fn here(&self) -> Option<LatLon>;
}

/// The desktop stand-in: a fixed point (from the command line).
#[derive(Debug, Clone, Copy)]
pub struct FixedLocation(pub LatLon);

impl Location for FixedLocation {
    fn here(&self) -> Option<LatLon> {
        Some(self.0)
    }
}

/// Notifications outside the app (APNs/FCM on a phone).
pub trait Notifier {
    fn notify(&self, title: &str, body: &str);
}

/// The desktop stand-in: the terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintNotifier;

impl Notifier for PrintNotifier {
    fn notify(&self, title: &str, body: &str) {
        println!("{title}: {body}");
    }
}
