//! Models with known answers for the attack tests.

#![allow(dead_code)]

use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_models::Classifier;

/// A linear binary classifier on flattened images: logits `[0, s]`, `s = w·x + b`, optionally
/// quantised (`round(s / q) · q`, whose gradient is zero everywhere: a gradient-masked model).
pub struct LinearBinary {
    pub w: Vec<f32>,
    pub b: f32,
    pub quantum: Option<f32>,
}

impl LinearBinary {
    pub fn score(&self, x: &[f32]) -> f32 {
        self.w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>() + self.b
    }

    pub fn l1(&self) -> f32 {
        self.w.iter().map(|v| v.abs()).sum()
    }
}

impl Classifier for LinearBinary {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let device = images.device();
        let [batch, ..] = images.dims();
        let n = self.w.len();
        let w = Tensor::<2>::from_data(
            TensorData::new(self.w.clone(), [n, 1]),
            &device.clone().without_autodiff(),
        );
        let mut s = images.reshape([batch as i64, -1]).matmul(w) + self.b;
        if let Some(q) = self.quantum {
            s = (s / q).round() * q;
        }
        Tensor::cat(vec![s.zeros_like(), s], 1)
    }

    fn num_classes(&self) -> usize {
        2
    }
}

/// `[n, 1, side, side]` images from host values.
pub fn images(values: Vec<f32>, n: usize, side: usize, device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, [n, 1, side, side]), device)
}

pub fn labels(values: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

pub fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}
