//! Finding text lines in a photo: PP-OCRv6 `det_small` gives a per-pixel text probability; lines are the
//! connected regions above a threshold, grown back to the characters' full height (DB's "unclip").

use std::path::Path;
use std::sync::Mutex;

use image::RgbImage;
use ort::session::Session;
use ort::value::Tensor;

use crate::{Error, required};

/// The shorter side the model sees, rounded to a multiple of 32. Plates are large text: the models'
/// default (736) took twice as long for no gain beyond noise on the benchmark (70-74% top-1 at 512-736).
pub(crate) const SHORT_SIDE: u32 = 512;
/// A pixel is text above this probability.
const PIXEL_THRESHOLD: f32 = 0.3;
/// A region is a text line when its mean probability is above this.
const BOX_THRESHOLD: f32 = 0.5;
/// How far a region is grown, relative to its area over its perimeter.
const UNCLIP: f32 = 1.6;

/// An axis-aligned box in the photo's pixels, with the detector's confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextBox {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub score: f32,
}

impl TextBox {
    /// Whether the point `(x, y)` is inside the box.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        (self.x..=self.x + self.w).contains(&x) && (self.y..=self.y + self.h).contains(&y)
    }
}

#[derive(Debug)]
pub struct Detector {
    session: Mutex<Session>,
}

impl Detector {
    /// Loads the runtime and the detection model from `dir`, to run on `threads` cores.
    pub fn load(dir: &Path, threads: usize) -> Result<Detector, Error> {
        let runtime = required(dir, "libonnxruntime.so")?;
        let model = required(dir, "PP-OCRv6_det_small.int8.onnx")?;
        let fail = |e: ort::Error<ort::session::builder::SessionBuilder>| Error::Runtime(e.to_string());
        let session = Session::builder(crate::recognize::environment(&runtime)?)?
            .with_intra_threads(threads.max(1))
            .map_err(fail)?
            .commit_from_file(&model)?;
        Ok(Detector { session: Mutex::new(session) })
    }

    /// Text lines in `photo`, most confident first.
    pub fn detect(&self, photo: &RgbImage) -> Result<Vec<TextBox>, Error> {
        let (w, h) = photo.dimensions();
        self.detect_scaled(photo, SHORT_SIDE as f32 / w.min(h) as f32)
    }

    /// Text lines in `photo` seen at `ratio` times its size, most confident first.
    pub fn detect_scaled(&self, photo: &RgbImage, ratio: f32) -> Result<Vec<TextBox>, Error> {
        let (w, h) = photo.dimensions();
        let round = |v: f32| ((v / 32.0).round() as u32).max(1) * 32;
        let (mw, mh) = (round(w as f32 * ratio), round(h as f32 * ratio));
        let resized = resize(photo, mw, mh)?;
        let plane = (mw * mh) as usize;
        let mut data = vec![0f32; 3 * plane];
        crate::write_planes(&resized, mw, &mut data);
        let input = Tensor::from_array(([1usize, 3, mh as usize, mw as usize], data.into_boxed_slice()))?;
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session.run(ort::inputs![input])?;
        let (shape, probs) = outputs[0].try_extract_tensor::<f32>()?;
        let (ph, pw) = match shape.as_ref() {
            [1, 1, h, w] => (*h as usize, *w as usize),
            other => return Err(Error::Model(format!("unexpected detection shape {other:?}"))),
        };
        let (sx, sy) = (w as f32 / pw as f32, h as f32 / ph as f32);
        let mut boxes: Vec<TextBox> = regions(probs, pw, ph)
            .into_iter()
            .map(|r| {
                // Grow by area / perimeter * UNCLIP on every side, as DB does.
                let (rw, rh) = ((r.x1 - r.x0 + 1) as f32, (r.y1 - r.y0 + 1) as f32);
                let d = rw * rh * UNCLIP / (2.0 * (rw + rh));
                let x0 = ((r.x0 as f32 - d).max(0.0) * sx) as u32;
                let y0 = ((r.y0 as f32 - d).max(0.0) * sy) as u32;
                let x1 = (((r.x1 as f32 + 1.0 + d) * sx) as u32).min(w);
                let y1 = (((r.y1 as f32 + 1.0 + d) * sy) as u32).min(h);
                TextBox { x: x0, y: y0, w: x1.saturating_sub(x0), h: y1.saturating_sub(y0), score: r.score }
            })
            .filter(|b| b.w >= 8 && b.h >= 6)
            .collect();
        boxes.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(std::cmp::Ordering::Equal));
        Ok(boxes)
    }
}

/// `photo` at `w` x `h` (bilinear), with SIMD: the photo's resize took a sixth of the detection time.
fn resize(photo: &RgbImage, w: u32, h: u32) -> Result<RgbImage, Error> {
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer, images};
    let fail = |e: &dyn std::fmt::Display| Error::Image(format!("cannot resize: {e}"));
    let (pw, ph) = photo.dimensions();
    let source = images::ImageRef::new(pw, ph, photo.as_raw(), PixelType::U8x3).map_err(|e| fail(&e))?;
    let mut target = images::Image::new(w, h, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize(&source, &mut target, &options).map_err(|e| fail(&e))?;
    RgbImage::from_raw(w, h, target.into_vec())
        .ok_or_else(|| Error::Image("resized image has the wrong size".into()))
}

#[derive(Debug)]
struct Region {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    score: f32,
}

/// Connected regions (4-neighbour) of pixels above the threshold whose mean probability passes.
fn regions(probs: &[f32], w: usize, h: usize) -> Vec<Region> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if seen[start] || probs[start] <= PIXEL_THRESHOLD {
            continue;
        }
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        let (mut sum, mut n) = (0f32, 0usize);
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            sum += probs[i];
            n += 1;
            let mut visit = |j: usize| {
                if !seen[j] && probs[j] > PIXEL_THRESHOLD {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        let score = sum / n as f32;
        if n >= 10 && score >= BOX_THRESHOLD {
            out.push(Region { x0, y0, x1, y1, score });
        }
    }
    out
}
