//! The one gradient-step engine. Attacks (FGSM, PGD, CW, MIM, APGD), the inner loops of
//! adversarial training and the samplers (SGLD, the Santurkar generator) are all repeated steps
//! on a differentiable per-point loss of the input, followed by a projection:
//!
//! `x ← project(x ± step_size · rule(g) + noise)`, with `g = ∇x loss(f(x))`.
//!
//! The model is used as given: pass it in inference mode (`model.valid()`: batch-norm running
//! statistics, no dropout, no autodiff), so that only the input receives a gradient.

use crate::error::EngineError;
use crate::threat::{Ball, Norm};
use burn::prelude::*;
use jeat_core::layout::row_major;
use jeat_core::rng;
use jeat_energy::{PointLoss, Reference};
use jeat_models::Classifier;

/// The loss, gradient and logits of a batch at one point.
#[derive(Debug, Clone)]
pub struct Gradient {
    /// `[B]`: each point's loss.
    pub loss: Tensor<1>,
    /// `[B, C, H, W]`: the gradient of each point's loss with respect to its input.
    pub grad: Tensor<4>,
    /// `[B, K]`: the logits (without a graph).
    pub logits: Tensor<2>,
}

/// `loss(f(x))` per point and its input gradient. `x` may live on a plain or an autodiff
/// device; the results are plain tensors. A loss whose reference lacks what it needs is an
/// error.
pub fn gradient(
    model: &dyn Classifier,
    x: &Tensor<4>,
    loss: PointLoss,
    reference: &Reference,
) -> Result<Gradient, EngineError> {
    if let Some(missing) = loss.missing(reference, model.num_classes()) {
        return Err(EngineError::Invalid(missing));
    }
    let leaf = x.clone().without_autodiff().autodiff().require_grad();
    let logits = model.logits(leaf.clone());
    let per_point = loss.per_point(logits.clone(), reference);
    let grads = per_point.clone().sum().backward();
    // The backward pass of a convolution on one-channel images leaves the gradient with
    // permuted strides, which burn's kernel fusion misreads (see `jeat_core::layout`).
    let grad = leaf
        .grad(&grads)
        .map(row_major)
        .unwrap_or_else(|| leaf.clone().without_autodiff().zeros_like());
    Ok(Gradient {
        loss: per_point.without_autodiff(),
        grad,
        logits: logits.without_autodiff(),
    })
}

/// Which way the engine moves the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Attacks: make the loss larger.
    Ascend,
    /// Targeted attacks and samplers: make it smaller.
    Descend,
}

/// How a gradient becomes a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepRule {
    /// `sign(g)`: the steepest step for Linf.
    Sign,
    /// `g / ‖g‖₂` per point: the steepest step for L2.
    L2Normalized,
    /// `g` itself: gradient descent, Langevin dynamics.
    Raw,
}

impl StepRule {
    /// The steepest rule for a norm.
    pub fn steepest(norm: Norm) -> Self {
        match norm {
            Norm::Linf => Self::Sign,
            Norm::L2 => Self::L2Normalized,
        }
    }

    /// The step direction of `g` `[B, C, H, W]`.
    pub fn apply(self, g: Tensor<4>) -> Tensor<4> {
        match self {
            Self::Sign => g.sign(),
            Self::L2Normalized => normalize_per_point(g, Norm::L2),
            Self::Raw => g,
        }
    }
}

/// `g / (‖g‖ + 1e-12)` per point, `‖·‖` the L2 norm or, for `Linf`, the L1 norm (MIM's
/// normalisation of the gradient before accumulating momentum).
fn normalize_per_point(g: Tensor<4>, norm: Norm) -> Tensor<4> {
    let [batch, ..] = g.dims();
    let norms = match norm {
        Norm::L2 => Norm::L2.per_point(g.clone()),
        Norm::Linf => g
            .clone()
            .abs()
            .reshape([batch as i64, -1])
            .sum_dim(1)
            .squeeze_dim::<1>(1),
    };
    g / (norms.reshape([batch, 1, 1, 1]) + 1e-12)
}

/// Where a chain may go: a ball around its center and a value range.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Constraint {
    /// A ball around the chain's center.
    pub ball: Option<Ball>,
    /// `[low, high]` for every value (the data range).
    pub clamp: Option<(f64, f64)>,
}

