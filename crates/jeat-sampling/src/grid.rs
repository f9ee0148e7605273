//! Generated images as files: one PNG per image, named `<prefix>_<index>_<label>.png` (the
//! layout `jeat-data` reads back as a dataset), and a grid with one row per class.

use crate::error::SamplingError;
use burn::prelude::*;
use jeat_data::ImageShape;
use jeat_data::png_folder::encode_png;
use std::path::Path;

/// `[N, C, H, W]` in [0, 1] → planar `u8` images, rounded.
pub fn to_bytes(images: Tensor<4>) -> (ImageShape, Vec<Vec<u8>>) {
    let [n, c, h, w] = images.dims();
    let values = images
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 images");
    let shape = ImageShape::new(c, h, w);
    let bytes = values
        .chunks(shape.num_pixels().max(1))
        .take(n)
        .map(|image| {
            image
                .iter()
                .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect()
        })
        .collect();
    (shape, bytes)
}

/// Writes every image as `dir/<prefix>_<first_index + i>_<label>.png`.
pub fn write_images(
    dir: &Path,
    prefix: &str,
    first_index: usize,
    images: Tensor<4>,
    labels: &[usize],
) -> Result<(), SamplingError> {
    std::fs::create_dir_all(dir).map_err(|e| SamplingError::io(dir, e))?;
    let (shape, bytes) = to_bytes(images);
    for (i, (image, label)) in bytes.iter().zip(labels).enumerate() {
        let path = dir.join(format!("{prefix}_{}_{label}.png", first_index + i));
        encode_png(&path, shape, image).map_err(|e| SamplingError::io(&path, e))?;
    }
    Ok(())
}

/// A grid PNG: row `k` holds up to `per_row` images of class `k` (classes `0..num_classes`),
/// separated by 2 pixels of white.
pub fn write_grid(
    path: &Path,
    images: Tensor<4>,
    labels: &[usize],
    num_classes: usize,
    per_row: usize,
) -> Result<(), SamplingError> {
    const GAP: usize = 2;
    let (shape, bytes) = to_bytes(images);
    let (cell_h, cell_w) = (shape.height + GAP, shape.width + GAP);
    let grid = ImageShape::new(
        shape.channels,
        num_classes * cell_h + GAP,
        per_row * cell_w + GAP,
    );
    let mut planar = vec![255u8; grid.num_pixels()];
    let mut filled = vec![0usize; num_classes];
    for (image, &label) in bytes.iter().zip(labels) {
        if label >= num_classes || filled[label] >= per_row {
            continue;
        }
        let (top, left) = (GAP + label * cell_h, GAP + filled[label] * cell_w);
        filled[label] += 1;
        for c in 0..shape.channels {
            for y in 0..shape.height {
                for x in 0..shape.width {
                    planar[(c * grid.height + top + y) * grid.width + left + x] =
                        image[(c * shape.height + y) * shape.width + x];
                }
            }
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| SamplingError::io(parent, e))?;
    }
    encode_png(path, grid, &planar).map_err(|e| SamplingError::io(path, e))
}
