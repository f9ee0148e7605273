//! `cargo xtask check-backends`: the GPU backends must at least compile, and the optional
//! `dashboard` feature must compile and pass its test.

use crate::cargo::cargo;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// `cargo check` of the binary with each GPU feature that can be compiled here; the dashboard's
/// test.
pub fn check_backends(root: &Path) -> Result<()> {
    cargo(
        root,
        &[
            "check",
            "-p",
            "jeat-cli",
            "--no-default-features",
            "--features",
            "wgpu",
        ],
    )?;
    // Not in `cargo xtask test`: burn-train's terminal UI would lengthen every cold CI build.
    cargo(
        root,
        &[
            "test",
            "-p",
            "jeat-cli",
            "--features",
            "dashboard",
            "--bin",
            "jeat",
            "dashboard",
        ],
    )?;
    check_cuda(root)
}

/// `cargo check` of the binary with the `cuda` feature, where tracel's LLVM bundle is installed.
pub fn check_cuda(root: &Path) -> Result<()> {
    match cuda_toolchain_status() {
        Ok(()) => cargo(
            root,
            &[
                "check",
                "-p",
                "jeat-cli",
                "--no-default-features",
                "--features",
                "cuda",
            ],
        ),
        Err(reason) => {
            println!("xtask: skipping the cuda compile check: {reason} (see docs/backends.md)");
            Ok(())
        }
    }
}

/// burn 0.22's CUDA backend links tracel's LLVM 23.1 bundle, which its build script downloads
/// into the user's data directory; without network access it must already be there.
fn cuda_toolchain_status() -> Result<(), String> {
    let data_dir = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .ok_or("no home directory")?;
    let sentinel = data_dir.join("tracel/tracel-llvm-23.1.0-4/.tracel-llvm-installed");
    if sentinel.is_file() {
        Ok(())
    } else {
        Err(format!(
            "the LLVM 23.1 bundle the cuda backend links is not installed ({} is missing)",
            sentinel.display()
        ))
    }
}
