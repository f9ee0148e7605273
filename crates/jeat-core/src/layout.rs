//! Tensors handed to fused GPU kernels in the plain row-major layout.
//!
//! burn 0.22.1's kernel fusion (burn-cubecl-fusion, on wgpu at least) miscomputes an
//! element-wise chain when one input has a size-1 dimension with a stride that makes it look
//! permuted: for example the `[B, 1, H, W]` input gradient of a convolution on one-channel
//! images, which the backward pass leaves with the strides of `[B, H, W, 1]` permuted back
//! (`[HW, 1, W, 1]`). The other inputs of the fused kernel are then read at the wrong offsets
//! (every element of the image is read from its first four), so one FGSM step on
//! Fashion-MNIST left the eps-ball by up to 0.97. The same family of defects is open upstream
//! (tracel-ai/burn issue 5122: "row 0 correct, every later row wrong"). Non-degenerate layouts
//! (three channels permuted) are read correctly.
//!
//! [`row_major`] gives such a tensor its canonical strides without copying on the CPU: a
//! reshape to one dimension per point and back. The test `layout` pins the defect and the
//! workaround on every backend.

use burn::prelude::*;

/// `t` `[B, ...]` with the canonical row-major strides of its shape (the same values).
pub fn row_major<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    let dims = t.dims();
    t.reshape([dims[0] as i64, -1]).reshape(dims)
}
