//! Published models by name: `--robustbench ENTRY` and `--published RELEASE` choose the
//! architecture and normalisation of a file in the authors' naming; a wrong name lists the
//! nearest, a file of another variant is named. (Logit parity of each architecture with its
//! authors' code is jeat-models' zoo_parity test.)

mod common;

use common::{jeat, npy, run};
use jeat_data::array_writer::ArrayValues;
use jeat_models::checkpoint::{read_spec, save_safetensors};
use jeat_models::{ModelSpec, NormalizationSpec};
use std::path::{Path, PathBuf};

/// A checkpoint of `arch` with fresh weights, in PyTorch naming and without jeat's metadata:
/// what a RobustBench or JEM-family download looks like.
fn authors_file(arch: &str, dir: &Path) -> PathBuf {
    let device = jeat_core::testing::device();
    let model = ModelSpec::new(arch, 10, [3, 32, 32])
        .build_seeded(&device, 7)
        .unwrap();
    let path = dir.join(format!("{arch}.safetensors"));
    save_safetensors(&model, &path).unwrap();
    path
}

#[test]
fn a_robustbench_entry_is_attacked_and_converted_with_its_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    let file = authors_file("dm-preact-resnet-18", dir.path());
    let n = 4;
    let images = dir.path().join("x.npy");
    let pixels: Vec<u8> = (0..n * 3 * 32 * 32)
        .map(|k| ((k * 53) % 251) as u8)
        .collect();
    std::fs::write(&images, npy(ArrayValues::U8(pixels), &[n, 3, 32, 32])).unwrap();
    let labels = dir.path().join("y.npy");
    std::fs::write(&labels, npy(ArrayValues::I64(vec![3; n]), &[n])).unwrap();
    let (ok, stdout, stderr) = run(jeat()
        .args([
            "attack",
            "--suite",
            "fgsm",
            "--eps",
            "8/255",
            "--checkpoint",
        ])
        .arg(&file)
        .args(["--robustbench", "Rebuffi2021Fixing_R18_ddpm", "--images"])
        .arg(&images)
        .arg("--labels")
        .arg(&labels));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("robust accuracy"), "{stdout}");

    let converted = dir.path().join("converted.safetensors");
    let (ok, _, stderr) = run(jeat()
        .arg("convert")
        .arg(&file)
        .arg(&converted)
        .args(["--robustbench", "Rebuffi2021Fixing_R18_ddpm"]));
    assert!(ok, "{stderr}");
    let spec = read_spec(&converted).unwrap().unwrap();
    assert_eq!(spec.arch, "dm-preact-resnet-18");
    assert_eq!(spec.normalization, NormalizationSpec::Cifar10);
}

#[test]
fn an_unknown_entry_lists_the_nearest_and_another_variant_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = authors_file("jem-wrn-16-1", dir.path());
    let out = dir.path().join("out.safetensors");
    let (ok, _, stderr) = run(jeat()
        .arg("convert")
        .arg(&file)
        .arg(&out)
        .args(["--robustbench", "Gowal2020Uncovering_70_61"]));
    assert!(!ok);
    assert!(
        stderr.contains("nearest known: Gowal2020Uncovering_70_16"),
        "{stderr}"
    );
    // JEM's norm-free WideResNet-28-10 is not what the file holds.
    let (ok, _, stderr) = run(jeat()
        .arg("convert")
        .arg(&file)
        .arg(&out)
        .args(["--published", "jem"]));
    assert!(!ok);
    assert!(
        stderr.contains("holds a jem-wrn-16-1, not a jem-wrn-28-10-nobn"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!out.exists());
}
