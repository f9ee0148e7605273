//! Parameter values from a closed formula of the tensor's name and the element's index, so that
//! a PyTorch model and ours get the same weights without the weights being committed: the
//! fixture holds only names, shapes, inputs' formula and logits. make_zoo_fixtures.py computes
//! the same values with numpy.
//!
//! `u(name, i) = splitmix64(fnv1a64(name) ^ i) >> 11) / 2^53` in [0, 1), then per kind:
//! running variance `0.5 + u`, batch-norm weight `0.5 + u`, biases and running means
//! `0.2 (u - 0.5)`, weights with a fan-in `(2u - 1) · sqrt(6 / fan_in)` (He uniform).

use std::collections::HashMap;
use std::path::Path;

fn fnv1a64(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `count` uniform values in [0, 1) of the tensor `name`.
pub fn uniform(name: &str, count: usize) -> Vec<f64> {
    let seed = fnv1a64(name);
    (0..count as u64)
        .map(|i| (splitmix64(seed ^ i) >> 11) as f64 / (1u64 << 53) as f64)
        .collect()
}

/// The values of the parameter or buffer `name` of `shape`, in PyTorch's layout.
pub fn parameter(name: &str, shape: &[usize]) -> Vec<f32> {
    let count = shape.iter().product();
    let u = uniform(name, count);
    let fan_in: usize = shape.iter().skip(1).product();
    let last = name.rsplit('.').next().unwrap_or(name);
    let value = |u: f64| -> f64 {
        match last {
            "running_var" => 0.5 + u,
            "running_mean" | "bias" => 0.2 * (u - 0.5),
            _ if shape.len() == 1 => 0.5 + u,
            _ => (2.0 * u - 1.0) * (6.0 / fan_in as f64).sqrt(),
        }
    };
    u.into_iter().map(|u| value(u) as f32).collect()
}

/// Writes a safetensors file with formula values for every `(name, shape)`.
pub fn write_checkpoint(path: &Path, tensors: &[(String, Vec<usize>)]) {
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, shape)| {
            let bytes = parameter(name, shape)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            (name.clone(), shape.clone(), bytes)
        })
        .collect();
    let views: HashMap<String, safetensors::tensor::TensorView<'_>> = data
        .iter()
        .map(|(name, shape, bytes)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .unwrap();
            (name.clone(), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}
