//! Attacks against models whose answers are known in closed form.

mod common;

use burn::prelude::*;
use common::{LinearBinary, floats, images, labels};
use jeat_attacks::apgd::Apgd;
use jeat_attacks::fab::FabTargeted;
use jeat_attacks::pgd::Pgd;
use jeat_attacks::runner::{Evaluation, evaluate};
use jeat_attacks::sanity::SanityFlag;
use jeat_attacks::square::Square;
use jeat_attacks::suite::Suite;
use jeat_attacks::{Attack, Norm, ThreatModel};
use jeat_core::PointSource;
use jeat_core::rng;
use rand::Rng;

const SIDE: usize = 4;
const N: usize = SIDE * SIDE;

fn weights(seed: u64) -> Vec<f32> {
    let mut rng = rng::generator(seed);
    (0..N)
        .map(|_| {
            let magnitude = rng.random_range(0.5..1.0f32);
            if rng.random::<bool>() {
                magnitude
            } else {
                -magnitude
            }
        })
        .collect()
}

/// Points inside [0.3, 0.7] so that an eps-step never meets the box.
fn interior_points(count: usize, seed: u64) -> Vec<f32> {
    let mut rng = rng::generator(seed);
    (0..count * N)
        .map(|_| rng.random_range(0.3..0.7f32))
        .collect()
}

/// Against a linear classifier the loss-maximising Linf perturbation is `-eps · sign(w)` for
/// label 1 (it lowers `w·x` as much as the ball allows). Points far from the boundary stay
/// robust, so FGSM and PGD return the last point they reached: the optimum itself.
#[test]
fn fgsm_and_pgd_find_the_optimal_linf_perturbation_of_a_linear_model() {
    let device = jeat_core::testing::device();
    let w = weights(1);
    let count = 6;
    let x = interior_points(count, 2);
    let eps = 0.05f32;
    let model = LinearBinary {
        b: 10.0 + eps * w.iter().map(|v| v.abs()).sum::<f32>(),
        w: w.clone(),
        quantum: None,
    };
    let threat = ThreatModel::new(Norm::Linf, f64::from(eps)).unwrap();
    let attacks: Vec<Box<dyn Attack>> = vec![
        Box::new(Pgd::fgsm(threat.clone())),
        Box::new(Pgd::madry(threat.clone(), 20)),
    ];
    let clean = images(x.clone(), count, SIDE, &device);
    let y = labels(&vec![1; count], &device);
    for attack in attacks {
        let adversarial = floats(attack.run(&model, &clean, &y, 7).unwrap().adversarial);
        for (i, (a, c)) in adversarial.iter().zip(&x).enumerate() {
            let optimal = c - eps * w[i % N].signum();
            assert!(
                (a - optimal).abs() < 1e-5,
                "{}: coordinate {i}: {a} vs optimum {optimal}",
                attack.name()
            );
        }
    }
}

