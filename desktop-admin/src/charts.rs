//! Charts drawn in Rust with `plotters`, as SVG for the window and as SVG or PNG files for export: the
//! same drawing code runs on either backend.

use std::path::Path;
use std::sync::Once;

use jiff::ToSpan;
use jiff::civil::Date;
use parkline_sdk::protocol::RevenueRow;
use plotters::prelude::*;
use plotters::style::FontStyle;
use serde::Serialize;

use crate::error::{CommandError, Result};

/// Text in bitmaps needs a font file; the app ships its own (`assets/fonts`), so nothing is looked up
/// on the machine.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 78, 140),
    RGBColor(214, 96, 38),
    RGBColor(46, 139, 87),
    RGBColor(155, 89, 182),
    RGBColor(192, 57, 43),
    RGBColor(120, 120, 120),
];

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; if it could not be read every chart would fail loudly below.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One named line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    /// One value per x label; gaps where there is no data.
    pub values: Vec<Option<f64>>,
}

/// A line chart over labelled steps (days, hours).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineChart {
    pub title: String,
    pub y_label: String,
    /// The top of the y axis; from the data when unset.
    pub y_max: Option<f64>,
    pub x_labels: Vec<String>,
    pub series: Vec<Series>,
}

/// Values by row and column, coloured from white (0) to dark blue (`max`); grey where unknown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatMap {
    pub title: String,
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub values: Vec<Vec<Option<f64>>>,
    pub max: f64,
}

/// Any chart the console draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Chart {
    Line(LineChart),
    Heat(HeatMap),
}

impl Chart {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, plotters::coord::Shift>) -> Result<()> {
        match self {
            Chart::Line(c) => c.draw(root),
            Chart::Heat(c) => c.draw(root),
        }
    }

    /// The chart as an SVG document.
    pub fn svg(&self, size: (u32, u32)) -> Result<String> {
        let mut out = String::new();
        self.draw(SVGBackend::with_string(&mut out, size).into_drawing_area())?;
        Ok(out)
    }

    /// Writes the chart as a PNG file.
    pub fn png(&self, path: &Path, size: (u32, u32)) -> Result<()> {
        let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
        self.draw(BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area())?;
        let image = image::RgbImage::from_raw(size.0, size.1, pixels).ok_or_else(|| failed("bitmap size"))?;
        image.save_with_format(path, image::ImageFormat::Png).map_err(failed)
    }
}

impl HeatMap {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, plotters::coord::Shift>) -> Result<()> {
        register_font();
        root.fill(&WHITE).map_err(failed)?;
        let (cols, rows) = (self.columns.len().max(1), self.rows.len().max(1));
        // Cells are centred on whole numbers, so the axis labels sit in the middle of their row or column.
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(48)
            .build_cartesian_2d(-0.5..cols as f64 - 0.5, -0.5..rows as f64 - 0.5)
            .map_err(failed)?;
        let name = |names: &[String], v: f64, flip: bool| {
            let i = v.round();
            if (v - i).abs() > 0.01 || i < 0.0 || i as usize >= names.len() {
                return String::new();
            }
            let i = if flip { names.len() - 1 - i as usize } else { i as usize };
            names[i].clone()
        };
        let (columns, row_names) = (&self.columns, &self.rows);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(cols)
            .y_labels(rows)
            .x_label_formatter(&|v| name(columns, *v, false))
            // Rows top to bottom: the first row is drawn highest.
            .y_label_formatter(&|v| name(row_names, *v, true))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(failed)?;
        let max = if self.max > 0.0 { self.max } else { 1.0 };
        let cells = self.values.iter().enumerate().flat_map(|(r, row)| {
            row.iter().enumerate().map(move |(c, v)| {
                let colour = match v {
                    None => RGBColor(225, 225, 225),
                    Some(v) => {
                        let t = (v / max).clamp(0.0, 1.0);
                        let mix = |from: u8, to: u8| {
                            (f64::from(from) + (f64::from(to) - f64::from(from)) * t) as u8
                        };
                        RGBColor(mix(247, 31), mix(251, 78), mix(255, 140))
                    }
                };
                let (x, y) = (c as f64, (rows - 1 - r) as f64);
                Rectangle::new([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)], colour.filled())
            })
        });
        chart.draw_series(cells).map_err(failed)?;
        root.present().map_err(failed)
    }
}

