//! Square Attack (Andriushchenko et al. 2020), the score-based black-box attack of AutoAttack:
//! random search over square-shaped updates of the perturbation, accepted when they lower the
//! margin `z_y - max_{j≠y} z_j`; it uses forward passes only, so it is immune to gradient
//! masking. As in the reference, every point of a batch shares the square's position (and, for
//! Linf, its signs) at each iteration; AutoAttack's schedule of square sizes is not rescaled to
//! the query budget.

use crate::attack::{Attack, AttackOutput};
use crate::error::AttackError;
use burn::prelude::*;
use burn::tensor::{IndexingUpdateOp, TensorData};
use jeat_core::host::{floats, index_tensor, ints, label_tensor};
use jeat_core::rng;
use jeat_energy::{PointLoss, Reference};
use jeat_engine::threat::{Norm, ThreatModel};
use jeat_models::Classifier;
use rand::Rng;

/// The Square attack.
#[derive(Debug, Clone, PartialEq)]
pub struct Square {
    /// The threat model.
    pub threat: ThreatModel,
    /// Query budget per point (5,000 in AutoAttack).
    pub queries: usize,
    /// Initial fraction of pixels a square covers (0.8).
    pub p_init: f64,
}

impl Square {
    /// AutoAttack's standard parameters: 5,000 queries, p_init 0.8.
    pub fn standard(threat: ThreatModel) -> Self {
        Self {
            threat,
            queries: 5000,
            p_init: 0.8,
        }
    }

    /// The fraction of pixels a square covers at iteration `it` (the reference's schedule).
    pub fn fraction(&self, it: usize) -> f64 {
        let divisor = match it {
            0..=10 => 1.0,
            11..=50 => 2.0,
            51..=200 => 4.0,
            201..=500 => 8.0,
            501..=1000 => 16.0,
            1001..=2000 => 32.0,
            2001..=4000 => 64.0,
            4001..=6000 => 128.0,
            6001..=8000 => 256.0,
            _ => 512.0,
        };
        self.p_init / divisor
    }

    fn margins(model: &dyn Classifier, x: Tensor<4>, reference: &Reference) -> Vec<f32> {
        // margin loss is max_{j≠y} z_j - z_y; the attack's margin is its negative.
        floats(PointLoss::Margin.per_point(model.logits(x), reference))
            .into_iter()
            .map(|m| -m)
            .collect()
    }

    /// The square side at iteration `it` for images of `channels × height × width` (at least
    /// 1 for Linf; odd and at least 3 for L2; never larger than the image).
    pub fn side(&self, it: usize, channels: usize, height: usize, width: usize) -> usize {
        let features = (channels * height * width) as f64;
        let side = (self.fraction(it) * features / channels as f64)
            .sqrt()
            .round() as usize;
        let side = match self.threat.norm {
            Norm::Linf => side.max(1),
            Norm::L2 => {
                let side = side.max(3);
                if side.is_multiple_of(2) {
                    side + 1
                } else {
                    side
                }
            }
        };
        side.min(height.min(width))
    }
}

/// The Linf attack's start: vertical stripes, `x + eps · sign` with one sign per point, channel
/// and column (`signs` `[n, C, 1, W]`), clamped to [0, 1].
pub fn linf_initial(images: &Tensor<4>, signs: Tensor<4>, eps: f64) -> Tensor<4> {
    (images.clone() + signs.expand(images.dims()) * eps).clamp(0.0, 1.0)
}

/// A window's top-left corner for a square of side `size` in an image of side `extent`: uniform
/// over `0..extent - size` (the reference's `random_int(0, h - s)`, which never reaches
/// `extent - size` itself), `0` when the square fills the image.
fn corner(rng: &mut impl Rng, extent: usize, size: usize) -> usize {
    rng.random_range(0..extent.saturating_sub(size).max(1))
}

/// The L2 attack's starting perturbation (unnormalised), `[n, C, H, W]` values: a grid of `eta`
/// patterns of side `H / 5`, one per block, transposed where `transposed[block]`, with a sign
/// per block, point and channel (`signs[(block · n + p) · C + c]`), blocks row by row.
pub fn l2_initial_delta(dims: [usize; 4], transposed: &[bool], signs: &[f32]) -> Vec<f32> {
    let [n, channels, height, width] = dims;
    let features = channels * height * width;
    let size = (height / 5).max(1);
    let offset = height.saturating_sub(size * 5) / 2;
    let mut delta = vec![0f32; n * features];
    let blocks_w = width / size;
    for bh in 0..height / size {
        for bw in 0..blocks_w {
            let block = bh * blocks_w + bw;
            let pattern = eta_pattern(size, transposed[block]);
            for p in 0..n {
                for c in 0..channels {
                    let sign = f64::from(signs[(block * n + p) * channels + c]);
                    for (k, value) in pattern.iter().enumerate() {
                        let h = offset + bh * size + k / size;
                        let w = offset + bw * size + k % size;
                        if h < height && w < width {
                            delta[p * features + (c * height + h) * width + w] +=
                                (sign * value) as f32;
                        }
                    }
                }
            }
        }
    }
    delta
}