impl Constraint {
    /// The [0, 1] box and no ball.
    pub const UNIT_BOX: Self = Self {
        ball: None,
        clamp: Some((0.0, 1.0)),
    };

    /// `ball` ∩ the [0, 1] box.
    pub fn ball_in_unit_box(ball: Ball) -> Self {
        Self {
            ball: Some(ball),
            clamp: Some((0.0, 1.0)),
        }
    }

    /// `x` projected: first the ball around `center`, then the value range.
    pub fn project(&self, x: Tensor<4>, center: Option<&Tensor<4>>) -> Tensor<4> {
        let x = match (self.ball, center) {
            (Some(ball), Some(center)) => ball.project(x, center),
            _ => x,
        };
        match self.clamp {
            Some((low, high)) => x.clamp(low, high),
            None => x,
        }
    }
}

/// Repeated gradient steps on a per-point loss.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GradientSteps {
    /// What is ascended or descended.
    pub loss: PointLoss,
    /// Which way.
    pub direction: Direction,
    /// How a gradient becomes a step.
    pub rule: StepRule,
    /// The step size.
    pub step_size: f64,
    /// How many steps.
    pub steps: usize,
    /// MIM: `m ← decay · m + g / ‖g‖₁` (L1 for sign steps, L2 otherwise), and the rule applies
    /// to `m`.
    pub momentum: Option<f64>,
    /// Each component of a step's drift (before the noise) clamped to `[-b, b]`: JEM++'s and
    /// SADA-JEM's clamped gradient steps (`None`: unbounded).
    pub max_step: Option<f64>,
    /// Standard deviation of Gaussian noise added after each step (Langevin dynamics).
    pub noise_std: f64,
    /// Where the chain may go.
    pub constraint: Constraint,
    /// Stop with an error at a non-finite loss or gradient (samplers), instead of zeroing that
    /// point's gradient and counting it (attacks).
    pub fail_on_non_finite: bool,
}

/// What a chain saw at one point, before stepping from it.
#[derive(Debug)]
pub struct Visit<'a> {
    /// The step index (0-based).
    pub step: usize,
    /// `[B, C, H, W]`: the point.
    pub x: &'a Tensor<4>,
    /// `[B]`: its loss.
    pub loss: &'a Tensor<1>,
    /// `[B, K]`: its logits.
    pub logits: &'a Tensor<2>,
}

/// Where a chain ended.
#[derive(Debug, Clone)]
pub struct ChainEnd {
    /// `[B, C, H, W]`: the last point (after the last step).
    pub x: Tensor<4>,
    /// Points whose gradient was non-finite at some step (zeroed there).
    pub non_finite_points: usize,
    /// Which points had an all-zero gradient at the first step.
    pub zero_gradient_start: Vec<bool>,
}

impl GradientSteps {
    /// The PGD family: `steps` steepest steps for `ball`'s norm (sign for Linf, L2-normalised for
    /// L2) of `step_size` on `loss` in `direction`, each projected on `ball` around the chain's
    /// centre ∩ the [0, 1] box; no momentum, no noise; a point whose loss or gradient is
    /// non-finite gets a zero step and is counted.
    pub fn projected(
        loss: PointLoss,
        direction: Direction,
        ball: Ball,
        step_size: f64,
        steps: usize,
    ) -> Self {
        Self {
            loss,
            direction,
            rule: StepRule::steepest(ball.norm),
            step_size,
            steps,
            momentum: None,
            max_step: None,
            noise_std: 0.0,
            constraint: Constraint::ball_in_unit_box(ball),
            fail_on_non_finite: false,
        }
    }

    /// Langevin dynamics (SGLD): `steps` descents of `step_size · ∇loss` with Gaussian noise of
    /// standard deviation `noise_std` after each, projected on `constraint`; a non-finite loss
    /// or gradient stops the chain with an error.
    pub fn langevin(
        loss: PointLoss,
        step_size: f64,
        steps: usize,
        noise_std: f64,
        constraint: Constraint,
    ) -> Self {
        Self {
            loss,
            direction: Direction::Descend,
            rule: StepRule::Raw,
            step_size,
            steps,
            momentum: None,
            max_step: None,
            noise_std,
            constraint,
            fail_on_non_finite: true,
        }
    }

    /// The same chain with MIM's momentum of decay `decay` (none for `None`).
    pub fn with_momentum(mut self, decay: Option<f64>) -> Self {
        self.momentum = decay;
        self
    }

