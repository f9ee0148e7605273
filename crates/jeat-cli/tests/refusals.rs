//! What the command line refuses, in one line and before any work: inputs it cannot give a
//! right answer for (an empty set, labels the model has no class for, seeds that miss a class)
//! and flags that would otherwise be ignored. And a training set smaller than one batch, which
//! trains.

mod common;

use common::{checkpoint, jeat, npy, run};
use jeat_data::array_writer::{ArrayValues, NamedArray, write_arrays};
use std::path::Path;

/// `n` structured 1×28×28 images as `.npy` bytes and `labels` as another, written to `dir`.
fn arrays(dir: &Path, n: usize, labels: &[i64]) -> (std::path::PathBuf, std::path::PathBuf) {
    let pixels: Vec<u8> = (0..n * 784)
        .map(|k| ((k % 784) * (k / 784 + 1) % 256) as u8)
        .collect();
    let (x, y) = (dir.join("x.npy"), dir.join("y.npy"));
    std::fs::write(&x, npy(ArrayValues::U8(pixels), &[n, 1, 28, 28])).unwrap();
    std::fs::write(&y, npy(ArrayValues::I64(labels.to_vec()), &[labels.len()])).unwrap();
    (x, y)
}

fn one_line_error(ok: bool, stderr: &str, needles: &[&str]) {
    assert!(!ok, "succeeded: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "no '{needle}' in: {stderr}");
    }
}

#[test]
fn an_empty_set_is_refused_and_nothing_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = arrays(dir.path(), 0, &[]);
    let adv = dir.path().join("adv.npz");
    let (ok, _, stderr) = run(jeat()
        .args(["attack", "--suite", "fgsm", "--eps", "0.1", "--checkpoint"])
        .arg(checkpoint())
        .arg("--images")
        .arg(&x)
        .arg("--labels")
        .arg(&y)
        .arg("--save-adv")
        .arg(&adv));
    one_line_error(ok, &stderr, &["empty"]);
    assert!(!adv.exists());
}

#[test]
fn a_label_beyond_the_models_classes_is_named_before_any_attack() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = arrays(dir.path(), 6, &[0, 1, 2, 99, 4, 12]);
    let (ok, _, stderr) = run(jeat()
        .args(["attack", "--suite", "pgd-5", "--eps", "0.1", "--checkpoint"])
        .arg(checkpoint())
        .arg("--images")
        .arg(&x)
        .arg("--labels")
        .arg(&y));
    one_line_error(ok, &stderr, &["point 3 has label 99", "10 classes"]);
}

#[test]
fn pretrained_is_used_with_a_config_and_refused_where_nothing_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("pgd-at.safetensors");
    let print = |preset: &str, extra: &[&str]| {
        run(jeat()
            .args(["train", "--preset", preset, "--print-config"])
            .args(extra))
    };
    let (ok, _, stderr) = print(
        "smoke-standard",
        &["--pretrained", weights.to_str().unwrap()],
    );
    one_line_error(ok, &stderr, &["standard", "pretrained"]);

    for (method, accepted) in [("jeat", true), ("pgd-at", false)] {
        let (ok, config, _) = print(&format!("smoke-{method}"), &[]);
        assert!(ok);
        let file = dir.path().join(format!("{method}.toml"));
        std::fs::write(&file, config).unwrap();
        let (ok, stdout, stderr) = run(jeat()
            .args(["train", "--print-config", "--pretrained"])
            .arg(&weights)
            .arg("--config")
            .arg(&file));
        match accepted {
            true => {
                assert!(ok, "{stderr}");
                let config: toml::Value = toml::from_str(&stdout).unwrap();
                assert_eq!(
                    config["objective"]["pretrained"].as_str(),
                    weights.to_str(),
                    "{stdout}"
                );
            }
            false => one_line_error(ok, &stderr, &["pgd-at", "pretrained"]),
        }
    }
}

fn labelled_set(dir: &Path, labels: Vec<u8>) -> std::path::PathBuf {
    let n = labels.len();
    let pixels: Vec<u8> = (0..n * 784)
        .map(|k| ((k % 784) * (k / 784 % 7 + 1) % 256) as u8)
        .collect();
    let set = dir.join("train.npz");
    let named = |name: &str, shape: Vec<usize>, values| NamedArray {
        name: name.into(),
        shape,
        values,
    };
    write_arrays(
        &set,
        &[
            named("x", vec![n, 1, 28, 28], ArrayValues::U8(pixels)),
            named("y", vec![n], ArrayValues::U8(labels)),
        ],
        true,
    )
    .unwrap();
    set
}

#[test]
fn seeds_that_miss_a_class_are_refused_and_marginal_sampling_fits_none() {
    let dir = tempfile::tempdir().unwrap();
    // Classes 0 to 7 only: the model has 10.
    let set = labelled_set(dir.path(), (0..24).map(|p| (p % 8) as u8).collect());
    let generate = |method: &str, out: &str| {
        run(jeat()
            .args(["generate", "--method", method, "--n", "1", "--steps", "2"])
            .arg("--checkpoint")
            .arg(checkpoint())
            .arg("--images")
            .arg(&set)
            .arg("--out")
            .arg(dir.path().join(out)))
    };
    let (ok, _, stderr) = generate("santurkar", "conditional");
    let last = stderr.trim().lines().last().unwrap_or_default().to_string();
    assert!(!ok && !stderr.contains("panicked"), "{stderr}");
    assert!(last.contains("class(es) 8, 9"), "{stderr}");
    assert!(!dir.path().join("conditional/grid.png").exists());

    let (ok, _, stderr) = generate("sgld-marginal", "marginal");
    assert!(ok, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("marginal/generation.json")).unwrap(),
    )
    .unwrap();
    assert!(summary["seeds_fitted_on"].is_null(), "{summary}");
}

#[test]
fn a_training_subset_smaller_than_a_batch_trains() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run(jeat()
        .args(["train", "--preset", "smoke-standard"])
        .args([
            "--set",
            "data.train_subset=20",
            "--set",
            "training.epochs=1",
        ])
        .arg("--out")
        .arg(dir.path().join("run")));
    assert!(ok, "{stderr}");
    assert!(stderr.contains("batches of 20"), "{stderr}");
    assert!(stdout.contains("finished"), "{stdout}");
}

/// `--precision bf16` where it cannot run (oneDNN kept to AVX2, which has no bf16 kernels, or a
/// jeat without oneDNN) is one line, before any work.
#[test]
fn bf16_is_refused_where_it_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = arrays(dir.path(), 4, &[0, 1, 2, 3]);
    let out = dir.path().join("report.json");
    let (ok, _, stderr) = run(jeat()
        .env("DNNL_MAX_CPU_ISA", "AVX2")
        .env("ONEDNN_MAX_CPU_ISA", "AVX2")
        .args([
            "--precision",
            "bf16",
            "attack",
            "--suite",
            "fgsm",
            "--eps",
            "0.1",
        ])
        .arg("--checkpoint")
        .arg(checkpoint())
        .arg("--images")
        .arg(&x)
        .arg("--labels")
        .arg(&y)
        .arg("--out")
        .arg(&out));
    one_line_error(ok, &stderr, &["bf16"]);
    assert!(!out.exists());
}
