//! LLVM 23.1 for burn's CUDA backend, without GitHub. burn 0.22.1's `cuda` feature links LLVM
//! through `cubecl-llvm`, whose build script downloads tracel's bundle from GitHub unless
//! `<data dir>/tracel/tracel-llvm-23.1.0-4/.tracel-llvm-installed` exists; then it only runs
//! `<that dir>/bin/llvm-config --link-static …`. PyPI's `mlc-llvm-static` (the X86 target) and
//! `mlc-llvm-static-extra-targets` (NVPTX and the others) 23.1.1 ship an LLVM with that layout
//! (Apache-2.0 with the LLVM exception). Where tracel's directory is absent, this installs both
//! wheels, pinned by version and sha256, into `<data dir>/jeat/mlc-llvm-static-23.1.1.post0`,
//! links tracel's directory to their `static` folder and writes the sentinel. It never writes
//! over a directory that is there already.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory name cubecl-llvm 0.11.3's build script looks for.
const TRACEL_BUNDLE: &str = "tracel/tracel-llvm-23.1.0-4";
/// The file whose presence makes that build script skip its download.
const SENTINEL: &str = ".tracel-llvm-installed";
/// The LLVM release the bundle must be (`llvm-config --version` starts with it).
const LLVM_RELEASE: &str = "23.1.";
/// Where the PyPI wheels are installed, under the data directory.
const INSTALL_DIR: &str = "jeat/mlc-llvm-static-23.1.1.post0";
/// The wheels, pinned: pip checks the hashes (`--require-hashes`).
const REQUIREMENTS: &str = "\
mlc-llvm-static==23.1.1.post0 \
--hash=sha256:dcfec888abfaa418be77d41af585805f31463584cf9c90582992c00f392c1ac5
mlc-llvm-static-extra-targets==23.1.1.post0 \
--hash=sha256:c36e834d9a4e9cf9759f27fece65711ece7a2fc2b5a96dbb15d66f5e9e787929
";

/// `$XDG_DATA_HOME`, else `~/.local/share`: where cubecl-llvm looks.
fn data_dir() -> Result<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .context("neither XDG_DATA_HOME nor HOME is set: no place for the CUDA backend's LLVM")
}

/// Makes the LLVM the `cuda` feature links available: Ok where it is (tracel's own bundle, or
/// PyPI's installed now or earlier); an error saying why not (no python 3.10+ with pip, an
/// unfinished or other LLVM in tracel's directory).
pub fn ensure() -> Result<PathBuf> {
    ensure_in(&data_dir()?)
}

/// [`ensure`] with `data` as the data directory.
fn ensure_in(data: &Path) -> Result<PathBuf> {
    let bundle = data.join(TRACEL_BUNDLE);
    if bundle.join(SENTINEL).is_file() {
        check_release(&bundle)?;
        return Ok(bundle);
    }
    if bundle.symlink_metadata().is_ok() {
        bail!(
            "{} is there but has no {SENTINEL}: an unfinished download or another LLVM; \
             not writing over it (remove it to have xtask install LLVM 23.1 from PyPI)",
            bundle.display()
        );
    }
    let python = python_3_10()?;
    let target = data.join(INSTALL_DIR);
    let static_dir = target.join("mlc_llvm_static/static");
    if !static_dir.join("bin/llvm-config").is_file() {
        install_wheels(&python, &target)?;
    }
    std::fs::create_dir_all(bundle.parent().expect("the bundle has a parent"))?;
    std::os::unix::fs::symlink(&static_dir, &bundle).with_context(|| {
        format!(
            "could not link {} to {}",
            bundle.display(),
            static_dir.display()
        )
    })?;
    check_release(&bundle)?;
    std::fs::write(
        bundle.join(SENTINEL),
        "mlc-llvm-static 23.1.1.post0 from PyPI\n",
    )?;
    println!(
        "xtask: LLVM 23.1 for the cuda backend: {} -> {}",
        bundle.display(),
        static_dir.display()
    );
    Ok(bundle)
}

