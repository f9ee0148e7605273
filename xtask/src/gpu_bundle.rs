//! `cargo xtask gpu-bundle [--out DIR]`: one folder to carry to a GPU machine that has no Rust
//! and no network. It holds `jeat` built in release with the `cuda` and `wgpu` backends
//! (stripped, xz-compressed; `jeat selftest` carries its fixtures inside the binary), the
//! Vulkan loader's Debian package (`apt-get download libvulkan1`), the PyTorch side of the
//! benchmarks (xtask/python/bench_workloads.py with the model code it imports, and the official
//! AutoAttack package where the local python has it), and `run.sh` with `report.py`
//! (xtask/bundle/), which run the selftest and the benchmarks on cuda and wgpu beside PyTorch
//! and write report.md and report.json.

use crate::bench_vs_pytorch::torch_python;
use crate::cargo::{cargo, target_dir};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What may travel to a GPU machine with one call.
const CARRY_LIMIT_BYTES: u64 = 64 << 20;

/// Files copied from the workspace, at the same relative paths (bench_workloads.py finds the
/// model code it imports relative to itself).
const PYTHON_FILES: [&str; 3] = [
    "xtask/python/bench_workloads.py",
    "crates/jeat-models/tests/fixtures/make_fixtures.py",
    "crates/jeat-attacks/tests/fixtures/make_autoattack_reference.py",
];

/// Builds the bundle into `out` (default `target/gpu-bundle`), replacing what was there.
pub fn run(root: &Path, out: Option<PathBuf>) -> Result<()> {
    let out = out.unwrap_or_else(|| target_dir(root).join("gpu-bundle"));
    crate::llvm::ensure().context("the bundle's jeat is built with the cuda backend")?;
    // The default features (flex with its AVX-512 kernels chosen at run time) and both GPU
    // backends; not oneDNN, whose shared library the GPU machines do not have.
    cargo(
        root,
        &[
            "build",
            "--release",
            "-p",
            "jeat-cli",
            "--features",
            "cuda,wgpu",
        ],
    )?;
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    pack_binary(&target_dir(root).join("release/jeat"), &out)?;
    for file in ["run.sh", "report.py"] {
        copy(&root.join("xtask/bundle").join(file), &out.join(file))?;
    }
    for file in PYTHON_FILES {
        copy(&root.join(file), &out.join(file))?;
    }
    copy_autoattack(root, &out)?;
    download_vulkan_loader(&out.join("debs"));
    let bytes = size(&out)?;
    println!(
        "xtask: GPU bundle in {} ({:.1} MiB): carry it and run `./run.sh` there",
        out.display(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    if bytes > CARRY_LIMIT_BYTES {
        bail!(
            "the bundle is {:.1} MiB, over the 64 MiB a GPU machine call carries",
            bytes as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(())
}

/// `jeat`, stripped of symbols and compressed with xz, as `out/jeat.xz`.
fn pack_binary(jeat: &Path, out: &Path) -> Result<()> {
    let stripped = out.join("jeat");
    run_tool(Command::new("strip").arg("-o").arg(&stripped).arg(jeat))?;
    run_tool(Command::new("xz").args(["-T2", "-9"]).arg(&stripped))
}

/// The official AutoAttack package the local python imports, for the PyTorch side of
/// `wrn-16-4-autoattack-20`; left out, with a line saying so, where there is none.
fn copy_autoattack(root: &Path, out: &Path) -> Result<()> {
    let found = torch_python(root).and_then(|python| {
        let output = Command::new(python)
            .args([
                "-c",
                "import autoattack, os; print(os.path.dirname(autoattack.__file__))",
            ])
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
    });
    let Some(package) = found else {
        println!(
            "xtask: no python here imports the official autoattack: the bundle's PyTorch side \
             leaves AutoAttack out"
        );
        return Ok(());
    };
    let target = out.join("python-packages/autoattack");
    std::fs::create_dir_all(&target)?;
    for entry in std::fs::read_dir(&package)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "py") {
            copy(&path, &target.join(path.file_name().expect("a file")))?;
        }
    }
    Ok(())
}

/// `apt-get download libvulkan1` into `debs`: wgpu's Vulkan loader, which `run.sh` unpacks
/// where the GPU machine has none. Where apt cannot, a line says so and `run.sh` will say the
/// loader is missing.
fn download_vulkan_loader(debs: &Path) {
    let _ = std::fs::create_dir_all(debs);
    let downloaded = Command::new("apt-get")
        .args(["download", "libvulkan1"])
        .current_dir(debs)
        .status()
        .is_ok_and(|s| s.success());
    if !downloaded {
        println!(
            "xtask: could not `apt-get download libvulkan1`: the bundle carries no Vulkan loader"
        );
    }
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

fn run_tool(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// The bytes of every file under `dir`.
fn size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += match meta.is_dir() {
            true => size(&entry.path())?,
            false => meta.len(),
        };
    }
    Ok(total)
}
