//! The analysis as pictures: one landscape figure with a row per model (near and wide maps,
//! each with its own colour bar, and slices along the attack's direction), and energy
//! histograms.

use crate::energies::Energies;
use crate::landscape::{Landscape, Slice, eps_ball_outline};
use jeat_plot::{
    HeatPanel, HistogramPanel, LinePanel, Panel, PlotError, Series, histogram_figure, panel_grid,
};
use std::path::Path;

/// One model's row of the landscape figure.
#[derive(Debug, Clone)]
pub struct LandscapeRow {
    /// The model's name.
    pub name: String,
    /// The landscape at the scale of the eps-ball (coordinates in units of eps).
    pub near: Landscape,
    /// The same directions at a wide scale.
    pub wide: Landscape,
    /// `E(x + t·(x_adv − x), y)`: along the attack's direction.
    pub attack: Slice,
    /// `E(x + t·d1, y)` at the same Linf length as the attack's (a random direction).
    pub random: Slice,
}

/// Figure 2, one row per model: the landscape near the image (the eps-ball outlined in white),
/// the same directions at a wide scale, and 1-D slices along the attack's direction and a
/// random one. Every map has its own colour scale and bar (dark = low).
pub fn landscape_figure(path: &Path, title: &str, rows: &[LandscapeRow]) -> Result<(), PlotError> {
    let axes = || ("a (eps units)".to_string(), "b (eps units)".to_string());
    let grid: Vec<Vec<Panel>> = rows
        .iter()
        .map(|row| {
            vec![
                Panel::Heat(HeatPanel {
                    title: format!("{}: near x (E at x {:.2})", row.name, row.near.center()),
                    values: row.near.values.clone(),
                    size: row.near.size,
                    range: row.near.range,
                    outline: eps_ball_outline(),
                    axes: axes(),
                }),
                Panel::Heat(HeatPanel {
                    title: format!("{}: wide", row.name),
                    values: row.wide.values.clone(),
                    size: row.wide.size,
                    range: row.wide.range,
                    outline: eps_ball_outline(),
                    axes: axes(),
                }),
                Panel::Line(LinePanel {
                    title: format!("{}: slices (t = 1: PGD point)", row.name),
                    x_label: "t".into(),
                    y_label: "E(x + t d, y)".into(),
                    series: vec![
                        Series {
                            name: "attack direction".into(),
                            points: row
                                .attack
                                .t
                                .iter()
                                .copied()
                                .zip(row.attack.values.iter().copied())
                                .collect(),
                        },
                        Series {
                            name: "random direction".into(),
                            points: row
                                .random
                                .t
                                .iter()
                                .copied()
                                .zip(row.random.values.iter().copied())
                                .collect(),
                        },
                    ],
                }),
            ]
        })
        .collect();
    panel_grid(path, title, 12, &grid)
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
