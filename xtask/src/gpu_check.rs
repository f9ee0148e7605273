//! `cargo xtask gpu-check [--backend wgpu|cuda] [--quick]`: the prepared check for a machine
//! with a GPU. Builds `jeat` with the backend, runs the GPU-path tests (wgpu), then times the
//! GPU-sized workloads of `jeat bench` and, where a python with torch is found, the same
//! workloads in PyTorch (xtask/python/bench_workloads.py, on CUDA), and prints them side by side
//! as a Markdown table and `target/gpu-check.json`. `--quick` runs the same on tiny shapes with the test build, so that
//! every `cargo xtask test` runs it on lavapipe and it cannot rot.

use crate::bench_vs_pytorch::{PytorchSide, SETUP, pytorch_side, torch_python};
use crate::cargo::test_features;
use crate::cargo::{Backend, cargo};
use crate::wgpu_tests::{WGPU_QUICK_TESTS, WGPU_TESTS, wgpu_tests};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What is timed: the paper's training iteration (WRN-34-10, batch 128, PGD-10), an SGLD step,
/// Inception forwards (images per second), AutoAttack on 20 points of a WRN-16-4.
const WORKLOADS: [&str; 4] = [
    "wrn-34-10-pgd10-at-iteration",
    "wrn-16-4-sgld-step",
    "inception-50",
    "wrn-16-4-autoattack-20",
];

/// What `--quick` times: all but Inception, whose 299×299 forward takes about a minute per two
/// images on lavapipe after five minutes of shader compilation and autotuning (measured on 2
/// cores), too long for every CI run.
const QUICK_WORKLOADS: [&str; 3] = [
    "wrn-34-10-pgd10-at-iteration",
    "wrn-16-4-sgld-step",
    "wrn-16-4-autoattack-20",
];

/// The whole check: build, GPU-path tests, timings.
pub fn run(root: &Path, backend: Backend, quick: bool) -> Result<()> {
    let backend = match backend {
        Backend::Flex => {
            println!("xtask: gpu-check on wgpu (pass --backend cuda for CUDA)");
            Backend::Wgpu
        }
        other => other,
    };
    let jeat = build(root, backend, quick)?;
    match backend {
        Backend::Wgpu if quick => wgpu_tests(root, &WGPU_QUICK_TESTS)?,
        Backend::Wgpu => wgpu_tests(root, &WGPU_TESTS)?,
        other => println!(
            "xtask: the GPU-path tests run on wgpu; on this machine run `cargo xtask test \
             --backend wgpu` as well ({} has no test device switch)",
            other.jeat_name()
        ),
    }
    timings(root, &jeat, backend, quick)
}

/// The `jeat` binary with the backend compiled in: the test build (debug, both backends) for
/// `--quick`, a release build otherwise.
fn build(root: &Path, backend: Backend, quick: bool) -> Result<PathBuf> {
    let target = crate::cargo::target_dir(root);
    if quick {
        if backend != Backend::Wgpu {
            bail!(
                "gpu-check --quick runs on wgpu (lavapipe without a GPU); drop --quick for {}",
                backend.jeat_name()
            );
        }
        cargo(
            root,
            &[
                "test",
                "--workspace",
                "--features",
                &test_features(),
                "--no-run",
            ],
        )?;
        return Ok(target.join("debug/jeat"));
    }
    let mut args = vec!["build", "--release", "-p", "jeat-cli"];
    let features = backend.cargo_features();
    args.extend(features.iter().map(String::as_str));
    cargo(root, &args)?;
    Ok(target.join("release/jeat"))
}