    /// The same chain with every component of a step's drift clamped to `[-bound, bound]`
    /// (none for `None`).
    pub fn with_max_step(mut self, bound: Option<f64>) -> Self {
        self.max_step = bound;
        self
    }

    /// The same chain stopping with an error at a non-finite loss or gradient (a generator
    /// must not hand out a broken image).
    pub fn failing_on_non_finite(mut self) -> Self {
        self.fail_on_non_finite = true;
        self
    }

    /// Runs the chain from `start` (`[B, C, H, W]`), its ball (if any) centred on `center`.
    /// `seed` drives the noise. `visit` sees every point a gradient is taken at.
    pub fn run(
        &self,
        model: &dyn Classifier,
        start: Tensor<4>,
        center: Option<&Tensor<4>>,
        reference: &Reference,
        seed: u64,
        visit: &mut dyn FnMut(Visit<'_>),
    ) -> Result<ChainEnd, EngineError> {
        let sign = match self.direction {
            Direction::Ascend => 1.0,
            Direction::Descend => -1.0,
        };
        let momentum_norm = match self.rule {
            StepRule::Sign => Norm::Linf,
            _ => Norm::L2,
        };
        let mut x = start.without_autodiff();
        let mut momentum: Option<Tensor<4>> = None;
        let mut non_finite_points = 0;
        let mut zero_gradient_start = Vec::new();
        for step in 0..self.steps {
            let Gradient { loss, grad, logits } = gradient(model, &x, self.loss, reference)?;
            let (grad, bad) = zero_non_finite(grad, &loss);
            if step == 0 {
                zero_gradient_start = zero_gradient_points(&grad);
            }
            if bad > 0 {
                if self.fail_on_non_finite {
                    return Err(EngineError::NonFinite {
                        what: "loss or gradient",
                        step,
                        points: bad,
                    });
                }
                non_finite_points += bad;
            }
            visit(Visit {
                step,
                x: &x,
                loss: &loss,
                logits: &logits,
            });
            let grad = match self.momentum {
                Some(decay) => {
                    let normalized = normalize_per_point(grad, momentum_norm);
                    let m = match momentum.take() {
                        Some(m) => m * decay + normalized,
                        None => normalized,
                    };
                    momentum = Some(m.clone());
                    m
                }
                None => grad,
            };
            let drift = self.rule.apply(grad) * (sign * self.step_size);
            let drift = match self.max_step {
                Some(bound) => drift.clamp(-bound, bound),
                None => drift,
            };
            let mut next = x + drift;
            if self.noise_std > 0.0 {
                let noise = rng::normal(
                    next.dims(),
                    self.noise_std,
                    rng::derive(seed, &[step as u64]),
                    &next.device(),
                );
                next = next + noise;
            }
            x = self.constraint.project(next, center);
        }
        Ok(ChainEnd {
            x,
            non_finite_points,
            zero_gradient_start,
        })
    }
}

/// Which points of `grad` `[B, C, H, W]` are exactly zero everywhere.
pub fn zero_gradient_points(grad: &Tensor<4>) -> Vec<bool> {
    let [batch, ..] = grad.dims();
    let sums = grad
        .clone()
        .abs()
        .reshape([batch as i64, -1])
        .sum_dim(1)
        .squeeze_dim::<1>(1);
    jeat_core::host::floats(sums)
        .iter()
        .map(|&s| s == 0.0)
        .collect()
}

/// Replaces the gradient of every point whose loss or gradient has a non-finite value by zeros;
/// returns it and the number of such points.
pub fn zero_non_finite(grad: Tensor<4>, loss: &Tensor<1>) -> (Tensor<4>, usize) {
    let dims = grad.dims();
    let bad_grad: Tensor<2, Bool> = grad
        .clone()
        .is_finite()
        .bool_not()
        .reshape([dims[0] as i64, -1])
        .any_dim(1);
    let bad = bad_grad.bool_or(loss.clone().is_finite().bool_not().reshape([dims[0], 1]));
    let count = bad.clone().int().sum().into_scalar::<i64>() as usize;
    if count == 0 {
        return (grad, 0);
    }
    let mask = bad.reshape([dims[0], 1, 1, 1]).expand(dims);
    (grad.mask_fill(mask, 0.0), count)
}
