//! The kernel-fusion defect `jeat_core::layout` works around: a `[B, 1, H, W]` tensor with
//! permuted strides (the input gradient of a convolution on one-channel images) in a fused
//! element-wise chain. Run on wgpu (`cargo xtask test --backend wgpu`) the first test fails
//! without `row_major`: every point is read from the first four values of the image.

use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_core::host::floats;
use jeat_core::layout::row_major;
use jeat_core::rng;

const N: usize = 12;
const SIDE: usize = 8;

/// `x` `[N, 1, SIDE, SIDE]` in [0, 1] and a same-shaped tensor made as `[N, SIDE, SIDE, 1]`
/// and permuted to `[N, 1, SIDE, SIDE]`, with its host values in NCHW order.
fn inputs(device: &Device) -> (Vec<f32>, Tensor<4>, Vec<f32>, Tensor<4>) {
    let count = N * SIDE * SIDE;
    let x_host = floats(rng::uniform([count], 0.0, 1.0, 0, device));
    let g_host = floats(rng::normal([count], 1.0, 1, device));
    let x = Tensor::<4>::from_data(TensorData::new(x_host.clone(), [N, 1, SIDE, SIDE]), device);
    let g = Tensor::<4>::from_data(TensorData::new(g_host.clone(), [N, SIDE, SIDE, 1]), device)
        .permute([0, 3, 1, 2]);
    (x_host, x, g_host, g)
}

/// One FGSM step and its projection, fused into one kernel on a fusing backend.
fn fgsm_step(x: Tensor<4>, g: Tensor<4>, eps: f64) -> Tensor<4> {
    let next = x.clone() + g.sign() * eps;
    (x.clone() + (next - x).clamp(-eps, eps)).clamp(0.0, 1.0)
}

#[test]
fn a_permuted_one_channel_tensor_is_read_correctly_after_row_major() {
    let device = jeat_core::testing::device();
    let (x_host, x, g_host, g) = inputs(&device);
    let eps = 0.1;
    let got = floats(fgsm_step(x, row_major(g), eps));
    // A size-1 dimension: the permuted tensor's values in NCHW order are the ones it was made
    // from.
    for (i, ((&got, &x), &g)) in got.iter().zip(&x_host).zip(&g_host).enumerate() {
        let want = (x + eps as f32 * g.signum()).clamp(0.0, 1.0);
        assert!(
            (got - want).abs() < 1e-6,
            "element {i}: {got} instead of {want} (x {x}, g {g})"
        );
    }
}

#[test]
fn row_major_keeps_shape_and_values() {
    let device = jeat_core::testing::device();
    let (_, _, g_host, g) = inputs(&device);
    let canonical = row_major(g);
    assert_eq!(canonical.dims(), [N, 1, SIDE, SIDE]);
    assert_eq!(floats(canonical), g_host);
}
