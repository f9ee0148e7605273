//! Running the network over images in batches: pool3 features (and class probabilities when the
//! 1008-way layer is loaded), from any source of `[B, C, H, W]` images in [0, 1].

use crate::inception::FidInception;
use crate::preprocess::preprocess;
use burn::prelude::*;

/// What a pass over a set of images produced.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// `rows × 2048` pool3 features.
    pub pool3: Vec<f32>,
    /// `rows × 1008` logits, when requested.
    pub logits: Vec<f32>,
    /// Images seen.
    pub rows: usize,
}

impl Features {
    /// Adds the outputs for a batch `[B, C, H, W]` of images in [0, 1].
    pub fn add(&mut self, model: &FidInception, images: Tensor<4>, with_logits: bool) {
        let [batch, ..] = images.dims();
        let out = model.forward(preprocess(images));
        self.pool3.extend(
            out.pool3
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32 features"),
        );
        if with_logits {
            self.logits.extend(
                out.logits
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .expect("f32 logits"),
            );
        }
        self.rows += batch;
    }
}

/// Features of every image of `set`, in batches of `batch_size`; `progress(done)` after each.
pub fn features_of(
    model: &FidInception,
    set: &jeat_data::ImageSet,
    batch_size: usize,
    with_logits: bool,
    device: &Device,
    progress: &mut dyn FnMut(usize),
) -> Features {
    let mut features = Features::default();
    let indices: Vec<usize> = (0..set.len()).collect();
    for chunk in indices.chunks(batch_size.max(1)) {
        let batch = jeat_data::batch_at(set, chunk, jeat_data::Augmentation::NONE, 0, 0, device);
        features.add(model, batch.images, with_logits);
        progress(features.rows);
    }
    features
}
