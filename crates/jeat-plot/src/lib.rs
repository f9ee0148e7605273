#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! Line charts in panels (training curves), heat maps each with its own colour scale and bar
//! (energy landscapes: filled contours, dark = low), histograms in panels, and grids of panels
//! mixing them ([`panel_grid`]). Text is drawn with DejaVu Sans compiled into the binary (see
//! `assets/DejaVuSans-LICENSE.txt`), so no system font is needed.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::path::Path;
use std::sync::Once;

const FONT: &str = "sans-serif";
static REGISTER: Once = Once::new();

/// A figure could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot draw the figure: {message}")]
pub struct PlotError {
    path: String,
    message: String,
}

fn error(path: &Path, e: impl std::fmt::Display) -> PlotError {
    PlotError {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn register_font() {
    REGISTER.call_once(|| {
        plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        )
        .unwrap_or_else(|_| panic!("the embedded font is valid"));
    });
}

/// A line of a chart: a name and its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// `(x, y)` points; non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
}

/// One chart of a line figure.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePanel {
    /// Caption.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Its lines.
    pub series: Vec<Series>,
}

/// One grid of values for a heat-map panel, with its own colour scale and colour bar.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatPanel {
    /// Caption.
    pub title: String,
    /// `size × size` values, row-major, row 0 at the bottom (`b = -range`).
    pub values: Vec<f64>,
    /// Side of the grid.
    pub size: usize,
    /// The axes span `[-range, range]` both ways.
    pub range: f64,
    /// A closed path drawn over the map (such as the eps-ball's outline); empty for none.
    pub outline: Vec<(f64, f64)>,
    /// Axis labels (x, y).
    pub axes: (String, String),
}

/// A panel of a grid figure.
#[derive(Debug, Clone, PartialEq)]
pub enum Panel {
    /// A heat map.
    Heat(HeatPanel),
    /// Line charts.
    Line(LinePanel),
}

/// One chart of a histogram figure.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPanel {
    /// Caption.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Samples per named group, drawn as outlined step histograms.
    pub groups: Vec<Series>,
}

fn palette(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 6] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    COLORS[i % COLORS.len()]
}

