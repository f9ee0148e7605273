//! [`ImageSet`]: a labelled set of 8-bit images held in memory, the common result of every reader.

use crate::error::{DataError, Result};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Channels, height and width of every image of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageShape {
    /// 1 for grayscale, 3 for RGB.
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl ImageShape {
    /// Creates a shape.
    pub const fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
        }
    }

    /// Bytes per image (`channels * height * width`).
    pub const fn num_pixels(&self) -> usize {
        self.channels * self.height * self.width
    }
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.height, self.width)
    }
}

/// A labelled set of images, each stored channel-planar (`[C, H, W]`, row-major) as `u8`.
///
/// All readers produce one; augmentation, splitting and batching consume it.
#[derive(Debug, Clone)]
pub struct ImageSet {
    name: String,
    shape: ImageShape,
    num_classes: usize,
    pixels: Vec<u8>,
    labels: Vec<u16>,
}

impl ImageSet {
    /// Builds a set from planar pixels (`labels.len() * shape.num_pixels()` bytes) and labels.
    ///
    /// Fails if the byte count does not match or a label is `>= num_classes`.
    pub fn new(
        name: impl Into<String>,
        shape: ImageShape,
        num_classes: usize,
        pixels: Vec<u8>,
        labels: Vec<u16>,
    ) -> Result<Self> {
        let name = name.into();
        let expected = labels.len() * shape.num_pixels();
        if pixels.len() != expected {
            return Err(DataError::Invalid(format!(
                "{name}: {} labels of {shape} images need {expected} pixel bytes, found {}",
                labels.len(),
                pixels.len()
            )));
        }
        if let Some((index, label)) = labels
            .iter()
            .enumerate()
            .find(|(_, label)| usize::from(**label) >= num_classes)
        {
            return Err(DataError::Invalid(format!(
                "{name}: label {label} of image {index} is outside 0..{num_classes}"
            )));
        }
        Ok(Self {
            name,
            shape,
            num_classes,
            pixels,
            labels,
        })
    }

    /// A descriptive name such as `fashion-mnist/train`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shape of every image.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// The number of classes labels range over.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The planar bytes of image `index` (`[C, H, W]`). Panics if `index >= len()`.
    pub fn image(&self, index: usize) -> &[u8] {
        let n = self.shape.num_pixels();
        &self.pixels[index * n..(index + 1) * n]
    }

    /// The label of image `index`. Panics if `index >= len()`.
    pub fn label(&self, index: usize) -> usize {
        usize::from(self.labels[index])
    }

    /// All labels, in order.
    pub fn labels(&self) -> &[u16] {
        &self.labels
    }

