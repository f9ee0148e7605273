//! 2×2 max pooling with stride 2 as a kernel of its own on the flex CPU backend (a burn backend
//! extension), for inference. flex pools through one generic 3-D kernel that also writes argmax
//! indices and recomputes each window's bounds per output element: on the MNIST CNN its two
//! pools took 39 % of a forward pass, each 15–18× a ReLU on the same tensor
//! (docs/performance.md). This kernel gives flex's values bit for bit (same window order, same
//! comparison, a NaN wins) and is used only where no gradient is recorded; every other backend,
//! and every autodiff tensor, goes through burn's own pooling.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DType, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::TensorData;

/// The extension: one pooling operation, implemented for flex only.
#[backend_extension(Flex)]
pub trait FlexMaxPool: Backend {
    /// 2×2 max pooling with stride 2 of `[B, C, H, W]` (H and W even, f32): `[B, C, H/2, W/2]`.
    fn max_pool_2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl FlexMaxPool for Flex {
    fn max_pool_2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let x = x.to_contiguous();
        let dims = x.layout().shape().to_vec();
        let [n, c, h, w] = [dims[0], dims[1], dims[2], dims[3]];
        let pooled = pool_planes(x.storage::<f32>(), n * c, h, w);
        FlexTensor::from_data(TensorData::new(pooled, [n, c, h / 2, w / 2]))
    }
}

/// The pooled planes of `input` (`planes` planes of `h × w`, row-major) as flex computes them:
/// each window scanned row by row, a value replacing the maximum when larger or NaN.
fn pool_planes(input: &[f32], planes: usize, h: usize, w: usize) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = vec![0f32; planes * oh * ow];
    for (plane, out_plane) in out.chunks_exact_mut(oh * ow).enumerate() {
        let source = &input[plane * h * w..(plane + 1) * h * w];
        for (i, out_row) in out_plane.chunks_exact_mut(ow).enumerate() {
            let (top, bottom) = (&source[2 * i * w..], &source[(2 * i + 1) * w..]);
            for (j, value) in out_row.iter_mut().enumerate() {
                let window = [top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]];
                let mut best = window[0];
                for &v in &window[1..] {
                    if v > best || v.is_nan() {
                        best = v;
                    }
                }
                *value = best;
            }
        }
    }
    out
}

/// 2×2 max pooling with stride 2 by the kernel above, where it applies: `x` on the flex
/// device, without autodiff, f32, with even sides. `None` elsewhere (use burn's pooling).
pub fn max_pool_2x2(x: &Tensor<4>) -> Option<Tensor<4>> {
    let [_, _, h, w] = x.dims();
    let applies = !x.is_autodiff()
        && x.device() == Device::flex()
        && x.dtype() == DType::F32
        && h % 2 == 0
        && w % 2 == 0;
    applies.then(|| {
        Tensor::from_dispatch(<Dispatch as FlexMaxPool>::max_pool_2x2(
            x.clone().into_dispatch(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::pool::MaxPool2dConfig;

    fn bits(t: Tensor<4>) -> Vec<u32> {
        let values = t.into_data().try_to_vec::<f32>().unwrap();
        values.iter().map(|v| v.to_bits()).collect()
    }

    fn burns_pool(x: Tensor<4>) -> Tensor<4> {
        MaxPool2dConfig::new([2, 2]).init().forward(x)
    }

    #[test]
    fn the_kernel_gives_flexs_pooled_values_bit_for_bit() {
        let device = Device::flex();
        // Ties (ReLU zeros and repeated values), NaNs and infinities.
        let mut values: Vec<f32> = (0..2 * 3 * 6 * 8)
            .map(|i| ((i * 37 % 11) as f32 - 5.0).max(0.0) * 0.25)
            .collect();
        values[5] = f32::NAN;
        values[40] = f32::INFINITY;
        values[41] = f32::NEG_INFINITY;
        values[100] = f32::NAN;
        values[101] = 3.0;
        let x = Tensor::<4>::from_data(TensorData::new(values, [2, 3, 6, 8]), &device);
        let fast = max_pool_2x2(&x).expect("flex, f32, even sides");
        assert_eq!(fast.dims(), [2, 3, 3, 4]);
        assert_eq!(bits(fast), bits(burns_pool(x)));
    }

    #[test]
    fn ties_keep_the_first_value_and_a_nan_anywhere_wins() {
        let (nan, inf) = (f32::NAN, f32::INFINITY);
        // Five windows side by side, top row then bottom row of each.
        let top = [-0.0, 0.0, 0.0, -0.0, 1.0, nan, nan, 5.0, -inf, -inf];
        let bottom = [0.0, 0.0, 0.0, 0.0, 2.0, 3.0, 6.0, 7.0, -inf, -inf];
        let values: Vec<f32> = top.into_iter().chain(bottom).collect();
        let x = Tensor::<4>::from_data(TensorData::new(values, [1, 1, 2, 10]), &Device::flex());
        let fast = bits(max_pool_2x2(&x).unwrap());
        assert_eq!(fast, bits(burns_pool(x)), "flex's own pooling");
        assert!(f32::from_bits(fast[2]).is_nan() && f32::from_bits(fast[3]).is_nan());
        assert_eq!(fast[0], (-0.0f32).to_bits(), "first of tied zeros");
        assert_eq!(fast[1], 0.0f32.to_bits(), "first of tied zeros");
        assert_eq!(fast[4], (-inf).to_bits());
    }

    #[test]
    fn autodiff_tensors_and_odd_sides_use_burns_pooling() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([1, 1, 4, 4], &device);
        assert!(max_pool_2x2(&x.clone().autodiff()).is_none());
        assert!(max_pool_2x2(&Tensor::<4>::ones([1, 1, 5, 4], &device)).is_none());
        assert!(max_pool_2x2(&x).is_some());
    }
}
