//! `cargo xtask gpu-check [--backend wgpu|cuda] [--quick]`: the prepared check for a machine
//! with a GPU. Builds `jeat` with the backend, runs the GPU-path tests (wgpu), then times the
//! GPU-sized workloads of `jeat bench` and prints them as a Markdown table and
//! `target/gpu-check.json`. `--quick` runs the same on tiny shapes with the test build, so that
//! every `cargo xtask test` runs it on lavapipe and it cannot rot.

use crate::cargo::{Backend, cargo};
use crate::test::{FEATURES, WGPU_QUICK_TESTS, WGPU_TESTS, wgpu_tests};
use anyhow::{Context, Result, bail};
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
            &["test", "--workspace", "--features", FEATURES, "--no-run"],
        )?;
        return Ok(target.join("debug/jeat"));
    }
    let mut args = vec!["build", "--release", "-p", "jeat-cli"];
    args.extend(backend.cargo_features());
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
    println!("{}", table(&results, workloads, quick));
    let report = serde_json::json!({
        "backend": backend.jeat_name(),
        "quick": quick,
        "workloads": results,
    });
    let path = target.join("gpu-check.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("xtask: wrote {}", path.display());
    Ok(())
}

/// The Markdown table of `jeat bench`'s JSON.
fn table(results: &serde_json::Value, workloads: &[&str], quick: bool) -> String {
    let mut out = String::from(if quick {
        "(--quick: tiny shapes, not the sizes the names say)\n\n"
    } else {
        ""
    });
    out.push_str("| workload | median (s) | rate | device memory reserved |\n|---|---|---|---|\n");
    for &workload in workloads {
        let entry = &results[workload];
        let median = entry["median_s"].as_f64();
        let rate = match (workload, median) {
            ("inception-50", Some(s)) if !quick => format!("{:.1} images/s", 50.0 / s),
            (_, Some(s)) => format!("{:.2} /s", 1.0 / s),
            _ => "–".into(),
        };
        let memory = entry["device_bytes_reserved"]
            .as_u64()
            .map(|b| format!("{:.0} MiB", b as f64 / (1024.0 * 1024.0)))
            .unwrap_or_else(|| "not reported".into());
        let median = median.map_or("–".into(), |s| format!("{s:.3}"));
        out.push_str(&format!("| {workload} | {median} | {rate} | {memory} |\n"));
    }
    out
}
