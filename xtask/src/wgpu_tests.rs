//! The GPU-path tests: which test targets exercise the GPU code, and running them from the
//! workspace's one test build with `JEAT_TEST_BACKEND=wgpu` (a GPU's Vulkan driver, or Mesa's
//! lavapipe, installed where it is missing).

use crate::apt::apt_install;
use crate::cargo::test_features;
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

/// All GPU-path tests on wgpu (`cargo xtask test --backend wgpu`).
pub fn run_wgpu(root: &Path) -> Result<()> {
    wgpu_tests(root, &WGPU_TESTS)
}

/// `tests` built with [`test_features`] and run with `JEAT_TEST_BACKEND=wgpu`. Without a GPU,
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

/// The integration-test executables of the workspace's test build with [`test_features`] (built
/// first if need be; up to date, this only lists them).
fn test_executables(root: &Path) -> Result<Vec<TestExecutable>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(&cargo)
        .args([
            "test",
            "--workspace",
            "--features",
            &test_features(),
            "--no-run",
        ])
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
