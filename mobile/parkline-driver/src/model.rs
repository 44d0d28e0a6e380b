//! The app's view-models: what each screen shows, fetched through `parkline-sdk` and shaped for the
//! screen, with no UI in them (the screens render them; tests drive them against a live server).

use jiff::{SignedDuration, Timestamp};
use parkline_domain::pricing::Quote;
use parkline_domain::{LatLon, Money, VehicleClass};
use parkline_protocol::{
    Availability, FacilitySummary, Forecast, PaymentRequest, Receipt, ReservationRequest, SessionView,
};
use parkline_protocol::{Notice, StreamMessage};
use parkline_sdk::{Client, Command, Event, Outcome, Realtime};

pub use parkline_domain::reservation::Reservation;

/// What a screen has to show: still loading, the data, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// The driver's car.
#[derive(Debug, Clone, PartialEq)]
pub struct Vehicle {
    pub plate: String,
    pub class: VehicleClass,
    pub electric: bool,
}

/// A planned stay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// A facility in the search results.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub id: String,
    pub name: String,
    pub address: String,
    pub location: LatLon,
    pub distance_m: f64,
    /// Free spots that fit the driver's vehicle.
    pub free_for_me: u32,
    pub free_ev: u32,
    /// The planned stay's price, if the server could quote it.
    pub quote: Option<Quote>,
    pub favourite: bool,
}

/// Search results, with how old they are.
#[derive(Debug, Clone, PartialEq)]
pub struct Finds {
    pub places: Vec<Place>,
    pub fetched_at: Timestamp,
    /// Served from the cache: the server could not be reached.
    pub offline: bool,
}

/// The driver's reservations.
#[derive(Debug, Clone, PartialEq)]
pub struct Bookings {
    pub list: Vec<Reservation>,
    pub fetched_at: Timestamp,
    pub offline: bool,
}

/// What paying did.
#[derive(Debug, Clone, PartialEq)]
pub enum Payment {
    Done(Box<Receipt>),
    /// Offline: kept in the outbox, sent when the server is back.
    Queued,
}

/// A facility's detail screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub summary: FacilitySummary,
    /// When it usually fills up and what to expect at the planned arrival.
    pub forecast: Forecast,
    pub availability: Availability,
    pub quote: Option<Quote>,
    pub fetched_at: Timestamp,
    pub offline: bool,
}

/// The driver's stay in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Parked {
    pub session: SessionView,
    pub facility_name: String,
    /// How long it has been, when it was fetched.
    pub elapsed: SignedDuration,
    pub due: Money,
    /// How to get from the entry to the spot (and back to the car).
    pub route: Option<crate::route::Route>,
}

/// Where the favourites are kept in the cache.
const FAVOURITES: &str = "driver:favourites";

/// Free spots a vehicle of `class` can use: a smaller car fits a bigger spot.
pub fn free_for(f: &parkline_protocol::FreeByClass, class: VehicleClass) -> u32 {
    match class {
        VehicleClass::Motorcycle => f.motorcycle,
        VehicleClass::Compact => f.compact,
        VehicleClass::Sedan => f.sedan,
        VehicleClass::Suv => f.suv,
    }
}

/// Results by walking distance in bands of [`BAND_M`], the cheaper first within a band; places with no
/// room for the vehicle last.
pub fn rank(places: &mut [Place]) {
    places.sort_by_key(|p| {
        let price = p.quote.as_ref().map_or(i64::MAX, |q| q.total.minor);
        (p.free_for_me == 0, (p.distance_m / BAND_M) as i64, price, p.distance_m as i64)
    });
}

/// Places this close to each other are as near as each other: price decides.
pub const BAND_M: f64 = 250.0;

/// The driver app's calls, as the screens need them.
#[derive(Debug, Clone)]
pub struct Driver {
    pub client: Client,
    pub vehicle: Vehicle,
}

impl Driver {
    /// Facilities within `radius_m` of `at`, with free spots for the vehicle and the plan's price.
    pub async fn find(&self, at: LatLon, radius_m: f64, plan: Plan) -> Result<Finds, parkline_sdk::Error> {
        let near = self.client.nearby(at.lat, at.lon, radius_m).await?;
        let favourites = self.favourites();
        let mut places = Vec::new();
        for f in near.value {
            let quote = if near.offline {
                None
            } else {
                self.client.quote(&f.id, self.vehicle.class, plan.from, plan.to).await.ok()
            };
            places.push(Place {
                distance_m: f.distance_m.unwrap_or_else(|| distance(at, f.location)),
                free_for_me: free_for(&f.free_by_class, self.vehicle.class),
                free_ev: f.free_ev_charger,
                favourite: favourites.contains(&f.id),
                id: f.id,
                name: f.name,
                address: f.address,
                location: f.location,
                quote,
            });
        }
        rank(&mut places);
        Ok(Finds { places, fetched_at: near.fetched_at, offline: near.offline })
    }

