//! Scoring the reader on a labelled folder in the shared benchmark's format: one `<image>.txt` per photo
//! holding `<image>\t<x>\t<y>\t<w>\t<h>\t<PLATE>`; plates compared with O folded into 0.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::{Error, PlateRecognizer};

/// One labelled photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub image: PathBuf,
    pub plate: String,
}

/// The labelled photos of a folder, in name order.
pub fn labelled(dir: &Path) -> Result<Vec<Labelled>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Image(format!("{}: {e}", dir.display())))?;
    let mut labels: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "txt")).collect();
    labels.sort();
    let mut out = Vec::new();
    for label in labels {
        let line =
            std::fs::read_to_string(&label).map_err(|e| Error::Image(format!("{}: {e}", label.display())))?;
        let fields: Vec<&str> = line.trim().split('\t').collect();
        if let [image, _, _, _, _, plate] = fields[..] {
            out.push(Labelled { image: dir.join(image), plate: fold(plate) });
        }
    }
    Ok(out)
}

/// Plates as the benchmark compares them: O is 0.
pub fn fold(plate: &str) -> String {
    plate.trim().to_ascii_uppercase().replace('O', "0")
}

/// What [`evaluate`] measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scores {
    pub photos: usize,
    pub top1: f64,
    pub top5: f64,
    /// Photos where any plate-like text was found.
    pub plate_found: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// `(image, expected, candidates)` of every top-1 miss.
    #[serde(skip)]
    pub misses: Vec<(String, String, Vec<String>)>,
}

/// Reads every photo, calling `progress` after each.
pub fn evaluate(
    reader: &PlateRecognizer,
    photos: &[Labelled],
    mut progress: impl FnMut(),
) -> Result<Scores, Error> {
    let (mut top1, mut top5, mut found) = (0usize, 0usize, 0usize);
    let mut times = Vec::with_capacity(photos.len());
    let mut misses = Vec::new();
    for p in photos {
        let bytes =
            std::fs::read(&p.image).map_err(|e| Error::Image(format!("{}: {e}", p.image.display())))?;
        let photo = crate::decode(&bytes)?;
        let started = Instant::now();
        let reading = reader.read(&photo)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let texts: Vec<String> = reading.candidates.iter().map(|c| fold(&c.text)).collect();
        found += usize::from(!texts.is_empty());
        top5 += usize::from(texts.iter().take(5).any(|t| *t == p.plate));
        if texts.first() == Some(&p.plate) {
            top1 += 1;
        } else {
            let name = p.image.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            misses.push((name, p.plate.clone(), texts));
        }
        progress();
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = photos.len().max(1) as f64;
    let at =
        |q: f64| times.get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1))).copied();
    Ok(Scores {
        photos: photos.len(),
        top1: top1 as f64 / n,
        top5: top5 as f64 / n,
        plate_found: found as f64 / n,
        p50_ms: at(0.5).unwrap_or(0.0),
        p95_ms: at(0.95).unwrap_or(0.0),
        p99_ms: at(0.99).unwrap_or(0.0),
        misses,
    })
}

/// For each set, the candidate (by index) that scores best on the other sets together (photos of both
/// counted alike; ties to the earlier candidate), and what it scores on the held-out set: `top1[c][s]`
/// is candidate `c`'s top-1 on set `s` and `photos[s]` the set's size. Returns `(chosen, held-out top-1)`
/// per set.
pub fn leave_one_out(top1: &[Vec<f64>], photos: &[usize]) -> Vec<(usize, f64)> {
    (0..photos.len())
        .map(|held| {
            let others = |c: &Vec<f64>| -> f64 {
                (0..photos.len()).filter(|&s| s != held).map(|s| c[s] * photos[s] as f64).sum()
            };
            let mut best = 0;
            for (i, c) in top1.iter().enumerate() {
                if others(c) > others(&top1[best]) + 1e-9 {
                    best = i;
                }
            }
            (best, top1[best][held])
        })
        .collect()
}

/// `(expected, read)` characters and how often the one was read for the other.
pub type Confusion = ((char, char), usize);

/// Which characters the misses read as which, most frequent first, from misses whose best read has the
/// plate's length; and how many misses had another length (a character lost or added) or no read.
pub fn confusions(misses: &[(String, String, Vec<String>)]) -> (Vec<Confusion>, usize) {
    let mut counts: Vec<Confusion> = Vec::new();
    let mut other_length = 0;
    for (_, expected, got) in misses {
        let Some(read) = got.first().filter(|r| r.chars().count() == expected.chars().count()) else {
            other_length += 1;
            continue;
        };
        for pair in expected.chars().zip(read.chars()).filter(|(e, r)| e != r) {
            match counts.iter_mut().find(|(p, _)| *p == pair) {
                Some((_, n)) => *n += 1,
                None => counts.push((pair, 1)),
            }
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    (counts, other_length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusions_count_substituted_characters_and_length_errors() {
        let miss = |expected: &str, got: &[&str]| {
            (String::new(), expected.to_owned(), got.iter().map(|g| g.to_string()).collect::<Vec<_>>())
        };
        let misses = [
            miss("NZJ6581", &["N2J6581"]),
            miss("ABZ1234", &["AB21234", "ABZ1234"]),
            miss("ABC1238", &["A8C123B"]),
            miss("0UQ6314", &["UQ6314"]),
            miss("FWE50", &[]),
        ];
        let (counts, other) = confusions(&misses);
        assert_eq!(counts, [(('Z', '2'), 2), (('8', 'B'), 1), (('B', '8'), 1)]);
        assert_eq!(other, 2);
    }

    #[test]
    fn leave_one_out_chooses_on_the_other_sets_and_scores_the_held_out_one() {
        // Candidate 0 is best on set 0 alone, candidate 1 on sets 1 and 2.
        let top1 = vec![vec![0.9, 0.5, 0.5], vec![0.6, 0.8, 0.9]];
        let photos = [100, 50, 50];
        // Holding out 0: 1 wins on 1 and 2 and scores 0.6 on 0. Holding out 1: on sets 0 and 2 candidate 0
        // has 90 + 25 = 115 right, candidate 1 has 60 + 45 = 105: 0 is chosen, scoring 0.5 on set 1.
        assert_eq!(leave_one_out(&top1, &photos), [(1, 0.6), (0, 0.5), (0, 0.5)]);
    }
}
