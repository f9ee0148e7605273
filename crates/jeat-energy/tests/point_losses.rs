//! Per-point losses against hand-computed values and finite differences.

use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_energy::{PointLoss, Reference};

fn logits(device: &Device) -> Tensor<2> {
    // Row 0: label 1 is second best; row 1: label 0 is the top logit.
    Tensor::from_data(
        TensorData::new(vec![3.0f32, 2.0, 0.5, -1.0, 4.0, 1.0, 0.0, -2.0], [2, 4]),
        device,
    )
}

fn ints(values: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

fn values(t: Tensor<1>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * y.abs().max(1.0), "{a:?} vs {b:?}");
    }
}

#[test]
fn losses_equal_their_formulas_on_a_fixed_table() {
    let device = jeat_core::testing::device();
    let reference = Reference::labels(ints(&[1, 0], &device)).with_targets(ints(&[3, 2], &device));
    let z = [[3.0f64, 2.0, 0.5, -1.0], [4.0, 1.0, 0.0, -2.0]];
    let lse = |r: &[f64; 4]| r.iter().map(|v| v.exp()).sum::<f64>().ln();

    let ce = values(PointLoss::CrossEntropy.per_point(logits(&device), &reference));
    close(&ce, &[lse(&z[0]) - 2.0, lse(&z[1]) - 4.0], 1e-6);

    let margin = values(PointLoss::Margin.per_point(logits(&device), &reference));
    close(&margin, &[3.0 - 2.0, 1.0 - 4.0], 1e-6);

    // DLR: -(z_y - max_{j≠y} z_j) / (z_π1 - z_π3).
    let dlr = values(PointLoss::Dlr.per_point(logits(&device), &reference));
    close(
        &dlr,
        &[-(2.0 - 3.0) / (3.0 - 0.5), -(4.0 - 1.0) / (4.0 - 0.0)],
        1e-6,
    );

    // Targeted DLR: -(z_y - z_t) / (z_π1 - (z_π3 + z_π4) / 2).
    let tdlr = values(PointLoss::TargetedDlr.per_point(logits(&device), &reference));
    close(
        &tdlr,
        &[
            -(2.0 - -1.0) / (3.0 - (0.5 - 1.0) / 2.0),
            -(4.0 - 0.0) / (4.0 - (0.0 - 2.0) / 2.0),
        ],
        1e-6,
    );

    let target_margin = values(PointLoss::TargetMargin.per_point(logits(&device), &reference));
    close(&target_margin, &[-1.0 - 2.0, 0.0 - 4.0], 1e-6);

    let e_joint = values(PointLoss::JointEnergy.per_point(logits(&device), &reference));
    close(&e_joint, &[-2.0, -4.0], 1e-6);
    let e_marginal = values(PointLoss::MarginalEnergy.per_point(logits(&device), &reference));
    close(&e_marginal, &[-lse(&z[0]), -lse(&z[1])], 1e-6);
}

#[test]
fn kl_to_clean_is_zero_at_the_clean_point_and_matches_the_formula() {
    let device = jeat_core::testing::device();
    let clean = burn::tensor::activation::softmax(logits(&device), 1);
    let reference = Reference::labels(ints(&[1, 0], &device)).with_clean_probs(clean.clone());
    let at_clean = values(PointLoss::KlToClean.per_point(logits(&device), &reference));
    close(&at_clean, &[0.0, 0.0], 1e-6);
    let shifted = Tensor::<2>::from_data(TensorData::new(vec![0.0f32; 8], [2, 4]), &device);
    let kl = values(PointLoss::KlToClean.per_point(shifted, &reference));
    let p: Vec<f64> = clean.into_data().convert::<f64>().try_to_vec().unwrap();
    let expected: Vec<f64> = p
        .chunks(4)
        .map(|row| row.iter().map(|&pi| pi * (pi / 0.25).ln()).sum())
        .collect();
    close(&kl, &expected, 1e-5);
}

/// The analytic gradient of each loss against central differences in f64-ish precision.
#[test]
fn gradients_match_finite_differences() {
    let device = jeat_core::testing::device();
    let ad = device.clone().autodiff();
    let base: Vec<f32> = vec![0.3, -0.7, 1.1, 0.2, 0.9, 0.1, -0.4, 0.6];
    let reference = |d: &Device| {
        Reference::labels(ints(&[2, 0], d))
            .with_targets(ints(&[3, 1], d))
            .with_clean_probs(burn::tensor::activation::softmax(
                Tensor::<2>::from_data(
                    TensorData::new(vec![0.1f32, 0.5, -0.2, 0.0, 1.0, 0.0, 0.2, -1.0], [2, 4]),
                    d,
                ),
                1,
            ))
    };
    for loss in [
        PointLoss::CrossEntropy,
        PointLoss::Margin,
        PointLoss::Dlr,
        PointLoss::TargetedDlr,
        PointLoss::TargetMargin,
        PointLoss::KlToClean,
        PointLoss::MarginalEnergy,
        PointLoss::JointEnergy,
    ] {
        let z = Tensor::<2>::from_data(TensorData::new(base.clone(), [2, 4]), &ad).require_grad();
        let grads = loss.per_point(z.clone(), &reference(&ad)).sum().backward();
        let analytic: Vec<f32> = z.grad(&grads).unwrap().into_data().try_to_vec().unwrap();
        let eval = |v: Vec<f32>| -> f64 {
            let t = Tensor::<2>::from_data(TensorData::new(v, [2, 4]), &device);
            values(loss.per_point(t, &reference(&device))).iter().sum()
        };
        let h = 1e-2f32;
        for i in 0..base.len() {
            let (mut up, mut down) = (base.clone(), base.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = (eval(up) - eval(down)) / (2.0 * f64::from(h));
            assert!(
                (numeric - f64::from(analytic[i])).abs() < 2e-3,
                "{}: d/dz[{i}] analytic {} numeric {numeric}",
                loss.name(),
                analytic[i]
            );
        }
    }
}

/// EB-JDAT's attack loss by hand: `z_y + ‖z/‖z‖ − c/‖c‖‖²`, and refused without clean logits.
#[test]
fn true_logit_drift_is_the_true_logit_plus_the_normalised_logits_drift() {
    let device = jeat_core::testing::device();
    let z = [[3.0f64, 2.0, 0.5, -1.0], [4.0, 1.0, 0.0, -2.0]];
    let c = [[1.0f64, 1.0, 1.0, 1.0], [0.0, 3.0, 0.0, 4.0]];
    let labels = [1usize, 0];
    let unit = |v: &[f64; 4]| {
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.map(|x| x / n)
    };
    let expected: Vec<f64> = (0..2)
        .map(|i| {
            let (a, b) = (unit(&z[i]), unit(&c[i]));
            z[i][labels[i]] + (0..4).map(|k| (a[k] - b[k]).powi(2)).sum::<f64>()
        })
        .collect();
    let clean = Tensor::<2>::from_data(
        TensorData::new(c.iter().flatten().map(|&v| v as f32).collect(), [2, 4]),
        &device,
    );
    let reference = Reference::labels(ints(&[1, 0], &device));
    assert!(PointLoss::TrueLogitDrift.missing(&reference, 4).is_some());
    let reference = reference.with_clean_logits(clean);
    assert!(PointLoss::TrueLogitDrift.missing(&reference, 4).is_none());
    let ours = values(PointLoss::TrueLogitDrift.per_point(logits(&device), &reference));
    close(&ours, &expected, 1e-6);
}
