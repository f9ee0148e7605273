//! Parity with PyTorch: the fixtures in tests/fixtures were made by make_fixtures.py with
//! torch 2.15 (weights, inputs and eval-mode logits). Our logits must match to 1e-4 relative,
//! after loading the PyTorch files and after a safetensors round trip.

use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_models::checkpoint::{CheckpointFormat, load_weights, save_safetensors};
use jeat_models::{Classifier, Model, ModelError, ModelSpec};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A tensor of io.safetensors as (values, shape).
fn reference(name: &str) -> (Vec<f32>, Vec<usize>) {
    let bytes = std::fs::read(fixture("io.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = file.tensor(name).unwrap();
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (values, view.shape().to_vec())
}

fn logits_of(model: &Model, inputs: &str, device: &Device) -> Vec<f32> {
    let (values, shape) = reference(inputs);
    let x = Tensor::<4>::from_data(
        TensorData::new(values, [shape[0], shape[1], shape[2], shape[3]]),
        device,
    );
    model
        .valid()
        .logits(x)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
}

/// max |a - b| / max |b|.
fn relative_error(ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = ours
        .iter()
        .zip(theirs)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    diff / scale
}

fn wrn(device: &Device) -> Model {
    ModelSpec::new("wrn-16-1", 10, [3, 32, 32])
        .build(device)
        .unwrap()
}

#[test]
fn wrn_from_a_wrapped_zip_state_dict_matches_pytorch() {
    let device = jeat_core::testing::device();
    let (model, report) = load_weights(wrn(&device), &fixture("wrn16_1.pt")).unwrap();
    assert_eq!(report.format, CheckpointFormat::Pytorch);
    assert_eq!(report.top_level_key.as_deref(), Some("state_dict"));
    assert!(
        report.ignored.iter().any(|k| k.contains("sub_block1")),
        "{:?}",
        report.ignored
    );
    let (expected, _) = reference("wrn_logits");
    let error = relative_error(&logits_of(&model, "wrn_inputs", &device), &expected);
    assert!(error < 1e-4, "relative error {error}");
    // A model with fresh weights is far off: the comparison can fail.
    assert!(relative_error(&logits_of(&wrn(&device), "wrn_inputs", &device), &expected) > 1e-2);
}

#[test]
fn mnist_cnn_from_a_legacy_dataparallel_file_matches_pytorch() {
    let device = jeat_core::testing::device();
    let fresh = ModelSpec::new("mnist-cnn", 10, [1, 28, 28])
        .build(&device)
        .unwrap();
    let (model, report) = load_weights(fresh, &fixture("mnist_cnn_legacy.pt")).unwrap();
    assert_eq!(report.applied, 8);
    let (expected, _) = reference("cnn_logits");
    let error = relative_error(&logits_of(&model, "cnn_inputs", &device), &expected);
    assert!(error < 1e-4, "relative error {error}");
}

#[test]
fn safetensors_round_trip_keeps_logits_and_pytorch_names() {
    let device = jeat_core::testing::device();
    let (model, _) = load_weights(wrn(&device), &fixture("wrn16_1.pt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrn.safetensors");
    save_safetensors(&model, &path).unwrap();
    let (reloaded, report) = load_weights(wrn(&device), &path).unwrap();
    assert_eq!(report.format, CheckpointFormat::Safetensors);
    let (expected, _) = reference("wrn_logits");
    let error = relative_error(&logits_of(&reloaded, "wrn_inputs", &device), &expected);
    assert!(error < 1e-4, "relative error {error}");

    // The file speaks PyTorch: same names and shapes as the original state dict (less the
    // unused sub_block1 and the batch counters), so the reference code can load it.
    let bytes = std::fs::read(&path).unwrap();
    let ours = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let original = burn::store::pytorch_reader::PytorchReader::with_top_level_key(
        fixture("wrn16_1.pt"),
        "state_dict",
    )
    .unwrap();
    let mut expected_keys: Vec<String> = original
        .keys()
        .into_iter()
        .filter(|k| !k.contains("sub_block1") && !k.ends_with("num_batches_tracked"))
        .collect();
    expected_keys.sort();
    let mut our_keys: Vec<String> = ours.names().into_iter().map(String::from).collect();
    our_keys.sort();
    assert_eq!(our_keys, expected_keys);
    for key in &our_keys {
        let theirs = original.get(key).unwrap().shape().to_vec();
        assert_eq!(
            ours.tensor(key).unwrap().shape(),
            theirs.as_slice(),
            "{key}"
        );
    }
}

#[test]
fn a_checkpoint_of_another_shape_names_the_first_mismatch() {
    let device = jeat_core::testing::device();
    let five_classes = ModelSpec::new("wrn-16-1", 5, [3, 32, 32])
        .build(&device)
        .unwrap();
    let err = load_weights(five_classes, &fixture("wrn16_1.pt")).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ModelError::ShapeMismatch { .. }), "{message}");
    assert!(
        message.contains("fc.") && message.contains("wrn16_1.pt"),
        "{message}"
    );
    // A wider network has other keys (a shortcut in block1): those are listed instead.
    let wider = ModelSpec::new("wrn-16-2", 10, [3, 32, 32])
        .build(&device)
        .unwrap();
    let message = load_weights(wider, &fixture("wrn16_1.pt"))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("missing [block1.layer.0.conv_shortcut.weight]"),
        "{message}"
    );
}

#[test]
fn a_checkpoint_of_another_architecture_lists_missing_and_unexpected_keys() {
    let device = jeat_core::testing::device();
    let err = load_weights(wrn(&device), &fixture("mnist_cnn_legacy.pt"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing [") && err.contains("conv1.weight") && err.contains("linear2"),
        "{err}"
    );
    assert!(!err.contains('\n'));
}

#[test]
fn a_pickle_that_would_run_code_is_refused() {
    let device = jeat_core::testing::device();
    let err = load_weights(wrn(&device), &fixture("evil.pt")).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ModelError::UnsafePickle { .. }), "{message}");
    assert!(
        message.contains("posix.system") || message.contains("os.system"),
        "{message}"
    );
}

#[test]
fn truncated_and_missing_files_are_one_line_errors() {
    let device = jeat_core::testing::device();
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("wrn16_1.pt")).unwrap();
    let cut = dir.path().join("cut.pt");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_weights(wrn(&device), &cut).unwrap_err().to_string();
    assert!(err.contains("cut.pt") && !err.contains('\n'), "{err}");
    let err = load_weights(wrn(&device), &dir.path().join("none.pt"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such file"), "{err}");
}

#[test]
fn preact_resnet18_exports_the_reference_names_and_shapes() {
    let device = jeat_core::testing::device();
    let model = ModelSpec::new("preact-resnet-18", 10, [3, 32, 32])
        .build(&device)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("preact.safetensors");
    save_safetensors(&model, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let ours = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let json = std::fs::read_to_string(fixture("preact_resnet18_shapes.json")).unwrap();
    let reference: std::collections::BTreeMap<String, Vec<usize>> =
        serde_json::from_str(&json).unwrap();
    let reference: Vec<(String, Vec<usize>)> = reference
        .into_iter()
        .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
        .collect();
    let mut exported: Vec<(String, Vec<usize>)> = ours
        .names()
        .into_iter()
        .map(|k| (k.to_string(), ours.tensor(k).unwrap().shape().to_vec()))
        .collect();
    exported.sort();
    assert_eq!(exported, reference);
    // And it loads back.
    let fresh = ModelSpec::new("preact-resnet-18", 10, [3, 32, 32])
        .build(&device)
        .unwrap();
    load_weights(fresh, &path).unwrap();
}
