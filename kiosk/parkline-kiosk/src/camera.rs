//! Camera sources behind one trait: a watched folder (cameras that drop images by FTP), an HTTP snapshot
//! URL, an MJPEG stream. Cameras that read plates themselves push plates instead (see `plates_api`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use parkline_sdk::Seal;

use crate::Error;

/// One image from a camera, as it arrived.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The encoded image (JPEG or PNG), decoded by the plate reader with its limits.
    pub bytes: Vec<u8>,
    /// Where it came from (a file name, a URL), kept with the passage as its image reference.
    pub source: String,
    pub arrived: Instant,
    /// How many frames the camera sends per vehicle, when it sends a fixed number (cameras triggered by
    /// their own loop or motion detector); the passage ends with the last of them.
    pub per_vehicle: Option<u32>,
}

#[async_trait]
pub trait Camera: Send {
    /// The next frame; waits for one.
    async fn next(&mut self) -> Result<Frame, Error>;
}

/// How often a folder is looked at.
const FOLDER_POLL: Duration = Duration::from_millis(20);

/// Images dropped into a folder, each taken once, oldest first. A file is taken when its size holds
/// still between two looks (an FTP upload in progress grows); names starting with `.` or ending in
/// `.part`/`.tmp` are uploads in progress. Taken files are kept in `done/` beside them, sealed
/// (`<name>.sealed`, [`open_image`] opens one) when the kiosk seals, until the retention purge.
#[derive(Debug)]
pub struct FolderCamera {
    dir: PathBuf,
    sizes: HashMap<PathBuf, u64>,
    per_vehicle: u32,
    seal: Option<Seal>,
}

/// What a kept image is sealed for.
const IMAGE: &str = "camera.image";

impl FolderCamera {
    pub fn new(dir: PathBuf, per_vehicle: u32, seal: Option<Seal>) -> Result<FolderCamera, Error> {
        std::fs::create_dir_all(dir.join("done"))
            .map_err(|e| Error::Camera(format!("{}: {e}", dir.display())))?;
        Ok(FolderCamera { dir, sizes: HashMap::new(), per_vehicle: per_vehicle.max(1), seal })
    }

    /// Keeps a taken image in `done/`: sealed (written whole, then the original removed), or moved.
    fn keep(&self, path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let done = self.dir.join("done");
        let Some(seal) = &self.seal else {
            let kept = done.join(&name);
            std::fs::rename(path, &kept)?;
            return Ok(kept);
        };
        let kept = done.join(format!("{name}.sealed"));
        let tmp = done.join(format!(".{name}.sealed.tmp"));
        std::fs::write(&tmp, seal.seal_bytes(IMAGE, bytes))?;
        std::fs::rename(&tmp, &kept)?;
        std::fs::remove_file(path)?;
        Ok(kept)
    }

    fn ready(&mut self) -> Result<Option<PathBuf>, Error> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| Error::Camera(format!("{}: {e}", self.dir.display())))?;
        let mut seen = HashMap::new();
        let mut ready: Vec<(SystemTime, PathBuf)> = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_lowercase();
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() || name.starts_with('.') || name.ends_with(".part") || name.ends_with(".tmp") {
                continue;
            }
            let size = meta.len();
            if size > 0 && self.sizes.get(&path) == Some(&size) {
                ready.push((meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), path.clone()));
            }
            seen.insert(path, size);
        }
        self.sizes = seen;
        ready.sort();
        Ok(ready.into_iter().next().map(|(_, p)| p))
    }
}

/// A kept image as the camera sent it: a `.sealed` one opened with `seal`, any other read as it is.
pub fn open_image(path: &Path, seal: &Seal) -> Result<Vec<u8>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Camera(format!("{}: {e}", path.display())))?;
    if path.extension().is_some_and(|e| e == "sealed") {
        return Ok(seal.open_bytes(IMAGE, &bytes)?);
    }
    Ok(bytes)
}

