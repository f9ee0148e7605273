//! AutoAttack against the official fra31/auto-attack code on a model of our own: the `cpu`
//! profile's PGD-trained Fashion-MNIST CNN (tests/fixtures/cpu_pgd_at_cnn.safetensors), the
//! first 1,000 real test images, Linf 0.1. tests/fixtures/make_autoattack_reference.py ran the
//! official code once on the same model and images; its numbers are committed beside it.
//!
//! The whole run is about an hour on two CPU cores, so it is ignored by default:
//! `cargo test -p jeat-attacks --test autoattack_parity -- --ignored`. Every `cargo test` runs
//! its first part, APGD-CE then APGD-T on the first 100 points, against the official per-point
//! results.

use burn::module::Module;
use jeat_attacks::runner::{Evaluation, evaluate};
use jeat_attacks::suite::Suite;
use jeat_attacks::{Norm, ThreatModel};
use jeat_data::{DatasetName, SetSource, Split};
use jeat_models::checkpoint::load_model;
use std::path::Path;

fn reference() -> serde_json::Value {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("autoattack_reference.json")).unwrap(),
    )
    .unwrap()
}

/// The first `n` real Fashion-MNIST test images, unless the user opted out of real data.
fn test_points(n: usize) -> Option<jeat_data::ImageSet> {
    let test = jeat_core::testing::real_data(
        DatasetName::FashionMnist.load(&jeat_core::testing::data_root(), Split::Test),
        "the real Fashion-MNIST test split",
    )?;
    Some(test.take(n))
}

/// APGD-CE then APGD-T (the attacks of AutoAttack standard that fooled every point the official
/// run fooled on this model: its FAB-T and Square fooled none) on the first 100 points: the
/// points left robust are the official run's, point by point, up to one point where two
/// implementations' random starts and float sums may end on either side.
#[test]
fn apgd_ce_and_apgd_t_fool_the_points_the_official_code_fools() {
    let reference = reference();
    let after = &reference["robust_accuracy_after"];
    assert_eq!(after["apgd-t"], after["square"], "the fixture's premise");
    let Some(points) = test_points(100) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    attack_fixture_model(
        &points,
        Suite::parse("apgd-ce,apgd-t").unwrap(),
        100,
        &state,
    );
    let disagree = disagreements(&state, &reference);
    assert!(
        disagree.len() <= MAX_DISAGREEMENTS,
        "points {disagree:?} disagree with the official run"
    );
}

/// `suite` run on `points` against the committed PGD-trained CNN, with its per-point state in
/// `state`.
fn attack_fixture_model(
    points: &jeat_data::ImageSet,
    suite: Suite,
    batch_size: usize,
    state: &Path,
) -> jeat_attacks::runner::Report {
    let device = jeat_core::testing::device();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (model, _, _) =
        load_model(&fixtures.join("cpu_pgd_at_cnn.safetensors"), None, &device).unwrap();
    let model = model.valid();
    let evaluation = Evaluation {
        identity: format!("cpu pgd-at CNN, Fashion-MNIST test[:{}]", points.len()),
        suite,
        threat: ThreatModel::parse(Norm::Linf, "0.1").unwrap(),
        batch_size,
        seed: 0,
        state_path: Some(state.to_path_buf()),
        keep_adversarial: false,
    };
    let source = SetSource {
        set: points,
        device,
    };
    let report = evaluate(&evaluation, &model, &source, &mut |_| {}).unwrap();
    eprintln!("{}", report.to_text());
    report
}

/// The points whose robust/fooled verdict in the state file `state` differs from the official
/// run's, said with both counts.
fn disagreements(state: &Path, reference: &serde_json::Value) -> Vec<usize> {
    let ours = jeat_attacks::runner::point_results(state).unwrap();
    let theirs: Vec<bool> = reference["robust"].as_array().unwrap()[..ours.len()]
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    let disagree: Vec<usize> = ours
        .iter()
        .zip(&theirs)
        .filter(|(p, t)| p.robust != **t)
        .map(|(p, _)| p.index)
        .collect();
    eprintln!(
        "robust: ours {} / {n}, official {} / {n}; disagreeing points: {disagree:?}",
        ours.iter().filter(|p| p.robust).count(),
        theirs.iter().filter(|t| **t).count(),
        n = ours.len()
    );
    disagree
}

/// Points of the 100 on which our robust/fooled verdict may differ from the official one: one,
/// for a point that ends on the boundary (measured 2026-12-06: none; ours and the official run
/// leave the same 64 points robust).
const MAX_DISAGREEMENTS: usize = 1;

#[test]
#[ignore = "about an hour on two CPU cores; run with --ignored"]
fn autoattack_matches_the_official_code_on_a_pgd_trained_cnn() {
    let reference = reference();
    let Some(points) = test_points(reference["points"].as_u64().unwrap() as usize) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let report = attack_fixture_model(&points, Suite::autoattack_standard(), 250, &state);
    let theirs = |key: &str| reference[key].as_f64().unwrap();
    assert!((report.clean_accuracy - theirs("clean_accuracy")).abs() < 1e-4);
    assert!(
        (report.robust_accuracy - theirs("robust_accuracy")).abs() <= 0.3,
        "aa-standard: ours {} %, official {} %",
        report.robust_accuracy,
        theirs("robust_accuracy")
    );
    for attack in &report.attacks {
        // The official log names Square without its query count.
        let key = match attack.name.starts_with("square") {
            true => "square",
            false => attack.name.as_str(),
        };
        let official = reference["robust_accuracy_after"][key]
            .as_f64()
            .unwrap_or_else(|| panic!("no official number after {key}"));
        assert!(
            (attack.robust_accuracy - official).abs() <= 0.5,
            "after {}: ours {} %, official {official} %",
            attack.name,
            attack.robust_accuracy
        );
    }
    // Point by point: the same few-point tolerance per hundred as the quick test above.
    let disagree = disagreements(&state, &reference);
    assert!(
        disagree.len() <= MAX_DISAGREEMENTS * points.len() / 100,
        "{} points disagree with the official run: {disagree:?}",
        disagree.len()
    );
}
