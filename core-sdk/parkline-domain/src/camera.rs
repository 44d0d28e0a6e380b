//! From vehicles a detector found in a camera's frame to per-spot readings: the step between a vision
//! model (boxes around vehicles, in image pixels) and the occupancy rules. Each spot the camera sees
//! has an outline in its image (the layout's `[[cameras]]`); a spot is taken when a vehicle's box
//! covers enough of that outline, and free when none does. Pure geometry, no I/O: any detector that
//! yields boxes plugs in here.

/// A vehicle found in the frame: its box in image pixels and the detector's confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
    pub confidence: f64,
}

/// Share of a spot's outline a vehicle box must cover for the spot to count as taken: a car parked in a
/// spot covers most of it, one passing in the aisle or parked next door only an edge.
pub const COVERED: f64 = 0.4;

/// What the frame says of each outline, in order: `(taken, confidence)`. A taken spot's confidence is
/// that of the box covering it most; a free spot's is the detector's `free_confidence` (how sure it
/// is that it would have seen a vehicle there).
pub fn spots_seen(
    outlines: &[Vec<[f64; 2]>],
    vehicles: &[Detection],
    free_confidence: f64,
) -> Vec<(bool, f64)> {
    outlines
        .iter()
        .map(|outline| {
            let area = polygon_area(outline);
            let best = vehicles
                .iter()
                .filter(|d| area > 0.0 && covered_area(outline, d) / area >= COVERED)
                .map(|d| d.confidence)
                .fold(None, |best: Option<f64>, c| Some(best.map_or(c, |b| b.max(c))));
            match best {
                Some(confidence) => (true, confidence),
                None => (false, free_confidence),
            }
        })
        .collect()
}

/// Area of a simple polygon (shoelace formula).
pub fn polygon_area(points: &[[f64; 2]]) -> f64 {
    let n = points.len();
    (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        .abs()
        / 2.0
}

/// Area of the outline inside the box: the outline clipped to each of the box's four edges in turn
/// (Sutherland-Hodgman; exact for the convex box as the clip window).
pub fn covered_area(outline: &[[f64; 2]], d: &Detection) -> f64 {
    let (x0, x1) = (d.x0.min(d.x1), d.x0.max(d.x1));
    let (y0, y1) = (d.y0.min(d.y1), d.y0.max(d.y1));
    let mut points = outline.to_vec();
    // Each edge: which side is inside, and where a segment crosses it.
    let edges: [(usize, f64, bool); 4] = [(0, x0, true), (0, x1, false), (1, y0, true), (1, y1, false)];
    for (axis, at, keep_above) in edges {
        let inside = |p: &[f64; 2]| if keep_above { p[axis] >= at } else { p[axis] <= at };
        let cross = |a: [f64; 2], b: [f64; 2]| {
            let t = (at - a[axis]) / (b[axis] - a[axis]);
            [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]
        };
        let mut out = Vec::with_capacity(points.len() + 2);
        for i in 0..points.len() {
            let (a, b) = (points[i], points[(i + 1) % points.len()]);
            match (inside(&a), inside(&b)) {
                (true, true) => out.push(b),
                (true, false) => out.push(cross(a, b)),
                (false, true) => {
                    out.push(cross(a, b));
                    out.push(b);
                }
                (false, false) => {}
            }
        }
        points = out;
        if points.is_empty() {
            return 0.0;
        }
    }
    polygon_area(&points)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn square(x: f64, y: f64, side: f64) -> Vec<[f64; 2]> {
        vec![[x, y], [x + side, y], [x + side, y + side], [x, y + side]]
    }
    fn boxed(x0: f64, y0: f64, x1: f64, y1: f64) -> Detection {
        Detection { x0, y0, x1, y1, confidence: 0.9 }
    }

    #[test]
    fn a_car_in_a_spot_takes_it_and_not_its_neighbours() {
        // Three spots side by side; a car over the middle one, its box a little wider than the spot.
        let outlines = [square(0.0, 0.0, 100.0), square(100.0, 0.0, 100.0), square(200.0, 0.0, 100.0)];
        let car = Detection { confidence: 0.93, ..boxed(90.0, 10.0, 215.0, 95.0) };
        assert_eq!(spots_seen(&outlines, &[car], 0.8), [(false, 0.8), (true, 0.93), (false, 0.8)]);
        // A car half in two spots (straddling the line) takes both.
        let straddling = boxed(50.0, 0.0, 150.0, 100.0);
        assert_eq!(spots_seen(&outlines, &[straddling], 0.8), [(true, 0.9), (true, 0.9), (false, 0.8)]);
        // A trapezoid seen in perspective, and a box covering most of it.
        let far = vec![[40.0, 0.0], [160.0, 0.0], [200.0, 100.0], [0.0, 100.0]];
        assert!((polygon_area(&far) - 16_000.0).abs() < 1e-9);
        assert!(spots_seen(&[far], &[boxed(30.0, 20.0, 170.0, 100.0)], 0.8)[0].0);
    }

    proptest! {
        /// The covered area is never more than the outline's or the box's, and a box around the whole
        /// outline covers all of it.
        #[test]
        fn covered_area_is_bounded(
            x in 0.0..500.0f64, y in 0.0..500.0f64, side in 1.0..300.0f64,
            bx in 0.0..800.0f64, by in 0.0..800.0f64, bw in 0.0..400.0f64, bh in 0.0..400.0f64,
        ) {
            let outline = square(x, y, side);
            let d = boxed(bx, by, bx + bw, by + bh);
            let covered = covered_area(&outline, &d);
            prop_assert!(covered >= -1e-9);
            prop_assert!(covered <= side * side + 1e-6);
            prop_assert!(covered <= bw * bh + 1e-6);
            let all = boxed(x - 1.0, y - 1.0, x + side + 1.0, y + side + 1.0);
            prop_assert!((covered_area(&outline, &all) - side * side).abs() < 1e-6);
        }
    }
}