/// A linear model is fooled inside the Linf ball exactly where `w·x + b - eps·‖w‖₁ < 0`. With
/// the bias set so that half the points sit just inside that margin and half just outside,
/// APGD-CE must fool exactly the first half (and, as the reference, return the clean point for
/// the others).
#[test]
fn apgd_fools_exactly_the_points_whose_optimum_crosses_the_boundary() {
    let device = jeat_core::testing::device();
    let w = weights(5);
    let count = 8;
    let x = interior_points(count, 6);
    let eps = 0.05f32;
    let l1: f32 = w.iter().map(|v| v.abs()).sum();
    // One bias for all: between the 4th and 5th smallest reachable minimum of the score.
    let scores: Vec<f32> = x
        .chunks(N)
        .map(|p| p.iter().zip(&w).map(|(a, b)| a * b).sum())
        .collect();
    let mut sorted = scores.clone();
    sorted.sort_by(f32::total_cmp);
    let b = eps * l1 - 0.5 * (sorted[3] + sorted[4]);
    let model = LinearBinary {
        b,
        w: w.clone(),
        quantum: None,
    };
    let crosses: Vec<bool> = scores.iter().map(|s| s + b - eps * l1 < 0.0).collect();
    assert_eq!(crosses.iter().filter(|&&c| c).count(), 4);
    assert!(
        scores.iter().all(|s| s + b > 0.0),
        "every point clean-correct"
    );
    let threat = ThreatModel::new(Norm::Linf, f64::from(eps)).unwrap();
    let clean = images(x.clone(), count, SIDE, &device);
    let y = labels(&vec![1; count], &device);
    let attack = Apgd {
        iterations: 20,
        ..Apgd::ce(threat)
    };
    let adversarial = floats(attack.run(&model, &clean, &y, 7).unwrap().adversarial);
    for (p, (adv, orig)) in adversarial.chunks(N).zip(x.chunks(N)).enumerate() {
        let fooled = model.score(adv) < 0.0;
        assert_eq!(fooled, crosses[p], "point {p}");
        let size = adv
            .iter()
            .zip(orig)
            .fold(0f32, |m, (a, o)| m.max((a - o).abs()));
        if fooled {
            assert!(size <= eps + 1e-6, "point {p} left the ball: {size}");
        } else {
            assert_eq!(adv, orig, "point {p}: a robust point is returned unchanged");
        }
    }
}

/// FAB looks for the smallest perturbation: for a linear model the smallest Linf distance to the
/// boundary is `s / ‖w‖₁` (box not binding).
#[test]
fn fab_t_finds_the_minimal_linf_distance_to_a_linear_boundary() {
    let device = jeat_core::testing::device();
    let w = weights(3);
    let count = 8;
    let x = interior_points(count, 4);
    let mut model = LinearBinary {
        w: w.clone(),
        b: 0.0,
        quantum: None,
    };
    // Shift so that every point is classified 1 with a margin below eps · ‖w‖₁.
    let eps = 0.05f32;
    let scores: Vec<f32> = x.chunks(N).map(|p| model.score(p)).collect();
    let low = scores.iter().cloned().fold(f32::INFINITY, f32::min);
    model.b = -low + 0.1 * eps * model.l1();
    let threat = ThreatModel::new(Norm::Linf, f64::from(eps)).unwrap();
    let fab = FabTargeted {
        iterations: 50,
        ..FabTargeted::standard(threat)
    };
    let clean = images(x.clone(), count, SIDE, &device);
    let adversarial = floats(
        fab.run(&model, &clean, &labels(&vec![1; count], &device), 0)
            .unwrap()
            .adversarial,
    );
    for (p, (adv, orig)) in adversarial.chunks(N).zip(x.chunks(N)).enumerate() {
        let optimum = model.score(orig) / model.l1();
        let distance = adv
            .iter()
            .zip(orig)
            .fold(0f32, |m, (a, o)| m.max((a - o).abs()));
        if optimum < eps {
            assert!(model.score(adv) < 0.0, "point {p} not fooled");
            assert!(
                distance <= optimum * 1.06 + 1e-4,
                "point {p}: {distance} vs minimal {optimum}"
            );
            assert!(
                distance >= optimum * 0.999 - 1e-5,
                "point {p}: {distance} below the minimum {optimum}"
            );
        }
    }
}

struct Points {
    x: Vec<f32>,
    y: Vec<i64>,
}

impl PointSource for Points {
    fn len(&self) -> usize {
        self.y.len()
    }

    fn load(&self, indices: &[usize]) -> (Tensor<4>, Tensor<1, Int>) {
        let device = jeat_core::testing::device();
        let x: Vec<f32> = indices
            .iter()
            .flat_map(|&i| self.x[i * N..(i + 1) * N].to_vec())
            .collect();
        let y: Vec<i64> = indices.iter().map(|&i| self.y[i]).collect();
        (images(x, indices.len(), SIDE, &device), labels(&y, &device))
    }
}