    /// All pixels, image after image.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// A new set of the images at `indices`, in that order, named `name`.
    pub fn select(&self, name: impl Into<String>, indices: &[usize]) -> Result<Self> {
        if let Some(bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::Invalid(format!(
                "{}: index {bad} is out of range (the set has {} images)",
                self.name,
                self.len()
            )));
        }
        let mut pixels = Vec::with_capacity(indices.len() * self.shape.num_pixels());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        Self::new(name, self.shape, self.num_classes, pixels, labels)
    }

    /// The first `n` images (all of them if `n >= len()`).
    pub fn take(&self, n: usize) -> Self {
        let indices: Vec<usize> = (0..n.min(self.len())).collect();
        self.select(self.name.clone(), &indices)
            .expect("indices below len are valid")
    }

    /// Splits off a held-out validation set of `count` images chosen by a seeded shuffle,
    /// stratified so each class keeps its share. Returns `(train, validation)`.
    pub fn split_validation(&self, count: usize, seed: u64) -> Result<(Self, Self)> {
        if count == 0 || count >= self.len() {
            return Err(DataError::Invalid(format!(
                "{}: a validation split of {count} images needs 0 < count < {}",
                self.name,
                self.len()
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); self.num_classes];
        for (index, &label) in self.labels.iter().enumerate() {
            by_class[usize::from(label)].push(index);
        }
        // Largest-remainder allocation keeps class shares and the exact total.
        let total = self.len() as f64;
        let mut quotas: Vec<(usize, f64)> = by_class
            .iter()
            .map(|members| {
                let exact = members.len() as f64 * count as f64 / total;
                (exact.floor() as usize, exact - exact.floor())
            })
            .collect();
        let mut missing = count - quotas.iter().map(|q| q.0).sum::<usize>();
        let mut order: Vec<usize> = (0..quotas.len()).collect();
        order.sort_by(|&a, &b| quotas[b].1.total_cmp(&quotas[a].1).then(a.cmp(&b)));
        for class in order {
            if missing == 0 {
                break;
            }
            if quotas[class].0 < by_class[class].len() {
                quotas[class].0 += 1;
                missing -= 1;
            }
        }
        let mut validation = Vec::with_capacity(count);
        let mut train = Vec::with_capacity(self.len() - count);
        for (members, (quota, _)) in by_class.iter_mut().zip(&quotas) {
            members.shuffle(&mut rng);
            validation.extend_from_slice(&members[..*quota]);
            train.extend_from_slice(&members[*quota..]);
        }
        validation.sort_unstable();
        train.sort_unstable();
        Ok((
            self.select(format!("{}[train-part]", self.name), &train)?,
            self.select(format!("{}[validation]", self.name), &validation)?,
        ))
    }

    /// How many images each class has (`num_classes` entries).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// Per-channel mean and standard deviation of the pixels in [0, 1] units.
    pub fn channel_stats(&self) -> Vec<(f64, f64)> {
        let plane = self.shape.height * self.shape.width;
        let mut sums = vec![(0u64, 0u64); self.shape.channels];
        for image in self.pixels.chunks_exact(self.shape.num_pixels()) {
            for (channel, values) in image.chunks_exact(plane).enumerate() {
                for &v in values {
                    let v = u64::from(v);
                    sums[channel].0 += v;
                    sums[channel].1 += v * v;
                }
            }
        }
        let count = (self.len() * plane).max(1) as f64;
        sums.into_iter()
            .map(|(sum, sum_sq)| {
                let mean = sum as f64 / count;
                let var = (sum_sq as f64 / count - mean * mean).max(0.0);
                (mean / 255.0, var.sqrt() / 255.0)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize, classes: usize) -> ImageSet {
        let shape = ImageShape::new(1, 2, 2);
        let pixels = (0..n * 4).map(|i| (i % 256) as u8).collect();
        let labels = (0..n).map(|i| (i % classes) as u16).collect();
        ImageSet::new("toy", shape, classes, pixels, labels).unwrap()
    }

    #[test]
    fn rejects_wrong_byte_count_and_bad_labels() {
        let shape = ImageShape::new(1, 2, 2);
        let err = ImageSet::new("t", shape, 2, vec![0; 7], vec![0, 1]).unwrap_err();
        assert!(
            err.to_string().contains("need 8 pixel bytes, found 7"),
            "{err}"
        );
        let err = ImageSet::new("t", shape, 2, vec![0; 8], vec![0, 2]).unwrap_err();
        assert!(err.to_string().contains("label 2 of image 1"), "{err}");
    }

    #[test]
    fn validation_split_is_stratified_disjoint_and_seeded() {
        let set = toy(60, 4);
        let (train, val) = set.split_validation(20, 7).unwrap();
        assert_eq!((train.len(), val.len()), (40, 20));
        assert_eq!(val.class_counts(), vec![5, 5, 5, 5]);
        let (_, again) = set.split_validation(20, 7).unwrap();
        assert_eq!(val.pixels(), again.pixels());
        let (_, other) = set.split_validation(20, 8).unwrap();
        assert_ne!(val.pixels(), other.pixels());
        // Every image lands in exactly one part: pixel bytes of each image are unique here.
        let mut seen: Vec<&[u8]> = (0..train.len()).map(|i| train.image(i)).collect();
        seen.extend((0..val.len()).map(|i| val.image(i)));
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 60);
        assert!(set.split_validation(60, 0).is_err());
    }

    #[test]
    fn channel_stats_match_a_direct_computation() {
        let shape = ImageShape::new(2, 1, 2);
        let set = ImageSet::new("s", shape, 1, vec![0, 255, 51, 51], vec![0]).unwrap();
        let stats = set.channel_stats();
        assert!((stats[0].0 - 0.5).abs() < 1e-12 && (stats[0].1 - 0.5).abs() < 1e-12);
        assert!((stats[1].0 - 0.2).abs() < 1e-12 && stats[1].1.abs() < 1e-12);
    }
}
