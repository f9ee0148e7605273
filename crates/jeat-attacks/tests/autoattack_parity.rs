//! AutoAttack against the official fra31/auto-attack code on a model of our own: the `cpu`
//! profile's PGD-trained Fashion-MNIST CNN (tests/fixtures/cpu_pgd_at_cnn.safetensors), the
//! first 1,000 real test images, Linf 0.1. tests/fixtures/make_autoattack_reference.py ran the
//! official code once on the same model and images; its numbers are committed beside it.
//!
//! About an hour on two CPU cores, so it is ignored by default:
//! `cargo test -p jeat-attacks --test autoattack_parity -- --ignored`.

use burn::module::Module;
use jeat_attacks::runner::{Evaluation, evaluate};
use jeat_attacks::suite::Suite;
use jeat_attacks::{Norm, ThreatModel};
use jeat_data::{DatasetName, SetSource, Split};
use jeat_models::checkpoint::load_model;
use std::path::Path;

#[test]
#[ignore = "about an hour on two CPU cores; run with --ignored"]
fn autoattack_matches_the_official_code_on_a_pgd_trained_cnn() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("autoattack_reference.json")).unwrap(),
    )
    .unwrap();
    let device = jeat_core::testing::device();
    let (model, _, _) =
        load_model(&fixtures.join("cpu_pgd_at_cnn.safetensors"), None, &device).unwrap();
    let model = model.valid();
    let root = std::env::var_os("JEAT_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"));
    let test = DatasetName::FashionMnist
        .load(&root, Split::Test)
        .expect("the real Fashion-MNIST test split (apt-get install dataset-fashion-mnist)");
    let points = test.take(reference["points"].as_u64().unwrap() as usize);
    let evaluation = Evaluation {
        suite: Suite::autoattack_standard(),
        threat: ThreatModel::parse(Norm::Linf, "0.1").unwrap(),
        batch_size: 250,
        seed: 0,
        identity: "cpu pgd-at CNN, Fashion-MNIST test[:1000]".into(),
        state_path: None,
        keep_adversarial: false,
    };
    let source = SetSource {
        set: &points,
        device,
    };
    let report = evaluate(&evaluation, &model, &source, &mut |_| {}).unwrap();
    eprintln!("{}", report.to_text());
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
}