/// Removes the images kept in `dir/done` before `before` (by when they were kept); returns how many.
pub fn forget_images_before(dir: &Path, before: SystemTime) -> std::io::Result<usize> {
    let mut gone = 0;
    for entry in std::fs::read_dir(dir.join("done"))?.flatten() {
        let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|at| at < before);
        if old && entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(entry.path())?;
            gone += 1;
        }
    }
    Ok(gone)
}

#[async_trait]
impl Camera for FolderCamera {
    async fn next(&mut self) -> Result<Frame, Error> {
        loop {
            if let Some(path) = self.ready()? {
                let bytes =
                    std::fs::read(&path).map_err(|e| Error::Camera(format!("{}: {e}", path.display())))?;
                let arrived = Instant::now();
                let kept = self
                    .keep(&path, &bytes)
                    .map_err(|e| Error::Camera(format!("{}: {e}", path.display())))?;
                self.sizes.remove(&path);
                let source = kept.display().to_string();
                return Ok(Frame { bytes, source, arrived, per_vehicle: Some(self.per_vehicle) });
            }
            tokio::time::sleep(FOLDER_POLL).await;
        }
    }
}

/// A camera's snapshot URL, fetched at an interval.
#[derive(Debug)]
pub struct SnapshotCamera {
    http: reqwest::Client,
    url: String,
    interval: Duration,
    last: Option<Instant>,
}

impl SnapshotCamera {
    pub fn new(url: String, interval: Duration) -> SnapshotCamera {
        SnapshotCamera { http: http_client(Duration::from_secs(5)), url, interval, last: None }
    }
}

#[async_trait]
impl Camera for SnapshotCamera {
    async fn next(&mut self) -> Result<Frame, Error> {
        if let Some(last) = self.last {
            tokio::time::sleep_until((last + self.interval).into()).await;
        }
        self.last = Some(Instant::now());
        let fail = |e: reqwest::Error| Error::Camera(format!("{}: {e}", self.url));
        let response =
            self.http.get(&self.url).send().await.map_err(fail)?.error_for_status().map_err(fail)?;
        let bytes = response.bytes().await.map_err(fail)?.to_vec();
        Ok(Frame { bytes, source: self.url.clone(), arrived: Instant::now(), per_vehicle: None })
    }
}

/// The largest JPEG an MJPEG stream may send before the kiosk gives up on it.
const MAX_MJPEG_FRAME: usize = 16 << 20;

/// A camera's MJPEG stream (`multipart/x-mixed-replace`): frames are cut at the JPEG start and end
/// markers, which works whatever the boundary and part headers are.
#[derive(Debug)]
pub struct MjpegCamera {
    http: reqwest::Client,
    url: String,
    response: Option<reqwest::Response>,
    buffer: Vec<u8>,
}

impl MjpegCamera {
    pub fn new(url: String) -> MjpegCamera {
        MjpegCamera { http: http_client(Duration::from_secs(5)), url, response: None, buffer: Vec::new() }
    }
}

/// The first complete JPEG in `buffer` (`FF D8` .. `FF D9`), removed from it.
pub fn take_jpeg(buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    let start = buffer.windows(2).position(|w| w == [0xFF, 0xD8])?;
    let end = buffer[start + 2..].windows(2).position(|w| w == [0xFF, 0xD9])? + start + 4;
    let jpeg = buffer[start..end].to_vec();
    buffer.drain(..end);
    Some(jpeg)
}

#[async_trait]
impl Camera for MjpegCamera {
    async fn next(&mut self) -> Result<Frame, Error> {
        loop {
            if let Some(jpeg) = take_jpeg(&mut self.buffer) {
                let arrived = Instant::now();
                return Ok(Frame { bytes: jpeg, source: self.url.clone(), arrived, per_vehicle: None });
            }
            if self.buffer.len() > MAX_MJPEG_FRAME {
                self.buffer.clear();
            }
            let fail = |e: reqwest::Error| Error::Camera(format!("{}: {e}", self.url));
            if self.response.is_none() {
                let r =
                    self.http.get(&self.url).send().await.map_err(fail)?.error_for_status().map_err(fail)?;
                self.response = Some(r);
            }
            let chunk = match self.response.as_mut().map(|r| r.chunk()) {
                Some(chunk) => chunk.await,
                None => continue,
            };
            match chunk {
                Ok(Some(bytes)) => self.buffer.extend_from_slice(&bytes),
                Ok(None) | Err(_) => {
                    // The stream ended or broke: reconnect on the next call.
                    self.response = None;
                    return Err(Error::Camera(format!("{}: the stream ended", self.url)));
                }
            }
        }
    }
}