/// A quantised linear model has zero gradients everywhere: a gradient attack cannot move (FGSM
/// has no random start to luck into a success), the sanity checks say so, and the black-box
/// Square attack still fools points.
#[test]
fn a_gradient_masked_model_is_flagged_and_square_still_fools_it() {
    let w = weights(5);
    let count = 40;
    let x = interior_points(count, 6);
    let eps = 0.1f32;
    let mut model = LinearBinary {
        w,
        b: 0.0,
        quantum: Some(0.05),
    };
    let scores: Vec<f32> = x.chunks(N).map(|p| model.score(p)).collect();
    let mean = scores.iter().sum::<f32>() / count as f32;
    model.b = -mean;
    let y: Vec<i64> = x
        .chunks(N)
        .map(|p| i64::from(model.score(p) > 0.1))
        .collect();
    let points = Points { x, y };
    let evaluation = Evaluation {
        suite: Suite::parse("fgsm,square-300").unwrap(),
        threat: ThreatModel::new(Norm::Linf, f64::from(eps)).unwrap(),
        batch_size: 16,
        seed: 0,
        identity: "masked linear model".into(),
        state_path: None,
        keep_adversarial: false,
    };
    let report = evaluate(&evaluation, &model, &points, &mut |_| {}).unwrap();
    assert_eq!(report.attacks[0].fooled, 0, "FGSM moved without gradients");
    // Every clean-correct point started FGSM from a zero gradient: counted, not kept silently.
    let attacked = report.attacks[0].attacked;
    assert!(attacked > 0);
    assert_eq!(report.attacks[0].zero_gradient_points, attacked);
    assert!(report.flags.iter().any(|f| matches!(
        f,
        SanityFlag::ZeroGradientsInAttack { attack, points } if attack == "fgsm" && *points == attacked
    )));
    assert!(
        report.attacks[1].fooled > 0,
        "Square fooled nothing: {}",
        report.to_text()
    );
    assert!(
        report
            .flags
            .iter()
            .any(|f| matches!(f, SanityFlag::ZeroGradients { .. })),
        "{:?}",
        report.flags
    );
    assert!(
        report
            .flags
            .iter()
            .any(|f| matches!(f, SanityFlag::SquareAfterWhiteBox { .. })),
        "{:?}",
        report.flags
    );
    assert!(report.max_perturbation <= f64::from(eps) + 1e-6);
}

#[test]
fn square_l2_stays_in_its_ball_and_lowers_the_margin() {
    let device = jeat_core::testing::device();
    let w = weights(8);
    let count = 10;
    let x = interior_points(count, 9);
    let model = LinearBinary {
        b: 0.0
            - x.chunks(N)
                .map(|p| w.iter().zip(p).map(|(a, b)| a * b).sum::<f32>())
                .fold(f32::INFINITY, f32::min)
            + 0.05,
        w,
        quantum: None,
    };
    let threat = ThreatModel::new(Norm::L2, 0.5).unwrap();
    let square = Square {
        queries: 200,
        ..Square::standard(threat)
    };
    let clean = images(x.clone(), count, SIDE, &device);
    let adversarial = floats(
        square
            .run(&model, &clean, &labels(&vec![1; count], &device), 3)
            .unwrap()
            .adversarial,
    );
    let mut fooled = 0;
    for (adv, orig) in adversarial.chunks(N).zip(x.chunks(N)) {
        let norm = adv
            .iter()
            .zip(orig)
            .map(|(a, o)| (a - o).powi(2))
            .sum::<f32>()
            .sqrt();
        assert!(norm <= 0.5 + 1e-5, "left the L2 ball: {norm}");
        assert!(
            model.score(adv) <= model.score(orig) + 1e-6,
            "the margin rose"
        );
        fooled += usize::from(model.score(adv) < 0.0);
    }
    assert!(fooled > 0);
}
