//! `parkline-lpr`: reads licence plates, offline, with the PP-OCR text detection (quantized to 8 bits)
//! and recognition models on ONNX Runtime. On the shared benchmark: 91.7% exact on 751 US plate crops
//! (OpenALPR's OCR: 86.0%), 86.0% top-1 on 150 US photos (OpenALPR 2.3: 51.4%) at a median 76-79 ms
//! per photo on one core (session 6's machine, which ran the previous code, 132-141 ms on session 5's, at
//! 78 ms).
//!
//! What it runs on (`tools/fetch-lpr-models`, pinned by version and checksum) lives in
//! `$PARKLINE_LPR_HOME` (default `~/.cache/parkline-lpr`).

mod decode;
mod detect;
pub mod eval;
mod plates;
mod recognize;

pub use decode::{MAX_SIDE, decode};
pub use detect::{Detector, TextBox};
pub use plates::{Candidate, PlateRecognizer, Reading, Tuning};
pub use recognize::{Read, Recognizer};

use std::path::PathBuf;

/// Why the engine cannot run or an image cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file} is missing: run tools/fetch-lpr-models (it fetches the runtime and models into {dir})")]
    Missing { file: String, dir: String },
    #[error("the ONNX runtime failed: {0}")]
    Runtime(String),
    #[error("the model is not what was expected: {0}")]
    Model(String),
    #[error("unreadable image: {0}")]
    Image(String),
}

impl From<ort::Error> for Error {
    fn from(e: ort::Error) -> Self {
        Error::Runtime(e.to_string())
    }
}

/// Where the runtime and models are.
pub fn models_dir() -> PathBuf {
    match std::env::var_os("PARKLINE_LPR_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/parkline-lpr"),
    }
}

/// `dir/file`, or an error naming the file and the command that fetches it.
pub(crate) fn required(dir: &std::path::Path, file: &str) -> Result<PathBuf, Error> {
    let path = dir.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::Missing { file: path.display().to_string(), dir: dir.display().to_string() })
    }
}

/// Writes `image` into `planes` (one model input: three planes of `width` x height, NCHW) as the PP-OCR
/// models were trained: BGR (OpenCV's channel order), scaled to -1..1. Columns past the image's width
/// keep what they hold (0, mid-grey, as padding).
pub(crate) fn write_planes(image: &image::RgbImage, width: u32, planes: &mut [f32]) {
    let plane = planes.len() / 3;
    for (x, y, p) in image.enumerate_pixels() {
        let i = (y * width + x) as usize;
        for (c, channel) in [2usize, 1, 0].into_iter().enumerate() {
            planes[c * plane + i] = (f32::from(p[channel]) / 255.0 - 0.5) / 0.5;
        }
    }
}
