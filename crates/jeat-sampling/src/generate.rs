//! The generators: images a classifier makes by descending a loss or an energy.
//!
//! - `santurkar` (Santurkar et al. 2019): from a class-conditional Gaussian seed, targeted L2-PGD
//!   on `CE(f(x), y)` in an L2 ball of radius 30 around the seed, step 0.5, 60 steps;
//! - `sgld-joint` **[reconstruction of JEAT's generator]**: the same seeds, then SGLD on
//!   `E(x, y)`;
//! - `sgld-marginal` (JEM): SGLD on `E(x)` from the replay buffer (uniform noise without one);
//!   the label of a sample is the model's prediction.
//!
//! Batches go to a sink as they are made, so 50,000 samples never sit in memory at once.

use crate::buffer::ReplayBuffer;
use crate::error::SamplingError;
use crate::gaussian::ClassGaussians;
use crate::sgld::SgldConfig;
use burn::prelude::*;
use jeat_core::host::{index_tensor, label_tensor, predictions};
use jeat_core::rng;
use jeat_energy::Energy;
use jeat_energy::{PointLoss, Reference};
use jeat_engine::steps::{Direction, GradientSteps};
use jeat_engine::threat::{Ball, Norm};
use jeat_models::Classifier;
use rand::Rng;

/// A generator and its parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Generator {
    /// Targeted L2-PGD on cross-entropy from Gaussian seeds.
    Santurkar {
        /// L2 radius around the seed (30).
        radius: f64,
        /// L2 step (0.5).
        step_size: f64,
        /// Steps (60).
        steps: usize,
        /// Return each image's lowest-loss iterate instead of the last one (the robustness
        /// library's `use_best`, its default).
        #[serde(default = "yes")]
        use_best: bool,
    },
    /// SGLD on `E(x, y)` from Gaussian seeds.
    SgldJoint {
        /// The chain.
        sgld: SgldConfig,
    },
    /// SGLD on `E(x)` from the replay buffer.
    SgldMarginal {
        /// The chain.
        sgld: SgldConfig,
    },
}

fn yes() -> bool {
    true
}

/// The generator names, for help texts.
pub const GENERATOR_NAMES: &str = "santurkar, sgld-joint, sgld-marginal";

impl Generator {
    /// Santurkar et al.'s parameters, keeping the best iterate as the robustness library does.
    pub fn santurkar() -> Self {
        Self::Santurkar {
            radius: 30.0,
            step_size: 0.5,
            steps: 60,
            use_best: true,
        }
    }

    /// SGLD on `E(x, y)` from Gaussian seeds: 200 steps of JEM's step size and noise, clamped to
    /// the image range.
    pub fn sgld_joint() -> Self {
        Self::SgldJoint {
            sgld: Self::generating_chain(),
        }
    }

    /// SGLD on `E(x)` from the replay buffer, the chain of [`Generator::sgld_joint`].
    pub fn sgld_marginal() -> Self {
        Self::SgldMarginal {
            sgld: Self::generating_chain(),
        }
    }

    fn generating_chain() -> SgldConfig {
        SgldConfig::from_jem_units(200, 1.0, 0.01).clamped()
    }

    /// A generator by name with its default parameters.
    pub fn parse(name: &str) -> Result<Self, SamplingError> {
        match name {
            "santurkar" => Ok(Self::santurkar()),
            "sgld-joint" => Ok(Self::sgld_joint()),
            "sgld-marginal" => Ok(Self::sgld_marginal()),
            other => Err(SamplingError::Invalid(format!(
                "unknown generator '{other}'; valid: {GENERATOR_NAMES}"
            ))),
        }
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Santurkar { .. } => "santurkar",
            Self::SgldJoint { .. } => "sgld-joint",
            Self::SgldMarginal { .. } => "sgld-marginal",
        }
    }

    /// Whether it generates for given classes (and so needs Gaussian seeds).
    pub fn conditional(&self) -> bool {
        !matches!(self, Self::SgldMarginal { .. })
    }
}

/// What a generator starts from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sources<'a> {
    /// Class-conditional seeds (required by the conditional generators).
    pub seeds: Option<&'a ClassGaussians>,
    /// The replay buffer (optional for `sgld-marginal`).
    pub buffer: Option<&'a ReplayBuffer>,
}

