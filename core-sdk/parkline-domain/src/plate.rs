//! Licence plates: normalising what a camera or an attendant typed, and matching a read at the exit to the
//! vehicle that entered despite the usual OCR confusions, without ever guessing between two vehicles.

use serde::{Deserialize, Serialize};

use crate::Error;

/// A normalised plate: uppercase ASCII letters and digits, 2 to 10 of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Plate(String);

impl Plate {
    /// Uppercases and drops the separators people and cameras put in plates (spaces, dashes, dots,
    /// middle dots). Anything else that is not a letter or digit is junk and refused.
    pub fn parse(text: &str) -> Result<Plate, Error> {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                ' ' | '-' | '.' | '·' | '\u{2013}' => {}
                c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_uppercase()),
                _ => return Err(Error::InvalidPlate(format!("{text:?} has {c:?}, which no plate carries"))),
            }
        }
        if !(2..=10).contains(&out.len()) {
            return Err(Error::InvalidPlate(format!("{text:?} is not 2 to 10 letters and digits")));
        }
        Ok(Plate(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The plate with every easily-confused character replaced by one representative: O/0 -> 0,
    /// I/1 -> 1, B/8 -> 8, S/5 -> 5, Z/2 -> 2. Two reads with the same key may be the same plate.
    pub fn confusion_key(&self) -> String {
        self.0
            .chars()
            .map(|c| match c {
                'O' => '0',
                'I' => '1',
                'B' => '8',
                'S' => '5',
                'Z' => '2',
                c => c,
            })
            .collect()
    }
}

impl TryFrom<String> for Plate {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Plate::parse(&s)
    }
}

impl From<Plate> for String {
    fn from(p: Plate) -> String {
        p.0
    }
}

impl std::fmt::Display for Plate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an exit read was matched to a vehicle inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlateMatch<T> {
    /// A candidate equals the plate recorded at entry.
    Exact(T),
    /// No candidate is exact, but exactly one vehicle inside has a plate that differs from a candidate only
    /// by OCR confusions.
    Confusable(T),
    /// Several vehicles inside could be this one: a person must decide.
    Ambiguous(Vec<T>),
    NoMatch,
}

/// Matches ranked plate candidates against the vehicles inside. `exact(plate)` finds a vehicle by its
/// exact plate; `by_key(key)` lists the vehicles whose plate has that confusion key.
pub fn match_plate<T: Clone + PartialEq>(
    candidates: &[Plate],
    exact: impl Fn(&Plate) -> Option<T>,
    by_key: impl Fn(&str) -> Vec<T>,
) -> PlateMatch<T> {
    if let Some(found) = candidates.iter().find_map(&exact) {
        return PlateMatch::Exact(found);
    }
    let mut possible: Vec<T> = Vec::new();
    for c in candidates {
        for v in by_key(&c.confusion_key()) {
            if !possible.contains(&v) {
                possible.push(v);
            }
        }
    }
    match possible.len() {
        0 => PlateMatch::NoMatch,
        1 => PlateMatch::Confusable(possible.remove(0)),
        _ => PlateMatch::Ambiguous(possible),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn plates_are_normalised_and_junk_is_refused() {
        assert_eq!(Plate::parse("abc 123").unwrap().as_str(), "ABC123");
        assert_eq!(Plate::parse(" 7-XYZ.88 ").unwrap().as_str(), "7XYZ88");
        for junk in ["", "A", "ABC$123", "ÄBC123", "ABCDEFGHIJK", "AB\n12", "1; DROP"] {
            assert!(Plate::parse(junk).is_err(), "{junk:?}");
        }
        assert_eq!(Plate::parse("SOB 812").unwrap().confusion_key(), "508812");
    }

    /// Vehicles inside: plate -> id.
    fn inside(plates: &[(&str, u32)]) -> HashMap<Plate, u32> {
        plates.iter().map(|(p, id)| (Plate::parse(p).unwrap(), *id)).collect()
    }

    fn check(inside: &HashMap<Plate, u32>, reads: &[&str]) -> PlateMatch<u32> {
        let candidates: Vec<Plate> = reads.iter().map(|r| Plate::parse(r).unwrap()).collect();
        match_plate(
            &candidates,
            |p| inside.get(p).copied(),
            |key| {
                let mut ids: Vec<u32> =
                    inside.iter().filter(|(p, _)| p.confusion_key() == key).map(|(_, id)| *id).collect();
                ids.sort();
                ids
            },
        )
    }

    #[test]
    fn exit_reads_match_exactly_or_through_ocr_confusions_but_never_by_guessing() {
        let cars = inside(&[("ABC123", 1), ("8OZ5I1", 2), ("XYZ700", 3), ("XYZ7OO", 4)]);
        assert_eq!(check(&cars, &["ABC123"]), PlateMatch::Exact(1));
        // A later candidate that is exact wins over an earlier confusable one.
        assert_eq!(check(&cars, &["A8C123", "ABC123"]), PlateMatch::Exact(1));
        assert_eq!(check(&cars, &["A8C123"]), PlateMatch::Confusable(1));
        assert_eq!(check(&cars, &["BO2SI1"]), PlateMatch::Confusable(2));
        // XYZ700 and XYZ7OO are both inside: a read of XYZ7O0 could be either.
        assert_eq!(check(&cars, &["XYZ7O0"]), PlateMatch::Ambiguous(vec![3, 4]));
        assert_eq!(check(&cars, &["QQQ999"]), PlateMatch::NoMatch);
        assert_eq!(check(&cars, &[]), PlateMatch::NoMatch);
    }
}
