//! The engine's classic attacks: FGSM, PGD (Madry et al.) in Linf and L2 with random starts and
//! restarts, CW-Linf (PGD on the margin loss), MIM (momentum iterative FGSM), and their targeted
//! variants. Each keeps, per point, the first iterate that fools the model.

use crate::attack::{Attack, AttackOutput, FirstSuccess};
use crate::error::AttackError;
use burn::prelude::*;
use jeat_core::host::{index_tensor, ints, label_tensor};
use jeat_core::rng;
use jeat_energy::{PointLoss, Reference};
use jeat_engine::steps::{Direction, GradientSteps};
use jeat_engine::threat::ThreatModel;
use jeat_models::Classifier;
use rand::Rng;

/// The class a targeted attack aims for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// One class for every point (points of that class keep their own label as target).
    Class(usize),
    /// The class with the lowest clean logit.
    LeastLikely,
    /// A uniformly random class other than the label.
    Random,
}

/// Iterated gradient steps in a threat ball.
#[derive(Debug, Clone, PartialEq)]
pub struct Pgd {
    /// The threat model.
    pub threat: ThreatModel,
    /// Steps per restart.
    pub steps: usize,
    /// Step size ([0, 1] pixel units; an L2 length for L2).
    pub step_size: f64,
    /// Runs from fresh random starts on the points not fooled yet.
    pub restarts: usize,
    /// Start uniformly in the ball (else at the clean point).
    pub random_start: bool,
    /// Cross-entropy or the CW margin.
    pub loss: PointLoss,
    /// MIM's momentum decay.
    pub momentum: Option<f64>,
    /// Targeted variant.
    pub target: Option<Target>,
    /// The attack's name.
    pub label: String,
}

impl Pgd {
    /// FGSM (Goodfellow et al.): one step of size eps on the sign of the CE gradient from the
    /// clean point (FGM for L2).
    pub fn fgsm(threat: ThreatModel) -> Self {
        Self {
            step_size: threat.eps,
            threat,
            steps: 1,
            restarts: 1,
            random_start: false,
            loss: PointLoss::CrossEntropy,
            momentum: None,
            target: None,
            label: "fgsm".into(),
        }
    }

    /// PGD-`steps` (Madry et al.): uniform random start, steps of eps/4, CE.
    pub fn madry(threat: ThreatModel, steps: usize) -> Self {
        Self {
            step_size: threat.eps / 4.0,
            threat,
            steps,
            restarts: 1,
            random_start: true,
            loss: PointLoss::CrossEntropy,
            momentum: None,
            target: None,
            label: format!("pgd-{steps}"),
        }
    }

    /// CW-`steps`: PGD on the margin `max_{j≠y} z_j - z_y`, steps of eps/4.
    pub fn cw(threat: ThreatModel, steps: usize) -> Self {
        Self {
            loss: PointLoss::Margin,
            label: format!("cw-{steps}"),
            ..Self::madry(threat, steps)
        }
    }

    /// MIM-`steps` (Dong et al.): momentum decay 1, steps of eps/steps from the clean point.
    pub fn mim(threat: ThreatModel, steps: usize) -> Self {
        Self {
            step_size: threat.eps / steps as f64,
            random_start: false,
            momentum: Some(1.0),
            label: format!("mim-{steps}"),
            ..Self::madry(threat, steps)
        }
    }

    /// With restarts.
    pub fn with_restarts(mut self, restarts: usize) -> Self {
        self.restarts = restarts.max(1);
        if restarts > 1 {
            self.label = format!("{}x{restarts}", self.label);
        }
        self
    }

    /// The targeted variant: descends CE to the target (or ascends `z_t - z_y` for CW).
    pub fn targeted(mut self, target: Target) -> Self {
        self.target = Some(target);
        self.label = format!("{}-targeted", self.label);
        self
    }

    fn targets(
        &self,
        model: &dyn Classifier,
        images: &Tensor<4>,
        labels: &[usize],
        seed: u64,
    ) -> Option<Vec<usize>> {
        let target = self.target?;
        Some(match target {
            Target::Class(class) => vec![class; labels.len()],
            Target::LeastLikely => ints(model.logits(images.clone()).argmin(1).squeeze_dim::<1>(1)),
            Target::Random => {
                let classes = model.num_classes();
                let mut rng = rng::generator(rng::derive(seed, &[0x7a67]));
                labels
                    .iter()
                    .map(|&y| {
                        let t = rng.random_range(0..classes - 1);
                        if t >= y { t + 1 } else { t }
                    })
                    .collect()
            }
        })
    }

    fn engine(&self) -> GradientSteps {
        let (loss, direction) = match (self.target, self.loss) {
            (None, loss) => (loss, Direction::Ascend),
            (Some(_), PointLoss::Margin) => (PointLoss::TargetMargin, Direction::Ascend),
            (Some(_), loss) => (loss, Direction::Descend),
        };
        GradientSteps::projected(
            loss,
            direction,
            self.threat.ball(),
            self.step_size,
            self.steps,
        )
        .with_momentum(self.momentum)
    }
}

impl Attack for Pgd {
    fn name(&self) -> String {
        self.label.clone()
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
        let label_values = ints(labels.clone());
        let targets = self.targets(model, images, &label_values, seed);
        let engine = self.engine();
        let mut tracker = FirstSuccess::new(label_values.clone(), images.clone());
        let mut non_finite_points = 0;
        let mut zero_gradient = vec![false; label_values.len()];
        for restart in 0..self.restarts {
            let remaining = tracker.remaining();
            if remaining.is_empty() {
                break;
            }
            let rows = index_tensor(&remaining, &device);
            let x = images.clone().select(0, rows.clone());
            let y: Vec<usize> = remaining.iter().map(|&i| label_values[i]).collect();
            let reference = match &targets {
                None => Reference::labels(label_tensor(&y, &device)),
                Some(targets) => {
                    let t: Vec<usize> = remaining.iter().map(|&i| targets[i]).collect();
                    match engine.loss {
                        PointLoss::TargetMargin => Reference::labels(label_tensor(&y, &device))
                            .with_targets(label_tensor(&t, &device)),
                        _ => Reference::labels(label_tensor(&t, &device)),
                    }
                }
            };
            let restart_seed = rng::derive(seed, &[restart as u64]);
            let start = if self.random_start {
                self.threat.random_start(&x, restart_seed)
            } else {
                x.clone()
            };
            let mut part = FirstSuccess::new(y, start.clone());
            let outcome = engine.run(
                model,
                start,
                Some(&x),
                &reference,
                restart_seed,
                &mut |visit| part.visit(visit.x, visit.logits.clone()),
            )?;
            part.visit_with(model, &outcome.x);
            part.settle(&outcome.x);
            non_finite_points += outcome.non_finite_points;
            for (&point, &zero) in remaining.iter().zip(&outcome.zero_gradient_start) {
                zero_gradient[point] |= zero;
            }
            tracker.absorb(&remaining, part);
        }
        Ok(AttackOutput {
            adversarial: tracker.into_found(),
            non_finite_points,
            zero_gradient_points: zero_gradient.iter().filter(|&&z| z).count(),
        })
    }
}
