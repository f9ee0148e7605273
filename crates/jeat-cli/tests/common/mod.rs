//! What the command-line tests share: the `jeat` binary, its output, the committed checkpoint,
//! `.npy` bytes.

#![allow(dead_code)]

use jeat_data::array_writer::{ArrayValues, NamedArray, npy_bytes};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `jeat` binary of this build.
pub fn jeat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jeat"))
}

/// Runs `command`: whether it succeeded, its stdout and its stderr.
pub fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A `.npy` file's bytes.
pub fn npy(values: ArrayValues, shape: &[usize]) -> Vec<u8> {
    npy_bytes(&NamedArray {
        name: String::new(),
        shape: shape.to_vec(),
        values,
    })
}

/// The `cpu` profile's PGD-trained Fashion-MNIST CNN (10 classes, 1×28×28).
pub fn checkpoint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../jeat-attacks/tests/fixtures/cpu_pgd_at_cnn.safetensors")
}

/// The per-point results beside a `jeat attack --out` report.
pub fn points(report: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(report.with_extension("points.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}
