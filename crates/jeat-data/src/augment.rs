//! Training-time augmentation: random crop with zero padding and horizontal flip (the CIFAR
//! recipe), deterministic under a seed.
//!
//! The random choices for an image depend only on `(seed, epoch, index)`, never on batching,
//! thread scheduling or what came before, so a run resumed mid-epoch sees the same images.

use crate::image_set::ImageShape;
use jeat_core::rng;
use rand::Rng;

/// Which augmentations to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Augmentation {
    /// Zero padding on each side before a random crop back to the original size (0: no crop).
    pub crop_padding: usize,
    /// Mirror left-right with probability 1/2.
    pub horizontal_flip: bool,
}

impl Augmentation {
    /// No augmentation (the (Fashion-)MNIST recipe).
    pub const NONE: Self = Self {
        crop_padding: 0,
        horizontal_flip: false,
    };

    /// Random crop with 4-pixel zero padding and horizontal flip (the CIFAR recipe).
    pub const CIFAR: Self = Self {
        crop_padding: 4,
        horizontal_flip: true,
    };

    /// Whether this does nothing.
    pub fn is_identity(&self) -> bool {
        self.crop_padding == 0 && !self.horizontal_flip
    }

    /// Augments one planar `[C, H, W]` image with the choices drawn for `(seed, epoch, index)`.
    pub fn apply(
        &self,
        image: &[u8],
        shape: ImageShape,
        seed: u64,
        epoch: u64,
        index: u64,
    ) -> Vec<u8> {
        if self.is_identity() {
            return image.to_vec();
        }
        let mut rng = rng::generator(rng::derive(seed, &[epoch, index]));
        let p = self.crop_padding as i64;
        let (dy, dx) = if p > 0 {
            (
                rng.random_range(-p..=p) as isize,
                rng.random_range(-p..=p) as isize,
            )
        } else {
            (0, 0)
        };
        let flip = self.horizontal_flip && rng.random_bool(0.5);
        let (h, w) = (shape.height as isize, shape.width as isize);
        let mut out = vec![0u8; image.len()];
        for (src, dst) in image
            .chunks_exact(shape.height * shape.width)
            .zip(out.chunks_exact_mut(shape.height * shape.width))
        {
            for y in 0..h {
                let sy = y + dy;
                if !(0..h).contains(&sy) {
                    continue;
                }
                for x in 0..w {
                    let ox = if flip { w - 1 - x } else { x };
                    let sx = x + dx;
                    if (0..w).contains(&sx) {
                        dst[(y * w + ox) as usize] = src[(sy * w + sx) as usize];
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: ImageShape = ImageShape::new(2, 4, 5);

    fn image() -> Vec<u8> {
        (1..=40).collect()
    }

    #[test]
    fn deterministic_per_seed_epoch_and_index() {
        let aug = Augmentation::CIFAR;
        let a = aug.apply(&image(), SHAPE, 1, 2, 3);
        assert_eq!(a, aug.apply(&image(), SHAPE, 1, 2, 3));
        let differ = (0..20)
            .filter(|&i| aug.apply(&image(), SHAPE, 1, 2, i) != a)
            .count();
        assert!(
            differ > 10,
            "only {differ} of 20 indices gave another image"
        );
        assert_eq!(Augmentation::NONE.apply(&image(), SHAPE, 1, 2, 3), image());
    }

    #[test]
    fn output_is_a_shifted_possibly_mirrored_copy_with_zero_fill() {
        let aug = Augmentation {
            crop_padding: 2,
            horizontal_flip: true,
        };
        let src = image();
        for index in 0..50 {
            let out = aug.apply(&src, SHAPE, 9, 0, index);
            // Find the shift and flip that explain the output: some (dy, dx, flip) must match.
            let explained = (-2..=2isize).any(|dy| {
                (-2..=2isize).any(|dx| {
                    [false, true].iter().any(|&flip| {
                        (0..2).all(|c| {
                            (0..4isize).all(|y| {
                                (0..5isize).all(|x| {
                                    let ox = if flip { 4 - x } else { x };
                                    let (sy, sx) = (y + dy, x + dx);
                                    let expected = if (0..4).contains(&sy) && (0..5).contains(&sx) {
                                        src[(c * 20 + sy * 5 + sx) as usize]
                                    } else {
                                        0
                                    };
                                    out[(c * 20 + y * 5 + ox) as usize] == expected
                                })
                            })
                        })
                    })
                })
            });
            assert!(explained, "index {index}: {out:?}");
        }
    }

    #[test]
    fn flips_happen_about_half_the_time() {
        let aug = Augmentation {
            crop_padding: 0,
            horizontal_flip: true,
        };
        let flipped = (0..1000)
            .filter(|&i| aug.apply(&image(), SHAPE, 5, 0, i) != image())
            .count();
        assert!((400..600).contains(&flipped), "{flipped} flips of 1000");
    }
}
