//! The whole reader: text lines found in a photo, each read, the plate-like reads ranked.

use std::path::Path;
use std::time::{Duration, Instant};

use image::RgbImage;
use parkline_domain::plate_format::Region;

use crate::{Detector, Error, Recognizer, TextBox};

/// Lines read per photo, most confident first: plates are rarely below the tenth.
const LINES: usize = 12;
/// A plate-length read this confident ends the search: the lines after it would only cost time (on the
/// benchmark: same accuracy, p95 from 357 to 271 ms).
const SURE: f32 = 0.8;

/// A plate the photo may show.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub text: String,
    pub confidence: f32,
    pub plate_box: TextBox,
}

/// What reading a photo found, and how long each stage took.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub candidates: Vec<Candidate>,
    pub detect: Duration,
    pub recognize: Duration,
}

#[derive(Debug)]
pub struct PlateRecognizer {
    detector: Detector,
    recognizer: Recognizer,
    region: Region,
}

impl PlateRecognizer {
    /// A reader on one core (as the benchmark measures it).
    pub fn load(dir: &Path, region: Region) -> Result<PlateRecognizer, Error> {
        PlateRecognizer::load_with_threads(dir, region, 1)
    }

    /// A reader whose models run on `threads` cores: a kiosk reading one vehicle at a time gets its
    /// answer sooner (on two cores, detection takes 74 ms instead of 128).
    pub fn load_with_threads(dir: &Path, region: Region, threads: usize) -> Result<PlateRecognizer, Error> {
        let (detector, recognizer) = (Detector::load(dir, threads)?, Recognizer::load(dir, threads)?);
        Ok(PlateRecognizer { detector, recognizer, region })
    }

    pub fn read(&self, photo: &RgbImage) -> Result<Reading, Error> {
        let started = Instant::now();
        let boxes = self.detector.detect(photo)?;
        let detect = started.elapsed();
        let mut candidates: Vec<Candidate> = Vec::new();
        for b in boxes.into_iter().take(LINES) {
            // A quarter of the line's height more on each side: the detector's box edges cut into the end
            // characters (above and below, more only brings in the plate's other text).
            let extra = b.h / 4;
            let (pw, ph) = photo.dimensions();
            let (x0, x1) = (b.x.saturating_sub(extra), (b.x + b.w + extra).min(pw));
            let crop = image::imageops::crop_imm(photo, x0, b.y, x1 - x0, b.h.min(ph - b.y)).to_image();
            let read = self.recognizer.read(&crop)?;
            let raw = read.plate_text();
            // Plates carry digits (words on signs and badges do not), and 4 to 8 characters.
            if !(4..=8).contains(&raw.len()) || !raw.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            // Digits alone are more often a camera's date and time than a plate.
            let mixed = if raw.chars().any(|c| c.is_ascii_uppercase()) { 1.0 } else { 0.5 };
            let text = self.region.correct(&raw).text;
            let confidence = read.confidence * b.score * mixed;
            let sure = confidence >= SURE && (5..=8).contains(&text.len());
            if candidates.iter().all(|c| c.text != text) {
                candidates.push(Candidate { text, confidence, plate_box: b });
            }
            if sure {
                break;
            }
        }
        candidates
            .sort_by(|a, b| b.confidence.partial_cmp(&a.confidence).unwrap_or(std::cmp::Ordering::Equal));
        Ok(Reading { candidates, detect, recognize: started.elapsed() - detect })
    }
}
