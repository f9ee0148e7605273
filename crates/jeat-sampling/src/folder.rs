//! Generation straight into a folder: every image as a PNG under `<dir>/images/` (named as
//! [`write_images`] names them), `<dir>/grid.png` of the first batches (one row per class), and
//! how many images the model classifies as the class they were generated for.

use crate::error::SamplingError;
use crate::generate::{Request, generate};
use crate::grid::{write_grid, write_images};
use burn::prelude::*;
use jeat_core::host::predictions;
use jeat_models::Classifier;
use std::path::Path;

/// Batches kept for the grid.
const GRID_BATCHES: usize = 30;

/// What [`generate_to_folder`] wrote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FolderSummary {
    /// Images written.
    pub written: usize,
    /// Images the model classifies as their label.
    pub on_target: usize,
}

impl FolderSummary {
    /// The fraction of images classified as their label (the target class of conditional
    /// generators).
    pub fn on_target_fraction(&self) -> f64 {
        self.on_target as f64 / self.written.max(1) as f64
    }
}

/// Runs [`generate`] for `request` and writes its output into `dir`; `progress` gets the
/// number of images written after each batch.
pub fn generate_to_folder(
    model: &dyn Classifier,
    request: &Request<'_>,
    dir: &Path,
    progress: &mut dyn FnMut(usize),
) -> Result<FolderSummary, SamplingError> {
    let images = dir.join("images");
    let mut summary = FolderSummary {
        written: 0,
        on_target: 0,
    };
    let (mut kept, mut kept_labels) = (Vec::new(), Vec::new());
    generate(model, request, &mut |batch| {
        let predicted = predictions(model.logits(batch.images.clone()));
        summary.on_target += predicted
            .iter()
            .zip(&batch.labels)
            .filter(|(p, y)| p == y)
            .count();
        write_images(
            &images,
            request.generator.name(),
            summary.written,
            batch.images.clone(),
            &batch.labels,
        )?;
        summary.written += batch.labels.len();
        if kept.len() < GRID_BATCHES {
            kept.push(batch.images);
            kept_labels.extend(batch.labels);
        }
        progress(summary.written);
        Ok(())
    })?;
    write_grid(
        &dir.join("grid.png"),
        Tensor::cat(kept, 0),
        &kept_labels,
        model.num_classes(),
        10,
    )?;
    Ok(summary)
}
