//! Stochastic gradient Langevin dynamics: `x ← x - alpha · ∇x E + sigma · N(0, I)` (clamped to
//! [0, 1] when asked: the generators do, JEM's training chain does not), on the marginal energy
//! `E(x)` or the joint energy `E(x, y)`. One configuration of the engine of
//! `jeat-attacks`: descent on an energy, raw gradient steps, Gaussian noise, no ball.

use crate::error::SamplingError;
use burn::prelude::*;
use jeat_energy::{Energy, PointLoss, Reference};
use jeat_engine::steps::{Constraint, GradientSteps};
use jeat_models::Classifier;

/// An SGLD chain, in [0, 1] pixel units.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgldConfig {
    /// Steps per chain (JEM: 20 per training iteration).
    pub steps: usize,
    /// Step size `alpha` on the energy gradient, [0, 1] units (JEM's 1 in [-1, 1] units = 0.25).
    pub step_size: f64,
    /// Noise standard deviation `sigma`, [0, 1] units (JEM's 0.01 in [-1, 1] units = 0.005).
    pub noise: f64,
    /// Clamp every step to the data range [0, 1] (default: no, as JEM's sampler).
    #[serde(default)]
    pub clamp: bool,
    /// Bound on each pixel's drift per step, [0, 1] units: JEM++'s proximal step and
    /// SADA-JEM's, `x ← x - clamp(alpha · ∇x E, -b, b)` (default: none, as JEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_step: Option<f64>,
}

impl Default for SgldConfig {
    /// JEM's chain: 20 steps of alpha 1, sigma 0.01 in [-1, 1] units, not clamped.
    fn default() -> Self {
        Self::from_jem_units(20, 1.0, 0.01)
    }
}

impl SgldConfig {
    /// A chain given in JEM's [-1, 1] input units, not clamped (as JEM's `sample_q`). With
    /// `x' = 2x - 1`, `∇x' E = ∇x E / 2`, so a step `x' ← x' - a ∇x' E + s ε` is
    /// `x ← x - (a / 4) ∇x E + (s / 2) ε` in [0, 1] units.
    pub fn from_jem_units(steps: usize, step_size: f64, noise: f64) -> Self {
        Self {
            steps,
            step_size: step_size / 4.0,
            noise: noise / 2.0,
            clamp: false,
            max_step: None,
        }
    }

    /// JEM++'s proximal chain (Yang & Ji 2021) in [0, 1] units: `steps` steps of
    /// `x ← clamp(x - clamp(∇x E / 4, -1/2, 1/2), 0, 1)`, no noise. Their code takes, in
    /// [-1, 1] units, 10 outer steps of 5 inner steps of 0.2 · clamp(g, -1, 1) with the same
    /// gradient `g` (the Hamiltonian of an affine first layer), which is one step of
    /// clamp(g, -1, 1) each: with `x' = 2x - 1` that is this step.
    pub fn jempp(steps: usize) -> Self {
        Self {
            steps,
            step_size: 0.25,
            noise: 0.0,
            clamp: true,
            max_step: Some(0.5),
        }
    }

    /// The same chain, clamped to [0, 1] after every step (for generating images).
    pub fn clamped(self) -> Self {
        Self {
            clamp: true,
            ..self
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), SamplingError> {
        if self.max_step.is_some_and(|b| !(b.is_finite() && b > 0.0)) {
            return Err(SamplingError::Invalid(format!(
                "SGLD max_step must be > 0, got {:?}",
                self.max_step
            )));
        }
        if !(self.step_size.is_finite()
            && self.step_size >= 0.0
            && self.noise.is_finite()
            && self.noise >= 0.0)
        {
            return Err(SamplingError::Invalid(format!(
                "SGLD step_size and noise must be finite and ≥ 0, got {} and {}",
                self.step_size, self.noise
            )));
        }
        Ok(())
    }

    /// The engine configuration of this chain.
    pub fn engine(&self, energy: Energy) -> GradientSteps {
        let loss = match energy {
            Energy::Marginal => PointLoss::MarginalEnergy,
            Energy::Joint => PointLoss::JointEnergy,
        };
        let constraint = match self.clamp {
            true => Constraint::UNIT_BOX,
            false => Constraint::default(),
        };
        GradientSteps::langevin(loss, self.step_size, self.steps, self.noise, constraint)
            .with_max_step(self.max_step)
    }

    /// Runs the chain from `start` `[B, C, H, W]` with `model` in inference mode; `labels` `[B]`
    /// are required for the joint energy. A non-finite energy or gradient stops the chain with
    /// an error naming the step.
    pub fn run(
        &self,
        model: &dyn Classifier,
        start: Tensor<4>,
        energy: Energy,
        labels: Option<Tensor<1, Int>>,
        seed: u64,
    ) -> Result<Tensor<4>, SamplingError> {
        let reference = match (energy, labels) {
            (_, Some(labels)) => Reference::labels(labels),
            (Energy::Marginal, None) => {
                let [batch, ..] = start.dims();
                Reference::labels(Tensor::zeros([batch], &start.device().without_autodiff()))
            }
            (Energy::Joint, None) => {
                return Err(SamplingError::Invalid(
                    "SGLD on E(x, y) needs labels".into(),
                ));
            }
        };
        let outcome = self
            .engine(energy)
            .run(model, start, None, &reference, seed, &mut |_| {})?;
        Ok(outcome.x)
    }
}