/// A new perturbation proposal for the L2 attack (the paper's Algorithm 3, as the reference
/// computes it), in place on `delta` (`[n, C, H, W]` host rows, the current perturbation): per
/// point and channel, the old perturbation inside the first window (normalised) plus a fresh
/// `eta` pattern (transposed where `transposed`, sign `signs[p · C + c]`), rescaled so that the
/// channel's energy in the union of both windows plus its share of the unused budget
/// `(eps² − ‖δ‖²) / C` moves into the first window; the second window is cleared.
pub fn l2_proposal(
    delta: &mut [Vec<f32>],
    dims: [usize; 4],
    eps: f64,
    size: usize,
    windows: [(usize, usize); 2],
    signs: &[f32],
    transposed: bool,
) {
    let [_, channels, height, width] = dims;
    let pattern = eta_pattern(size, transposed);
    let index = |c: usize, h: usize, w: usize| (c * height + h) * width + w;
    let in_window = |(wh, ww): (usize, usize), h: usize, w: usize| {
        h >= wh && h < wh + size && w >= ww && w < ww + size
    };
    for (p, row) in delta.iter_mut().enumerate() {
        let total: f64 = row.iter().map(|&v| f64::from(v).powi(2)).sum();
        for c in 0..channels {
            // This channel's energy in the union of both windows, and in the first window.
            let mut union_energy = 0.0;
            for h in 0..height {
                for w in 0..width {
                    if in_window(windows[0], h, w) || in_window(windows[1], h, w) {
                        union_energy += f64::from(row[index(c, h, w)]).powi(2);
                    }
                }
            }
            let mut window_energy = 0.0;
            for h in windows[0].0..windows[0].0 + size {
                for w in windows[0].1..windows[0].1 + size {
                    window_energy += f64::from(row[index(c, h, w)]).powi(2);
                }
            }
            let sign = f64::from(signs[p * channels + c]);
            let old_norm = window_energy.sqrt() + 1e-12;
            let mut proposal: Vec<f64> = (0..size * size)
                .map(|k| {
                    let (h, w) = (windows[0].0 + k / size, windows[0].1 + k % size);
                    pattern[k] * sign + f64::from(row[index(c, h, w)]) / old_norm
                })
                .collect();
            let proposal_norm = proposal.iter().map(|v| v * v).sum::<f64>().sqrt() + 1e-12;
            let target = ((eps * eps - total).max(0.0) / channels as f64 + union_energy).sqrt();
            for v in &mut proposal {
                *v *= target / proposal_norm;
            }
            let (h2, w2) = windows[1];
            for h in h2..h2 + size {
                for w in w2..w2 + size {
                    row[index(c, h, w)] = 0.0;
                }
            }
            for (k, v) in proposal.into_iter().enumerate() {
                let (h, w) = (windows[0].0 + k / size, windows[0].1 + k % size);
                row[index(c, h, w)] = v as f32;
            }
        }
    }
}

/// The reference's `eta` pattern of side `s`: two rectangles of opposite sign whose values decay
/// like `1 / (ring + 1)²` away from their centres, unit L2 norm; optionally transposed.
pub fn eta_pattern(s: usize, transpose: bool) -> Vec<f64> {
    let rectangles = |rows: usize, cols: usize| -> Vec<f64> {
        let mut delta = vec![0.0; rows * cols];
        let (center_r, center_c) = (rows / 2, cols / 2);
        for ring in 0..(rows / 2 + 1).max(cols / 2 + 1) {
            let weight = 1.0 / ((ring + 1) as f64).powi(2);
            let (r0, c0) = (
                center_r as isize - ring as isize,
                center_c as isize - ring as isize,
            );
            for r in r0.max(0)..(r0 + 2 * ring as isize + 1).min(rows as isize) {
                for c in c0.max(0)..(c0 + 2 * ring as isize + 1).min(cols as isize) {
                    delta[r as usize * cols + c as usize] += weight;
                }
            }
        }
        let norm = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
        delta.into_iter().map(|v| v / norm).collect()
    };
    let top = rectangles(s / 2, s);
    let bottom = rectangles(s - s / 2, s);
    let mut pattern: Vec<f64> = top
        .into_iter()
        .chain(bottom.into_iter().map(|v| -v))
        .collect();
    let norm = pattern.iter().map(|v| v * v).sum::<f64>().sqrt();
    pattern.iter_mut().for_each(|v| *v /= norm);
    if transpose {
        let mut t = vec![0.0; s * s];
        for r in 0..s {
            for c in 0..s {
                t[c * s + r] = pattern[r * s + c];
            }
        }
        pattern = t;
    }
    pattern
}

impl Attack for Square {
    fn name(&self) -> String {
        format!("square-{}", self.queries)
    }

