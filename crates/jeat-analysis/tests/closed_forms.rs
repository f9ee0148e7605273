//! The analysis against a linear model, whose energies are known in closed form.

use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_analysis::{Directions, energies, eps_ball_outline, flatness, landscape, slice};
use jeat_models::Classifier;

/// Logits `[0, w·x]` on 1×2×2 images: `E(x, 1) = -w·x`, `E(x, 0) = 0`.
struct Linear {
    w: [f32; 4],
}

impl Classifier for Linear {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let device = images.device().without_autodiff();
        let [b, ..] = images.dims();
        let w = Tensor::<2>::from_data(TensorData::new(self.w.to_vec(), [4, 1]), &device);
        let s = images.reshape([b, 4]).matmul(w);
        Tensor::cat(vec![s.zeros_like(), s], 1)
    }

    fn num_classes(&self) -> usize {
        2
    }
}

fn linf(eps: f64) -> jeat_attacks::ThreatModel {
    jeat_attacks::ThreatModel::new(jeat_attacks::Norm::Linf, eps).unwrap()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

#[test]
fn the_landscape_of_a_linear_model_is_its_plane() {
    let device = jeat_core::testing::device();
    let model = Linear {
        w: [1.0, -2.0, 0.5, 3.0],
    };
    let x = [0.2f32, 0.4, 0.6, 0.8];
    let image = Tensor::<4>::from_data(TensorData::new(x.to_vec(), [1, 1, 2, 2]), &device);
    let directions = Directions::new([1, 2, 2], 1.0, 7, &device);
    let d1: Vec<f32> = directions.d1.clone().into_data().try_to_vec().unwrap();
    let d2: Vec<f32> = directions.d2.clone().into_data().try_to_vec().unwrap();
    assert!((dot(&d1, &d1) - 1.0).abs() < 1e-5, "unit directions");
    let land = landscape(&model, &image, 1, &directions, 5, 2.0, 7);
    for (k, value) in land.values.iter().enumerate() {
        let (a, b) = (-2.0 + (k % 5) as f64, -2.0 + (k / 5) as f64);
        let expected = -(dot(&model.w, &x) + a * dot(&model.w, &d1) + b * dot(&model.w, &d2));
        assert!(
            (value - expected).abs() < 1e-4,
            "grid point {k}: {value} vs {expected}"
        );
    }
    assert!((land.center() + dot(&model.w, &x)).abs() < 1e-5);
}

/// Sign directions have Linf norm eps, and their combinations the Linf norm `(|a| + |b|)·eps`
/// that makes the outlined diamond the eps-ball; a slice of a linear model is its line.
#[test]
fn sign_directions_make_the_diamond_the_eps_ball_and_slices_follow_the_line() {
    let device = jeat_core::testing::device();
    let directions = Directions::signed([1, 16, 16], 0.1, 3, &device);
    let d1: Vec<f32> = directions.d1.clone().into_data().try_to_vec().unwrap();
    let d2: Vec<f32> = directions.d2.clone().into_data().try_to_vec().unwrap();
    assert!(d1.iter().chain(&d2).all(|v| (v.abs() - 0.1).abs() < 1e-7));
    for (a, b) in eps_ball_outline()
        .into_iter()
        .chain([(0.5, 0.5), (-0.25, 0.75), (0.3, -0.7)])
    {
        let linf = d1
            .iter()
            .zip(&d2)
            .map(|(x, y)| (a * f64::from(*x) + b * f64::from(*y)).abs())
            .fold(0.0, f64::max);
        assert!(
            (linf - 0.1 * (f64::abs(a) + f64::abs(b))).abs() < 1e-7,
            "({a}, {b}): {linf}"
        );
    }

    let model = Linear {
        w: [1.0, -2.0, 0.5, 3.0],
    };
    let x = [0.2f32, 0.4, 0.6, 0.8];
    let d = [0.1f32, 0.1, -0.1, 0.1];
    let image = Tensor::<4>::from_data(TensorData::new(x.to_vec(), [1, 1, 2, 2]), &device);
    let direction = Tensor::<4>::from_data(TensorData::new(d.to_vec(), [1, 1, 2, 2]), &device);
    let line = slice(&model, &image, 1, &direction, 7, 3.0);
    assert_eq!(line.t, vec![-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]);
    for (t, value) in line.t.iter().zip(&line.values) {
        let expected = -(dot(&model.w, &x) + t * dot(&model.w, &d));
        assert!(
            (value - expected).abs() < 1e-5,
            "t = {t}: {value} vs {expected}"
        );
    }
}

#[test]
fn flatness_and_gap_of_a_linear_model_follow_its_weights() {
    let device = jeat_core::testing::device();
    let flat = Linear { w: [0.0; 4] };
    let steep = Linear {
        w: [4.0, -4.0, 4.0, -4.0],
    };
    let images = Tensor::<4>::full([8, 1, 2, 2], 0.5, &device);
    let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64; 8], [8]), &device);
    // The loss-maximising move for label 1 lowers w·x: -eps·sign(w).
    let adversarial = images.clone()
        - Tensor::<4>::from_data(
            TensorData::new([1.0f32, -1.0, 1.0, -1.0].repeat(8), [8, 1, 2, 2]),
            &device,
        ) * 0.1;
    let zero = flatness(&flat, &images, &labels, &adversarial, &linf(0.1), 4, 0);
    assert_eq!((zero.random_change, zero.adversarial_gap), (0.0, 0.0));
    let steep_numbers = flatness(&steep, &images, &labels, &adversarial, &linf(0.1), 4, 0);
    // Gap: E(x_adv, 1) - E(x, 1) = w·(x - x_adv) = 0.1 · ‖w‖₁ = 1.6.
    assert!(
        (steep_numbers.adversarial_gap - 1.6).abs() < 1e-4,
        "{steep_numbers:?}"
    );
    // Random moves change the energy by less than the worst case, and by something.
    assert!(steep_numbers.random_change > 0.05 && steep_numbers.random_change < 1.6);
    // Per point: every point's gap is the closed form, the changes average to the mean, and
    // eight equal images have no spread of energies.
    assert_eq!(steep_numbers.adversarial_gap_per_point.len(), 8);
    assert!(
        steep_numbers
            .adversarial_gap_per_point
            .iter()
            .all(|g| (g - 1.6).abs() < 1e-4)
    );
    let per_point = &steep_numbers.random_change_per_point;
    let mean = per_point.iter().sum::<f64>() / per_point.len() as f64;
    assert!((mean - steep_numbers.random_change).abs() < 1e-12);
    assert!(
        per_point.iter().any(|c| (c - mean).abs() > 1e-3),
        "{per_point:?}"
    );
    assert!(steep_numbers.energy_spread.abs() < 1e-6);
    let e = energies(&steep, images, labels);
    assert!(
        e.joint.iter().all(|&v| v.abs() < 1e-6),
        "w·x = 0 at the grey image"
    );
}
