//! The energy-analysis cell of one model: energies of clean, PGD-20 and generated points
//! (histograms), flatness, and the landscape around the first test image.

use crate::pipeline::Analysis;
use crate::profile::Profile;
use anyhow::{Result, bail};
use burn::prelude::*;
use jeat_analysis::{Directions, Energies, energies, flatness, landscape};
use jeat_attacks::{Attack, ThreatModel, pgd::Pgd};
use jeat_data::png_folder::read_image_folder;
use jeat_data::{Augmentation, ImageSet, batch_at};
use jeat_models::{Model, ModelSpec};
use std::path::Path;

#[allow(clippy::too_many_arguments)]
pub(crate) fn analyse(
    model: &Model,
    spec: &ModelSpec,
    test: &ImageSet,
    threat: &ThreatModel,
    profile: &Profile,
    samples_dir: &Path,
    cells: &Path,
    method: &str,
    device: &Device,
) -> Result<Analysis> {
    let set = test.take(profile.analysis_points);
    let indices: Vec<usize> = (0..set.len()).collect();
    let batch = batch_at(&set, &indices, Augmentation::NONE, 0, 0, device);
    let (images, labels) = (batch.images, batch.labels);
    let adversarial = Pgd::madry(threat.clone(), 20)
        .run(model, &images, &labels, 0)?
        .adversarial;
    let clean = energies(model, images.clone(), labels.clone());
    let attacked = energies(model, adversarial.clone(), labels.clone());
    let generated_set = read_image_folder(&samples_dir.join("images"))?;
    if generated_set.shape() != set.shape() {
        bail!(
            "generated images are {} but the data is {}",
            generated_set.shape(),
            set.shape()
        );
    }
    let mut generated = Energies::default();
    let indices: Vec<usize> = (0..generated_set.len()).collect();
    for chunk in indices.chunks(250) {
        let batch = batch_at(&generated_set, chunk, Augmentation::NONE, 0, 0, device);
        generated.add(model, batch.images, batch.labels);
    }
    let flat = flatness(model, &images, &labels, &adversarial, threat.eps, 8, 0);
    let groups = vec![
        ("clean".to_string(), clean),
        ("PGD-20".to_string(), attacked),
        ("generated".to_string(), generated),
    ];
    jeat_analysis::figures::energy_histograms(
        &cells.join("energies.png"),
        &format!("{method}: energies on {}", test.name()),
        &groups,
    )?;
    let (grid, range) = profile.landscape;
    let directions = Directions::new(spec.input_shape, 1.0, 0, device);
    let first = batch_at(test, &[0], Augmentation::NONE, 0, 0, device).images;
    let land = landscape(model, &first, test.label(0), &directions, grid, range, 256);
    Ok(Analysis {
        flatness: flat,
        mean_energies: groups
            .iter()
            .map(|(n, e)| (n.clone(), e.mean_marginal(), e.mean_joint()))
            .collect(),
        landscape: land,
    })
}