/// `pip install` of the two pinned wheels into `target`, hashes checked.
fn install_wheels(python: &Path, target: &Path) -> Result<()> {
    println!(
        "xtask: installing LLVM 23.1 for the cuda backend from PyPI (mlc-llvm-static, ~90 MB)"
    );
    let requirements = std::env::temp_dir().join(format!("jeat-llvm-{}.txt", std::process::id()));
    std::fs::write(&requirements, REQUIREMENTS)?;
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
        ])
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .args(["--require-hashes", "--target"])
        .arg(target)
        .arg("-r")
        .arg(&requirements)
        .status()
        .with_context(|| format!("could not start {}", python.display()))?;
    let _ = std::fs::remove_file(&requirements);
    if !status.success() {
        bail!(
            "pip could not install mlc-llvm-static 23.1.1.post0 (pinned hashes) into {}",
            target.display()
        );
    }
    Ok(())
}

/// A python 3.10 or newer with pip: the wheels' `llvm-config` is a Python script.
fn python_3_10() -> Result<PathBuf> {
    let python = PathBuf::from("python3");
    let probe = Command::new(&python)
        .args([
            "-c",
            "import sys, pip; sys.exit(0 if sys.version_info >= (3, 10) else 1)",
        ])
        .status();
    match probe {
        Ok(status) if status.success() => Ok(python),
        _ => bail!(
            "the cuda backend's LLVM (PyPI's mlc-llvm-static) needs python3 >= 3.10 with pip at \
             build time"
        ),
    }
}

/// The bundle's `llvm-config --version` must be 23.1.x: cubecl-llvm 0.11 is written for it.
fn check_release(bundle: &Path) -> Result<()> {
    let llvm_config = bundle.join("bin/llvm-config");
    let output = Command::new(&llvm_config)
        .arg("--version")
        .output()
        .with_context(|| format!("could not run {}", llvm_config.display()))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || !version.starts_with(LLVM_RELEASE) {
        bail!(
            "{} is LLVM {:?}, not 23.1: burn 0.22's cuda backend needs 23.1; not touching it",
            bundle.display(),
            version
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A tracel directory with the sentinel and an `llvm-config` that says `version`.
    fn fake_bundle(data: &Path, version: &str) -> PathBuf {
        let bundle = data.join(TRACEL_BUNDLE);
        std::fs::create_dir_all(bundle.join("bin")).unwrap();
        let script = bundle.join("bin/llvm-config");
        std::fs::write(&script, format!("#!/bin/sh\necho {version}\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(bundle.join(SENTINEL), "").unwrap();
        bundle
    }

    fn temp_data_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("jeat-llvm-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_installed_llvm_23_1_is_used_as_it_is() {
        let data = temp_data_dir("ok");
        let bundle = fake_bundle(&data, "23.1.1");
        assert_eq!(ensure_in(&data).unwrap(), bundle);
        assert!(
            !data.join(INSTALL_DIR).exists(),
            "nothing installed beside it"
        );
    }

    #[test]
    fn another_llvm_in_tracels_directory_is_refused_and_left_alone() {
        let data = temp_data_dir("other");
        let bundle = fake_bundle(&data, "17.0.6");
        let error = format!("{:#}", ensure_in(&data).unwrap_err());
        assert!(
            error.contains("not 23.1") && error.contains("\"17.0.6\""),
            "{error}"
        );
        assert!(bundle.join("bin/llvm-config").is_file());
    }

    #[test]
    fn a_tracel_directory_without_the_sentinel_is_not_written_over() {
        let data = temp_data_dir("unfinished");
        let bundle = data.join(TRACEL_BUNDLE);
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(bundle.join("partial"), "").unwrap();
        let error = format!("{:#}", ensure_in(&data).unwrap_err());
        assert!(error.contains("not writing over it"), "{error}");
        assert!(bundle.join("partial").is_file() && !bundle.join(SENTINEL).exists());
    }
}
