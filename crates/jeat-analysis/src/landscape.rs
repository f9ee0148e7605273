//! The energy landscape of Figure 2: `E(x + a·d1 + b·d2, y)` for `a, b` in `[-range, range]`.

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
    let device = image.device();
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
    let mut values = Vec::with_capacity(points.len());
    for chunk in points.chunks(batch.max(1)) {
        let n = chunk.len();
        let a = Tensor::<1>::from_floats(
            chunk
                .iter()
                .map(|p| p.0 as f32)
                .collect::<Vec<_>>()
                .as_slice(),
            &device,
        )
        .reshape([n, 1, 1, 1]);
        let b = Tensor::<1>::from_floats(
            chunk
                .iter()
                .map(|p| p.1 as f32)
                .collect::<Vec<_>>()
                .as_slice(),
            &device,
        )
        .reshape([n, 1, 1, 1]);
        let x = image.clone() + directions.d1.clone() * a + directions.d2.clone() * b;
        let labels = Tensor::<1, Int>::from_ints(vec![label as i64; n].as_slice(), &device);
        let e = joint_energy(model.logits(x), labels);
        values.extend(
            e.into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .expect("f64 energies"),
        );
    }
    Landscape {
        size,
        range,
        values,
    }
}
