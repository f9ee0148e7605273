//! The energy landscape of Figure 2: `E(x + a·d1 + b·d2, y)` for `a, b` in `[-range, range]`,
//! and 1-D slices `E(x + t·d, y)` along one direction (such as the attack's).

use burn::prelude::*;
use jeat_core::rng;
use jeat_energy::joint_energy;
use jeat_models::Classifier;

/// Two random directions `[1, C, H, W]` around one image.
#[derive(Debug, Clone)]
pub struct Directions {
    /// First direction.
    pub d1: Tensor<4>,
    /// Second direction.
    pub d2: Tensor<4>,
}

impl Directions {
    /// Gaussian directions for images of `shape` `[C, H, W]`, each scaled to L2 norm `norm`
    /// (1 for unit directions, `‖x‖` for directions at the image's own scale). They depend only
    /// on the seed, so every model is probed along the same ones.
    pub fn new(shape: [usize; 3], norm: f64, seed: u64, device: &Device) -> Self {
        let [c, h, w] = shape;
        let unit = |s: u64| {
            let d = rng::normal([1, c, h, w], 1.0, s, device);
            let length = d.clone().powi_scalar(2).sum().sqrt();
            d / length.reshape([1, 1, 1, 1]) * norm
        };
        Self {
            d1: unit(rng::derive(seed, &[1])),
            d2: unit(rng::derive(seed, &[2])),
        }
    }

    /// Random sign directions `eps · sign(N(0, I))` for images of `shape` `[C, H, W]`: each
    /// has Linf norm `eps`, and `‖a·d1 + b·d2‖∞ = (|a| + |b|)·eps` as soon as the two signs
    /// disagree on some pixel and agree on another (certain in practice), so in these
    /// coordinates the Linf eps-ball is the diamond `|a| + |b| ≤ 1` ([`eps_ball_outline`]).
    pub fn signed(shape: [usize; 3], eps: f64, seed: u64, device: &Device) -> Self {
        let [c, h, w] = shape;
        let sign = |s: u64| rng::normal([1, c, h, w], 1.0, s, device).sign() * eps;
        Self {
            d1: sign(rng::derive(seed, &[1])),
            d2: sign(rng::derive(seed, &[2])),
        }
    }
}

/// The outline of the Linf eps-ball in the coordinates of [`Directions::signed`]: the diamond
/// `|a| + |b| = 1`.
pub fn eps_ball_outline() -> Vec<(f64, f64)> {
    vec![(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)]
}

/// A grid of energies.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Landscape {
    /// Points per side.
    pub size: usize,
    /// Coordinates span `[-range, range]` along each direction.
    pub range: f64,
    /// `size × size` values of `E(x + a·d1 + b·d2, y)`, row `i` at `b = -range + i·step`,
    /// column `j` at `a = -range + j·step`.
    pub values: Vec<f64>,
}

impl Landscape {
    /// The value at the image itself (the grid's centre; `size` odd).
    pub fn center(&self) -> f64 {
        self.values[(self.size / 2) * self.size + self.size / 2]
    }
}

/// `E(x + a·d1 + b·d2, y)` at each `(a, b)` of `points`, `batch` points per forward pass.
fn energies_at(
    model: &dyn Classifier,
    image: &Tensor<4>,
    label: usize,
    (d1, d2): (&Tensor<4>, &Tensor<4>),
    points: &[(f64, f64)],
    batch: usize,
) -> Vec<f64> {
    let device = image.device();
    let column = |chunk: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
        let values: Vec<f32> = chunk.iter().map(|p| pick(p) as f32).collect();
        Tensor::<1>::from_floats(values.as_slice(), &device).reshape([chunk.len(), 1, 1, 1])
    };
    let mut values = Vec::with_capacity(points.len());
    for chunk in points.chunks(batch.max(1)) {
        let n = chunk.len();
        let x = image.clone()
            + d1.clone() * column(chunk, |p| p.0)
            + d2.clone() * column(chunk, |p| p.1);
        let labels = Tensor::<1, Int>::from_ints(vec![label as i64; n].as_slice(), &device);
        values.extend(
            jeat_core::host::floats(joint_energy(model.logits(x), labels))
                .into_iter()
                .map(f64::from),
        );
    }
    values
}

/// Evaluates the landscape of `model` (inference mode) around `image` `[1, C, H, W]` of class
/// `label`, on a `size × size` grid, `batch` grid points per forward pass.
pub fn landscape(
    model: &dyn Classifier,
    image: &Tensor<4>,
    label: usize,
    directions: &Directions,
    size: usize,
    range: f64,
    batch: usize,
) -> Landscape {
    let step = if size > 1 {
        2.0 * range / (size - 1) as f64
    } else {
        0.0
    };
    let points: Vec<(f64, f64)> = (0..size * size)
        .map(|k| {
            (
                -range + (k % size) as f64 * step,
                -range + (k / size) as f64 * step,
            )
        })
        .collect();
    let values = energies_at(
        model,
        image,
        label,
        (&directions.d1, &directions.d2),
        &points,
        batch,
    );
    Landscape {
        size,
        range,
        values,
    }
}

/// Energies along one direction.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Slice {
    /// The coordinates `t`.
    pub t: Vec<f64>,
    /// `E(x + t·d, y)` at each.
    pub values: Vec<f64>,
}

/// `E(x + t·direction, y)` of `model` around `image` `[1, C, H, W]` for `points` values of `t`
/// evenly in `[-range, range]` (`direction` `[1, C, H, W]`; for the attack's direction,
/// `x_adv - x`, `t = 1` is the adversarial point).
pub fn slice(
    model: &dyn Classifier,
    image: &Tensor<4>,
    label: usize,
    direction: &Tensor<4>,
    points: usize,
    range: f64,
) -> Slice {
    let points = points.max(2);
    let t: Vec<f64> = (0..points)
        .map(|k| -range + 2.0 * range * k as f64 / (points - 1) as f64)
        .collect();
    let coordinates: Vec<(f64, f64)> = t.iter().map(|&t| (t, 0.0)).collect();
    let zero = direction.zeros_like();
    let values = energies_at(model, image, label, (direction, &zero), &coordinates, 256);
    Slice { t, values }
}
