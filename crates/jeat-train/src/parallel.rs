//! Data parallelism: one step's batch split across devices, each with its own copy of the model,
//! the gradients gathered on the main device, one optimiser step.
//!
//! Every random draw of a step (augmentation, data noise, the inner attack's random start, the
//! replay-buffer draw) is made once for the whole batch on the main device, so each point gets
//! what it would get on one device. Each device then takes a contiguous share of the rows
//! ([`split`]) of the data and, separately, of the SGLD chains (whose count is the sampler's own),
//! runs the inner attack and SGLD on its own copy of the model ([`replicate`]: burn's
//! `Module::fork`) and computes its share's loss with every mean scaled by the share of its own
//! kind of rows (`jeat_energy::RowShares`: data terms by the data share, `E(x̂)` terms by the
//! chain share; a share without chains adds nothing to those); the gradients are moved to the
//! main device (`GradientsParams::to_device`) and summed (`GradientsAccumulator`), which for
//! jeat's losses (means over points) is the whole batch's gradient, term by term.
//!
//! What differs from one device, and why:
//! - the SGLD noise of shards after the first comes from their own seeds
//!   ([`crate::inner::chain_seed`]): the chains are statistically the same, not bit for bit;
//! - batch-norm layers normalise each shard with its own batch statistics (as PyTorch's
//!   `DataParallel` without `SyncBatchNorm`); the running statistics are then the
//!   shard-size-weighted mean of the devices' updates ([`merge_running_statistics`]). That is the
//!   one-device update for the first batch-norm layer only: later layers see activations each
//!   shard normalised with its own statistics, so their running statistics (and the gradients)
//!   are near one device's, not equal to them (docs/training.md has the measured difference);
//! - sums run in another order, so weights agree to rounding, not bit for bit.

use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use jeat_models::Model;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

/// `len` rows in `parts` contiguous shares, as equal as possible (the first `len % parts` get one
/// row more). A share may be empty when `len < parts`.
pub fn split(len: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.max(1);
    let (base, extra) = (len / parts, len % parts);
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let size = base + usize::from(i < extra);
            let range = start..start + size;
            start += size;
            range
        })
        .collect()
}

/// How a batch of `batch` is split over `devices` devices, in words ("64 + 64 per device"),
/// saying so when it does not split evenly.
pub fn describe_split(batch: usize, devices: usize) -> String {
    let sizes: Vec<String> = split(batch, devices)
        .iter()
        .map(|r| r.len().to_string())
        .collect();
    let even = batch.is_multiple_of(devices.max(1));
    format!(
        "batch {batch} split {} over {devices} devices{}",
        sizes.join(" + "),
        if even {
            ""
        } else {
            " (it does not split evenly: the larger shares go to the first devices, and each \
             share's loss is weighted by its size)"
        }
    )
}

/// Rows `rows` of `tensor` `[N, …]` on `device` (the tensor itself when that is all of it, on
/// its own device).
pub fn rows<const D: usize, K>(
    tensor: &Tensor<D, K>,
    rows: &Range<usize>,
    device: &Device,
) -> Tensor<D, K>
where
    K: burn::tensor::kind::Basic,
{
    let whole = rows.start == 0 && rows.end == tensor.dims()[0];
    let part = match whole {
        true => tensor.clone(),
        false => tensor.clone().slice([rows.clone()]),
    };
    match part.device() == *device {
        true => part,
        false => part.to_device(device),
    }
}

/// `model`'s copy on `device` (a plain device; the copy trains with autodiff there): the same
/// parameters (and ids), detached from `model`'s graph, with batch-norm running statistics of
/// its own, so that devices working at the same time do not write into one another's.
pub fn replicate(model: &Model, device: &Device) -> Model {
    // `valid()` gives the running statistics new cells; `train()` restores the parameters'
    // gradients; `fork` moves it all.
    model.valid().train().fork(&device.clone().autodiff())
}

