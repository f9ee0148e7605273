//! The training objectives: their losses, what their gradients do, their configs.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use jeat_energy::{
    InnerAttack, Objective, ObjectiveError, ObjectiveInputs, joint_energy, marginal_energy,
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
    toml::from_str(
        r#"
        name = "jeat"
        attack = { eps = 0.1, step_size = 0.025, steps = 3, start = { kind = "uniform" } }
        "#,
    )
    .unwrap()
}

#[test]
fn standard_loss_equals_burns_cross_entropy() {
    let device = Device::flex();
    let model = Tiny::new(&device);
    let (x, y) = (images(8, 1, &device), labels(8, &device));
    let parts = Objective::Standard
        .loss(
            |x| model.forward(x),
            ObjectiveInputs {
                images: x.clone(),
                labels: y.clone(),
                adversarial: None,
                samples: None,
            },
        )
        .unwrap();
    let burns = burn::nn::loss::CrossEntropyLossConfig::new()
        .init(&device)
        .forward(model.forward(x), y);
    let (ours, burns) = (scalar(parts.total), scalar(burns));
    assert!((ours - burns).abs() < 1e-6, "{ours} vs {burns}");
    assert_eq!(parts.parts[0].0, "ce_clean");
}

/// With lambda = 1 the JEAT loss is E(x_adv, y) - E(x_hat): one small SGD step must lower the
/// joint energy of the adversarial points and raise the marginal energy of the samples.
#[test]
fn one_jeat_step_lowers_adversarial_joint_energy_and_raises_sample_energy() {
    let device = Device::flex().autodiff();
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
            ObjectiveInputs {
                images: images(16, 4, &device),
                labels: y.clone(),
                adversarial: Some(x_adv.clone()),
                samples: Some(x_hat.clone()),
            },
        )
        .unwrap();
    let names: Vec<&str> = parts.parts.iter().map(|(n, _)| *n).collect();
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

#[test]
fn missing_points_and_bad_parameters_are_named() {
    let device = Device::flex();
    let model = Tiny::new(&device);
    let err = jeat()
        .loss(
            |x| model.forward(x),
            ObjectiveInputs {
                images: images(2, 0, &device),
                labels: labels(2, &device),
                adversarial: None,
                samples: None,
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "objective jeat needs adversarial examples in the batch"
    );

    let trades = Objective::Trades {
        beta: -1.0,
        attack: InnerAttack::madry(0.1, 10),
    };
    assert!(matches!(
        trades.validate(),
        Err(ObjectiveError::Invalid { .. })
    ));
    let bad_eps = Objective::PgdAt {
        attack: InnerAttack::madry(0.0, 10),
    };
    assert!(
        bad_eps
            .validate()
            .unwrap_err()
            .to_string()
            .contains("eps must be in (0, 1]")
    );
    let Objective::Jeat(params) = jeat() else {
        unreachable!()
    };
    let prejeat = Objective::Prejeat(params);
    assert!(
        prejeat
            .validate()
            .unwrap_err()
            .to_string()
            .contains("pretrained")
    );
}

#[test]
fn configs_read_from_toml_with_defaults_and_refuse_unknown_keys() {
    let Objective::Jeat(params) = jeat() else {
        panic!("not jeat")
    };
    assert_eq!(
        (params.lambda, params.clean_ce_weight, params.energy_l2),
        (1.0, 0.0, 0.0)
    );
    assert!(jeat().inner_attack().is_some() && jeat().needs_samples());
    let jem: Objective = toml::from_str(r#"name = "jem""#).unwrap();
    assert_eq!(jem.data_noise(), 0.015);
    let typo = toml::from_str::<Objective>(
        r#"
        name = "jeat"
        lamda = 2.0
        attack = { eps = 0.1, step_size = 0.025, steps = 3, start = { kind = "uniform" } }
        "#,
    );
    assert!(typo.unwrap_err().to_string().contains("lamda"));
    let back: Objective = toml::from_str(&toml::to_string(&jeat()).unwrap()).unwrap();
    assert_eq!(back, jeat());
}
