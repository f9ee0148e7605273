//! The energy-analysis cell of one model: energies of clean, PGD-20 and generated points
//! (histograms), flatness, and the landscape around the first test image (near and wide, and
//! slices along its PGD-20 direction).

use crate::cell::{MethodCell, Reproduction};
use crate::error::{ReproduceError, Result};
use crate::samples::Samples;
use jeat_analysis::{
    Directions, Energies, Flatness, Landscape, Slice, energies, flatness, landscape, slice,
};
use jeat_attacks::{Attack, pgd::Pgd};
use jeat_data::png_folder::read_image_folder;
use jeat_data::{Augmentation, batch_at};

/// The energy analysis of one model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    /// Flatness around test points.
    pub flatness: Flatness,
    /// Mean E(x) and E(x, y) of clean, PGD-20 and generated points.
    pub mean_energies: Vec<(String, f64, f64)>,
    /// The landscape around the first test image, at ±2 eps (coordinates in units of eps along
    /// random sign directions of Linf norm eps).
    pub landscape: Landscape,
    /// The same directions at ± the profile's landscape range.
    pub wide_landscape: Landscape,
    /// Energies from the first test image along its PGD-20 perturbation (`t = 1` is the PGD
    /// point), `t` in [-3, 3].
    pub attack_slice: Slice,
    /// The same along the first random sign direction.
    pub random_slice: Slice,
}

/// Bumped when the analysis computes differently (older cached analyses are recomputed): 2 is
/// the landscape in eps units with the wide view and the slices; 3 keeps the flatness per point.
const ANALYSIS_REVISION: u32 = 3;

/// The analysis of `cell`'s model (cached by the model, the plan's settings and the samples).
pub fn analyse(
    run: &Reproduction,
    cell: &MethodCell,
    samples: &Samples,
    say: &mut dyn FnMut(String),
) -> Result<Analysis> {
    let profile = &run.options.plan;
    let key = serde_json::json!({"model": cell.hash, "points": profile.analysis_points, "eps": profile.eps(), "landscape": profile.landscape, "samples": samples.count, "revision": ANALYSIS_REVISION});
    let (analysis, _) = run
        .cache
        .cached(&cell.dir.join("analysis.json"), &key, || {
            say(format!("{}: energy analysis", cell.name));
            compute(run, cell)
        })?;
    Ok(analysis)
}

fn compute(run: &Reproduction, cell: &MethodCell) -> Result<Analysis> {
    let (model, spec, test, threat) = (&cell.model, &cell.spec, &run.test, &run.threat);
    let (profile, device) = (&run.options.plan, &run.options.device);
    let samples_dir = cell.dir.join("samples");
    let (cells, method) = (&cell.dir, &cell.name);
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
        return Err(ReproduceError::Plan(format!(
            "generated images are {} but the data is {}",
            generated_set.shape(),
            set.shape()
        )));
    }
    let mut generated = Energies::default();
    let indices: Vec<usize> = (0..generated_set.len()).collect();
    for chunk in indices.chunks(250) {
        let batch = batch_at(&generated_set, chunk, Augmentation::NONE, 0, 0, device);
        generated.add(model, batch.images, batch.labels);
    }
    let flat = flatness(model, &images, &labels, &adversarial, threat, 8, 0);
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
    let directions = Directions::signed(spec.input_shape, threat.eps, 0, device);
    let first = batch_at(test, &[0], Augmentation::NONE, 0, 0, device);
    let (first, label) = (first.images, test.label(0));
    let near = landscape(model, &first, label, &directions, grid, 2.0, 256);
    let wide = landscape(model, &first, label, &directions, grid, range, 256);
    let first_adversarial = adversarial.clone().narrow(0, 0, 1);
    let attack_slice = slice(
        model,
        &first,
        label,
        &(first_adversarial - first.clone()),
        61,
        3.0,
    );
    let random_slice = slice(model, &first, label, &directions.d1, 61, 3.0);
    Ok(Analysis {
        flatness: flat,
        mean_energies: groups
            .iter()
            .map(|(n, e)| (n.clone(), e.mean_marginal(), e.mean_joint()))
            .collect(),
        landscape: near,
        wide_landscape: wide,
        attack_slice,
        random_slice,
    })
}
