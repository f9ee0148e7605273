//! From an [`ImageSet`] to burn tensors: a burn [`Dataset`] view of one epoch (augmented
//! deterministically), a [`Batcher`], and the direct path the training loop uses.

use crate::augment::Augmentation;
use crate::image_set::{ImageSet, ImageShape};
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::{Dataset, DatasetError};
use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_core::{PointSource, rng};
use rand::seq::SliceRandom;
use std::sync::Arc;

/// One image of a set, ready to batch: planar `[C, H, W]` bytes and its label.
#[derive(Debug, Clone)]
pub struct ImageItem {
    /// Position in the set it came from.
    pub index: usize,
    /// Planar pixels.
    pub pixels: Vec<u8>,
    /// Class label.
    pub label: usize,
}

/// A batch: images `[B, C, H, W]` as f32 in [0, 1] and labels `[B]` (Int, in the device's
/// default integer type: i64 on most backends, i32 on flex).
#[derive(Debug, Clone)]
pub struct ImageBatch {
    /// `[B, C, H, W]`, values in [0, 1].
    pub images: Tensor<4>,
    /// `[B]`, class indices.
    pub labels: Tensor<1, Int>,
}

/// One epoch of a set as a burn [`Dataset`]: item `i` is image `i` augmented with the choices
/// drawn for `(seed, epoch, i)`.
#[derive(Debug, Clone)]
pub struct EpochView {
    set: Arc<ImageSet>,
    augmentation: Augmentation,
    seed: u64,
    epoch: u64,
}

impl EpochView {
    /// A view of `set` for `epoch`.
    pub fn new(set: Arc<ImageSet>, augmentation: Augmentation, seed: u64, epoch: u64) -> Self {
        Self {
            set,
            augmentation,
            seed,
            epoch,
        }
    }
}

impl Dataset<ImageItem> for EpochView {
    /// Panics if `index >= len()`, as burn's `Dataset` contract says.
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        Ok(ImageItem {
            index,
            pixels: self.augmentation.apply(
                self.set.image(index),
                self.set.shape(),
                self.seed,
                self.epoch,
                index as u64,
            ),
            label: self.set.label(index),
        })
    }

    fn len(&self) -> usize {
        self.set.len()
    }
}

/// Stacks [`ImageItem`]s of one shape into an [`ImageBatch`].
#[derive(Debug, Clone, Copy)]
pub struct ImageBatcher {
    shape: ImageShape,
}

impl ImageBatcher {
    /// A batcher for images of `shape`.
    pub fn new(shape: ImageShape) -> Self {
        Self { shape }
    }
}

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        let pixels: Vec<&[u8]> = items.iter().map(|item| item.pixels.as_slice()).collect();
        let labels: Vec<usize> = items.iter().map(|item| item.label).collect();
        to_batch(self.shape, &pixels, &labels, device)
    }
}

/// Builds a batch from planar byte images and labels.
pub fn to_batch(
    shape: ImageShape,
    pixels: &[&[u8]],
    labels: &[usize],
    device: &Device,
) -> ImageBatch {
    let n = pixels.len();
    let mut values = Vec::with_capacity(n * shape.num_pixels());
    for image in pixels {
        assert_eq!(
            image.len(),
            shape.num_pixels(),
            "image does not have shape {shape}"
        );
        values.extend(image.iter().map(|&v| f32::from(v) / 255.0));
    }
    let images = Tensor::<4>::from_data(
        TensorData::new(values, [n, shape.channels, shape.height, shape.width]),
        device,
    );
    let labels = Tensor::<1, Int>::from_data(
        TensorData::new(labels.iter().map(|&l| l as i64).collect::<Vec<_>>(), [n]),
        device,
    );
    ImageBatch { images, labels }
}

/// The images at `indices` of `set`, augmented for `(seed, epoch)`, as one batch.
pub fn batch_at(
    set: &ImageSet,
    indices: &[usize],
    augmentation: Augmentation,
    seed: u64,
    epoch: u64,
    device: &Device,
) -> ImageBatch {
    let augmented: Vec<Vec<u8>> = indices
        .iter()
        .map(|&i| augmentation.apply(set.image(i), set.shape(), seed, epoch, i as u64))
        .collect();
    let pixels: Vec<&[u8]> = augmented.iter().map(Vec::as_slice).collect();
    let labels: Vec<usize> = indices.iter().map(|&i| set.label(i)).collect();
    to_batch(set.shape(), &pixels, &labels, device)
}

/// An image set as labelled points for the attack runner (batches without augmentation).
#[derive(Debug, Clone)]
pub struct SetSource<'a> {
    /// The images.
    pub set: &'a ImageSet,
    /// Where batches go.
    pub device: Device,
}

impl PointSource for SetSource<'_> {
    fn len(&self) -> usize {
        self.set.len()
    }

    fn load(&self, indices: &[usize]) -> (Tensor<4>, Tensor<1, Int>) {
        let batch = batch_at(self.set, indices, Augmentation::NONE, 0, 0, &self.device);
        (batch.images, batch.labels)
    }
}

/// The visiting order of `len` items in `epoch`: a permutation that depends only on
/// `(seed, epoch)`, so a resumed run continues with the same batches.
pub fn epoch_order(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.shuffle(&mut rng::generator(rng::derive(seed, &[epoch])));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> ImageSet {
        let shape = ImageShape::new(1, 2, 2);
        ImageSet::new("t", shape, 3, vec![0, 51, 102, 255, 1, 2, 3, 4], vec![2, 0]).unwrap()
    }

    #[test]
    fn batches_are_float_in_unit_range_with_int_labels() {
        let device = jeat_core::testing::device();
        let batch = batch_at(&set(), &[1, 0], Augmentation::NONE, 0, 0, &device);
        assert_eq!(batch.images.dims(), [2, 1, 2, 2]);
        let values = batch.images.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(values[4..], [0.0, 0.2, 0.4, 1.0]);
        assert_eq!(
            batch
                .labels
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap(),
            vec![0, 2]
        );
    }

    #[test]
    fn burn_dataloader_yields_every_item_once() {
        use burn::data::dataloader::DataLoaderBuilder;
        let set = Arc::new(set());
        let view = EpochView::new(set.clone(), Augmentation::NONE, 0, 0);
        let loader = DataLoaderBuilder::new(ImageBatcher::new(set.shape()))
            .batch_size(2)
            .set_device(jeat_core::testing::device())
            .build(view);
        let batches: Vec<ImageBatch> = loader.iter().map(Result::unwrap).collect();
        assert_eq!(batches.len(), 1);
        let mut labels = batches[0]
            .labels
            .to_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        labels.sort();
        assert_eq!(labels, vec![0, 2]);
    }

    #[test]
    fn epoch_order_is_a_seeded_permutation() {
        let a = epoch_order(100, 3, 1);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(100, 3, 1));
        assert_ne!(a, epoch_order(100, 3, 2));
        assert_ne!(a, epoch_order(100, 4, 1));
    }
}
