//! `cargo xtask check-backends`: the GPU backends must at least compile, and the optional
//! `dashboard` feature must compile and pass its test.

use crate::cargo::cargo;
use anyhow::Result;
use std::path::Path;

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

/// `cargo check` of the binary with the `cuda` feature, with the LLVM it links installed from
/// PyPI where it is missing ([`crate::llvm::ensure`]); skipped, saying why, where that cannot be.
pub fn check_cuda(root: &Path) -> Result<()> {
    match crate::llvm::ensure() {
        Ok(_) => cargo(
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
            println!("xtask: skipping the cuda compile check: {reason:#} (see docs/backends.md)");
            Ok(())
        }
    }
}
