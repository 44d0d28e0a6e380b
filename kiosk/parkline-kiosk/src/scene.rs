//! Whether a continuously streaming camera shows something new: a small thumbnail of each frame,
//! compared with the last one. An empty lane (or a car waiting at the barrier) gives the same picture
//! frame after frame, and reading plates in it would only keep the reader busy.

use image::RgbImage;
use image::imageops::FilterType;

const WIDTH: u32 = 32;
const HEIGHT: u32 = 18;
/// Mean change per colour channel (0-255) above which the scene changed: well over sensor noise and
/// compression artefacts at this size, well under a car entering the picture.
const CHANGED: u32 = 8;

/// A frame seen from far away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scene(Vec<u8>);

impl Scene {
    pub fn of(image: &RgbImage) -> Scene {
        Scene(image::imageops::resize(image, WIDTH, HEIGHT, FilterType::Triangle).into_raw())
    }

    /// Whether `other` shows something else.
    pub fn differs(&self, other: &Scene) -> bool {
        let total: u32 = self.0.iter().zip(&other.0).map(|(a, b)| u32::from(a.abs_diff(*b))).sum();
        total > CHANGED * WIDTH * HEIGHT * 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_the_same_scene_and_a_car_is_not() {
        let lane =
            RgbImage::from_fn(640, 360, |x, y| image::Rgb([90 + (x % 7) as u8, 90, 95 + (y % 5) as u8]));
        let noisy = RgbImage::from_fn(640, 360, |x, y| {
            let p = lane.get_pixel(x, y);
            image::Rgb([p[0].saturating_add(((x * 31 + y * 17) % 5) as u8), p[1], p[2]])
        });
        let car = RgbImage::from_fn(640, 360, |x, y| {
            if (160..480).contains(&x) && (120..330).contains(&y) {
                image::Rgb([200, 30, 30])
            } else {
                *lane.get_pixel(x, y)
            }
        });
        let empty = Scene::of(&lane);
        assert!(!empty.differs(&Scene::of(&noisy)));
        assert!(empty.differs(&Scene::of(&car)));
    }
}
