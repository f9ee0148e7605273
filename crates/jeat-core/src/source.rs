//! Labelled points loaded batch by batch: what the attack runner evaluates on. jeat-data
//! implements it for its image sets; a user can implement it for anything else.

use burn::prelude::*;

/// A set of labelled points, loaded batch by batch.
pub trait PointSource {
    /// How many points.
    fn len(&self) -> usize;
    /// Whether there is none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Images `[n, C, H, W]` in [0, 1] and labels `[n]` of the points at `indices`.
    fn load(&self, indices: &[usize]) -> (Tensor<4>, Tensor<1, Int>);
}
