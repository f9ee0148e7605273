//! JEM's persistent replay buffer: SGLD chains start from stored samples (or, with probability
//! `rho`, from fresh noise), and their end points are written back. It is part of the training
//! state: saved and restored as safetensors.

use crate::error::SamplingError;
use crate::gaussian::ClassGaussians;
use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_core::rng;
use rand::Rng;
use std::path::Path;

/// Where fresh chains start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BufferInit {
    /// Uniform noise over [0, 1] (JEM).
    Uniform,
    /// Class-conditional Gaussian seeds of a uniformly random class.
    ClassGaussian,
}

/// A batch drawn from the buffer.
#[derive(Debug, Clone)]
pub struct Draw {
    /// The buffer slots the batch came from (write the chains' ends back there).
    pub slots: Vec<usize>,
    /// `[B, C, H, W]`: the chains' starting points.
    pub images: Tensor<4>,
    /// How many were fresh noise instead of stored samples.
    pub reinitialised: usize,
}

/// The buffer: `size` images of one shape, in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayBuffer {
    shape: [usize; 3],
    samples: Vec<f32>,
    /// JEM's class-conditional buffer: `Some(K)` splits the slots into K equal parts, part `k`
    /// holding chains for class `k` (see [`ReplayBuffer::draw_for`]).
    classes: Option<usize>,
    /// Probability that a drawn chain restarts from fresh noise (JEM: 0.05).
    pub reinit_probability: f64,
    /// Where fresh chains start.
    pub init: BufferInit,
}

/// `count` fresh chain starts; with class-Gaussian starts, of the given `classes` (one per
/// start) or of uniformly random ones.
fn fresh(
    count: usize,
    shape: [usize; 3],
    init: BufferInit,
    seeds: Option<&ClassGaussians>,
    classes: Option<&[usize]>,
    seed: u64,
) -> Result<Vec<f32>, SamplingError> {
    let d = shape.iter().product::<usize>();
    match (init, seeds) {
        (BufferInit::Uniform, _) => {
            let mut rng = rng::generator(seed);
            Ok((0..count * d)
                .map(|_| rng.random_range(0.0..1.0f32))
                .collect())
        }
        (BufferInit::ClassGaussian, Some(seeds)) => {
            let mut rng = rng::generator(rng::derive(seed, &[1]));
            let classes: Vec<usize> = match classes {
                Some(classes) => classes.to_vec(),
                None => (0..count)
                    .map(|_| rng.random_range(0..seeds.num_classes()))
                    .collect(),
            };
            Ok(seeds
                .sample_raw(&classes, seed)
                .into_iter()
                .map(|v| v.clamp(0.0, 1.0))
                .collect())
        }
        (BufferInit::ClassGaussian, None) => Err(SamplingError::Invalid(
            "a class-Gaussian replay buffer needs fitted seeds".into(),
        )),
    }
}

impl ReplayBuffer {
    /// A buffer of `size` fresh samples of `shape` `[C, H, W]`. With `classes: Some(K)` it is
    /// JEM's class-conditional buffer of K equal parts (`size` rounded down to a multiple of K;
    /// with class-Gaussian starts, part `k` starts from class `k`'s seeds).
    pub fn new(
        size: usize,
        shape: [usize; 3],
        reinit_probability: f64,
        init: BufferInit,
        classes: Option<usize>,
        seeds: Option<&ClassGaussians>,
        seed: u64,
    ) -> Result<Self, SamplingError> {
        if size == 0 || !(0.0..=1.0).contains(&reinit_probability) {
            return Err(SamplingError::Invalid(format!(
                "a replay buffer needs size ≥ 1 and 0 ≤ rho ≤ 1, got {size} and {reinit_probability}"
            )));
        }
        let (size, owners) = match classes {
            None => (size, None),
            Some(classes) => {
                let per_class = size / classes.max(1);
                if classes == 0 || per_class == 0 {
                    return Err(SamplingError::Invalid(format!(
                        "a class-conditional replay buffer needs at least one slot per class, got {size} slots for {classes} classes"
                    )));
                }
                let owners: Vec<usize> = (0..per_class * classes).map(|s| s / per_class).collect();
                (per_class * classes, Some(owners))
            }
        };
        Ok(Self {
            shape,
            samples: fresh(size, shape, init, seeds, owners.as_deref(), seed)?,
            classes,
            reinit_probability,
            init,
        })
    }

    /// The number of classes of a class-conditional buffer.
    pub fn classes(&self) -> Option<usize> {
        self.classes
    }

