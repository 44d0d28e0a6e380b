//! Reading camera images safely: whatever arrives (a truncated JPEG, a zero-size or gigantic image, a
//! format we do not read) gives a clear error, never a panic or an exhausted memory.

use std::io::Cursor;

use image::{ImageReader, RgbImage};

use crate::Error;

/// Largest side accepted: cameras send at most 4K; anything far larger is a mistake or an attack.
pub const MAX_SIDE: u32 = 8192;
/// Most memory one decode may take.
const MAX_ALLOC: u64 = 256 << 20;

/// A reader of `bytes` with the limits set.
fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, Error> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Image(format!("cannot tell the format: {e}")))?;
    if reader.format().is_none() {
        return Err(Error::Image("not a JPEG or PNG image".into()));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    Ok(reader)
}

/// Decodes a JPEG or PNG image.
pub fn decode(bytes: &[u8]) -> Result<RgbImage, Error> {
    if bytes.is_empty() {
        return Err(Error::Image("the file is empty".into()));
    }
    // The header first: a zero-size or oversized image is refused before any pixel is allocated.
    let (w, h) = reader(bytes)?.into_dimensions().map_err(|e| Error::Image(e.to_string()))?;
    if w == 0 || h == 0 {
        return Err(Error::Image("the image has no pixels".into()));
    }
    let image = reader(bytes)?.decode().map_err(|e| Error::Image(e.to_string()))?;
    Ok(image.to_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::new(w, h).write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    /// A PNG header that claims `w` x `h` pixels, with no data behind it.
    fn png_claiming(w: u32, h: u32) -> Vec<u8> {
        let mut out = png(1, 1);
        out[16..20].copy_from_slice(&w.to_be_bytes());
        out[20..24].copy_from_slice(&h.to_be_bytes());
        out
    }

    #[test]
    fn good_images_decode() {
        assert_eq!(decode(&png(64, 32)).unwrap().dimensions(), (64, 32));
    }

    #[test]
    fn bad_images_give_clear_errors() {
        let cases: [(&str, Vec<u8>); 5] = [
            ("empty", vec![]),
            ("not an image", b"hello, this is text".to_vec()),
            ("truncated", png(64, 32)[..40].to_vec()),
            ("a bomb", png_claiming(60_000, 60_000)),
            ("zero-size", png_claiming(0, 10)),
        ];
        for (what, bytes) in cases {
            let err = decode(&bytes).expect_err(what);
            assert!(matches!(err, Error::Image(_)), "{what}: {err}");
        }
        // GIF is not read here.
        assert!(decode(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").is_err());
    }
}