/// Net money taken per facility per day, in major units (refunds taken off on the day of the refund).
/// Each currency would need its own axis; the chart shows the first one it sees and names it.
pub fn revenue_trend(rows: &[RevenueRow], from: Date, to: Date) -> LineChart {
    let days: Vec<Date> = from.series(1.day()).take_while(|d| *d <= to).collect();
    let currency = rows.first().map_or("USD", |r| r.currency.as_str()).to_owned();
    let mut facilities: Vec<&str> = rows.iter().map(|r| r.facility.as_str()).collect();
    facilities.sort_unstable();
    facilities.dedup();
    let series = facilities
        .iter()
        .map(|f| Series {
            name: (*f).to_owned(),
            values: days
                .iter()
                .map(|d| {
                    let minor: i64 = rows
                        .iter()
                        .filter(|r| r.facility == *f && r.date == *d && r.currency == currency)
                        .map(|r| r.taken_minor - r.refunded_minor)
                        .sum();
                    Some(minor as f64 / 100.0)
                })
                .collect(),
        })
        .collect();
    LineChart {
        title: format!("Revenue per day ({currency})"),
        y_label: currency,
        y_max: None,
        x_labels: days.iter().map(|d| d.strftime("%b %-d").to_string()).collect(),
        series,
    }
}

fn failed(e: impl std::fmt::Display) -> CommandError {
    CommandError::new("chart_failed", e.to_string())
}