/// A batch of generated images.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `[B, C, H, W]` in [0, 1].
    pub images: Tensor<4>,
    /// The class each image was generated for (conditional) or is predicted as (marginal).
    pub labels: Vec<usize>,
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The generator.
    pub generator: &'a Generator,
    /// Images per class (conditional generators) or in all (`sgld-marginal`).
    pub count: usize,
    /// `[C, H, W]` of the images.
    pub shape: [usize; 3],
    /// What the generator starts from.
    pub sources: Sources<'a>,
    /// Images per batch.
    pub batch_size: usize,
    /// The seed every draw derives from.
    pub seed: u64,
    /// Where the images are made.
    pub device: &'a Device,
}

/// Refuses seeds that cannot start every class of a model with `classes` classes and inputs of
/// `shape` `[C, H, W]`: fitted on images of another shape, or on labels that miss classes (a
/// class without seeds would start from nothing and come out black).
pub fn check_seeds(
    seeds: &ClassGaussians,
    classes: usize,
    shape: [usize; 3],
) -> Result<(), SamplingError> {
    let fitted = seeds.shape();
    if [fitted.channels, fitted.height, fitted.width] != shape {
        return Err(SamplingError::Invalid(format!(
            "the seeds were fitted on {fitted} images, but the model takes {}x{}x{}",
            shape[0], shape[1], shape[2]
        )));
    }
    if seeds.num_classes() < classes {
        let missing: Vec<String> = (seeds.num_classes()..classes)
            .map(|c| c.to_string())
            .collect();
        return Err(SamplingError::Invalid(format!(
            "the model has {classes} classes, but the seeds were fitted on labels 0 to {}: \
             class(es) {} have no images to fit seeds on",
            seeds.num_classes().saturating_sub(1),
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Generates what `request` asks for with `model` in inference mode, batch by batch, each handed
/// to `sink` as soon as it is made.
pub fn generate(
    model: &dyn Classifier,
    request: &Request<'_>,
    sink: &mut dyn FnMut(Generated) -> Result<(), SamplingError>,
) -> Result<(), SamplingError> {
    let Request {
        generator,
        count,
        shape,
        sources,
        batch_size,
        seed,
        device,
    } = *request;
    let classes: Vec<usize> = if generator.conditional() {
        (0..model.num_classes())
            .flat_map(|c| std::iter::repeat_n(c, count))
            .collect()
    } else {
        vec![0; count]
    };
    let seeds = match (generator.conditional(), sources.seeds) {
        (true, None) => {
            return Err(SamplingError::Invalid(format!(
                "{} starts from class-conditional Gaussian seeds: fit them on a dataset first",
                generator.name()
            )));
        }
        (_, seeds) => seeds,
    };
    if let Some(seeds) = seeds.filter(|_| generator.conditional()) {
        check_seeds(seeds, model.num_classes(), shape)?;
    }
    for (b, batch) in classes.chunks(batch_size.max(1)).enumerate() {
        let batch_seed = rng::derive(seed, &[b as u64]);
        let generated = match generator {
            Generator::Santurkar {
                radius,
                step_size,
                steps,
                use_best,
            } => {
                let start = seeds
                    .expect("checked above")
                    .sample(batch, batch_seed, device);
                let ball = Ball {
                    norm: Norm::L2,
                    radius: *radius,
                };
                let engine = GradientSteps::projected(
                    PointLoss::CrossEntropy,
                    Direction::Descend,
                    ball,
                    *step_size,
                    *steps,
                )
                .failing_on_non_finite();
                let reference = Reference::labels(label_tensor(batch, device));
                let mut best = BestIterate::default();
                let outcome = engine.run(
                    model,
                    start.clone(),
                    Some(&start),
                    &reference,
                    batch_seed,
                    &mut |visit| {
                        if *use_best {
                            best.visit(visit.x, visit.loss);
                        }
                    },
                )?;
                let images = match use_best {
                    true => {
                        let last = PointLoss::CrossEntropy
                            .per_point(model.logits(outcome.x.clone()), &reference);
                        best.visit(&outcome.x, &last);
                        best.into_images().expect("at least the last iterate")
                    }
                    false => outcome.x,
                };
                Generated {
                    images,
                    labels: batch.to_vec(),
                }
            }
            Generator::SgldJoint { sgld } => {
                let start = seeds
                    .expect("checked above")
                    .sample(batch, batch_seed, device);
                let images = sgld.run(
                    model,
                    start,
                    Energy::Joint,
                    Some(label_tensor(batch, device)),
                    batch_seed,
                )?;
                Generated {
                    images,
                    labels: batch.to_vec(),
                }
            }
            Generator::SgldMarginal { sgld } => {
                let start = match sources.buffer {
                    Some(buffer) => {
                        let mut rng = rng::generator(batch_seed);
                        let slots: Vec<usize> = (0..batch.len())
                            .map(|_| rng.random_range(0..buffer.len()))
                            .collect();
                        buffer.get(&slots, device)
                    }
                    None => rng::uniform(
                        [batch.len(), shape[0], shape[1], shape[2]],
                        0.0,
                        1.0,
                        batch_seed,
                        device,
                    ),
                };
                let images = sgld.run(model, start, Energy::Marginal, None, batch_seed)?;
                let labels = predictions(model.logits(images.clone()));
                Generated { images, labels }
            }
        };
        sink(generated)?;
    }
    Ok(())
}

/// Per point, the iterate of lowest loss seen so far (the robustness library's `use_best` for a
/// targeted attack: a later iterate replaces the best only when its loss is strictly lower).
#[derive(Debug, Default)]
struct BestIterate {
    best: Option<(Tensor<4>, Vec<f32>)>,
}

impl BestIterate {
    /// Records iterates `x` `[B, C, H, W]` with losses `loss` `[B]`.
    fn visit(&mut self, x: &Tensor<4>, loss: &Tensor<1>) {
        let loss = jeat_core::host::floats(loss.clone());
        self.best = Some(match self.best.take() {
            None => (x.clone(), loss),
            Some((images, mut best)) => {
                let better: Vec<bool> = loss.iter().zip(&best).map(|(l, b)| l < b).collect();
                for ((b, l), &keep) in best.iter_mut().zip(&loss).zip(&better) {
                    if keep {
                        *b = *l;
                    }
                }
                let mask = jeat_core::host::point_mask(&better, x.dims(), &x.device());
                (images.mask_where(mask, x.clone()), best)
            }
        });
    }

    fn into_images(self) -> Option<Tensor<4>> {
        self.best.map(|(images, _)| images)
    }
}

/// [`generate`], collecting every batch: `[N, C, H, W]` and the labels.
pub fn generate_all(
    model: &dyn Classifier,
    request: &Request<'_>,
) -> Result<Generated, SamplingError> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    generate(model, request, &mut |batch| {
        images.push(batch.images);
        labels.extend(batch.labels);
        Ok(())
    })?;
    let [c, h, w] = request.shape;
    let images = if images.is_empty() {
        Tensor::zeros([0, c, h, w], request.device)
    } else {
        Tensor::cat(images, 0)
    };
    Ok(Generated { images, labels })
}

/// The rows of `images` `[N, C, H, W]` at `indices`.
pub fn rows_of(images: &Tensor<4>, indices: &[usize]) -> Tensor<4> {
    images
        .clone()
        .select(0, index_tensor(indices, &images.device()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// The best iterate of each point is its lowest-loss one; a tie keeps the earlier one.
    #[test]
    fn the_best_iterate_is_the_lowest_loss_one_per_point() {
        let device = jeat_core::testing::device();
        let iterate = |value: f32| Tensor::<4>::full([3, 1, 1, 1], value, &device);
        let losses =
            |l: [f32; 3]| Tensor::<1>::from_data(TensorData::new(l.to_vec(), [3]), &device);
        let mut best = BestIterate::default();
        best.visit(&iterate(0.0), &losses([3.0, 1.0, 2.0]));
        best.visit(&iterate(1.0), &losses([2.0, 4.0, 2.0]));
        best.visit(&iterate(2.0), &losses([5.0, 0.5, 3.0]));
        let images: Vec<f32> = best
            .into_images()
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(images, [1.0, 2.0, 0.0]);
    }
}
