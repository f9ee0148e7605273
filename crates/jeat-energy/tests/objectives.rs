//! The training objectives: their losses, what their gradients do, their configs.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use jeat_energy::{
    JeatLoss, Objective, ObjectiveError, ObjectiveInputs, Part, joint_energy, marginal_energy,
};

/// A linear classifier of flattened 1×4×4 images: the smallest model with real gradients.
#[derive(Module, Debug)]
struct Tiny {
    linear: Linear,
}

impl Tiny {
    fn new(device: &Device) -> Self {
        Self {
            linear: LinearConfig::new(16, 5).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.linear.forward(x.flatten(1, 3))
    }
}

fn images(n: usize, seed: u64, device: &Device) -> Tensor<4> {
    device.seed(seed);
    Tensor::random([n, 1, 4, 4], Distribution::Uniform(0.0, 1.0), device)
}

fn labels(n: usize, device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(
        TensorData::new((0..n as i64).map(|i| i % 5).collect::<Vec<_>>(), [n]),
        device,
    )
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f64>()
}

fn jeat() -> Objective {
    Objective::Jeat(JeatLoss::default())
}

#[test]
fn standard_loss_equals_burns_cross_entropy() {
    let device = jeat_core::testing::device();
    let model = Tiny::new(&device);
    let (x, y) = (images(8, 1, &device), labels(8, &device));
    let parts = Objective::Standard
        .loss(
            |x| model.forward(x),
            |x| model.forward(x),
            ObjectiveInputs {
                images: x.clone(),
                labels: y.clone(),
                adversarial: None,
                samples: None,
                joint_samples: None,
            },
        )
        .unwrap();
    let burns = burn::nn::loss::CrossEntropyLossConfig::new()
        .init(&device)
        .forward(model.forward(x), y);
    let (ours, burns) = (scalar(parts.total), scalar(burns));
    assert!((ours - burns).abs() < 1e-6, "{ours} vs {burns}");
    assert_eq!(parts.parts[0].0, Part::CeClean);
}

/// With lambda = 1 the JEAT loss is E(x_adv, y) - E(x_hat): one small SGD step must lower the
/// joint energy of the adversarial points and raise the marginal energy of the samples.
#[test]
fn one_jeat_step_lowers_adversarial_joint_energy_and_raises_sample_energy() {
    let device = jeat_core::testing::device().autodiff();
    let mut model = Tiny::new(&device);
    let (x_adv, y, x_hat) = (
        images(16, 2, &device),
        labels(16, &device),
        images(16, 3, &device),
    );
    let measure = |model: &Tiny| {
        let valid = model.valid();
        (
            scalar(
                joint_energy(
                    valid.forward(x_adv.clone().without_autodiff()),
                    y.clone().without_autodiff(),
                )
                .mean(),
            ),
            scalar(marginal_energy(valid.forward(x_hat.clone().without_autodiff())).mean()),
        )
    };
    let (joint_before, sample_before) = measure(&model);
    let parts = jeat()
        .loss(
            |x| model.forward(x),
            |x| model.forward(x),
            ObjectiveInputs {
                images: images(16, 4, &device),
                labels: y.clone(),
                adversarial: Some(x_adv.clone()),
                samples: Some(x_hat.clone()),
                joint_samples: None,
            },
        )
        .unwrap();
    let names: Vec<&str> = parts.parts.iter().map(|(p, _)| p.name()).collect();
    assert_eq!(names, ["ce_adv", "e_adv", "e_sample"]);
    let grads = GradientsParams::from_grads(parts.total.backward(), &model);
    model = SgdConfig::new().init().step(0.05, model, grads);
    let (joint_after, sample_after) = measure(&model);
    assert!(
        joint_after < joint_before,
        "E(x_adv, y): {joint_before} -> {joint_after}"
    );
    assert!(
        sample_after > sample_before,
        "E(x_hat): {sample_before} -> {sample_after}"
    );
}

/// Host-side float64 formulas of the quantities the objectives are made of, written from the
/// definitions (not with this crate's functions).
mod formula {
    pub fn rows(logits: &[f32], classes: usize) -> Vec<Vec<f64>> {
        logits
            .chunks(classes)
            .map(|r| r.iter().map(|&v| f64::from(v)).collect())
            .collect()
    }

