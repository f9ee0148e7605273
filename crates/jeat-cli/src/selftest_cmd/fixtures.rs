//! What `jeat selftest` carries in the binary (`include_bytes!`, about 6 MB), so that the binary
//! alone checks a machine:
//!
//! - jeat-models' PyTorch parity fixtures (`crates/jeat-models/tests/fixtures/`, made by its
//!   `make_fixtures.py`): a WRN-16-1 (`wrn16_1.pt`), the MNIST CNN (`mnist_cnn_legacy.pt`), and
//!   their inputs and PyTorch logits (`io.safetensors`);
//! - PyTorch's input gradients at those inputs (`crates/jeat-cli/fixtures/
//!   selftest_gradients.safetensors`) and the first 20 real Fashion-MNIST test images
//!   (`fashion_mnist_20.safetensors`), both made by `make_selftest_fixtures.py` there;
//! - the `cpu` profile's PGD-trained Fashion-MNIST CNN
//!   (`crates/jeat-attacks/tests/fixtures/cpu_pgd_at_cnn.safetensors`).
//!
//! The checkpoint readers of jeat-models read files: the weight files are written to a
//! temporary directory for the run ([`Scratch`]) and removed after it.

use anyhow::{Context as _, Result, bail};
use burn::prelude::*;
use jeat_models::checkpoint::{load_model, load_weights};
use jeat_models::{Model, ModelSpec};
use safetensors::{Dtype, SafeTensors};
use std::path::PathBuf;

/// The WRN-16-1 of the PyTorch parity fixtures (a wrapped zip state dict).
const WRN_WEIGHTS: &[u8] = include_bytes!("../../../jeat-models/tests/fixtures/wrn16_1.pt");
/// The MNIST CNN of the PyTorch parity fixtures (legacy format, DataParallel names).
const CNN_WEIGHTS: &[u8] =
    include_bytes!("../../../jeat-models/tests/fixtures/mnist_cnn_legacy.pt");
/// The `cpu` profile's PGD-trained Fashion-MNIST CNN (jeat's safetensors, spec in metadata).
const PGD_CNN_WEIGHTS: &[u8] =
    include_bytes!("../../../jeat-attacks/tests/fixtures/cpu_pgd_at_cnn.safetensors");
/// `wrn_inputs` [4, 3, 32, 32], `wrn_logits` [4, 10], `cnn_inputs` [3, 1, 28, 28],
/// `cnn_logits` [3, 10]: PyTorch's eval-mode logits.
pub const PARITY_IO: &[u8] = include_bytes!("../../../jeat-models/tests/fixtures/io.safetensors");
/// `wrn_labels` [4], `wrn_input_grad` [4, 3, 32, 32], `cnn_labels` [3], `cnn_input_grad`
/// [3, 1, 28, 28]: PyTorch's gradients of the summed cross-entropy with respect to the inputs.
pub const GRADIENTS: &[u8] = include_bytes!("../../fixtures/selftest_gradients.safetensors");
/// `images` [20, 1, 28, 28] in [0, 1] and `labels` [20]: Fashion-MNIST test[:20].
const FASHION_POINTS: &[u8] = include_bytes!("../../fixtures/fashion_mnist_20.safetensors");

/// The embedded weight files written out to a temporary directory, removed on drop.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Writes the weight files.
    pub fn new() -> Result<Self> {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let count = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("jeat-selftest-{}-{count}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the scratch directory {}", dir.display()))?;
        let scratch = Self { dir };
        for (name, bytes) in [
            ("wrn16_1.pt", WRN_WEIGHTS),
            ("mnist_cnn_legacy.pt", CNN_WEIGHTS),
            ("cpu_pgd_at_cnn.safetensors", PGD_CNN_WEIGHTS),
        ] {
            let path = scratch.dir.join(name);
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(scratch)
    }

    /// The PyTorch parity WRN-16-1 (10 classes, 3×32×32, no normalisation) on `device`.
    pub fn wrn(&self, device: &Device) -> Result<Model> {
        self.parity_model(
            ModelSpec::new("wrn-16-1", 10, [3, 32, 32]),
            "wrn16_1.pt",
            device,
        )
    }

    /// The PyTorch parity MNIST CNN (10 classes, 1×28×28) on `device`.
    pub fn mnist_cnn(&self, device: &Device) -> Result<Model> {
        self.parity_model(
            ModelSpec::new("mnist-cnn", 10, [1, 28, 28]),
            "mnist_cnn_legacy.pt",
            device,
        )
    }

    fn parity_model(&self, spec: ModelSpec, file: &str, device: &Device) -> Result<Model> {
        let (model, _) = load_weights(spec.build(device)?, &self.dir.join(file))?;
        Ok(model)
    }

    /// The PGD-trained Fashion-MNIST CNN on `device`, in inference mode.
    pub fn pgd_cnn(&self, device: &Device) -> Result<Model> {
        let (model, _, _) = load_model(&self.dir.join("cpu_pgd_at_cnn.safetensors"), None, device)?;
        Ok(model.valid())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The values and shape of the f32 tensor `name` of the safetensors bytes `file`.
pub fn tensor_f32(file: &'static [u8], name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
    let tensors = SafeTensors::deserialize(file).context("an embedded fixture")?;
    let view = tensors
        .tensor(name)
        .with_context(|| format!("tensor {name} of an embedded fixture"))?;
    if view.dtype() != Dtype::F32 {
        bail!(
            "tensor {name} of an embedded fixture is {:?}, not f32",
            view.dtype()
        );
    }
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((values, view.shape().to_vec()))
}

/// The values of the int64 tensor `name` of the safetensors bytes `file`, as indices.
pub fn tensor_labels(file: &'static [u8], name: &str) -> Result<Vec<usize>> {
    let tensors = SafeTensors::deserialize(file).context("an embedded fixture")?;
    let view = tensors
        .tensor(name)
        .with_context(|| format!("tensor {name} of an embedded fixture"))?;
    if view.dtype() != Dtype::I64 {
        bail!(
            "tensor {name} of an embedded fixture is {:?}, not int64",
            view.dtype()
        );
    }
    view.data()
        .chunks_exact(8)
        .map(|b| {
            let v = i64::from_le_bytes(b.try_into().expect("8 bytes"));
            usize::try_from(v).with_context(|| format!("label {v} in {name}"))
        })
        .collect()
}

/// `[N, C, H, W]` as an array, for the 4-d tensors of the fixtures.
pub fn shape4(shape: &[usize]) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(shape)
        .map_err(|_| anyhow::anyhow!("expected 4 dimensions, got {shape:?}"))
}

/// The first `n` (≤ 20) embedded Fashion-MNIST test points: images `[n, 1, 28, 28]` in [0, 1]
/// as host values, and labels.
pub fn fashion_points(n: usize) -> Result<(Vec<f32>, [usize; 4], Vec<usize>)> {
    let (values, shape) = tensor_f32(FASHION_POINTS, "images")?;
    let labels = tensor_labels(FASHION_POINTS, "labels")?;
    let [total, c, h, w] = shape4(&shape)?;
    if n > total || labels.len() != total {
        bail!(
            "the embedded points hold {total} images and {} labels, not {n}",
            labels.len()
        );
    }
    Ok((
        values[..n * c * h * w].to_vec(),
        [n, c, h, w],
        labels[..n].to_vec(),
    ))
}