impl LineChart {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, plotters::coord::Shift>) -> Result<()> {
        register_font();
        root.fill(&WHITE).map_err(failed)?;
        let steps = self.x_labels.len().max(1);
        let top = self.series.iter().flat_map(|s| s.values.iter().flatten().copied()).fold(0.0_f64, f64::max);
        let top = self.y_max.unwrap_or(if top <= 0.0 { 1.0 } else { top * 1.1 });
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0..steps.saturating_sub(1).max(1), 0.0..top)
            .map_err(failed)?;
        let labels = &self.x_labels;
        chart
            .configure_mesh()
            .x_labels(steps.min(12))
            .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
            .y_desc(&self.y_label)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(failed)?;
        for (i, s) in self.series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            // One line per run of known values: gaps stay gaps.
            let mut runs: Vec<Vec<(usize, f64)>> = vec![Vec::new()];
            for (x, v) in s.values.iter().enumerate() {
                match v {
                    Some(y) => runs.last_mut().map_or((), |run| run.push((x, *y))),
                    None if runs.last().is_some_and(|r| !r.is_empty()) => runs.push(Vec::new()),
                    None => {}
                }
            }
            for (n, run) in runs.into_iter().filter(|r| !r.is_empty()).enumerate() {
                let drawn =
                    chart.draw_series(LineSeries::new(run, colour.stroke_width(2))).map_err(failed)?;
                if n == 0 {
                    drawn.label(&s.name).legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                    });
                }
            }
        }
        if !self.series.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 12))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(failed)?;
        }
        root.present().map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(date: &str, facility: &str, method: &str, taken: i64, refunded: i64) -> RevenueRow {
        RevenueRow {
            date: date.parse().unwrap(),
            facility: facility.into(),
            method: method.into(),
            currency: "USD".into(),
            taken_minor: taken,
            refunded_minor: refunded,
            payments: 1,
        }
    }

    #[test]
    fn revenue_is_summed_per_facility_and_day_net_of_refunds() {
        let rows = [
            row("2026-11-20", "pike", "card", 1200, 0),
            row("2026-11-20", "pike", "lane", 800, 0),
            row("2026-11-22", "pike", "card", 500, 200),
            row("2026-11-21", "wharf", "card", 4500, 0),
        ];
        let chart = revenue_trend(&rows, "2026-11-20".parse().unwrap(), "2026-11-22".parse().unwrap());
        assert_eq!(chart.x_labels, vec!["Nov 20", "Nov 21", "Nov 22"]);
        assert_eq!(
            chart.series[0],
            Series { name: "pike".into(), values: vec![Some(20.0), Some(0.0), Some(3.0)] }
        );
        assert_eq!(
            chart.series[1],
            Series { name: "wharf".into(), values: vec![Some(0.0), Some(45.0), Some(0.0)] }
        );
    }

    #[test]
    fn the_svg_draws_every_series_it_was_given() {
        let chart = LineChart {
            title: "Revenue per day (USD)".into(),
            y_label: "USD".into(),
            y_max: None,
            x_labels: vec!["Nov 20".into(), "Nov 21".into(), "Nov 22".into()],
            series: vec![
                Series { name: "pike-place-garage".into(), values: vec![Some(20.0), Some(35.0), Some(3.0)] },
                Series { name: "waterfront-lot".into(), values: vec![Some(0.0), Some(45.0), Some(10.0)] },
            ],
        };
        let svg = Chart::Line(chart).svg((800, 400)).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        for name in ["pike-place-garage", "waterfront-lot", "Revenue per day (USD)", "Nov 21"] {
            assert!(svg.contains(name), "the SVG lacks {name}");
        }
        // One polyline per series, with one vertex per day.
        let lines: Vec<&str> = svg.match_indices("<polyline").map(|(i, _)| &svg[i..]).collect();
        let with_three_points = lines
            .iter()
            .filter(|l| {
                let points = l.split("points=\"").nth(1).and_then(|p| p.split('"').next()).unwrap_or("");
                points.split_whitespace().count() == 3
            })
            .count();
        assert_eq!(with_three_points, 2, "{svg}");
        // The two series are drawn in different colours.
        assert!(svg.contains("#1F4E8C") && svg.contains("#D66026"), "{svg}");
    }

    #[test]
    fn gaps_split_a_line_and_the_heat_map_paints_every_cell() {
        let line = Chart::Line(LineChart {
            title: "Occupancy".into(),
            y_label: "%".into(),
            y_max: Some(100.0),
            x_labels: (0..5).map(|h| format!("{h:02}")).collect(),
            series: vec![Series {
                name: "today".into(),
                values: vec![Some(10.0), Some(20.0), None, Some(40.0), Some(50.0)],
            }],
        });
        let svg = line.svg((600, 300)).unwrap();
        // Two runs either side of the gap, and the legend's key: no line crosses the gap.
        let points: Vec<usize> = svg
            .split("<polyline")
            .skip(1)
            .filter(|l| l.split('>').next().unwrap_or("").contains("#1F4E8C"))
            .map(|l| {
                let points = l.split("points=\"").nth(1).and_then(|p| p.split('"').next()).unwrap_or("");
                points.split_whitespace().count()
            })
            .collect();
        assert_eq!(points, vec![2, 2, 2], "{svg}");
        let heat = Chart::Heat(HeatMap {
            title: "Utilisation".into(),
            rows: vec!["Mon".into(), "Tue".into()],
            columns: vec!["00".into(), "01".into(), "02".into()],
            values: vec![vec![Some(0.0), Some(50.0), Some(100.0)], vec![None, Some(25.0), Some(75.0)]],
            max: 100.0,
        });
        let svg = heat.svg((600, 300)).unwrap();
        assert!(svg.contains("Mon") && svg.contains("Tue") && svg.contains("Utilisation"));
        // Six cells: the full one dark blue, the empty one white, the unknown one grey.
        assert!(svg.contains("#1F4E8C") && svg.contains("#F7FBFF") && svg.contains("#E1E1E1"), "{svg}");
    }

    #[test]
    fn a_png_is_written_with_the_shipped_font() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        let chart = LineChart {
            title: "Revenue per day (USD)".into(),
            y_label: "USD".into(),
            y_max: None,
            x_labels: vec!["Nov 20".into(), "Nov 21".into()],
            series: vec![Series { name: "pike".into(), values: vec![Some(1.0), Some(2.0)] }],
        };
        Chart::Line(chart).png(&path, (640, 320)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
}