    fn threat(&self) -> &ThreatModel {
        &self.threat
    }

    fn run(
        &self,
        model: &dyn Classifier,
        images: &Tensor<4>,
        labels: &Tensor<1, Int>,
        seed: u64,
    ) -> Result<AttackOutput, AttackError> {
        let device = images.device();
        let dims = images.dims();
        let [n, channels, height, width] = dims;
        let features = channels * height * width;
        let eps = self.threat.eps;
        let label_values = ints(labels.clone());
        let reference = Reference::labels(labels.clone());
        let mut rng = rng::generator(rng::derive(seed, &[0x5157]));

        // Initialisation: vertical stripes (Linf) or a grid of eta patterns (L2).
        let mut best = match self.threat.norm {
            Norm::Linf => linf_initial(
                images,
                rng::signs([n, channels, 1, width], rng::derive(seed, &[1]), &device),
                eps,
            ),
            Norm::L2 => {
                let size = (height / 5).max(1);
                let blocks = (height / size) * (width / size);
                let mut transposed = Vec::with_capacity(blocks);
                let mut signs = Vec::with_capacity(blocks * n * channels);
                for _ in 0..blocks {
                    transposed.push(rng.random::<bool>());
                    signs.extend(
                        (0..n * channels).map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 }),
                    );
                }
                let delta = l2_initial_delta(dims, &transposed, &signs);
                let delta = Tensor::<4>::from_data(TensorData::new(delta, dims), &device);
                let norms = Norm::L2.per_point(delta.clone()).reshape([n, 1, 1, 1]) + 1e-12;
                (images.clone() + delta / norms * eps).clamp(0.0, 1.0)
            }
        };
        let mut margin = Self::margins(model, best.clone(), &reference);
        let mut loss = margin.clone();
        for it in 0..self.queries {
            let active: Vec<usize> = (0..n).filter(|&p| margin[p] > 0.0).collect();
            if active.is_empty() {
                break;
            }
            let rows = index_tensor(&active, &device);
            let x = images.clone().select(0, rows.clone());
            let x_best = best.clone().select(0, rows.clone());
            let sub_dims = [active.len(), channels, height, width];
            let size = self.side(it, channels, height, width);
            let candidate = match self.threat.norm {
                Norm::Linf => {
                    let (vh, vw) = (
                        corner(&mut rng, height, size),
                        corner(&mut rng, width, size),
                    );
                    let mut window = vec![0f32; features];
                    for c in 0..channels {
                        let value = if rng.random::<bool>() {
                            2.0 * eps
                        } else {
                            -2.0 * eps
                        } as f32;
                        for h in vh..vh + size {
                            for w in vw..vw + size {
                                window[(c * height + h) * width + w] = value;
                            }
                        }
                    }
                    let window = Tensor::<4>::from_data(
                        TensorData::new(window, [1, channels, height, width]),
                        &device,
                    );
                    self.threat.project(x_best + window.expand(sub_dims), &x)
                }
                Norm::L2 => {
                    let windows = [
                        (
                            corner(&mut rng, height, size),
                            corner(&mut rng, width, size),
                        ),
                        (
                            corner(&mut rng, height, size),
                            corner(&mut rng, width, size),
                        ),
                    ];
                    let signs: Vec<f32> = (0..active.len() * channels)
                        .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
                        .collect();
                    let transposed = rng.random::<bool>();
                    let mut delta = jeat_core::host::rows(x_best - x.clone());
                    l2_proposal(&mut delta, sub_dims, eps, size, windows, &signs, transposed);
                    let delta = jeat_core::host::from_rows(&delta, sub_dims, &device);
                    let norms = Norm::L2
                        .per_point(delta.clone())
                        .reshape([active.len(), 1, 1, 1])
                        + 1e-12;
                    self.threat.project(x.clone() + delta / norms * eps, &x)
                }
            };
            let sub_labels: Vec<usize> = active.iter().map(|&p| label_values[p]).collect();
            let new_margin = Self::margins(
                model,
                candidate.clone(),
                &Reference::labels(label_tensor(&sub_labels, &device)),
            );
            let accepted: Vec<usize> = (0..active.len())
                .filter(|&j| new_margin[j] < loss[active[j]] || new_margin[j] <= 0.0)
                .collect();
            for &j in &accepted {
                let p = active[j];
                loss[p] = loss[p].min(new_margin[j]);
                margin[p] = new_margin[j];
            }
            if !accepted.is_empty() {
                let points: Vec<usize> = accepted.iter().map(|&j| active[j]).collect();
                best = best.select_assign(
                    0,
                    index_tensor(&points, &device),
                    candidate.select(0, index_tensor(&accepted, &device)),
                    IndexingUpdateOp::Assign,
                );
            }
        }
        Ok(AttackOutput {
            adversarial: best,
            non_finite_points: 0,
            zero_gradient_points: 0,
        })
    }
}
