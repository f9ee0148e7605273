//! Running cargo and the `jeat` binary from the workspace root.

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Pure-Rust CPU (default).
    #[value(alias = "cpu")]
    Flex,
    /// Any GPU through wgpu (Vulkan, Metal, DX12).
    Wgpu,
    /// NVIDIA GPUs through CUDA.
    Cuda,
    /// AMD GPUs through ROCm/HIP.
    Rocm,
}

impl Backend {
    /// The name `jeat --backend` knows it by.
    pub fn jeat_name(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
            Self::Rocm => "rocm",
        }
    }

    /// The `jeat-cli` features that compile the backend in (`None` for flex, always in).
    fn feature(self) -> Option<&'static str> {
        match self {
            Self::Flex => None,
            Self::Wgpu => Some("wgpu"),
            Self::Cuda => Some("cuda"),
            Self::Rocm => Some("rocm"),
        }
    }

    /// The `jeat-cli` feature flags of a build for this backend: its own, and `onednn` where
    /// oneDNN is in use ([`crate::onednn::in_use`]).
    pub fn cargo_features(self) -> Vec<String> {
        let mut features: Vec<&str> = self.feature().into_iter().collect();
        if crate::onednn::in_use() {
            features.push("onednn");
        }
        match features.is_empty() {
            true => Vec::new(),
            false => vec!["--features".into(), features.join(",")],
        }
    }
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` (relative to the root) or `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"))
}

pub fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    cargo_with(root, args, &[])
}

/// `cargo ARGS` with extra environment variables.
pub fn cargo_with(root: &Path, args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let shown: Vec<String> = envs.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    println!("xtask: {}cargo {}", shown.concat(), args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root)
        .status()
        .with_context(|| format!("could not start {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Builds and runs the `jeat` binary (release profile) with the backend's feature.
pub fn run_jeat(root: &Path, backend: Backend, args: &[String]) -> Result<()> {
    let features = backend.cargo_features();
    let mut all: Vec<&str> = vec!["run", "--release", "--quiet", "-p", "jeat-cli"];
    all.extend(features.iter().map(String::as_str));
    all.push("--");
    all.extend(args.iter().map(String::as_str));
    cargo(root, &all)
}

/// One build serves both backends: the tests with jeat-core's `wgpu` feature (the test device
/// switch) and the `jeat` binary with its `wgpu` feature (which compiles that backend in); and
/// with `jeat-cli/onednn` where oneDNN is in use, so that every test runs the convolutions users
/// get ([`crate::onednn::in_use`]).
pub fn test_features() -> String {
    let mut features = String::from("jeat-core/wgpu,jeat-cli/wgpu");
    if crate::onednn::in_use() {
        features.push_str(",jeat-cli/onednn");
    }
    features
}
