//! The one interface attacks, objectives, samplers and metrics need from a model.

use burn::prelude::*;

/// A classifier of images in [0, 1].
pub trait Classifier {
    /// Logits `[B, K]` of images `[B, C, H, W]` in [0, 1].
    fn logits(&self, images: Tensor<4>) -> Tensor<2>;

    /// The number of classes `K`.
    fn num_classes(&self) -> usize;
}
