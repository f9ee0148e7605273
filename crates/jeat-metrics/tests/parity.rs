//! Parity with the original implementations: the Fréchet distance against scipy's float64
//! `sqrtm` formula, and the network's pool3 features on the 20 real CIFAR-10 fixture images
//! against TensorFlow's resize plus the TorchScript port of the 2015 graph (see
//! tests/fixtures/make_reference.py). The network test needs the real weights: it fails with
//! the fetch command when they are missing, unless JEAT_SKIP_REAL_DATA is set.

use burn::prelude::*;
use jeat_data::png_folder::read_png_folder;
use jeat_data::{Augmentation, batch_at};
use jeat_metrics::extract::Features;
use jeat_metrics::weights::{FETCH_HINT, load, locate};
use jeat_metrics::{Statistics, frechet_distance};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[derive(serde::Deserialize)]
struct Case {
    mu1: Vec<f64>,
    sigma1: Vec<f64>,
    mu2: Vec<f64>,
    sigma2: Vec<f64>,
    fid: f64,
}

#[test]
fn frechet_distance_matches_scipy_on_random_spd_matrices() {
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(fixture("frechet_reference.json")).unwrap())
            .unwrap();
    for case in cases {
        let a = Statistics {
            count: 10,
            mu: case.mu1,
            sigma: case.sigma1,
        };
        let b = Statistics {
            count: 10,
            mu: case.mu2,
            sigma: case.sigma2,
        };
        let ours = frechet_distance(&a, &b).unwrap();
        assert!(
            (ours - case.fid).abs() < 1e-8 * case.fid.abs().max(1.0),
            "dimension {}: {ours} vs scipy {}",
            a.mu.len(),
            case.fid
        );
    }
}

#[test]
fn pool3_features_of_real_cifar_images_match_the_original_pipeline() {
    let found = locate(&jeat_core::testing::data_root()).ok_or(FETCH_HINT);
    let Some(weights) = jeat_core::testing::real_data(found, "the FID weights") else {
        return;
    };
    let device = jeat_core::testing::device();
    let inception = load(&weights, &device).unwrap();
    let set = read_png_folder(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/fixtures/cifar10"),
        "cifar10",
        10,
    )
    .unwrap();
    let indices: Vec<usize> = (0..set.len()).collect();
    let batch = batch_at(&set, &indices, Augmentation::NONE, 0, 0, &device);
    let mut features = Features::default();
    features.add(&inception.model, batch.images, false);

    let bytes = std::fs::read(fixture("inception_reference.safetensors")).unwrap();
    let reference = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let expected: Vec<f32> = reference
        .tensor("pool3")
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(features.pool3.len(), expected.len());
    let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
    let error = features
        .pool3
        .iter()
        .zip(&expected)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
        / scale;
    eprintln!("pool3 relative error {error:.2e} against the original pipeline");
    assert!(
        error < 1e-3,
        "relative error {error} of pool3 features ({})",
        inception.source
    );
    // Fresh weights are far off: the comparison can fail.
    let mut fresh = Features::default();
    let batch = batch_at(&set, &indices, Augmentation::NONE, 0, 0, &device);
    fresh.add(
        &jeat_metrics::FidInception::new(&device).valid(),
        batch.images,
        false,
    );
    let fresh_error = fresh
        .pool3
        .iter()
        .zip(&expected)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
        / scale;
    assert!(fresh_error > 1e-2);
}
