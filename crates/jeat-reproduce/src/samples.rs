//! The generation stage: a method's samples (its generator, the plan's count) written as images
//! and a grid, cached by the model and the generator.

use crate::cell::{MethodCell, Reproduction};
use crate::error::{ReproduceError, Result};
use jeat_sampling::generate::{Request, Sources};
use jeat_sampling::{Generator, ReplayBuffer, generate_to_folder};

/// Generated samples.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Samples {
    /// The generator.
    pub generator: Generator,
    /// Images made.
    pub count: usize,
    /// Fraction the model classifies as their target class (conditional generators).
    pub classified_as_target: Option<f64>,
}

/// The samples of `cell`'s model in `<cells>/samples/` (its grid also in `<out>/grids/`), and
/// the cache key that names them.
pub fn generate(
    run: &Reproduction,
    cell: &MethodCell,
    say: &mut dyn FnMut(String),
) -> Result<(Samples, serde_json::Value)> {
    let plan = &run.options.plan;
    let generator = cell.method.generator();
    let dir = cell.dir.join("samples");
    let key = serde_json::json!({"model": cell.hash, "generator": generator, "per_class": plan.samples_per_class, "seed": 0});
    let (samples, _) = run.cache.cached(&cell.dir.join("samples.json"), &key, || {
        say(format!(
            "{}: generating with {}",
            cell.method,
            generator.name()
        ));
        if generator.conditional() && run.seeds.get().is_none() {
            let fitted = jeat_sampling::ClassGaussians::fit(&run.training_set, 1e-4)?;
            let _ = run.seeds.set(fitted);
        }
        let seeds = run.seeds.get().filter(|_| generator.conditional());
        let buffer_path = cell.run_dir.join("checkpoints/last/buffer.safetensors");
        let buffer = match buffer_path.is_file() {
            true => Some(ReplayBuffer::load(&buffer_path)?),
            false => None,
        };
        let images = dir.join("images");
        let _ = std::fs::remove_dir_all(&images);
        std::fs::create_dir_all(&images).map_err(|e| ReproduceError::io(&images, e))?;
        let count = match generator.conditional() {
            true => plan.samples_per_class,
            false => plan.samples_per_class * cell.spec.num_classes,
        };
        let request = Request {
            generator: &generator,
            count,
            shape: cell.spec.input_shape,
            sources: Sources {
                seeds,
                buffer: buffer.as_ref(),
            },
            batch_size: plan.batch_size.min(100),
            seed: 0,
            device: &run.options.device,
        };
        let summary = generate_to_folder(&cell.model, &request, &dir, &mut |_| {})?;
        Ok(Samples {
            generator: generator.clone(),
            count: summary.written,
            classified_as_target: generator
                .conditional()
                .then(|| summary.on_target_fraction()),
        })
    })?;
    let grids = run.options.out.join("grids");
    std::fs::create_dir_all(&grids).map_err(|e| ReproduceError::io(&grids, e))?;
    let _ = std::fs::copy(
        dir.join("grid.png"),
        grids.join(format!("{}.png", cell.name)),
    );
    Ok((samples, key))
}