fn range_of(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

/// A figure of `rows × cols` panel areas, 460 × 420 pixels each, under a title.
fn figure(
    path: &Path,
    (rows, cols): (usize, usize),
    title: &str,
    draw: impl FnOnce(Vec<DrawingArea<BitMapBackend<'_>, Shift>>) -> Result<(), String>,
) -> Result<(), PlotError> {
    register_font();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| error(path, e))?;
    }
    let (rows, cols) = (rows.max(1), cols.max(1));
    let size = (460 * cols as u32, 420 * rows as u32);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| error(path, e))?;
    let root = root.titled(title, (FONT, 22)).map_err(|e| error(path, e))?;
    let areas = root.split_evenly((rows, cols));
    draw(areas).map_err(|e| error(path, e))?;
    root.present().map_err(|e| error(path, e))
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn draw_lines(area: &Area<'_>, panel: &LinePanel) -> Result<(), String> {
    let points = || panel.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = range_of(points().map(|p| p.0));
    let (y0, y1) = range_of(points().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 16))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style((FONT, 12))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, series) in panel.series.iter().enumerate() {
        let color = palette(i);
        let finite: Vec<(f64, f64)> = series
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        chart
            .draw_series(LineSeries::new(finite, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(&series.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
    }
    if panel.series.len() > 1 {
        chart
            .configure_series_labels()
            .label_font((FONT, 12))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The band (0..levels) of `v` on the scale `lo..hi`.
fn band(v: f64, (lo, hi): (f64, f64), levels: usize) -> usize {
    (((v - lo) / (hi - lo)) * levels as f64)
        .floor()
        .clamp(0.0, (levels - 1) as f64) as usize
}

fn band_colour(band: usize, levels: usize) -> RGBColor {
    ViridisRGB::get_color(band as f64 / (levels - 1) as f64)
}

fn draw_heat(area: &Area<'_>, panel: &HeatPanel, levels: usize) -> Result<(), String> {
    let scale = range_of(panel.values.iter().copied());
    let (map_area, bar_area) = area.split_horizontally(area.dim_in_pixel().0 as i32 - 78);
    let range = panel.range;
    let mut chart = ChartBuilder::on(&map_area)
        .caption(&panel.title, (FONT, 16))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(46)
        .build_cartesian_2d(-range..range, -range..range)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(&panel.axes.0)
        .y_desc(&panel.axes.1)
        .label_style((FONT, 12))
        .draw()
        .map_err(|e| e.to_string())?;
    let n = panel.size;
    let cell = 2.0 * range / n as f64;
    chart
        .draw_series((0..n * n).map(|k| {
            let (row, col) = (k / n, k % n);
            let color = band_colour(band(panel.values[k], scale, levels), levels);
            let (x, y) = (-range + col as f64 * cell, -range + row as f64 * cell);
            Rectangle::new([(x, y), (x + cell, y + cell)], color.filled())
        }))
        .map_err(|e| e.to_string())?;
    if !panel.outline.is_empty() {
        let mut path = panel.outline.clone();
        path.push(panel.outline[0]);
        chart
            .draw_series(std::iter::once(PathElement::new(
                path,
                WHITE.stroke_width(2),
            )))
            .map_err(|e| e.to_string())?;
    }
    // The colour bar: the bands from low (bottom) to high, labelled in the panel's units.
    let mut bar = ChartBuilder::on(&bar_area)
        .margin_top(40)
        .margin_bottom(46)
        .margin_right(8)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, scale.0..scale.1)
        .map_err(|e| e.to_string())?;
    bar.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(5)
        .label_style((FONT, 11))
        .draw()
        .map_err(|e| e.to_string())?;
    let step = (scale.1 - scale.0) / levels as f64;
    bar.draw_series((0..levels).map(|b| {
        let y = scale.0 + b as f64 * step;
        Rectangle::new([(0.0, y), (1.0, y + step)], band_colour(b, levels).filled())
    }))
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// A figure of panels in rows (heat maps and line charts mixed), `levels` colour bands per heat
/// map.
pub fn panel_grid(
    path: &Path,
    title: &str,
    levels: usize,
    rows: &[Vec<Panel>],
) -> Result<(), PlotError> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(1);
    let levels = levels.max(2);
    figure(path, (rows.len(), cols), title, |areas| {
        for (r, row) in rows.iter().enumerate() {
            for (c, panel) in row.iter().enumerate() {
                let area = &areas[r * cols.max(1) + c];
                match panel {
                    Panel::Heat(heat) => draw_heat(area, heat, levels)?,
                    Panel::Line(lines) => draw_lines(area, lines)?,
                }
            }
        }
        Ok(())
    })
}

/// Line charts side by side.
pub fn line_figure(path: &Path, title: &str, panels: &[LinePanel]) -> Result<(), PlotError> {
    figure(path, (1, panels.len()), title, |areas| {
        for (area, panel) in areas.iter().zip(panels) {
            draw_lines(area, panel)?;
        }
        Ok(())
    })
}

/// Heat maps side by side, each with its own colour scale and bar (quantised to `levels`
/// bands: filled contours; dark = low).
pub fn heat_figure(
    path: &Path,
    title: &str,
    levels: usize,
    panels: &[HeatPanel],
) -> Result<(), PlotError> {
    let row: Vec<Panel> = panels.iter().cloned().map(Panel::Heat).collect();
    panel_grid(path, title, levels, &[row])
}

/// The density of `values` in `bins` bins of `width` from `lo` (the last bin takes values at the
/// upper end; non-finite values count in the total but in no bin).
fn densities(values: &[f64], lo: f64, width: f64, bins: usize) -> Vec<f64> {
    let bins = bins.max(1);
    let mut counts = vec![0usize; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        counts[(((v - lo) / width).max(0.0) as usize).min(bins - 1)] += 1;
    }
    let total = values.len().max(1) as f64;
    counts
        .into_iter()
        .map(|c| c as f64 / total / width)
        .collect()
}

/// Histograms side by side, `bins` bins over each panel's range.
pub fn histogram_figure(
    path: &Path,
    title: &str,
    bins: usize,
    panels: &[HistogramPanel],
) -> Result<(), PlotError> {
    let line_panels: Vec<LinePanel> = panels
        .iter()
        .map(|panel| {
            let (lo, hi) = range_of(
                panel
                    .groups
                    .iter()
                    .flat_map(|g| g.points.iter().map(|p| p.0)),
            );
            let width = (hi - lo) / bins.max(1) as f64;
            let series = panel
                .groups
                .iter()
                .map(|group| {
                    let values: Vec<f64> = group.points.iter().map(|p| p.0).collect();
                    // A step outline: each bin's density held across the bin.
                    let points = densities(&values, lo, width, bins)
                        .into_iter()
                        .enumerate()
                        .flat_map(|(i, density)| {
                            let x = lo + i as f64 * width;
                            [(x, density), (x + width, density)]
                        })
                        .collect();
                    Series {
                        name: group.name.clone(),
                        points,
                    }
                })
                .collect();
            LinePanel {
                title: panel.title.clone(),
                x_label: panel.x_label.clone(),
                y_label: "density".into(),
                series,
            }
        })
        .collect();
    line_figure(path, title, &line_panels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_written_with_the_expected_size_and_ink() {
        let dir = tempfile::tempdir().unwrap();
        let lines = dir.path().join("lines.png");
        let series = Series {
            name: "loss".into(),
            points: (0..50)
                .map(|i| (i as f64, (-(i as f64) / 10.0).exp()))
                .collect(),
        };
        let panel = LinePanel {
            title: "training".into(),
            x_label: "step".into(),
            y_label: "loss".into(),
            series: vec![
                series.clone(),
                Series {
                    name: "nan".into(),
                    points: vec![(1.0, f64::NAN)],
                },
            ],
        };
        line_figure(&lines, "curves", &[panel.clone(), panel]).unwrap();
        let image = image::open(&lines).unwrap().into_rgb8();
        assert_eq!(image.dimensions(), (920, 420));
        assert!(
            image.pixels().any(|p| p.0 != [255, 255, 255]),
            "nothing drawn"
        );

        let heat = dir.path().join("heat.png");
        let values: Vec<f64> = (0..25)
            .map(|k| ((k / 5) as f64 - 2.0).powi(2) + ((k % 5) as f64 - 2.0).powi(2))
            .collect();
        heat_figure(
            &heat,
            "landscape",
            8,
            &[HeatPanel {
                title: "m".into(),
                values,
                size: 5,
                range: 1.0,
                outline: Vec::new(),
                axes: ("a".into(), "b".into()),
            }],
        )
        .unwrap();
        // The centre of the bowl is the darkest band, its rim the brightest: the pixels of the
        // lowest colour sit at the centre of the coloured area, those of the highest around it.
        // (The colour bar, right of x = 382, holds every band once, bottom to top.)
        let image = image::open(&heat).unwrap().into_rgb8();
        assert_eq!(image.width(), 460);
        let bar: Vec<[u8; 3]> = (0..image.height())
            .rev()
            .map(|y| image.get_pixel(440, y).0)
            .collect();
        let colour = |t: f64| {
            let c = ViridisRGB::get_color(t);
            [c.0, c.1, c.2]
        };
        let centroid = |pick: &dyn Fn([u8; 3]) -> bool| {
            let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
            for (x, y, p) in image.enumerate_pixels().filter(|(x, _, _)| *x < 382) {
                if pick(p.0) {
                    sx += f64::from(x);
                    sy += f64::from(y);
                    n += 1.0;
                }
            }
            assert!(n > 0.0, "a band is missing");
            (sx / n, sy / n, n)
        };
        let bands: Vec<[u8; 3]> = (0..8).map(|b| colour(f64::from(b) / 7.0)).collect();
        let (cx, cy, _) = centroid(&|p| bands.contains(&p));
        let (lx, ly, low) = centroid(&|p| p == bands[0]);
        let spread = |pick: &dyn Fn([u8; 3]) -> bool| {
            let (mut total, mut n) = (0.0, 0.0);
            for (x, y, p) in image.enumerate_pixels().filter(|(x, _, _)| *x < 382) {
                if pick(p.0) {
                    total += ((f64::from(x) - cx).powi(2) + (f64::from(y) - cy).powi(2)).sqrt();
                    n += 1.0;
                }
            }
            total / n
        };
        assert!(
            (lx - cx).abs() < 3.0 && (ly - cy).abs() < 3.0,
            "the minimum is off centre"
        );
        assert!(spread(&|p| p == bands[7]) > 2.0 * spread(&|p| p == bands[0]));
        assert!(low > 0.0);
        let first = |band: [u8; 3]| bar.iter().position(|&p| p == band);
        assert!(
            first(bands[0]).unwrap() < first(bands[7]).unwrap(),
            "the colour bar runs low to high, bottom to top"
        );

        let hist = dir.path().join("hist.png");
        let group = Series {
            name: "clean".into(),
            points: (0..100).map(|i| (i as f64, 0.0)).collect(),
        };
        histogram_figure(
            &hist,
            "energies",
            10,
            &[HistogramPanel {
                title: "E(x)".into(),
                x_label: "energy".into(),
                groups: vec![group],
            }],
        )
        .unwrap();
        assert!(
            image::open(&hist)
                .unwrap()
                .into_rgb8()
                .pixels()
                .any(|p| p.0 != [255, 255, 255])
        );
        // The bins: 10 values, widths 0.5 from 0; the density integrates to 1.
        let values = [0.1, 0.2, 0.6, 1.9, 2.0, 2.4, 2.5, 4.9, 5.0, f64::NAN];
        let d = densities(&values, 0.0, 0.5, 10);
        let expected = [2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0, 2.0].map(|c| c / 10.0 / 0.5);
        assert_eq!(d, expected);
        assert!(
            (d.iter().sum::<f64>() * 0.5 - 0.9).abs() < 1e-12,
            "9 of 10 values are finite"
        );
    }
}