/// Runs `jeat bench` on the workloads and reports them.
pub fn timings(root: &Path, jeat: &Path, backend: Backend, quick: bool) -> Result<()> {
    let target = crate::cargo::target_dir(root);
    let bench_json = target.join("gpu-check-bench.json");
    let workloads: &[&str] = if quick { &QUICK_WORKLOADS } else { &WORKLOADS };
    let mut command = Command::new(jeat);
    command
        .args(["--backend", backend.jeat_name(), "bench", "--workloads"])
        .arg(workloads.join(","))
        .args(["--repeats", if quick { "1" } else { "3" }, "--json"])
        .arg(&bench_json);
    if quick {
        command.arg("--quick");
    }
    println!("xtask: {command:?}");
    let status = command
        .status()
        .with_context(|| format!("could not start {}", jeat.display()))?;
    if !status.success() {
        bail!("`jeat bench` on {} failed ({status})", backend.jeat_name());
    }
    let text = std::fs::read_to_string(&bench_json)
        .with_context(|| format!("reading {}", bench_json.display()))?;
    let results: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", bench_json.display()))?;
    let pytorch = pytorch_timings(root, workloads, quick);
    println!("{}", table(&results, pytorch.as_ref(), workloads, quick));
    let pytorch_json = pytorch.as_ref().map(|p| {
        let sides: serde_json::Map<String, serde_json::Value> = p
            .sides
            .iter()
            .map(|(workload, side)| {
                let value = serde_json::json!({
                    "median_s": side.median_s,
                    "layout": side.layout,
                    "device_bytes_reserved_peak": side.peak_bytes_reserved,
                });
                (workload.to_string(), value)
            })
            .collect();
        serde_json::json!({"device": p.device, "workloads": sides})
    });
    let report = serde_json::json!({
        "backend": backend.jeat_name(),
        "quick": quick,
        "workloads": results,
        "pytorch": pytorch_json,
    });
    let path = target.join("gpu-check.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("xtask: wrote {}", path.display());
    Ok(())
}

/// PyTorch's times for the same workloads.
struct PytorchTimings {
    /// `cuda`, or `cpu` under `--quick` where torch sees no CUDA device.
    device: &'static str,
    sides: BTreeMap<&'static str, PytorchSide>,
}

/// The workloads in PyTorch: on CUDA where the python's torch sees a CUDA device; without one
/// only under `--quick` (on the CPU, to show the script runs: a CPU time beside a GPU's would
/// mislead), else skipped with a line saying why.
fn pytorch_timings(root: &Path, workloads: &[&'static str], quick: bool) -> Option<PytorchTimings> {
    let Some(python) = torch_python(root) else {
        println!("xtask: PyTorch side skipped: no python with torch; to set it up: {SETUP}");
        return None;
    };
    let cuda = Command::new(&python)
        .args([
            "-c",
            "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)",
        ])
        .status()
        .is_ok_and(|s| s.success());
    let device = match (cuda, quick) {
        (true, _) => "cuda",
        (false, true) => "cpu",
        (false, false) => {
            println!(
                "xtask: PyTorch side skipped: {} sees no CUDA device (a CPU time beside a \
                 GPU's would mislead; `cargo xtask bench-vs-pytorch` compares CPUs)",
                python.display()
            );
            return None;
        }
    };
    let weights = root.join("data/inception/default_1.pt");
    let mut extra = vec![
        "--device".to_string(),
        device.to_string(),
        "--repeats".into(),
        if quick { "1" } else { "3" }.into(),
        "--inception-weights".into(),
        weights.display().to_string(),
    ];
    if quick {
        extra.push("--quick".into());
    }
    let sides = workloads
        .iter()
        .filter_map(|&w| pytorch_side(root, &python, w, &extra).map(|side| (w, side)))
        .collect();
    Some(PytorchTimings { device, sides })
}

fn mebibytes(bytes: Option<u64>) -> String {
    bytes
        .map(|b| format!("{:.0} MiB", b as f64 / (1024.0 * 1024.0)))
        .unwrap_or_else(|| "not reported".into())
}

/// The Markdown table of `jeat bench`'s JSON, with PyTorch's times beside where there are any.
fn table(
    results: &serde_json::Value,
    pytorch: Option<&PytorchTimings>,
    workloads: &[&str],
    quick: bool,
) -> String {
    let mut out = String::from(if quick {
        "(--quick: tiny shapes, not the sizes the names say; jeat's times include compiling its \
         kernels, so no ratio)\n\n"
    } else {
        ""
    });
    let device = pytorch.map_or("–", |p| p.device);
    out.push_str(&format!(
        "| workload | jeat median (s) | rate | jeat device memory reserved | PyTorch ({device}) median (s) | jeat ÷ PyTorch | PyTorch peak memory reserved |\n\
         |---|---|---|---|---|---|---|\n"
    ));
    for &workload in workloads {
        let entry = &results[workload];
        let median = entry["median_s"].as_f64();
        let rate = match (workload, median) {
            ("inception-50", Some(s)) if !quick => format!("{:.1} images/s", 50.0 / s),
            (_, Some(s)) => format!("{:.2} /s", 1.0 / s),
            _ => "–".into(),
        };
        let memory = mebibytes(entry["device_bytes_reserved"].as_u64());
        let side = pytorch.and_then(|p| p.sides.get(workload));
        let torch_median = side.and_then(|s| s.median_s);
        let ratio = match (median, torch_median) {
            (Some(j), Some(t)) if t > 0.0 && !quick => format!("{:.2}×", j / t),
            _ => "–".into(),
        };
        let torch_memory = side.map_or("–".into(), |s| mebibytes(s.peak_bytes_reserved));
        let seconds = |v: Option<f64>| v.map_or("–".into(), |s| format!("{s:.3}"));
        out.push_str(&format!(
            "| {workload} | {} | {rate} | {memory} | {} | {ratio} | {torch_memory} |\n",
            seconds(median),
            seconds(torch_median)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(median_s: f64) -> PytorchSide {
        PytorchSide {
            median_s: Some(median_s),
            layout: "channels_last".into(),
            peak_bytes_reserved: Some(3 * 1024 * 1024),
        }
    }

    #[test]
    fn the_table_puts_pytorch_beside_jeat_with_jeat_over_pytorch() {
        let results = serde_json::json!({
            "wrn-16-4-sgld-step": {"median_s": 0.5, "device_bytes_reserved": 2u64 << 20},
            "wrn-16-4-autoattack-20": {"median_s": 6.0, "device_bytes_reserved": null},
        });
        let pytorch = PytorchTimings {
            device: "cuda",
            sides: BTreeMap::from([("wrn-16-4-sgld-step", side(0.25))]),
        };
        let workloads = ["wrn-16-4-sgld-step", "wrn-16-4-autoattack-20"];
        let table = table(&results, Some(&pytorch), &workloads, false);
        let rows: Vec<&str> = table.lines().collect();
        assert!(rows[0].contains("PyTorch (cuda) median (s)"), "{table}");
        assert_eq!(
            rows[2],
            "| wrn-16-4-sgld-step | 0.500 | 2.00 /s | 2 MiB | 0.250 | 2.00× | 3 MiB |"
        );
        // No PyTorch time for AutoAttack (its script failed, say): dashes, not a ratio.
        assert_eq!(
            rows[3],
            "| wrn-16-4-autoattack-20 | 6.000 | 0.17 /s | not reported | – | – | – |"
        );
        let quick = super::table(&results, Some(&pytorch), &workloads, true);
        assert!(quick.starts_with("(--quick"), "{quick}");
        assert!(
            quick.contains("| 0.500 | 2.00 /s | 2 MiB | 0.250 | – | 3 MiB |"),
            "{quick}"
        );
        let without = super::table(&results, None, &workloads, false);
        assert!(
            without.contains("| 0.500 | 2.00 /s | 2 MiB | – | – | – |"),
            "{without}"
        );
    }
}