    pub async fn detail(&self, facility: &str, plan: Plan) -> Result<Detail, parkline_sdk::Error> {
        // The server forecasts up to a week ahead.
        let week = Timestamp::now() + SignedDuration::from_hours(24 * 7);
        let arrival = (plan.from < week).then_some(plan.from);
        let detail = self.client.facility(facility, arrival).await?.value;
        let availability = self.client.availability(facility).await?;
        let quote = if availability.offline {
            None
        } else {
            self.client.quote(facility, self.vehicle.class, plan.from, plan.to).await.ok()
        };
        Ok(Detail {
            summary: detail.facility,
            forecast: detail.forecast,
            quote,
            fetched_at: availability.fetched_at,
            offline: availability.offline,
            availability: availability.value,
        })
    }

    /// Books a spot for the plan; `key` makes a retry return the same reservation.
    pub async fn reserve(
        &self,
        facility: &str,
        plan: Plan,
        key: &str,
    ) -> Result<Reservation, parkline_sdk::Error> {
        let request = ReservationRequest {
            facility: facility.to_owned(),
            plate: self.vehicle.plate.clone(),
            vehicle_class: self.vehicle.class,
            electric: self.vehicle.electric,
            start: plan.from,
            end: plan.to,
            spot: None,
            count: None,
        };
        let mut booked = self.client.book(&request, Some(key)).await?;
        booked.pop().ok_or_else(|| parkline_sdk::Error::Protocol("the server booked nothing".into()))
    }

    /// The driver's reservations, newest first, with how old the list is.
    pub async fn reservations(&self) -> Result<Bookings, parkline_sdk::Error> {
        let list = self.client.my_reservations().await?;
        Ok(Bookings { list: list.value, fetched_at: list.fetched_at, offline: list.offline })
    }

    /// Makes a reservation longer (same spot), if the spot is free for the extra time.
    pub async fn extend(
        &self,
        r: &Reservation,
        by: SignedDuration,
    ) -> Result<Reservation, parkline_sdk::Error> {
        let window = parkline_protocol::ReservationWindow { start: r.start, end: r.end + by };
        self.client.modify_reservation(&r.id, &window).await
    }

    /// Cancels a reservation (free until an hour before it starts).
    pub async fn cancel(&self, id: &str) -> Result<Reservation, parkline_sdk::Error> {
        self.client.cancel_reservation(id).await
    }

    /// The stay behind a ticket, with the fee so far.
    pub async fn parked(&self, ticket: &str) -> Result<Parked, parkline_sdk::Error> {
        let session = self.client.ticket(ticket).await?;
        let facility_name = self
            .client
            .facilities()
            .await
            .ok()
            .and_then(|all| all.value.into_iter().find(|f| f.id == session.facility).map(|f| f.name))
            .unwrap_or_else(|| session.facility.clone());
        let route = match (&session.spot, self.client.layout(&session.facility).await) {
            (Some(spot), Ok(layout)) => {
                let entry =
                    layout.value.gates.iter().find(|g| g.direction == parkline_domain::Direction::Entry);
                crate::route::route(&layout.value, spot, entry.map_or(0, |g| g.level))
            }
            _ => None,
        };
        let now = Timestamp::now();
        let due = Money::new((session.fee.minor - session.paid.minor).max(0), session.fee.currency);
        Ok(Parked { elapsed: now.duration_since(session.entered_at), facility_name, due, session, route })
    }

    /// Pays what the stay owes so the exit opens; `key` makes a retry charge nothing more. Offline, the
    /// payment waits in the outbox (with its key) and [`Driver::sync`] sends it when the server is back.
    pub async fn pay(
        &self,
        ticket: &str,
        card_token: &str,
        key: &str,
    ) -> Result<Payment, parkline_sdk::Error> {
        let payment = PaymentRequest { card_token: card_token.to_owned(), amount_minor: None };
        match self.client.pay(ticket, &payment, key).await {
            Ok(receipt) => Ok(Payment::Done(Box::new(receipt))),
            Err(e) if e.is_transient() && self.client.cache().is_some() => {
                let command = Command::Payment { ticket: ticket.to_owned(), payment, key: key.to_owned() };
                self.client.queue(command)?;
                Ok(Payment::Queued)
            }
            Err(e) => Err(e),
        }
    }

