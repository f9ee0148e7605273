//! `--precision bf16` (a process setting, hence a test binary of its own): where oneDNN runs and
//! the CPU has bf16 kernels, a WideResNet's logits in bf16 are its f32 ones within 1 % and the
//! input gradient of its cross-entropy points the same way (cosine above 0.99, signs agreeing on
//! more than 95 % of pixels: an attack's sign step); elsewhere the setting is refused, saying
//! why.

use burn::prelude::*;
use burn::tensor::Distribution;
use jeat_models::conv::{Precision, bf16_available, set_precision};
use jeat_models::{Classifier, ModelSpec};

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec().unwrap()
}

#[test]
fn bf16_logits_and_input_gradients_are_f32_ones_to_bf16_precision() {
    if let Err(why) = bf16_available() {
        let refused = set_precision(Precision::Bf16).unwrap_err();
        assert_eq!(refused, why);
        eprintln!("bf16 is not available here ({why}): refused, nothing to compare");
        return;
    }
    let model = ModelSpec::new("wrn-10-2", 10, [3, 16, 16])
        .build_seeded(&Device::flex(), 3)
        .unwrap()
        .valid();
    let device = Device::flex();
    device.seed(7);
    let x = Tensor::<4>::random([8, 3, 16, 16], Distribution::Uniform(0.0, 1.0), &device);
    let run = || {
        let xg = x.clone().autodiff().require_grad();
        let logits = model.logits(xg.clone());
        // The loss of an attack: cross-entropy to the labels 0, 1, …, 7.
        let labels = Tensor::<1, Int>::arange(0..8, &logits.device());
        let grads = burn::nn::loss::CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), labels)
            .backward();
        (
            floats(logits.detach().without_autodiff()),
            floats(xg.grad(&grads).unwrap()),
        )
    };
    let (logits, gradient) = run();
    set_precision(Precision::Bf16).unwrap();
    let (logits_bf16, gradient_bf16) = run();
    set_precision(Precision::F32).unwrap();
    let scale = logits.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = logits_bf16
        .iter()
        .zip(&logits)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    eprintln!("logits: bf16 within {worst} of f32 (scale {scale})");
    assert!(
        worst > 0.0,
        "bf16 gave f32's logits: it did not run in bf16"
    );
    assert!(
        worst < 1e-2 * scale,
        "logits off by {worst} (scale {scale})"
    );
    // The gradient's direction, which is what an attack step follows: cosine and sign agreement.
    let dot: f64 = gradient
        .iter()
        .zip(&gradient_bf16)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum();
    let norm = |g: &[f32]| g.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
    let cosine = dot / (norm(&gradient) * norm(&gradient_bf16));
    let signs = gradient
        .iter()
        .zip(&gradient_bf16)
        .filter(|(a, b)| a.signum() == b.signum())
        .count() as f64
        / gradient.len() as f64;
    eprintln!(
        "input gradient: cosine {cosine:.5}, signs agree on {:.2} %",
        100.0 * signs
    );
    assert!(cosine > 0.99, "cosine {cosine}");
    assert!(signs > 0.95, "signs agree on {signs}");
}
