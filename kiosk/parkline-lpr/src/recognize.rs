//! Text recognition of a plate crop: PP-OCRv6 `rec_small`, CTC-decoded with the character set stored in
//! the model's metadata.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use image::RgbImage;
use image::imageops::FilterType;
use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;

use crate::{Error, required};

/// The model's input height; widths follow the crop's aspect ratio.
const HEIGHT: u32 = 48;
const MAX_WIDTH: u32 = 480;
/// A character the model thinks less likely than not is dropped.
const MIN_CHARACTER_PROBABILITY: f32 = 0.5;
/// Narrower lines are padded to this width (48 x 320 is the models' training shape).
const PADDED_WIDTH: u32 = 320;

/// What a crop reads as: the characters with their mean confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub text: String,
    pub confidence: f32,
    /// Each character read, with its probability.
    pub characters: Vec<(String, f32)>,
}

impl Read {
    /// The plate characters: capital letters and digits read with some certainty. Plates print
    /// capitals; what reads as a small letter is a small glyph (a stacked separator, a sticker),
    /// punctuation is a separator, and a faint guess is more often a mark than a character.
    pub fn plate_text(&self) -> String {
        self.characters
            .iter()
            .filter(|(_, p)| *p >= MIN_CHARACTER_PROBABILITY)
            .flat_map(|(c, _)| c.chars())
            .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            .collect()
    }
}

#[derive(Debug)]
pub struct Recognizer {
    session: Mutex<Session>,
    /// Index 0 is CTC's blank.
    characters: Vec<String>,
}

impl Recognizer {
    /// Loads the runtime and the recognition model from `dir`, to run on `threads` cores.
    pub fn load(dir: &Path, threads: usize) -> Result<Recognizer, Error> {
        let runtime = required(dir, "libonnxruntime.so")?;
        let model = required(dir, "PP-OCRv6_rec_small.onnx")?;
        let fail = |e: ort::Error<ort::session::builder::SessionBuilder>| Error::Runtime(e.to_string());
        let session = Session::builder(environment(&runtime)?)?
            .with_intra_threads(threads.max(1))
            .map_err(fail)?
            .commit_from_file(&model)?;
        let list = {
            let metadata = session.metadata()?;
            metadata.custom("character")
        }
        .ok_or_else(|| Error::Model("no `character` list in the model's metadata".into()))?;
        let mut characters = vec![String::new()];
        characters.extend(list.lines().map(str::to_owned));
        characters.push(" ".into());
        Ok(Recognizer { session: Mutex::new(session), characters })
    }

    /// Reads a rectified plate (the plate filling the image): its character band only, without the state
    /// name above and the slogan below, which the model would otherwise read as part of the line.
    pub fn read_plate(&self, plate: &RgbImage) -> Result<Read, Error> {
        let (w, h) = plate.dimensions();
        // US and European plates print their characters across the middle of the plate.
        let (top, bottom) = (0.2, 0.85);
        let (x, y) = (0, (h as f32 * top) as u32);
        let (cw, ch) = (w, (h as f32 * (bottom - top)) as u32);
        if cw < 8 || ch < 8 {
            return self.read(plate);
        }
        let band = image::imageops::crop_imm(plate, x, y, cw, ch).to_image();
        self.read(&band)
    }

    /// Reads one line of text filling the image.
    pub fn read(&self, crop: &RgbImage) -> Result<Read, Error> {
        let mut reads = self.read_all(std::slice::from_ref(crop))?;
        reads.pop().ok_or_else(|| Error::Model("no output for the crop".into()))
    }