    /// Sends what was done offline; returns the receipts of queued payments the server took.
    pub async fn sync(&self) -> Result<Vec<Receipt>, parkline_sdk::Error> {
        let outcomes = self.client.sync().await?;
        Ok(outcomes
            .into_iter()
            .filter_map(|o| match o {
                Outcome::Applied { command: Command::Payment { .. }, answer, .. } => {
                    serde_json::from_value(answer).ok()
                }
                _ => None,
            })
            .collect())
    }

    /// The driver's favourite facilities, kept on the device (in the SDK's cache).
    pub fn favourites(&self) -> Vec<String> {
        self.client
            .cache()
            .and_then(|c| c.get::<Vec<String>>(FAVOURITES).ok().flatten())
            .map(|c| c.value)
            .unwrap_or_default()
    }

    /// Adds `facility` to the favourites, or takes it out; returns whether it is one now.
    pub fn toggle_favourite(&self, facility: &str) -> Result<bool, parkline_sdk::Error> {
        let mut list = self.favourites();
        let now_favourite = !list.iter().any(|f| f == facility);
        if now_favourite {
            list.push(facility.to_owned());
        } else {
            list.retain(|f| f != facility);
        }
        if let Some(cache) = self.client.cache() {
            cache.put(FAVOURITES, &list, Timestamp::now())?;
        }
        Ok(now_favourite)
    }

    /// Waits until a spot that fits the driver's vehicle is free at `facility` ("notify me when a spot
    /// frees up here"), following the facility's realtime stream; returns how many are free.
    pub async fn wait_for_space(&self, facility: &str) -> Result<u32, parkline_sdk::Error> {
        let (_stream, mut events) = Realtime::start(&self.client, &[facility.to_owned()]);
        loop {
            let free =
                free_for(&self.client.availability(facility).await?.value.free_by_class, self.vehicle.class);
            if free > 0 {
                return Ok(free);
            }
            // Any spot changing state may be the one: look again after the next change.
            loop {
                match events.recv().await {
                    Some(Event::Message(StreamMessage::Spot {
                        state: parkline_domain::SpotState::Free,
                        ..
                    })) => {
                        break;
                    }
                    Some(_) => {}
                    None => return Err(parkline_sdk::Error::Offline("the stream ended".into())),
                }
            }
        }
    }

    /// The driver's notices as they happen (entry confirmed, reservation and payment reminders,
    /// overstay), from the realtime stream; keep the [`Realtime`] to keep them coming.
    pub fn notices(&self) -> (Realtime, tokio::sync::mpsc::Receiver<Notice>) {
        let (stream, mut events) = Realtime::start(&self.client, &[]);
        let (tx, rx) = tokio::sync::mpsc::channel(32);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let Event::Message(StreamMessage::Notice { notice }) = event
                    && tx.send(notice).await.is_err()
                {
                    return;
                }
            }
        });
        (stream, rx)
    }
}

/// Great-circle distance in metres.
pub fn distance(a: LatLon, b: LatLon) -> f64 {
    use geo::{Distance, Haversine, Point};
    Haversine.distance(Point::new(a.lon, a.lat), Point::new(b.lon, b.lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(id: &str, distance_m: f64, free: u32, price: Option<i64>) -> Place {
        Place {
            id: id.into(),
            name: id.into(),
            address: String::new(),
            location: LatLon { lat: 47.6, lon: -122.3 },
            distance_m,
            free_for_me: free,
            free_ev: 0,
            favourite: false,
            quote: price
                .map(|p| Quote { lines: vec![], total: Money::new(p, parkline_domain::Currency::USD) }),
        }
    }

    #[test]
    fn nearest_first_cheaper_when_close_full_ones_last() {
        let mut places = vec![
            place("far", 900.0, 5, Some(100)),
            place("near-dear", 100.0, 5, Some(900)),
            place("near-cheap", 180.0, 5, Some(400)),
            place("nearest-full", 10.0, 0, Some(100)),
        ];
        rank(&mut places);
        let order: Vec<&str> = places.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(order, ["near-cheap", "near-dear", "far", "nearest-full"]);
    }
}
