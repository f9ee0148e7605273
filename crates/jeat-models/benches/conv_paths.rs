//! The three 3×3 convolutions of a WRN-16-4 at batch 128 (64, 128 and 256 channels at 32², 16²
//! and 8²), summed, in the three patterns a model runs them in: forward (inference), forward and
//! input gradient (an attack step: weights not tracked), and forward with the input and weight
//! gradients (a training step). Each by burn's own convolution on flex and by jeat's CPU path
//! (`jeat_models::conv`: oneDNN with the `onednn` feature, else flex with jeat's weight-gradient
//! kernel; `JEAT_CONV=flex` picks the latter in a build with oneDNN). Median of 5 after a
//! warm-up:
//!
//!     cargo bench -p jeat-models --features onednn --bench conv_paths
//!
//! `xtask/python/bench_workloads.py --workloads wrn-16-4-convs-forward,…` times the same in
//! PyTorch.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
mod timing;

use timing::median_seconds;

/// What a pattern tracks.
#[derive(Clone, Copy)]
enum Pattern {
    Forward,
    InputGradient,
    WeightGradient,
}

/// One run of `pattern` over the three layers, each `forward(conv, x)`.
fn run(
    layers: &[(Conv2d, Tensor<4>)],
    pattern: Pattern,
    forward: &dyn Fn(&Conv2d, Tensor<4>) -> Tensor<4>,
) {
    for (conv, x) in layers {
        match pattern {
            Pattern::Forward => {
                forward(&conv.clone().valid(), x.clone()).into_data();
            }
            Pattern::InputGradient => {
                let x = x.clone().autodiff().require_grad();
                let grads = forward(&conv.clone().valid(), x.clone()).sum().backward();
                x.grad(&grads).unwrap().into_data();
            }
            Pattern::WeightGradient => {
                let x = x.clone().autodiff().require_grad();
                let grads = forward(conv, x.clone()).sum().backward();
                x.grad(&grads).unwrap().into_data();
                conv.weight.val().grad(&grads).unwrap().into_data();
            }
        }
    }
}

fn main() {
    jeat_core::allocator::keep_freed_memory();
    let device = Device::flex().autodiff();
    let layers: Vec<(Conv2d, Tensor<4>)> = [(64usize, 32usize), (128, 16), (256, 8)]
        .into_iter()
        .map(|(channels, side)| {
            let conv = Conv2dConfig::new([channels, channels], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(&device);
            let x = Tensor::<4>::random(
                [128, channels, side, side],
                Distribution::Uniform(-1.0, 1.0),
                &Device::flex(),
            );
            (conv, x)
        })
        .collect();
    let (path, _) = jeat_models::conv::path();
    println!("the three 3×3 convolutions of a WRN-16-4, batch 128, summed (jeat's path: {path})");
    println!("{:<42} {:>10} {:>10}", "pattern", "burn", "jeat");
    for (name, pattern) in [
        ("forward", Pattern::Forward),
        ("forward + input gradient", Pattern::InputGradient),
        (
            "forward + input and weight gradients",
            Pattern::WeightGradient,
        ),
    ] {
        let burn = median_seconds(|| run(&layers, pattern, &|c, x| c.forward(x)));
        let jeat = median_seconds(|| run(&layers, pattern, &jeat_models::conv::forward));
        println!("{name:<42} {burn:>9.3}s {jeat:>9.3}s");
    }
}
