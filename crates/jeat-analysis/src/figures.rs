//! The analysis as pictures: one landscape figure with a panel per model (one colour scale),
//! and energy histograms.

use crate::energies::Energies;
use crate::landscape::Landscape;
use jeat_plot::{HeatPanel, HistogramPanel, PlotError, Series, heat_figure, histogram_figure};
use std::path::Path;

/// Figure 2: the landscapes of several models side by side (dark = low energy).
pub fn landscape_figure(
    path: &Path,
    title: &str,
    panels: &[(String, Landscape)],
) -> Result<(), PlotError> {
    let range = panels.first().map_or(1.0, |(_, l)| l.range);
    let heat: Vec<HeatPanel> = panels
        .iter()
        .map(|(name, l)| HeatPanel {
            title: format!("{name} (E at x: {:.2})", l.center()),
            values: l.values.clone(),
            size: l.size,
        })
        .collect();
    heat_figure(
        path,
        title,
        range,
        12,
        ("a (direction 1)", "b (direction 2)"),
        &heat,
    )
}

/// Histograms of `E(x)` and `E(x, y)` for named groups of points (clean, adversarial,
/// generated).
pub fn energy_histograms(
    path: &Path,
    title: &str,
    groups: &[(String, Energies)],
) -> Result<(), PlotError> {
    let series = |pick: fn(&Energies) -> &Vec<f64>| {
        groups
            .iter()
            .map(|(name, e)| Series {
                name: name.clone(),
                points: pick(e).iter().map(|&v| (v, 0.0)).collect(),
            })
            .collect::<Vec<_>>()
    };
    histogram_figure(
        path,
        title,
        30,
        &[
            HistogramPanel {
                title: "marginal energy".into(),
                x_label: "E(x)".into(),
                groups: series(|e| &e.marginal),
            },
            HistogramPanel {
                title: "joint energy".into(),
                x_label: "E(x, y)".into(),
                groups: series(|e| &e.joint),
            },
        ],
    )
}
