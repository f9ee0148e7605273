//! Logit parity with the published architectures' own PyTorch code (RobustBench 1.1.1's model
//! zoo, JEM's WideResNet) on weights from a closed formula: fixtures/zoo_parity.json holds each
//! model's tensor names and shapes in the authors' naming and the eval-mode logits that
//! make_zoo_fixtures.py computed. The checkpoint is written here in those names, loaded through
//! jeat's checkpoint path, and its logits must match to 1e-4 relative.

mod formula;

use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_models::checkpoint::load_model_ignoring;
use jeat_models::zoo::InputNormalization;
use jeat_models::{Classifier, ModelError, ModelSpec};
use std::path::Path;

#[derive(serde::Deserialize)]
struct Fixture {
    models: Vec<Reference>,
    checkpoints: Vec<PytorchFile>,
}

/// A PyTorch file as RobustBench serves one (`{"state_dict": …}`, `module.` prefixes) and its
/// logits.
#[derive(serde::Deserialize)]
struct PytorchFile {
    file: String,
    arch: String,
    normalization: String,
    logits: Vec<f32>,
}

#[derive(serde::Deserialize)]
struct NamedShape {
    name: String,
    shape: Vec<usize>,
}

#[derive(serde::Deserialize)]
struct Reference {
    arch: String,
    normalization: String,
    tensors: Vec<NamedShape>,
    logits: Vec<f32>,
}

fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zoo_parity.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn spec(reference: &Reference) -> ModelSpec {
    spec_of(&reference.arch, &reference.normalization)
}

fn spec_of(arch: &str, normalization: &str) -> ModelSpec {
    let normalization = match normalization {
        "none" => InputNormalization::None,
        "cifar10" => InputNormalization::Cifar10,
        "cifar10-robustness" => InputNormalization::Cifar10Robustness,
        "minus-one-to-one" => InputNormalization::MinusOneToOne,
        other => panic!("unknown normalisation {other}"),
    };
    let mut spec = ModelSpec::new(arch, 10, [3, 32, 32]);
    spec.normalization = normalization.spec();
    spec
}

/// Writes the formula checkpoint of `reference` (in the authors' names) into `dir`.
fn checkpoint(reference: &Reference, dir: &Path) -> std::path::PathBuf {
    let tensors: Vec<(String, Vec<usize>)> = reference
        .tensors
        .iter()
        .map(|t| (t.name.clone(), t.shape.clone()))
        .collect();
    let path = dir.join(format!("{}.safetensors", reference.arch));
    formula::write_checkpoint(&path, &tensors);
    path
}

fn logits(reference: &Reference, path: &Path, device: &Device) -> Vec<f32> {
    logits_of(&spec(reference), path, device)
}

fn logits_of(spec: &ModelSpec, path: &Path, device: &Device) -> Vec<f32> {
    let (model, _, _) = load_model_ignoring(path, Some(spec), &[], device)
        .unwrap_or_else(|e| panic!("{}: {e}", spec.arch));
    let images = formula::uniform("input", 2 * 3 * 32 * 32)
        .into_iter()
        .map(|v| v as f32)
        .collect::<Vec<_>>();
    let images = Tensor::<4>::from_data(TensorData::new(images, [2, 3, 32, 32]), device);
    model
        .valid()
        .logits(images)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

/// max |a - b| / max |b|.
fn relative_error(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
    ours.iter()
        .zip(theirs)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

#[test]
fn every_family_matches_its_authors_code() {
    let device = jeat_core::testing::device();
    let dir = tempfile::tempdir().unwrap();
    for reference in fixture().models {
        let path = checkpoint(&reference, dir.path());
        let error = relative_error(&logits(&reference, &path, &device), &reference.logits);
        assert!(error < 1e-4, "{}: relative error {error}", reference.arch);
    }
}

/// The PyTorch file itself (zip format, wrapped, `module.` prefixes) loads as RobustBench
/// loads it and gives its logits.
#[test]
fn a_robustbench_style_pytorch_file_loads_and_matches() {
    let device = jeat_core::testing::device();
    for file in fixture().checkpoints {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(&file.file);
        let ours = logits_of(&spec_of(&file.arch, &file.normalization), &path, &device);
        let error = relative_error(&ours, &file.logits);
        assert!(error < 1e-4, "{}: relative error {error}", file.file);
    }
}

#[test]
fn a_checkpoint_of_another_variant_is_named() {
    let device = jeat_core::testing::device();
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let jem = fixture
        .models
        .iter()
        .find(|m| m.arch == "jem-wrn-16-2")
        .unwrap();
    let path = checkpoint(jem, dir.path());
    // The batch-norm model given as the norm-free one, and as a wider one.
    for wrong in ["jem-wrn-16-2-nobn", "jem-wrn-16-4", "dm-wrn-16-2"] {
        let spec = ModelSpec::new(wrong, 10, [3, 32, 32]);
        let err = load_model_ignoring(&path, Some(&spec), &[], &device).unwrap_err();
        assert!(
            matches!(&err, ModelError::WrongVariant { looks_like, .. } if looks_like == "jem-wrn-16-2"),
            "{wrong}: {err}"
        );
    }
}
