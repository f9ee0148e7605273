//! Synthetic labelled images for smoke runs and tests that must not depend on downloads: each
//! class is a fixed random template plus per-image noise, so a small network can learn it.
//! Every set made here is named `synthetic/…`, and every report built on one says so.

use crate::image_set::{ImageSet, ImageShape};
use jeat_core::rng;
use rand::Rng;

/// `count` images of `shape`, labels cycling through `num_classes` classes. Templates depend on
/// `seed` only, so train and test sets made with the same seed share them (and differ in noise
/// through `split_seed`).
pub fn class_templates(
    num_classes: usize,
    shape: ImageShape,
    count: usize,
    seed: u64,
    split_seed: u64,
) -> ImageSet {
    let d = shape.num_pixels();
    let mut template_rng = rng::generator(rng::derive(seed, &[0]));
    let templates: Vec<Vec<f32>> = (0..num_classes)
        .map(|_| {
            (0..d)
                .map(|_| template_rng.random_range(0.15..0.85f32))
                .collect()
        })
        .collect();
    let mut rng = rng::generator(rng::derive(seed, &[1, split_seed]));
    let mut pixels = Vec::with_capacity(count * d);
    let mut labels = Vec::with_capacity(count);
    for i in 0..count {
        let class = i % num_classes;
        for &t in &templates[class] {
            let v = t + rng.random_range(-0.15..0.15f32);
            pixels.push((v.clamp(0.0, 1.0) * 255.0).round() as u8);
        }
        labels.push(class as u16);
    }
    ImageSet::new(
        format!("synthetic/{num_classes}-class templates"),
        shape,
        num_classes,
        pixels,
        labels,
    )
    .expect("sizes are consistent by construction")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_sets_are_labelled_seeded_and_named_as_synthetic() {
        let shape = ImageShape::new(1, 4, 4);
        let a = class_templates(3, shape, 30, 1, 0);
        assert_eq!(a.len(), 30);
        assert_eq!(a.class_counts(), vec![10, 10, 10]);
        assert!(a.name().starts_with("synthetic/"));
        assert_eq!(a.pixels(), class_templates(3, shape, 30, 1, 0).pixels());
        assert_ne!(a.pixels(), class_templates(3, shape, 30, 1, 1).pixels());
    }
}
