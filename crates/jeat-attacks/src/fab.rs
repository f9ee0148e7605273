//! FAB-T, the targeted Fast Adaptive Boundary attack (Croce & Hein 2020), as AutoAttack runs it:
//! for each of the top-2 … top-(n+1) classes `t`, 100 iterations that linearise the boundary
//! `z_t = z_y` at the current point, project both the current point and the original onto that
//! hyperplane (minimal-norm projections inside the [0, 1] box), move to a weighted combination
//! with overshoot, and step back towards the original after every success. It looks for the
//! smallest perturbation; only those within eps count.
//!
//! The projections run on the host, one point at a time, in f64.

use crate::attack::{Attack, AttackOutput, RunResult, over_robust_points};
use crate::error::AttackError;
use burn::prelude::*;
use jeat_core::host::{floats, from_rows, ints, label_tensor, predictions, rows};
use jeat_core::rng;
use jeat_energy::{PointLoss, Reference};
use jeat_engine::steps::{gradient, zero_gradient_points, zero_non_finite};
use jeat_engine::threat::{Norm, ThreatModel};
use jeat_models::Classifier;

/// The targeted FAB attack.
#[derive(Debug, Clone, PartialEq)]
pub struct FabTargeted {
    /// The threat model (FAB minimises the norm; eps decides what counts).
    pub threat: ThreatModel,
    /// Target classes, top-2 … top-(targets + 1) (9 in AutoAttack).
    pub targets: usize,
    /// Iterations per target (100).
    pub iterations: usize,
    /// Runs per target; runs after the first start at a random point (1 in AutoAttack).
    pub restarts: usize,
    /// Largest weight of the original point in the combination (0.1).
    pub alpha_max: f64,
    /// Overshoot of the projections (1.05).
    pub eta: f64,
    /// Step back towards the original after a success (0.9).
    pub beta: f64,
}

impl FabTargeted {
    /// FAB-T with AutoAttack's standard parameters.
    pub fn standard(threat: ThreatModel) -> Self {
        Self {
            threat,
            targets: 9,
            iterations: 100,
            restarts: 1,
            alpha_max: 0.1,
            eta: 1.05,
            beta: 0.9,
        }
    }

    fn norm_of(&self, v: impl Iterator<Item = f64>) -> f64 {
        match self.threat.norm {
            Norm::Linf => v.fold(0.0, |m, x| m.max(x.abs())),
            Norm::L2 => v.map(|x| x * x).sum::<f64>().sqrt(),
        }
    }

    /// One run against `targets`: the points it fooled within eps, their smallest fooling
    /// perturbations, and the points with a non-finite or an all-zero starting gradient.
    fn single_run(
        &self,
        model: &dyn Classifier,
        x: &Tensor<4>,
        labels: &[usize],
        targets: &[usize],
        random_start: Option<u64>,
    ) -> Result<RunResult, AttackError> {
        let device = x.device();
        let dims = x.dims();
        let reference = Reference::labels(label_tensor(labels, &device))
            .with_targets(label_tensor(targets, &device));
        let originals = rows(x.clone());
        let mut current = match random_start {
            None => originals.clone(),
            Some(seed) => {
                let start = match self.threat.norm {
                    Norm::Linf => rng::uniform(dims, -1.0, 1.0, seed, &device),
                    Norm::L2 => rng::normal(dims, 1.0, seed, &device),
                };
                let scale = self
                    .threat
                    .norm
                    .per_point(start.clone())
                    .reshape([dims[0], 1, 1, 1]);
                rows((x.clone() + start / scale * (0.5 * self.threat.eps)).clamp(0.0, 1.0))
            }
        };
        let mut best = originals.clone();
        let mut distance = vec![f64::INFINITY; dims[0]];
        let mut non_finite = 0;
        let mut zero_gradient = vec![false; dims[0]];
        for iteration in 0..self.iterations {
            let evaluated = gradient(
                model,
                &from_rows(&current, dims, &device),
                PointLoss::TargetMargin,
                &reference,
            )?;
            let (grad, bad) = zero_non_finite(evaluated.grad, &evaluated.loss);
            non_finite += bad;
            if iteration == 0 {
                zero_gradient = zero_gradient_points(&grad);
            }
            let margins = floats(evaluated.loss);
            let grads = rows(grad);
            for p in 0..dims[0] {
                let w = &grads[p];
                let b = w
                    .iter()
                    .zip(&current[p])
                    .map(|(&wi, &xi)| f64::from(wi) * f64::from(xi))
                    .sum::<f64>()
                    - f64::from(margins[p]);
                let to_current = project_onto_hyperplane(self.threat.norm, &current[p], w, b);
                let to_original = project_onto_hyperplane(self.threat.norm, &originals[p], w, b);
                let a1 = self.norm_of(to_current.iter().copied()).max(1e-8);
                let a2 = self.norm_of(to_original.iter().copied()).max(1e-8);
                let alpha = (a1 / (a1 + a2)).clamp(0.0, self.alpha_max);
                for i in 0..current[p].len() {
                    let from_current = f64::from(current[p][i]) + self.eta * to_current[i];
                    let from_original = f64::from(originals[p][i]) + self.eta * to_original[i];
                    current[p][i] = ((1.0 - alpha) * from_current + alpha * from_original)
                        .clamp(0.0, 1.0) as f32;
                }
            }
            let predicted = predictions(model.logits(from_rows(&current, dims, &device)));
            for p in 0..dims[0] {
                if predicted[p] == labels[p] {
                    continue;
                }
                let d = self.norm_of(
                    current[p]
                        .iter()
                        .zip(&originals[p])
                        .map(|(&c, &o)| f64::from(c) - f64::from(o)),
                );
                if d < distance[p] {
                    distance[p] = d;
                    best[p].clone_from(&current[p]);
                }
                for (c, &o) in current[p].iter_mut().zip(&originals[p]) {
                    *c = o + (*c - o) * self.beta as f32;
                }
            }
        }
        Ok(RunResult {
            fooled: distance.iter().map(|&d| d <= self.threat.eps).collect(),
            candidates: from_rows(&best, dims, &device),
            non_finite_points: non_finite,
            zero_gradient,
        })
    }
}

