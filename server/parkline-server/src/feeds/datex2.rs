//! DATEX II parking: a `ParkingTablePublication` (each facility as an `UrbanParkingSite`: name,
//! location, spaces, structure) and a `ParkingStatusPublication` (each one's vacant and occupied spaces,
//! status and opening status). Version 3 is a `d2:payload` document; version 2.3 (what Germany's access
//! point, Mobilithek, and its consumers still take) carries the same records, unprefixed, in a
//! `d2LogicalModel`'s `genericPublicationExtension`. The records are written once, with version 3's
//! prefixes, which version 2.3 drops.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::{Feed, Site, Structure, instant};

const NAMESPACES: [(&str, &str); 5] = [
    ("xmlns:d2", "http://datex2.eu/schema/3/d2Payload"),
    ("xmlns:com", "http://datex2.eu/schema/3/common"),
    ("xmlns:loc", "http://datex2.eu/schema/3/locationReferencing"),
    ("xmlns:prk", "http://datex2.eu/schema/3/parking"),
    ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
];

/// Which DATEX II.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V3,
    V2_3,
}

/// Occupancy at or above which a site is published as `almostFull` (drivers' nearly-full notices use
/// the same line).
const ALMOST_FULL_PERCENT: u32 = 95;

/// The static table: what each facility is and where.
pub fn table(feed: &Feed, version: Version) -> String {
    let time = feed.table_time();
    payload(feed, version, "ParkingTablePublication", time, |d| {
        let version = time.as_second().to_string();
        d.el("prk:parkingTable", &[("id", &feed.operator), ("version", &version)], |d| {
            d.leaf("prk:parkingTableVersionTime", &instant(time));
            for site in &feed.sites {
                record(d, site);
            }
        });
    })
}

/// The dynamic status: each facility's counts now.
pub fn status(feed: &Feed, version: Version) -> String {
    payload(feed, version, "ParkingStatusPublication", feed.status_time(), |d| {
        let table_version = feed.table_time().as_second().to_string();
        let table = [
            ("targetClass", "prk:ParkingTable"),
            ("id", feed.operator.as_str()),
            ("version", &table_version),
        ];
        d.empty("prk:parkingTableReference", &table);
        for site in &feed.sites {
            site_status(d, site);
        }
    })
}

fn record(d: &mut Doc, site: &Site) {
    let version = site.created.as_second().to_string();
    let attrs = [("xsi:type", "prk:UrbanParkingSite"), ("id", site.id.as_str()), ("version", &version)];
    d.el("prk:parkingRecord", &attrs, |d| {
        d.el("prk:parkingName", &[], |d| {
            d.el("com:values", &[], |d| d.leaf_with("com:value", &[("lang", &site.language)], &site.name));
        });
        d.leaf("prk:parkingRecordVersionTime", &instant(site.created));
        d.leaf("prk:parkingNumberOfSpaces", &site.counts.capacity().to_string());
        d.el("prk:parkingLocation", &[("xsi:type", "loc:PointLocation")], |d| {
            d.el("loc:pointByCoordinates", &[], |d| {
                d.el("loc:pointCoordinates", &[], |d| {
                    d.leaf("loc:latitude", &site.lat.to_string());
                    d.leaf("loc:longitude", &site.lon.to_string());
                });
            });
        });
        d.leaf("prk:parkingLayout", layout(site.structure));
        d.leaf("prk:urbanParkingSiteType", "offStreetParking");
    });
}

fn site_status(d: &mut Doc, site: &Site) {
    let version = site.created.as_second().to_string();
    d.el("prk:parkingRecordStatus", &[("xsi:type", "prk:ParkingSiteStatus")], |d| {
        let reference =
            [("targetClass", "prk:ParkingRecord"), ("id", site.id.as_str()), ("version", &version)];
        d.empty("prk:parkingRecordReference", &reference);
        d.leaf("prk:parkingStatusOriginTime", &instant(site.updated));
        d.el("prk:parkingOccupancy", &[], |d| {
            let c = &site.counts;
            d.leaf("prk:parkingNumberOfSpacesOverride", &site.usable().to_string());
            d.leaf("prk:parkingNumberOfVacantSpaces", &c.free.to_string());
            d.leaf("prk:parkingNumberOfOccupiedSpaces", &(c.occupied + c.held).to_string());
            d.leaf("prk:parkingOccupancy", &site.occupancy_percent().to_string());
        });
        let status = match site.occupancy_percent() {
            _ if !site.open() => "closed",
            _ if site.counts.free == 0 => "full",
            p if p >= ALMOST_FULL_PERCENT => "almostFull",
            _ => "spacesAvailable",
        };
        d.leaf("prk:parkingSiteStatus", status);
        d.leaf("prk:parkingSiteOpeningStatus", if site.open() { "open" } else { "closed" });
    });
}

