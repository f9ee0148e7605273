//! The analysis against a linear model, whose energies are known in closed form.

use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_analysis::{Directions, energies, flatness, landscape};
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
    let e = energies(&steep, images, labels);
    assert!(
        e.joint.iter().all(|&v| v.abs() < 1e-6),
        "w·x = 0 at the grey image"
    );
}