/// The smallest `d` (in `norm`) with `w · (t + d) = b` and `t + d` in [0, 1]; where no such `d`
/// exists, the box corner that goes furthest towards the hyperplane.
pub fn project_onto_hyperplane(norm: Norm, t: &[f32], w: &[f32], b: f64) -> Vec<f64> {
    let n = t.len();
    let mut needed = b - w
        .iter()
        .zip(t)
        .map(|(&wi, &ti)| f64::from(wi) * f64::from(ti))
        .sum::<f64>();
    // Orient so that the hyperplane lies in the direction of increasing w · z.
    let orientation = if needed < 0.0 { -1.0 } else { 1.0 };
    needed *= orientation;
    if needed == 0.0 {
        return vec![0.0; n];
    }
    // Coordinate i moves by s_i · u, s_i = sign(w_i), up to `room_i` before leaving the box.
    let mut moves: Vec<(f64, f64, usize)> = Vec::with_capacity(n); // (|w_i|, room_i, i)
    for i in 0..n {
        let wi = orientation * f64::from(w[i]);
        if wi != 0.0 {
            let room = if wi > 0.0 {
                1.0 - f64::from(t[i])
            } else {
                f64::from(t[i])
            };
            moves.push((wi.abs(), room.max(0.0), i));
        }
    }
    let signed = |i: usize, amount: f64| {
        if orientation * f64::from(w[i]) > 0.0 {
            amount
        } else {
            -amount
        }
    };
    let mut d = vec![0.0; n];
    let capacity: f64 = moves.iter().map(|(a, r, _)| a * r).sum();
    if capacity <= needed {
        for &(_, room, i) in &moves {
            d[i] = signed(i, room);
        }
        return d;
    }
    match norm {
        Norm::Linf => {
            // g(λ) = Σ |w_i| · min(λ, room_i) rises piecewise linearly; find g(λ) = needed.
            moves.sort_by(|a, b| a.1.total_cmp(&b.1));
            let mut saturated = 0.0; // Σ |w_i| room_i over saturated coordinates
            let mut free: f64 = moves.iter().map(|m| m.0).sum(); // Σ |w_i| over the others
            let mut lambda = 0.0;
            for &(abs_w, room, _) in &moves {
                if saturated + free * room >= needed {
                    lambda = (needed - saturated) / free;
                    break;
                }
                saturated += abs_w * room;
                free -= abs_w;
            }
            for &(_, room, i) in &moves {
                d[i] = signed(i, lambda.min(room));
            }
        }
        Norm::L2 => {
            // d_i = s_i · min(μ |w_i|, room_i): coordinate i saturates at μ_i = room_i / |w_i|.
            // g(μ) = μ Σ_free w_i² + Σ_saturated |w_i| room_i.
            moves.sort_by(|a, b| (a.1 / a.0).total_cmp(&(b.1 / b.0)));
            let mut saturated = 0.0;
            let mut free: f64 = moves.iter().map(|m| m.0 * m.0).sum();
            let mut mu = 0.0;
            for &(abs_w, room, _) in &moves {
                let mu_i = room / abs_w;
                if saturated + free * mu_i >= needed {
                    mu = (needed - saturated) / free;
                    break;
                }
                saturated += abs_w * room;
                free -= abs_w * abs_w;
            }
            for &(abs_w, room, i) in &moves {
                d[i] = signed(i, (mu * abs_w).min(room));
            }
        }
    }
    d
}

