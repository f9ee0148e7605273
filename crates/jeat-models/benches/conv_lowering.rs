//! Where a WideResNet's convolution time goes on the CPU backend: each 3×3 convolution of
//! WRN-16-4 at batch 128 (forward, and its input gradient as the transposed convolution the
//! autodiff backend runs), beside one matrix product of the same multiply-adds over the whole
//! batch (`[B·H·W, 9·C] × [9·C, C]`, the shape an im2col over the batch gives) and a 2048³
//! product. The gap between a convolution and its one-product equivalent is what a better
//! lowering of the convolution could win. Prints seconds and GFLOP/s (median of 5 after a
//! warm-up):
//!
//!     cargo bench --workspace --bench conv_lowering

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
mod timing;

use timing::median_seconds;

fn report(what: &str, seconds: f64, flop: f64) {
    println!(
        "{what:<58} {seconds:>8.4} s {:>7.1} GFLOP/s",
        flop / seconds / 1e9
    );
}

fn main() {
    jeat_core::allocator::keep_freed_memory();
    let device = jeat_core::testing::device();
    let random =
        |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &device);
    for (batch, channels, side) in [(128usize, 64usize, 32usize), (128, 128, 16), (128, 256, 8)] {
        let x = random([batch, channels, side, side]);
        let w = random([channels, channels, 3, 3]);
        let flop = 2.0 * (batch * side * side * channels * channels * 9) as f64;
        let name = format!("{channels}→{channels} 3×3 at {side}×{side}, batch {batch}");
        let forward = median_seconds(|| {
            conv2d(
                x.clone(),
                w.clone(),
                None,
                ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
            )
            .into_data();
        });
        report(&format!("{name}: forward"), forward, flop);
        let input_grad = median_seconds(|| {
            let options = ConvTransposeOptions::new([1, 1], [1, 1], [0, 0], [1, 1], 1);
            conv_transpose2d(x.clone(), w.clone(), None, options).into_data();
        });
        report(&format!("{name}: input gradient"), input_grad, flop);
        let rows = batch * side * side;
        let a = Tensor::<2>::random(
            [rows, 9 * channels],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let b = Tensor::<2>::random(
            [9 * channels, channels],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let product = median_seconds(|| {
            a.clone().matmul(b.clone()).into_data();
        });
        report(
            &format!("{name}: one [{rows}, {}] product", 9 * channels),
            product,
            flop,
        );
    }
    let a = Tensor::<2>::random([2048, 2048], Distribution::Uniform(-1.0, 1.0), &device);
    let square = median_seconds(|| {
        a.clone().matmul(a.clone()).into_data();
    });
    report("2048³ product", square, 2.0 * 2048f64.powi(3));
}