    fn logsumexp(row: &[f64]) -> f64 {
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
    }

    pub fn mean(values: impl Iterator<Item = f64>) -> f64 {
        let values: Vec<f64> = values.collect();
        values.iter().sum::<f64>() / values.len() as f64
    }

    /// mean over rows of -log softmax(row)[y].
    pub fn ce(rows: &[Vec<f64>], labels: &[usize]) -> f64 {
        mean(rows.iter().zip(labels).map(|(r, &y)| logsumexp(r) - r[y]))
    }

    /// E(x) = -logsumexp, per row.
    pub fn e_marginal(rows: &[Vec<f64>]) -> Vec<f64> {
        rows.iter().map(|r| -logsumexp(r)).collect()
    }

    /// E(x, y) = -f(x)[y], per row.
    pub fn e_joint(rows: &[Vec<f64>], labels: &[usize]) -> Vec<f64> {
        rows.iter().zip(labels).map(|(r, &y)| -r[y]).collect()
    }

    /// mean over rows of KL(softmax(clean) ‖ softmax(adv)).
    pub fn kl(clean: &[Vec<f64>], adv: &[Vec<f64>]) -> f64 {
        mean(clean.iter().zip(adv).map(|(c, a)| {
            let (lc, la) = (logsumexp(c), logsumexp(a));
            c.iter()
                .zip(a)
                .map(|(ci, ai)| (ci - lc).exp() * ((ci - lc) - (ai - la)))
                .sum::<f64>()
        }))
    }
}

/// Every objective's loss equals its formula, with the samples' forward pass the one asked for.
#[test]
fn every_objective_equals_its_formula() {
    let device = jeat_core::testing::device();
    let model = Tiny::new(&device);
    // The samples go through another model: the loss must use the samples' forward pass there.
    let sample_model = Tiny::new(&device);
    let n = 8;
    let (x, x_adv, x_hat, x_hat_y) = (
        images(n, 11, &device),
        images(n, 12, &device),
        images(n, 13, &device),
        images(n, 14, &device),
    );
    let y = labels(n, &device);
    let label_values: Vec<usize> = (0..n).map(|i| i % 5).collect();
    let host = |m: &Tiny, t: &Tensor<4>| {
        let values: Vec<f32> = m
            .forward(t.clone())
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        formula::rows(&values, 5)
    };
    let (clean, adv) = (host(&model, &x), host(&model, &x_adv));
    let (samples, joint_samples) = (host(&sample_model, &x_hat), host(&sample_model, &x_hat_y));
    let mean = |v: Vec<f64>| formula::mean(v.into_iter());
    let squares = |v: Vec<f64>| formula::mean(v.into_iter().map(|e| e * e));
    let e_joint_term = |positive: &[Vec<f64>]| {
        mean(formula::e_joint(positive, &label_values))
            - mean(formula::e_joint(&joint_samples, &label_values))
    };
    let jeat_params =
        |lambda: f64, clean_ce_weight: f64, energy_l2: f64, joint_weight: f64| JeatLoss {
            lambda,
            clean_ce_weight,
            energy_l2,
            joint_weight,
        };
    let cases: Vec<(Objective, f64)> = vec![
        (Objective::Standard, formula::ce(&clean, &label_values)),
        (Objective::PgdAt, formula::ce(&adv, &label_values)),
        (
            Objective::Trades { beta: 6.0 },
            formula::ce(&clean, &label_values) + 6.0 * formula::kl(&clean, &adv),
        ),
        (
            Objective::Jem {
                energy_l2: 0.3,
                joint_weight: 0.7,
            },
            formula::ce(&clean, &label_values) + mean(formula::e_marginal(&clean))
                - mean(formula::e_marginal(&samples))
                + 0.3
                    * (squares(formula::e_marginal(&clean))
                        + squares(formula::e_marginal(&samples)))
                + 0.7 * e_joint_term(&clean),
        ),
        (
            Objective::Jeat(jeat_params(1.0, 0.0, 0.0, 0.0)),
            formula::ce(&adv, &label_values) + mean(formula::e_marginal(&adv))
                - mean(formula::e_marginal(&samples)),
        ),
        (
            Objective::Jeat(jeat_params(0.5, 0.25, 0.1, 2.0)),
            formula::ce(&adv, &label_values)
                + 0.25 * formula::ce(&clean, &label_values)
                + 0.5 * (mean(formula::e_marginal(&adv)) - mean(formula::e_marginal(&samples)))
                + 0.1
                    * (squares(formula::e_marginal(&adv)) + squares(formula::e_marginal(&samples)))
                + 2.0 * e_joint_term(&adv),
        ),
    ];
    for (objective, expected) in cases {
        let parts = objective
            .loss(
                |t| model.forward(t),
                |t| sample_model.forward(t),
                ObjectiveInputs {
                    images: x.clone(),
                    labels: y.clone(),
                    adversarial: Some(x_adv.clone()),
                    samples: Some(x_hat.clone()),
                    joint_samples: Some(x_hat_y.clone()),
                },
            )
            .unwrap();
        let ours = scalar(parts.total);
        assert!(
            (ours - expected).abs() < 1e-4 * expected.abs().max(1.0),
            "{}: loss {ours}, formula {expected}",
            objective.name()
        );
    }
}

#[test]
fn missing_points_and_bad_parameters_are_named() {
    let device = jeat_core::testing::device();
    let model = Tiny::new(&device);
    let err = jeat()
        .loss(
            |x| model.forward(x),
            |x| model.forward(x),
            ObjectiveInputs {
                images: images(2, 0, &device),
                labels: labels(2, &device),
                adversarial: None,
                samples: None,
                joint_samples: None,
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "objective jeat needs adversarial examples in the batch"
    );

    let trades = Objective::Trades { beta: -1.0 };
    assert!(matches!(
        trades.validate(),
        Err(ObjectiveError::Invalid { .. })
    ));
    let nan = Objective::Jeat(JeatLoss {
        lambda: f64::NAN,
        ..JeatLoss::default()
    });
    assert!(nan.validate().unwrap_err().to_string().contains("lambda"));
}

/// A batch split into shares (data parallelism) has the whole batch's loss and parts when each
/// share's terms are scaled by its share of their own rows: 12 data rows split 5 + 4 + 3 and 2
/// negative samples split 1 + 1 + 0 (a share without samples needs none). Scaling every term by
/// the data share instead misweights the sample terms.
#[test]
fn shares_of_a_batch_sum_to_its_loss_term_by_term() {
    use jeat_energy::RowShares;
    let device = jeat_core::testing::device();
    let model = Tiny::new(&device);
    let (x, y) = (images(12, 5, &device), labels(12, &device));
    let (x_adv, x_hat, x_hat_y) = (
        images(12, 6, &device),
        images(2, 7, &device),
        images(12, 8, &device),
    );
    let objectives = [
        Objective::Jem {
            energy_l2: 0.5,
            joint_weight: 0.7,
        },
        Objective::Jeat(JeatLoss {
            lambda: 0.8,
            clean_ce_weight: 0.3,
            energy_l2: 0.2,
            joint_weight: 0.4,
        }),
    ];
    let rows = |t: &Tensor<4>, from: usize, to: usize| t.clone().narrow(0, from, to - from);
    for objective in objectives {
        let loss = |inputs: ObjectiveInputs, shares: RowShares| {
            objective
                .share_loss(|x| model.forward(x), |x| model.forward(x), inputs, shares)
                .unwrap()
        };
        let whole = loss(
            ObjectiveInputs {
                images: x.clone(),
                labels: y.clone(),
                adversarial: Some(x_adv.clone()),
                samples: Some(x_hat.clone()),
                joint_samples: Some(x_hat_y.clone()),
            },
            RowShares::WHOLE,
        );
        let split = [(0, 5, Some((0, 1))), (5, 9, Some((1, 2))), (9, 12, None)];
        let (mut total, mut misweighted) = (0.0, 0.0);
        let mut parts = std::collections::BTreeMap::<Part, f64>::new();
        for (from, to, samples) in split {
            let inputs = ObjectiveInputs {
                images: rows(&x, from, to),
                labels: y.clone().narrow(0, from, to - from),
                adversarial: Some(rows(&x_adv, from, to)),
                samples: samples.map(|(a, b)| rows(&x_hat, a, b)),
                joint_samples: Some(rows(&x_hat_y, from, to)),
            };
            let data = (to - from) as f64 / 12.0;
            let sample_share = samples.map_or(0.0, |(a, b)| (b - a) as f64 / 2.0);
            let share = loss(
                inputs.clone(),
                RowShares {
                    data,
                    samples: sample_share,
                },
            );
            total += scalar(share.total);
            for (name, value) in share.parts {
                *parts.entry(name).or_default() += scalar(value);
            }
            if samples.is_some() {
                misweighted += scalar(
                    loss(
                        inputs,
                        RowShares {
                            data,
                            samples: data,
                        },
                    )
                    .total,
                );
            }
        }
        let expected = scalar(whole.total);
        assert!((total - expected).abs() < 1e-5, "{total} vs {expected}");
        for (name, value) in whole.parts {
            let (ours, theirs) = (parts[&name], scalar(value));
            assert!((ours - theirs).abs() < 1e-5, "{name:?}: {ours} vs {theirs}");
        }
        assert!(
            (misweighted - expected).abs() > 1e-3,
            "weighting samples by the data share should not give the whole loss"
        );
    }
}

/// WEAT's loss and gradient by hand on three points of four classes, logits given directly:
/// `mean w · [CE(a, y) + beta · KL(softmax c ‖ softmax a)]` with `w = 1 / softplus(|E(c)|)`,
/// and the gradient with respect to the clean logits is that of the same sum with `w` held
/// constant (finite differences of the formula).
#[test]
fn weat_is_trades_weighted_by_the_clean_energy_without_gradient_through_the_weight() {
    let clean = [
        [2.0, -1.0, 0.5, 0.0],
        [-3.0, -2.5, -4.0, -3.5],
        [6.0, 1.0, 0.0, 2.0],
    ];
    let adv = [
        [0.5, 1.0, 0.0, -0.5],
        [-2.0, -3.0, -3.0, -1.0],
        [2.0, 2.5, 0.0, 1.0],
    ];
    let y = [0usize, 1, 0];
    let beta = 6.0;
    let lse = |v: &[f64; 4]| v.iter().map(|x| x.exp()).sum::<f64>().ln();
    let softmax = |v: &[f64; 4]| v.map(|x| (x - lse(v)).exp());
    let weight = |c: &[f64; 4]| 1.0 / (1.0 + lse(c).abs().exp()).ln();
    let term = |c: &[f64; 4], a: &[f64; 4], y: usize| {
        let (p, q) = (softmax(c), softmax(a));
        let kl: f64 = (0..4).map(|k| p[k] * (p[k].ln() - q[k].ln())).sum();
        lse(a) - a[y] + beta * kl
    };
    let expected: f64 = (0..3)
        .map(|i| weight(&clean[i]) * term(&clean[i], &adv[i], y[i]))
        .sum::<f64>()
        / 3.0;

    let device = jeat_core::testing::device().autodiff();
    let as_images = |rows: &[[f64; 4]; 3]| {
        let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        Tensor::<4>::from_data(TensorData::new(flat, [3, 4, 1, 1]), &device)
    };
    let clean_images = as_images(&clean).require_grad();
    let labels =
        Tensor::<1, Int>::from_data(TensorData::new(y.map(|v| v as i64).to_vec(), [3]), &device);
    let parts = Objective::Weat {
        beta,
        adversarial_ce: true,
    }
    .loss(
        |x| x.reshape([3, 4]),
        |x| x.reshape([3, 4]),
        ObjectiveInputs {
            images: clean_images.clone(),
            labels,
            adversarial: Some(as_images(&adv)),
            samples: None,
            joint_samples: None,
        },
    )
    .unwrap();
    let names: Vec<&str> = parts.parts.iter().map(|(p, _)| p.name()).collect();
    assert_eq!(names, ["e_data", "ce_adv", "kl"]);
    let total = scalar(parts.total.clone());
    assert!(
        (total - expected).abs() < 1e-5 * expected.abs(),
        "{total} vs {expected}"
    );

    let gradient = clean_images
        .grad(&parts.total.backward())
        .unwrap()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap();
    let h = 1e-5;
    for i in 0..3 {
        for k in 0..4 {
            let w = weight(&clean[i]);
            let mut up = clean[i];
            up[k] += h;
            let mut down = clean[i];
            down[k] -= h;
            let fixed_weight =
                w * (term(&up, &adv[i], y[i]) - term(&down, &adv[i], y[i])) / (2.0 * h * 3.0);
            let ours = gradient[4 * i + k];
            assert!(
                (ours - fixed_weight).abs() < 1e-4,
                "point {i} class {k}: {ours} vs {fixed_weight}"
            );
        }
    }
}

/// EB-JDAT's loss by hand on fixed logits: `pyx · CE(x) + pya · CE(x_adv) + px · [E(x) −
/// E(x_hat)] + adv · [E(x) − E(x_adv)] + energy_l2 · (E(x)² + E(x_hat)²)`, each a mean over
/// its rows.
#[test]
fn eb_jdat_is_jems_terms_plus_adversarial_ce_and_the_alignment_term() {
    let device = jeat_core::testing::device();
    let clean = [[2.0, -1.0, 0.5], [-3.0, -2.5, -4.0]];
    let adv = [[0.5, 1.0, 0.0], [-2.0, -3.0, -3.0]];
    let samples = [[1.0, 1.0, 1.0], [0.0, -1.0, 2.0], [5.0, 0.0, 0.0]];
    let y = [0usize, 1];
    let weights = jeat_energy::EbJdatWeights {
        px: 1.0,
        pyx: 0.5,
        adv: 0.1,
        pya: 2.0,
        energy_l2: 0.3,
    };
    let lse = |v: &[f64; 3]| v.iter().map(|x| x.exp()).sum::<f64>().ln();
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let ce = |rows: &[[f64; 3]; 2]| mean((0..2).map(|i| lse(&rows[i]) - rows[i][y[i]]).collect());
    let energy = |rows: &[[f64; 3]]| mean(rows.iter().map(|r| -lse(r)).collect());
    let squared_energy = |rows: &[[f64; 3]]| mean(rows.iter().map(|r| lse(r).powi(2)).collect());
    let expected = weights.pyx * ce(&clean)
        + weights.pya * ce(&adv)
        + weights.px * (energy(&clean) - energy(&samples))
        + weights.adv * (energy(&clean) - energy(&adv))
        + weights.energy_l2 * (squared_energy(&clean) + squared_energy(&samples));
    let as_images = |rows: &[[f64; 3]]| {
        let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        Tensor::<4>::from_data(TensorData::new(flat, [rows.len(), 3, 1, 1]), &device)
    };
    let flatten = |x: Tensor<4>| {
        let [n, ..] = x.dims();
        x.reshape([n, 3])
    };
    let parts = Objective::EbJdat(weights)
        .loss(
            flatten,
            flatten,
            ObjectiveInputs {
                images: as_images(&clean),
                labels: Tensor::from_data(TensorData::new(vec![0i64, 1], [2]), &device),
                adversarial: Some(as_images(&adv)),
                samples: Some(as_images(&samples)),
                joint_samples: None,
            },
        )
        .unwrap();
    let total = scalar(parts.total);
    assert!((total - expected).abs() < 1e-5, "{total} vs {expected}");
}