impl Attack for FabTargeted {
    fn name(&self) -> String {
        "fab-t".into()
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
        let label_values = ints(labels.clone());
        let available = model.num_classes().saturating_sub(1);
        let ranks: Vec<Option<usize>> = (2..=self.targets.min(available) + 1).map(Some).collect();
        over_robust_points(
            model,
            images,
            &label_values,
            &ranks,
            self.restarts,
            seed,
            |run| {
                let targets = run.targets.as_deref().expect("FAB-T rounds are targeted");
                // As in the reference, the first run starts at the clean point.
                let start = (run.restart > 0).then_some(run.seed);
                self.single_run(model, run.x, run.labels, targets, start)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// The optimum by bisection on the norm budget: the answer the sorted scan must match.
    fn bisect(norm: Norm, t: &[f32], w: &[f32], b: f64) -> f64 {
        let reach = |budget: f64| -> f64 {
            // Largest w · d with ‖d‖ ≤ budget, Linf: per coordinate; L2 approximated by μ-bisection.
            match norm {
                Norm::Linf => w
                    .iter()
                    .zip(t)
                    .map(|(&wi, &ti)| {
                        let room = if wi > 0.0 { 1.0 - ti } else { ti };
                        f64::from(wi.abs()) * budget.min(f64::from(room))
                    })
                    .sum(),
                Norm::L2 => unreachable!(),
            }
        };
        let needed = b - w
            .iter()
            .zip(t)
            .map(|(&a, &c)| f64::from(a) * f64::from(c))
            .sum::<f64>();
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..100 {
            let mid = (lo + hi) / 2.0;
            if reach(mid) >= needed {
                hi = mid
            } else {
                lo = mid
            }
        }
        hi
    }

    #[test]
    fn projections_land_on_the_hyperplane_in_the_box_at_minimal_norm() {
        let mut rng = rng::generator(3);
        for trial in 0..200 {
            let n = 1 + trial % 20;
            let t: Vec<f32> = (0..n).map(|_| rng.random_range(0.0..1.0)).collect();
            let w: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let dot: f64 = w
                .iter()
                .zip(&t)
                .map(|(&a, &c)| f64::from(a) * f64::from(c))
                .sum();
            let b = dot + rng.random_range(-0.3..0.3);
            let capacity: f64 = w
                .iter()
                .zip(&t)
                .map(|(&wi, &ti)| {
                    f64::from(wi.max(0.0)) * (1.0 - f64::from(ti))
                        - f64::from(wi.min(0.0)) * f64::from(ti)
                })
                .sum();
            for norm in [Norm::Linf, Norm::L2] {
                let d = project_onto_hyperplane(norm, &t, &w, b);
                for (di, &ti) in d.iter().zip(&t) {
                    let z = f64::from(ti) + di;
                    assert!((-1e-12..=1.0 + 1e-12).contains(&z), "left the box: {z}");
                }
                let reached: f64 = w
                    .iter()
                    .zip(&t)
                    .zip(&d)
                    .map(|((&wi, &ti), di)| f64::from(wi) * (f64::from(ti) + di))
                    .sum();
                if b > dot && b - dot < capacity {
                    assert!((reached - b).abs() < 1e-9, "{norm:?}: {reached} vs {b}");
                    if norm == Norm::Linf {
                        let linf = d.iter().fold(0f64, |m, v| m.max(v.abs()));
                        assert!(
                            (linf - bisect(norm, &t, &w, b)).abs() < 1e-9,
                            "not minimal: {linf}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn l2_projection_without_box_limits_is_the_euclidean_projection() {
        // Far from the box walls the box is inactive: d = (b - w·t) w / ‖w‖².
        let t = [0.5f32, 0.5, 0.5];
        let w = [0.3f32, -0.4, 0.1];
        let b = 0.05 + 0.5 * 0.0;
        let d = project_onto_hyperplane(Norm::L2, &t, &w, b);
        let dot: f64 = w
            .iter()
            .zip(&t)
            .map(|(&a, &c)| f64::from(a) * f64::from(c))
            .sum();
        let scale = (b - dot) / w.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>();
        for (di, &wi) in d.iter().zip(&w) {
            assert!((di - scale * f64::from(wi)).abs() < 1e-12, "{d:?}");
        }
    }
}
