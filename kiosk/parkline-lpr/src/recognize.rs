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

/// What a crop reads as: the characters with their mean confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub text: String,
    pub confidence: f32,
}

#[derive(Debug)]
pub struct Recognizer {
    session: Mutex<Session>,
    /// Index 0 is CTC's blank.
    characters: Vec<String>,
}

impl Recognizer {
    /// Loads the runtime and the recognition model from `dir`.
    pub fn load(dir: &Path) -> Result<Recognizer, Error> {
        let runtime = required(dir, "libonnxruntime.so")?;
        let model = required(dir, "PP-OCRv6_rec_small.onnx")?;
        let fail = |e: ort::Error<ort::session::builder::SessionBuilder>| Error::Runtime(e.to_string());
        let session = Session::builder(environment(&runtime)?)?
            .with_intra_threads(1)
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

    /// Reads one rectified crop (the plate filling it).
    pub fn read(&self, crop: &RgbImage) -> Result<Read, Error> {
        let (w, h) = crop.dimensions();
        if w == 0 || h == 0 {
            return Err(Error::Image("an empty crop".into()));
        }
        let width = ((w as f32 * HEIGHT as f32 / h as f32).round() as u32).clamp(16, MAX_WIDTH);
        let resized = image::imageops::resize(crop, width, HEIGHT, FilterType::Triangle);
        // NCHW, BGR (the models were trained on OpenCV's channel order), scaled to -1..1.
        let plane = (width * HEIGHT) as usize;
        let mut data = vec![0f32; 3 * plane];
        for (x, y, p) in resized.enumerate_pixels() {
            let i = (y * width + x) as usize;
            for (c, channel) in [2usize, 1, 0].into_iter().enumerate() {
                data[c * plane + i] = (f32::from(p[channel]) / 255.0 - 0.5) / 0.5;
            }
        }
        let input =
            Tensor::from_array(([1usize, 3, HEIGHT as usize, width as usize], data.into_boxed_slice()))?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session.run(ort::inputs![input])?;
        let (shape, probs) = outputs[0].try_extract_tensor::<f32>()?;
        let (steps, classes) = match shape.as_ref() {
            [1, t, c] => (*t as usize, *c as usize),
            other => return Err(Error::Model(format!("unexpected output shape {other:?}"))),
        };
        Ok(ctc_decode(probs, steps, classes, &self.characters))
    }
}

/// The ONNX runtime, loaded from `runtime` once per process.
fn environment(runtime: &Path) -> Result<&'static Environment, Error> {
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
            confidence += p;
            kept += 1;
        }
        previous = best;
    }
    Read { text, confidence: if kept == 0 { 0.0 } else { confidence / kept as f32 } }
}

#[cfg(test)]
mod tests {
    use super::*;

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