/// The gradients of the shares, summed on the main device `main` (plain; where `model` lives;
/// the first share's are there already).
pub fn gather(model: &Model, shares: Vec<GradientsParams>, main: &Device) -> GradientsParams {
    let mut shares = shares.into_iter();
    let first = shares.next().unwrap_or_default();
    let mut accumulator = GradientsAccumulator::<Model>::new();
    accumulator.accumulate(model, first);
    for grads in shares {
        accumulator.accumulate(model, grads.to_device(main, model));
    }
    accumulator.grads()
}

/// Sets `model`'s batch-norm running statistics (the float tensors that have no gradient in
/// `grads`) to the weighted mean of its own and the `replicas'` (each weighted by the share of
/// the batch it saw; `model`'s weight comes first).
pub fn merge_running_statistics(
    model: Model,
    replicas: &[Model],
    weights: &[f64],
    grads: &GradientsParams,
) -> Model {
    // `valid()` folds a cell's pending updates into it before it is read or written.
    let _ = model.valid();
    let replicas: Vec<HashMap<ParamId, Tensor<1>>> = replicas
        .iter()
        .map(|replica| {
            let _ = replica.valid();
            let mut collector = Buffers {
                grads,
                values: HashMap::new(),
            };
            replica.visit(&mut collector);
            collector.values
        })
        .collect();
    model.map(&mut Merge {
        grads,
        replicas,
        weights,
    })
}

/// The flattened float tensors of a module that have no gradient in `grads`.
struct Buffers<'a> {
    grads: &'a GradientsParams,
    values: HashMap<ParamId, Tensor<1>>,
}

impl ModuleVisitor for Buffers<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.grads.get::<D>(param.id).is_none() {
            self.values
                .insert(param.id, param.val().detach().reshape([-1]));
        }
    }
}

struct Merge<'a> {
    grads: &'a GradientsParams,
    replicas: Vec<HashMap<ParamId, Tensor<1>>>,
    weights: &'a [f64],
}

impl ModuleMapper for Merge<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.grads.get::<D>(param.id).is_some() {
            return param;
        }
        let id = param.id;
        let (_, tensor, mapper) = param.consume();
        let (device, dims) = (tensor.device(), tensor.dims());
        let mut merged = tensor * self.weights[0];
        for (replica, weight) in self.replicas.iter().zip(&self.weights[1..]) {
            if let Some(value) = replica.get(&id) {
                merged = merged + value.clone().to_device(&device).reshape(dims) * *weight;
            }
        }
        Param::from_mapped_value(id, merged, mapper)
    }
}

/// The whole batch's logged values: the sum of the shares' (each already scaled by its share of
/// the rows its term is a mean over).
pub fn summed_values(shares: &[BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let mut values = BTreeMap::new();
    for share in shares {
        for (name, value) in share {
            *values.entry(name.clone()).or_insert(0.0) += value;
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_split_into_contiguous_near_equal_shares() {
        assert_eq!(split(8, 2), vec![0..4, 4..8]);
        assert_eq!(split(10, 4), vec![0..3, 3..6, 6..8, 8..10]);
        assert_eq!(split(1, 2), vec![0..1, 1..1]);
        assert_eq!(split(5, 1), vec![0..5]);
        assert!(describe_split(10, 4).contains("3 + 3 + 2 + 2"));
        assert!(describe_split(10, 4).contains("does not split evenly"));
        assert!(!describe_split(8, 2).contains("evenly"));
    }

    #[test]
    fn shares_values_are_summed() {
        let a = BTreeMap::from([("loss".to_string(), 0.75), ("e_sample".to_string(), 1.0)]);
        let b = BTreeMap::from([("loss".to_string(), 1.0)]);
        let values = summed_values(&[a, b]);
        assert_eq!(values["loss"], 1.75);
        assert_eq!(values["e_sample"], 1.0);
    }
}
