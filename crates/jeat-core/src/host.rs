//! Conversions between tensors and host values: index and label tensors, values, predictions,
//! per-point masks, rows.

use burn::prelude::*;
use burn::tensor::TensorData;

/// `[n]` integer tensor of `indices`.
pub fn index_tensor(indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(values, [indices.len()]), device)
}

/// `[n]` labels as an integer tensor.
pub fn label_tensor(labels: &[usize], device: &Device) -> Tensor<1, Int> {
    index_tensor(labels, device)
}

/// The values of a float tensor, as f32.
pub fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data")
}

/// The values of an integer tensor, as usize (negative values clamp to 0).
pub fn ints<const D: usize>(t: Tensor<D, Int>) -> Vec<usize> {
    t.into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .expect("i64 data")
        .into_iter()
        .map(|v| v.max(0) as usize)
        .collect()
}

/// The predicted class of each row of logits `[B, K]`.
pub fn predictions(logits: Tensor<2>) -> Vec<usize> {
    ints(logits.argmax(1).squeeze_dim::<1>(1))
}

/// `[B, 1, 1, 1]` boolean mask from per-point flags, expanded to `dims`.
pub fn point_mask(flags: &[bool], dims: [usize; 4], device: &Device) -> Tensor<4, Bool> {
    Tensor::<1, Bool>::from_data(TensorData::new(flags.to_vec(), [flags.len()]), device)
        .reshape([flags.len(), 1, 1, 1])
        .expand(dims)
}

/// `[B, C, H, W]` flattened to host rows of `C·H·W` values.
pub fn rows(t: Tensor<4>) -> Vec<Vec<f32>> {
    let [batch, ..] = t.dims();
    let values = floats(t);
    let width = values.len() / batch.max(1);
    values.chunks(width.max(1)).map(<[f32]>::to_vec).collect()
}

/// Host rows back to a `[B, C, H, W]` tensor of shape `dims`.
pub fn from_rows(rows: &[Vec<f32>], dims: [usize; 4], device: &Device) -> Tensor<4> {
    let values: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(values, dims), device)
}
