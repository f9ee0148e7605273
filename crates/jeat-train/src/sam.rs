//! Sharpness-aware minimisation (Foret et al. 2021) and its adaptive form (ASAM, Kwon et al.
//! 2021), the optimiser step of SADA-JEM: the gradient `g` at the weights `w` moves them to
//! `w + e(w)`, `e(w) = rho · s² ⊙ g / ‖s ⊙ g‖₂` with `s = |w|` (adaptive) or 1, the loss is taken
//! again there on the same points, and the base optimiser steps from `w` with that gradient.

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// SAM's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sam {
    /// The neighbourhood's radius (SADA-JEM: 2, with `adaptive`).
    pub rho: f64,
    /// ASAM: the radius scaled by each weight's magnitude.
    pub adaptive: bool,
}

impl Sam {
    /// The model's parameters moved to `w + e(w)` for the gradient `grads` at `w`; parameters
    /// without a gradient stay. The parameter ids are kept, so a gradient taken on the result
    /// steps the original model.
    pub fn perturbed<M: Module>(&self, model: &M, grads: &GradientsParams) -> M {
        let mut norm = SquaredNorm {
            grads,
            adaptive: self.adaptive,
            sum: 0.0,
        };
        model.visit(&mut norm);
        let scale = self.rho / (norm.sum.sqrt() + 1e-12);
        model.clone().map(&mut Ascent {
            grads,
            adaptive: self.adaptive,
            scale,
        })
    }
}

/// `‖s ⊙ g‖₂²` over the parameters with a gradient.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    adaptive: bool,
    sum: f64,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let scaled = match self.adaptive {
                true => param.val().inner().abs() * grad,
                false => grad,
            };
            self.sum += scaled.powi_scalar(2).sum().into_scalar::<f64>();
        }
    }
}

/// `w + scale · s² ⊙ g` for every parameter with a gradient.
struct Ascent<'a> {
    grads: &'a GradientsParams,
    adaptive: bool,
    scale: f64,
}

impl ModuleMapper for Ascent<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(grad) = self.grads.get::<D>(param.id) else {
            return param;
        };
        let (id, tensor, mapper) = param.consume();
        let tracked = tensor.is_require_grad();
        let weights = tensor.inner();
        let step = match self.adaptive {
            true => weights.clone().powi_scalar(2) * grad,
            false => grad,
        };
        let mut moved = Tensor::from_inner(weights + step * self.scale);
        if tracked {
            moved = moved.require_grad();
        }
        Param::from_mapped_value(id, moved, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    /// A linear layer and the gradient of `Σ c ⊙ W` (which is `c`), with `c` known.
    fn layer_and_gradient(device: &Device) -> (Linear, GradientsParams, Vec<f32>, Vec<f32>) {
        let layer = LinearConfig::new(3, 2).with_bias(false).init(device);
        let weights: Vec<f32> = layer.weight.val().into_data().try_to_vec().unwrap();
        let c: Vec<f32> = vec![1.0, -2.0, 0.5, 3.0, 0.0, -1.0];
        let ct = Tensor::<2>::from_data(burn::tensor::TensorData::new(c.clone(), [3, 2]), device);
        let loss = (layer.weight.val() * ct).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &layer);
        (layer, grads, weights, c)
    }

    #[test]
    fn sam_and_asam_move_the_weights_by_their_formulas() {
        let device = jeat_core::testing::device().autodiff();
        for adaptive in [false, true] {
            let (layer, grads, w, c) = layer_and_gradient(&device);
            let sam = Sam { rho: 0.5, adaptive };
            let moved: Vec<f32> = sam
                .perturbed(&layer, &grads)
                .weight
                .val()
                .into_data()
                .try_to_vec()
                .unwrap();
            let s = |k: usize| if adaptive { f64::from(w[k]).abs() } else { 1.0 };
            let norm = (0..6)
                .map(|k| (s(k) * f64::from(c[k])).powi(2))
                .sum::<f64>()
                .sqrt();
            for k in 0..6 {
                let expected =
                    f64::from(w[k]) + 0.5 * s(k).powi(2) * f64::from(c[k]) / (norm + 1e-12);
                let ours = f64::from(moved[k]);
                assert!(
                    (ours - expected).abs() < 1e-5,
                    "{adaptive} {k}: {ours} vs {expected}"
                );
            }
        }
    }
}
