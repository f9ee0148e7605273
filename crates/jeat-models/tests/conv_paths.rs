//! The CPU convolution path (`jeat_models::conv::forward`: oneDNN with the `onednn` feature,
//! else flex with jeat's weight-gradient kernel) gives burn's convolution: the output and the
//! gradients of the input, weights and bias, for strides, explicit (also asymmetric) padding,
//! dilation, with and without bias; and the models built on it give burn's logits and input
//! gradients.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use burn::tensor::{Distribution, FloatDType};
use jeat_models::{Classifier, ModelSpec, conv};

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec().unwrap()
}

fn assert_close(ours: &[f32], theirs: &[f32], tolerance: f32, what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}");
    let scale = theirs.iter().fold(1f32, |m, v| m.max(v.abs()));
    let worst = ours
        .iter()
        .zip(theirs)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst <= tolerance * scale,
        "{what}: differs by {worst} (scale {scale})"
    );
}

/// Output, and gradients of input, weights and bias, of `forward(conv, x)` under a loss that
/// weighs every output element differently.
fn run(
    conv: &Conv2d,
    x: &Tensor<4>,
    forward: impl Fn(&Conv2d, Tensor<4>) -> Tensor<4>,
) -> [Vec<f32>; 4] {
    let x = x.clone().require_grad();
    let y = forward(conv, x.clone());
    let n = y.dims().iter().product::<usize>();
    let values: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
        .collect();
    let weights =
        Tensor::<4>::from_data(burn::tensor::TensorData::new(values, y.dims()), &y.device());
    let grads = (y.clone() * weights.detach()).sum().backward();
    let bias = conv
        .bias
        .as_ref()
        .map(|b| floats(b.val().grad(&grads).unwrap()))
        .unwrap_or_default();
    [
        floats(y.detach().without_autodiff()),
        floats(x.grad(&grads).unwrap()),
        floats(conv.weight.val().grad(&grads).unwrap()),
        bias,
    ]
}

#[test]
fn convolutions_and_their_gradients_are_burns() {
    let device = Device::flex().autodiff();
    let cases = [
        (1, PaddingConfig2d::Explicit(1, 1, 1, 1), 1, true),
        (2, PaddingConfig2d::Explicit(1, 1, 1, 1), 1, false),
        (1, PaddingConfig2d::Valid, 2, true),
        (2, PaddingConfig2d::Explicit(2, 0, 1, 1), 1, true),
        (1, PaddingConfig2d::Explicit(0, 1, 0, 1), 1, false),
    ];
    for (case, (stride, padding, dilation, bias)) in cases.into_iter().enumerate() {
        device.seed(case as u64);
        let conv = Conv2dConfig::new([3, 5], [3, 3])
            .with_stride([stride; 2])
            .with_padding(padding.clone())
            .with_dilation([dilation; 2])
            .with_bias(bias)
            .init(&device);
        let x = Tensor::<4>::random([2, 3, 9, 8], Distribution::Uniform(-1.0, 1.0), &device);
        let ours = run(&conv, &x, conv::forward);
        let burns = run(&conv, &x, |c, x| c.forward(x));
        for (k, what) in [
            "output",
            "input gradient",
            "weight gradient",
            "bias gradient",
        ]
        .iter()
        .enumerate()
        {
            assert_close(&ours[k], &burns[k], 1e-5, &format!("case {case} {what}"));
        }
    }
}

/// Every float of a module cast to f64 (which jeat's path does not take: burn's runs).
struct ToF64;

impl burn::module::ModuleMapper for ToF64 {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        burn::module::Param::from_mapped_value(id, tensor.cast(FloatDType::F64), mapper)
    }
}

/// A model in inference mode (parameters not tracked, as in attacks and SGLD) gets its logits
/// and input gradients from jeat's path as from burn's convolutions in f64: the WideResNet
/// without batch norm (shortcuts, no bias; flex's batch norm keeps its running statistics in
/// f32) and the MNIST CNN (bias).
#[test]
fn models_give_burns_logits_and_input_gradients() {
    for (arch, shape) in [("wrn-10-2-nobn", [3, 16, 16]), ("mnist-cnn", [1, 12, 12])] {
        let model = ModelSpec::new(arch, 10, shape)
            .build_seeded(&Device::flex(), 3)
            .unwrap()
            .valid();
        let in_f64 = model.clone().map(&mut ToF64);
        let device = Device::flex();
        device.seed(7);
        let x = Tensor::<4>::random(
            [4, shape[0], shape[1], shape[2]],
            Distribution::Uniform(0.0, 1.0),
            &device,
        );
        let logits_and_gradient = |model: &jeat_models::Model, x: Tensor<4>| {
            let x = x.autodiff().require_grad();
            let logits = model.logits(x.clone());
            let grads = logits.clone().sum().backward();
            let gradient = x.grad(&grads).unwrap().cast(FloatDType::F32);
            (
                floats(logits.detach().without_autodiff().cast(FloatDType::F32)),
                floats(gradient),
            )
        };
        let (ours, our_gradient) = logits_and_gradient(&model, x.clone());
        let (theirs, their_gradient) = logits_and_gradient(&in_f64, x.cast(FloatDType::F64));
        assert_close(&ours, &theirs, 1e-5, &format!("{arch} logits"));
        assert_close(
            &our_gradient,
            &their_gradient,
            1e-4,
            &format!("{arch} input gradient"),
        );
    }
}

/// The build says which path runs.
#[test]
fn the_path_is_the_fastest_compiled_in() {
    let (path, why) = conv::path();
    match std::env::var("JEAT_CONV").as_deref() {
        Ok("flex") => assert_eq!(path, conv::Path::Flex),
        _ => assert_eq!(path, conv::compiled(), "{why:?}"),
    }
}

/// The fused inference convolutions (ReLU fused; batch norm folded into the weights and bias)
/// give the unfused ops' values, with a batch norm whose running statistics are not the
/// defaults.
#[test]
fn fused_inference_convolutions_are_the_ops_they_fuse() {
    use burn::module::Param;
    use burn::nn::BatchNormConfig;
    let device = Device::flex();
    device.seed(11);
    for bias in [false, true] {
        let conv = Conv2dConfig::new([3, 6], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_bias(bias)
            .init(&device);
        let mut bn = BatchNormConfig::new(6).with_epsilon(1e-3).init(&device);
        let random = |low: f32, high: f32| {
            Tensor::<1>::random([6], Distribution::Uniform(low.into(), high.into()), &device)
        };
        bn.gamma = Param::from_tensor(random(0.5, 2.0));
        bn.beta = Param::from_tensor(random(-1.0, 1.0));
        bn.running_mean = burn::module::RunningState::new(random(-0.5, 0.5));
        bn.running_var = burn::module::RunningState::new(random(0.2, 3.0));
        let x = Tensor::<4>::random([2, 3, 9, 8], Distribution::Uniform(-1.0, 1.0), &device);
        let relu = burn::tensor::activation::relu;
        let fused = floats(conv::forward_relu(&conv, x.clone()));
        let unfused = floats(relu(conv.forward(x.clone())));
        assert!(unfused.contains(&0.0) && unfused.iter().any(|v| *v > 0.0));
        assert_close(&fused, &unfused, 1e-5, &format!("conv + ReLU, bias {bias}"));
        let fused = floats(conv::forward_bn_relu(&conv, &bn, x.clone()));
        let unfused = floats(relu(bn.forward(conv.forward(x))));
        assert_close(
            &fused,
            &unfused,
            1e-5,
            &format!("conv + BN + ReLU, bias {bias}"),
        );
    }
}