    /// Reads several lines in one run of the model (cheaper than one run each).
    pub fn read_all(&self, crops: &[RgbImage]) -> Result<Vec<Read>, Error> {
        if crops.is_empty() {
            return Ok(Vec::new());
        }
        let mut lines = Vec::with_capacity(crops.len());
        for crop in crops {
            let (w, h) = crop.dimensions();
            if w == 0 || h == 0 {
                return Err(Error::Image("an empty crop".into()));
            }
            let scaled = ((w as f32 * HEIGHT as f32 / h as f32).round() as u32).clamp(16, MAX_WIDTH);
            let mut line = image::imageops::resize(crop, scaled, HEIGHT, FilterType::CatmullRom);
            to_luma(&mut line);
            lines.push(line);
        }
        // As the models were trained: at least PADDED_WIDTH wide, the rest padded with 0 (mid-grey).
        let width = lines.iter().map(|l| l.width()).max().unwrap_or(0).max(PADDED_WIDTH);
        let planes = 3 * (width * HEIGHT) as usize;
        let mut data = vec![0f32; planes * lines.len()];
        for (line, input) in lines.iter().zip(data.chunks_exact_mut(planes)) {
            crate::write_planes(line, width, input);
        }
        let shape = [lines.len(), 3, HEIGHT as usize, width as usize];
        let input = Tensor::from_array((shape, data.into_boxed_slice()))?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session.run(ort::inputs![input])?;
        let (shape, probs) = outputs[0].try_extract_tensor::<f32>()?;
        let (steps, classes) = match shape.as_ref() {
            [n, t, c] if *n as usize == lines.len() => (*t as usize, *c as usize),
            other => return Err(Error::Model(format!("unexpected output shape {other:?}"))),
        };
        Ok(probs
            .chunks_exact(steps * classes)
            .map(|one| ctc_decode(one, steps, classes, &self.characters))
            .collect())
    }
}

/// Keeps only the brightness of `line` (ITU-R 601 luma, in all three channels). A plate's characters
/// are dark on light or light on dark, whatever their colour; the colours around them (a state's
/// emblem, an orange between two groups, a red frame) are what the model misreads as characters. On
/// the benchmark: 683 -> 689 of 751 crops, 125 -> 126 of 150 photos.
fn to_luma(line: &mut RgbImage) {
    for p in line.pixels_mut() {
        let [r, g, b] = p.0.map(f32::from);
        let y = (0.299 * r + 0.587 * g + 0.114 * b).round() as u8;
        p.0 = [y; 3];
    }
}

/// The ONNX runtime, loaded from `runtime` once per process.
pub(crate) fn environment(runtime: &Path) -> Result<&'static Environment, Error> {
    static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let builder = ort::init_from(runtime).map_err(|e| e.to_string())?;
        builder.build().map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Error::Runtime(e.clone()))
}

/// Greedy CTC: the best class per step, repeats merged, blanks dropped.
fn ctc_decode(probs: &[f32], steps: usize, classes: usize, characters: &[String]) -> Read {
    let mut text = String::new();
    let mut read = Vec::new();
    let mut confidence = 0f32;
    let mut kept = 0;
    let mut previous = 0;
    for t in 0..steps {
        let row = &probs[t * classes..(t + 1) * classes];
        let (best, p) =
            row.iter().enumerate().fold((0, f32::MIN), |acc, (i, &p)| if p > acc.1 { (i, p) } else { acc });
        if best != 0
            && best != previous
            && let Some(c) = characters.get(best)
        {
            text.push_str(c);
            read.push((c.clone(), p));
            confidence += p;
            kept += 1;
        }
        previous = best;
    }
    Read { text, confidence: if kept == 0 { 0.0 } else { confidence / kept as f32 }, characters: read }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_by_brightness_alone() {
        let mut line = RgbImage::from_pixel(2, 1, image::Rgb([255, 128, 0]));
        line.put_pixel(1, 0, image::Rgb([10, 10, 10]));
        to_luma(&mut line);
        assert_eq!(line.get_pixel(0, 0).0, [151; 3]);
        assert_eq!(line.get_pixel(1, 0).0, [10; 3]);
    }

    #[test]
    fn ctc_merges_repeats_and_drops_blanks() {
        let chars: Vec<String> = ["", "A", "B"].iter().map(|s| s.to_string()).collect();
        // steps: A A blank A B B
        let p = |i: usize| {
            let mut row = [0.0f32; 3];
            row[i] = 0.9;
            row
        };
        let probs: Vec<f32> = [p(1), p(1), p(0), p(1), p(2), p(2)].concat();
        let read = ctc_decode(&probs, 6, 3, &chars);
        assert_eq!(read.text, "AAB");
        assert!((read.confidence - 0.9).abs() < 1e-6);
    }
}