fn layout(structure: Structure) -> &'static str {
    match structure {
        Structure::SingleLevel => "singleLevel",
        Structure::MultiStorey => "multiStorey",
        Structure::Underground => "underground",
        Structure::UndergroundAndMultiStorey => "undergroundAndMultiStorey",
    }
}

/// A publication of `kind` (`ParkingTablePublication`, `ParkingStatusPublication`), published at `time`
/// by the operator, its country that of its facilities.
fn payload(
    feed: &Feed,
    version: Version,
    kind: &str,
    time: jiff::Timestamp,
    body: impl FnOnce(&mut Doc),
) -> String {
    let mut d = Doc { w: Writer::new_with_indent(Vec::new(), b' ', 2), version };
    d.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let language = feed.sites.first().map_or("en", |s| s.language.as_str());
    let country = feed.sites.iter().find_map(|s| s.country.as_deref());
    let creator = |d: &mut Doc, country: &str| {
        d.leaf("com:country", country);
        d.leaf("com:nationalIdentifier", &feed.operator);
    };
    match version {
        Version::V3 => {
            let mut attrs = NAMESPACES.to_vec();
            let kind = format!("prk:{kind}");
            attrs.extend([("xsi:type", kind.as_str()), ("lang", language), ("modelBaseVersion", "3")]);
            d.el("d2:payload", &attrs, |d| {
                d.leaf("com:publicationTime", &instant(time));
                d.el("com:publicationCreator", &[], |d| creator(d, country.unwrap_or("ZZ")));
                body(d);
            });
        }
        Version::V2_3 => {
            // Version 2's countries are lower case, `other` for none.
            let country = country.map_or("other".to_owned(), str::to_ascii_lowercase);
            let attrs = [
                ("xmlns", "http://datex2.eu/schema/2/2_0"),
                ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
                ("modelBaseVersion", "2"),
            ];
            d.el("d2LogicalModel", &attrs, |d| {
                d.el("exchange", &[], |d| d.el("supplierIdentification", &[], |d| creator(d, &country)));
                let attrs = [("xsi:type", "GenericPublication"), ("lang", language)];
                d.el("payloadPublication", &attrs, |d| {
                    d.leaf("publicationTime", &instant(time));
                    d.el("publicationCreator", &[], |d| creator(d, &country));
                    d.leaf("genericPublicationName", kind);
                    d.el("genericPublicationExtension", &[], |d| {
                        let (first, rest) = kind.split_at(1);
                        d.el(&format!("{}{rest}", first.to_ascii_lowercase()), &[], body);
                    });
                });
            });
        }
    }
    String::from_utf8(d.w.into_inner()).expect("the writer wrote only the UTF-8 it was given")
}

/// Elements written in document order, named as version 3 names them (`prk:parkingRecord`): version
/// 2.3 has one namespace, so its names and types drop the prefix, and a point location is a `Point`.
struct Doc {
    w: Writer<Vec<u8>>,
    version: Version,
}

impl Doc {
    fn name<'a>(&self, name: &'a str) -> &'a str {
        match self.version {
            Version::V3 => name,
            Version::V2_3 => match name {
                "loc:PointLocation" => "Point",
                _ => name.split_once(':').map_or(name, |(_, local)| local),
            },
        }
    }
    fn start<'a>(&self, name: &'a str, attrs: &[(&'a str, &'a str)]) -> BytesStart<'a> {
        let attrs = attrs.iter().map(|&(k, v)| {
            let typed = matches!(k, "xsi:type" | "targetClass");
            (k, if typed { self.name(v) } else { v })
        });
        BytesStart::new(self.name(name)).with_attributes(attrs)
    }
    fn el(&mut self, name: &str, attrs: &[(&str, &str)], inner: impl FnOnce(&mut Doc)) {
        self.event(Event::Start(self.start(name, attrs)));
        inner(self);
        self.event(Event::End(BytesEnd::new(self.name(name))));
    }
    fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_with(name, &[], text);
    }
    fn leaf_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.el(name, attrs, |d| d.event(Event::Text(BytesText::new(text))));
    }
    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.event(Event::Empty(self.start(name, attrs)));
    }
    fn event(&mut self, event: Event<'_>) {
        self.w.write_event(event).expect("writing to memory does not fail");
    }
}
