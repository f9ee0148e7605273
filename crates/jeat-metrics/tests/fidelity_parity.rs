//! Parity with torch-fidelity: fixed logits and features (tests/fixtures/fidelity_reference.*,
//! made by make_fidelity_reference.py) give the Inception Score and KID torch-fidelity 0.4.0
//! computes, to 1e-6, with its shuffling and subset draws (numpy's `RandomState(2020)`).

use jeat_metrics::inception_score::{IsSplits, inception_score};
use jeat_metrics::kid::{KidSubsets, kernel_inception_distance};
use jeat_metrics::numpy_rng::LegacyRandomState;
use std::collections::BTreeMap;
use std::path::Path;

fn fixtures() -> (BTreeMap<String, Vec<f32>>, serde_json::Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let bytes = std::fs::read(dir.join("fidelity_reference.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let arrays = tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, values)
        })
        .collect();
    let reference = serde_json::from_str(
        &std::fs::read_to_string(dir.join("fidelity_reference.json")).unwrap(),
    )
    .unwrap();
    (arrays, reference)
}

fn pair(value: &serde_json::Value) -> (f64, f64) {
    (value[0].as_f64().unwrap(), value[1].as_f64().unwrap())
}

#[test]
fn numpy_legacy_permutations_are_reproduced() {
    let (_, reference) = fixtures();
    let expected = |key: &str| -> Vec<usize> {
        reference[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect()
    };
    let mut state = LegacyRandomState::new(2020);
    assert_eq!(
        state.permutation(300),
        expected("permutation_seed2020_n300")
    );
    assert_eq!(
        state.choice_without_replacement(160, 50),
        expected("choice_seed2020_after_n160_m50")
    );
}

#[test]
fn inception_score_equals_torch_fidelity() {
    let (arrays, reference) = fixtures();
    let logits = &arrays["logits"];
    for splits in [10, 3] {
        for shuffle in [true, false] {
            let key = format!("is_splits{splits}_shuffle{}", u8::from(shuffle));
            let (mean, std) = pair(&reference[&key]);
            let ours = inception_score(
                logits,
                50,
                IsSplits {
                    splits,
                    shuffle_seed: shuffle.then_some(2020),
                },
            )
            .unwrap();
            assert!(
                (ours.mean - mean).abs() < 1e-6 && (ours.std - std).abs() < 1e-6,
                "{key}: ours {ours:?}, torch-fidelity {mean} ± {std}"
            );
        }
    }
}

#[test]
fn kid_equals_torch_fidelity() {
    let (arrays, reference) = fixtures();
    let (mean, std) = pair(&reference["kid_subsets20_size50"]);
    let ours = kernel_inception_distance(
        &arrays["features_a"],
        &arrays["features_b"],
        64,
        KidSubsets {
            subsets: 20,
            subset_size: 50,
            seed: 2020,
        },
    )
    .unwrap();
    assert!(
        (ours.mean - mean).abs() < 1e-6 && (ours.std - std).abs() < 1e-6,
        "ours {ours:?}, torch-fidelity {mean} ± {std}"
    );
}