/// A client for devices on the lane's network, answering within `timeout`.
pub(crate) fn http_client(timeout: Duration) -> reqwest::Client {
    // reqwest is built without a bundled TLS crypto provider: use ring's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(timeout)
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mjpeg_frames_are_cut_at_jpeg_markers() {
        let mut stream = b"--frame\r\nContent-Type: image/jpeg\r\n\r\n".to_vec();
        stream.extend([0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9]);
        stream.extend(b"\r\n--frame\r\n\r\n");
        stream.extend([0xFF, 0xD8, 4]);
        assert_eq!(take_jpeg(&mut stream), Some(vec![0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9]));
        assert_eq!(take_jpeg(&mut stream), None, "the second frame is not complete yet");
        stream.extend([5, 0xFF, 0xD9]);
        assert_eq!(take_jpeg(&mut stream), Some(vec![0xFF, 0xD8, 4, 5, 0xFF, 0xD9]));
    }

    #[tokio::test]
    async fn a_folder_gives_each_finished_image_once_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut camera = FolderCamera::new(dir.path().to_owned(), 1, None).unwrap();
        std::fs::write(dir.path().join("upload.jpg.part"), b"half").unwrap();
        std::fs::write(dir.path().join("a.jpg"), b"first").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("b.jpg"), b"second").unwrap();
        let first = camera.next().await.unwrap();
        assert_eq!(first.bytes, b"first");
        assert!(first.source.ends_with("done/a.jpg"));
        assert_eq!(camera.next().await.unwrap().bytes, b"second");
        let nothing = tokio::time::timeout(Duration::from_millis(200), camera.next()).await;
        assert!(nothing.is_err(), "an upload in progress is not a frame");
    }

    /// A sealing kiosk keeps only sealed copies, which open with its key alone, and forgets them after
    /// the retention.
    #[tokio::test]
    async fn kept_images_are_sealed_and_forgotten_after_the_retention() {
        let dir = tempfile::tempdir().unwrap();
        let seal = Seal::load_or_create(&dir.path().join("kiosk.key")).unwrap();
        let cam = dir.path().join("cam");
        let mut camera = FolderCamera::new(cam.clone(), 1, Some(seal.clone())).unwrap();
        let photo = b"\xFF\xD8 a car with plate ABC1234 \xFF\xD9";
        std::fs::write(cam.join("car.jpg"), photo).unwrap();
        let frame = camera.next().await.unwrap();
        assert_eq!(frame.bytes, photo, "the lane reads the image as it came");
        assert!(frame.source.ends_with("done/car.jpg.sealed"), "{}", frame.source);
        let kept: Vec<_> = std::fs::read_dir(cam.join("done")).unwrap().flatten().map(|e| e.path()).collect();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert!(!cam.join("car.jpg").exists(), "the clear original is gone");
        let on_disk = std::fs::read(&kept[0]).unwrap();
        assert!(!on_disk.windows(7).any(|w| w == b"ABC1234"), "sealed on disk");
        assert_eq!(open_image(&kept[0], &seal).unwrap(), photo);
        let other = Seal::load_or_create(&dir.path().join("other.key")).unwrap();
        assert!(open_image(&kept[0], &other).is_err(), "another key opens nothing");

        assert_eq!(forget_images_before(&cam, SystemTime::now() - Duration::from_secs(3600)).unwrap(), 0);
        assert_eq!(forget_images_before(&cam, SystemTime::now() + Duration::from_secs(1)).unwrap(), 1);
        assert!(std::fs::read_dir(cam.join("done")).unwrap().next().is_none());
    }
}