    /// Stored samples.
    pub fn len(&self) -> usize {
        self.samples.len() / self.shape.iter().product::<usize>()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The image shape `[C, H, W]`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// `batch` chain starts: uniformly chosen slots, each replaced by fresh noise with
    /// probability `rho`.
    pub fn draw(
        &self,
        batch: usize,
        seeds: Option<&ClassGaussians>,
        seed: u64,
        device: &Device,
    ) -> Result<Draw, SamplingError> {
        let mut rng = rng::generator(seed);
        let slots: Vec<usize> = (0..batch)
            .map(|_| rng.random_range(0..self.len()))
            .collect();
        self.starts(slots, None, seeds, &mut rng, seed, device)
    }

    /// Chain starts for `labels` from a class-conditional buffer (JEM's `sample_q(f, y=y)`):
    /// each from a uniformly chosen slot of its class's part, or, with probability `rho`, fresh
    /// (from its class's Gaussian with class-Gaussian starts).
    pub fn draw_for(
        &self,
        labels: &[usize],
        seeds: Option<&ClassGaussians>,
        seed: u64,
        device: &Device,
    ) -> Result<Draw, SamplingError> {
        let Some(classes) = self.classes else {
            return Err(SamplingError::Invalid(
                "samples for given labels need a class-conditional replay buffer (sampler.class_conditional = true)".into(),
            ));
        };
        let per_class = self.len() / classes;
        if let Some(&bad) = labels.iter().find(|&&y| y >= classes) {
            return Err(SamplingError::Invalid(format!(
                "label {bad} is outside the buffer's {classes} classes"
            )));
        }
        let mut rng = rng::generator(seed);
        let slots: Vec<usize> = labels
            .iter()
            .map(|&y| y * per_class + rng.random_range(0..per_class))
            .collect();
        self.starts(slots, Some(labels), seeds, &mut rng, seed, device)
    }

    fn starts(
        &self,
        slots: Vec<usize>,
        labels: Option<&[usize]>,
        seeds: Option<&ClassGaussians>,
        rng: &mut impl Rng,
        seed: u64,
        device: &Device,
    ) -> Result<Draw, SamplingError> {
        let d = self.shape.iter().product::<usize>();
        let batch = slots.len();
        let restart: Vec<bool> = (0..batch)
            .map(|_| rng.random_bool(self.reinit_probability))
            .collect();
        let reinitialised = restart.iter().filter(|&&r| r).count();
        let restart_classes: Option<Vec<usize>> = labels.map(|labels| {
            labels
                .iter()
                .zip(&restart)
                .filter(|(_, r)| **r)
                .map(|(&y, _)| y)
                .collect()
        });
        let noise = fresh(
            reinitialised,
            self.shape,
            self.init,
            seeds,
            restart_classes.as_deref(),
            rng::derive(seed, &[2]),
        )?;
        let mut values = Vec::with_capacity(batch * d);
        let mut next_fresh = noise.chunks(d);
        for (&slot, &restart) in slots.iter().zip(&restart) {
            match restart {
                true => values
                    .extend_from_slice(next_fresh.next().expect("one fresh sample per restart")),
                false => values.extend_from_slice(&self.samples[slot * d..(slot + 1) * d]),
            }
        }
        let [c, h, w] = self.shape;
        Ok(Draw {
            slots,
            images: Tensor::from_data(TensorData::new(values, [batch, c, h, w]), device),
            reinitialised,
        })
    }

    /// Stores the chains' ends `[B, C, H, W]` in the slots they were drawn from.
    pub fn write_back(&mut self, slots: &[usize], samples: Tensor<4>) {
        let d = self.shape.iter().product::<usize>();
        let values = samples
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 samples");
        for (&slot, row) in slots.iter().zip(values.chunks(d)) {
            self.samples[slot * d..(slot + 1) * d].copy_from_slice(row);
        }
    }

    /// The samples at `slots`, `[n, C, H, W]`.
    pub fn get(&self, slots: &[usize], device: &Device) -> Tensor<4> {
        let d = self.shape.iter().product::<usize>();
        let values: Vec<f32> = slots
            .iter()
            .flat_map(|&s| self.samples[s * d..(s + 1) * d].to_vec())
            .collect();
        let [c, h, w] = self.shape;
        Tensor::from_data(TensorData::new(values, [slots.len(), c, h, w]), device)
    }

    /// Writes the buffer as safetensors (tensor `samples` `[N, C, H, W]`, metadata `rho` and
    /// `init`), atomically.
    pub fn save(&self, path: &Path) -> Result<(), SamplingError> {
        let [c, h, w] = self.shape;
        let bytes: Vec<u8> = self.samples.iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = safetensors::tensor::TensorView::new(
            safetensors::Dtype::F32,
            vec![self.len(), c, h, w],
            &bytes,
        )
        .map_err(|e| SamplingError::io(path, e))?;
        let mut metadata = std::collections::HashMap::from([
            ("rho".to_string(), self.reinit_probability.to_string()),
            ("init".to_string(), format!("{:?}", self.init)),
        ]);
        if let Some(classes) = self.classes {
            metadata.insert("classes".to_string(), classes.to_string());
        }
        let data = safetensors::serialize([("samples", view)], Some(metadata))
            .map_err(|e| SamplingError::io(path, e))?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, data).map_err(|e| SamplingError::io(path, e))?;
        std::fs::rename(&tmp, path).map_err(|e| SamplingError::io(path, e))
    }

    /// Reads a buffer written by [`ReplayBuffer::save`].
    pub fn load(path: &Path) -> Result<Self, SamplingError> {
        let bytes = std::fs::read(path).map_err(|e| SamplingError::io(path, e))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| SamplingError::io(path, format!("not a replay buffer: {e}")))?;
        let file = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| SamplingError::io(path, format!("not a replay buffer: {e}")))?;
        let view = file
            .tensor("samples")
            .map_err(|e| SamplingError::io(path, format!("no 'samples' tensor: {e}")))?;
        let shape = view.shape();
        if shape.len() != 4 || view.dtype() != safetensors::Dtype::F32 {
            return Err(SamplingError::io(
                path,
                format!(
                    "'samples' must be f32 [N, C, H, W], found {:?} {shape:?}",
                    view.dtype()
                ),
            ));
        }
        let samples = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let metadata = header.metadata().clone().unwrap_or_default();
        let reinit_probability = metadata
            .get("rho")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.05);
        let init = match metadata.get("init").map(String::as_str) {
            Some("ClassGaussian") => BufferInit::ClassGaussian,
            _ => BufferInit::Uniform,
        };
        let classes = metadata.get("classes").and_then(|v| v.parse().ok());
        Ok(Self {
            shape: [shape[1], shape[2], shape[3]],
            samples,
            classes,
            reinit_probability,
            init,
        })
    }
}
