//! The protocol's preprocessing: images as 8-bit values, resized to 299×299 with TensorFlow 1's
//! `resize_bilinear` (align_corners false, no half-pixel centres: source coordinate
//! `dst · in / out`), scaled as `(x - 128) / 128`, grayscale repeated to three channels. The
//! resize is two matrix products with interpolation matrices, so it runs on any backend.

use burn::prelude::*;
use burn::tensor::TensorData;

/// The input side of the network.
pub const SIDE: usize = 299;

/// `[output, input]` weights of TF1 bilinear resizing along one axis.
pub fn tf1_bilinear_matrix(input: usize, output: usize) -> Vec<f32> {
    let scale = input as f64 / output as f64;
    let mut weights = vec![0f32; output * input];
    for o in 0..output {
        let source = o as f64 * scale;
        let top = (source.floor() as usize).min(input - 1);
        let bottom = (top + 1).min(input - 1);
        let lerp = source - top as f64;
        weights[o * input + top] += (1.0 - lerp) as f32;
        weights[o * input + bottom] += lerp as f32;
    }
    weights
}

/// Images `[B, C, H, W]` in [0, 1] (C = 1 or 3) → network input `[B, 3, 299, 299]`. Values are
/// first rounded to 8 bits, as if the images had been saved as PNG.
pub fn preprocess(images: Tensor<4>) -> Tensor<4> {
    let [batch, channels, height, width] = images.dims();
    let device = images.device();
    let mut x = (images.clamp(0.0, 1.0) * 255.0).round();
    if channels == 1 {
        x = x.repeat_dim(1, 3);
    }
    let rows = Tensor::<2>::from_data(
        TensorData::new(tf1_bilinear_matrix(height, SIDE), [SIDE, height]),
        &device,
    );
    let columns = Tensor::<2>::from_data(
        TensorData::new(tf1_bilinear_matrix(width, SIDE), [SIDE, width]),
        &device,
    );
    let x = x.matmul(
        columns
            .transpose()
            .unsqueeze::<4>()
            .expand([batch, 3, width, SIDE]),
    );
    let x = rows
        .unsqueeze::<4>()
        .expand([batch, 3, SIDE, height])
        .matmul(x);
    (x - 128.0) / 128.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tf1_resize_matches_its_definition() {
        // 4 → 8: source coordinates 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5 (the last two clamp at 3).
        let m = tf1_bilinear_matrix(4, 8);
        let input = [10.0f32, 20.0, 40.0, 80.0];
        let out: Vec<f32> = (0..8)
            .map(|o| (0..4).map(|i| m[o * 4 + i] * input[i]).sum())
            .collect();
        assert_eq!(out, vec![10.0, 15.0, 20.0, 30.0, 40.0, 60.0, 80.0, 80.0]);
        // Same size is the identity.
        let id = tf1_bilinear_matrix(3, 3);
        assert_eq!(id, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    }

    /// A non-constant grayscale image, resized in 2-D: every output pixel is TF1's bilinear
    /// formula written out (source `o · in / out`, neighbours clamped at the edge), repeated on
    /// three channels, in protocol units; values are rounded to 8 bits first.
    #[test]
    fn grayscale_images_resize_by_the_tf1_formula_on_three_channels() {
        let device = jeat_core::testing::device();
        let (h, w) = (3usize, 5usize);
        // Values k/255 plus a little, so that rounding to 8 bits is exercised.
        let pixels: Vec<f32> = (0..h * w)
            .map(|k| ((k * 17) % 256) as f32 / 255.0 + 1e-3)
            .collect();
        let bytes: Vec<f64> = (0..h * w).map(|k| ((k * 17) % 256) as f64).collect();
        let x = preprocess(Tensor::<4>::from_data(
            TensorData::new(pixels, [1, 1, h, w]),
            &device,
        ));
        assert_eq!(x.dims(), [1, 3, SIDE, SIDE]);
        let values: Vec<f32> = x.into_data().try_to_vec().unwrap();
        let expected = |oy: usize, ox: usize| {
            let axis = |o: usize, n: usize| {
                let source = o as f64 * n as f64 / SIDE as f64;
                let low = (source.floor() as usize).min(n - 1);
                (low, (low + 1).min(n - 1), source - low as f64)
            };
            let ((y0, y1, fy), (x0, x1, fx)) = (axis(oy, h), axis(ox, w));
            let at = |y: usize, x: usize| bytes[y * w + x];
            let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
            let bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
            ((top * (1.0 - fy) + bottom * fy) - 128.0) / 128.0
        };
        for (oy, ox) in [
            (0, 0),
            (50, 61),
            (100, 120),
            (150, 7),
            (298, 298),
            (201, 240),
        ] {
            for c in 0..3 {
                let ours = f64::from(values[(c * SIDE + oy) * SIDE + ox]);
                assert!(
                    (ours - expected(oy, ox)).abs() < 1e-5,
                    "pixel ({oy}, {ox}) channel {c}: {ours} vs {}",
                    expected(oy, ox)
                );
            }
        }
    }
}
