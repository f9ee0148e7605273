//! `cargo xtask bench-vs-pytorch`: each workload of `jeat bench` and, back to back on the same
//! machine, the same workload in PyTorch (xtask/python/bench_workloads.py); then AutoAttack
//! standard on 500 real Fashion-MNIST points of the small CNN, `jeat attack` against the official
//! fra31/auto-attack. Prints a Markdown table and writes `target/bench-vs-pytorch.json` as
//! `{workload: {"jeat_s": …, "pytorch_s": …, "ratio": …}}`.

use crate::cargo::{Backend, cargo};
use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const MICRO: [&str; 6] = [
    "wrn-16-4-forward",
    "wrn-16-4-attack-step",
    "wrn-16-4-pgd10-at-iteration",
    "wrn-34-10-attack-step",
    "wrn-16-4-sgld-step",
    "inception-50",
];
const AUTOATTACK: &str = "autoattack-500";
const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";
const SETUP: &str = "python3 -m venv venv && venv/bin/pip install torch safetensors numpy \
                     git+https://github.com/fra31/auto-attack, then JEAT_PYTHON=venv/bin/python";

/// Runs the chosen workloads (all when `workloads` is empty), `repeats` timed runs each.
pub fn run(root: &Path, backend: Backend, workloads: &[String], repeats: usize) -> Result<()> {
    let known: Vec<&str> = MICRO.iter().copied().chain([AUTOATTACK]).collect();
    if let Some(bad) = workloads.iter().find(|w| !known.contains(&w.as_str())) {
        bail!("unknown workload '{bad}'; valid: {}", known.join(", "));
    }
    let chosen: Vec<&str> = if workloads.is_empty() {
        known.clone()
    } else {
        known
            .iter()
            .copied()
            .filter(|k| workloads.iter().any(|w| w == k))
            .collect()
    };
    let micro: Vec<&str> = chosen
        .iter()
        .copied()
        .filter(|w| *w != AUTOATTACK)
        .collect();
    let out_dir = root.join("target").join("bench-vs-pytorch");
    std::fs::create_dir_all(&out_dir)?;
    let mut build = vec!["build", "--release", "--quiet", "-p", "jeat-cli"];
    build.extend(backend.cargo_features());
    cargo(root, &build)?;
    let jeat = root.join("target").join("release").join("jeat");
    let python = torch_python();
    if python.is_none() {
        println!(
            "xtask: PyTorch side skipped: no python with torch (tried $JEAT_PYTHON, venv/bin/python, python3); to set it up: {SETUP}"
        );
    }

    let mut rows: Vec<(String, f64, Option<f64>, String)> = Vec::new();
    for workload in &micro {
        let jeat_json = out_dir.join(format!("{workload}.jeat.json"));
        let mut command = Command::new(&jeat);
        command.args([
            "--backend",
            backend.jeat_name(),
            "bench",
            "--workloads",
            workload,
        ]);
        command.args(["--repeats", &repeats.to_string(), "--json"]);
        command.arg(&jeat_json);
        status(command.current_dir(root), "jeat bench")?;
        let jeat_s = read_json(&jeat_json)?[*workload]["median_s"]
            .as_f64()
            .context("jeat bench wrote no median")?;
        let (pytorch_s, note) = match &python {
            Some(python) => {
                let torch_json = out_dir.join(format!("{workload}.pytorch.json"));
                let mut command = Command::new(python);
                command.arg(root.join("xtask/python/bench_workloads.py"));
                command.args(["--workloads", workload, "--repeats", &repeats.to_string()]);
                command.arg("--inception-weights");
                command.arg(root.join("data/inception/default_1.pt"));
                command.arg("--json").arg(&torch_json);
                status(command.current_dir(root), "bench_workloads.py")?;
                let entry = &read_json(&torch_json)?["workloads"][*workload];
                (
                    entry["median_s"].as_f64(),
                    entry["layout"].as_str().unwrap_or("").to_string(),
                )
            }
            None => (None, String::new()),
        };
        rows.push((workload.to_string(), jeat_s, pytorch_s, note));
    }
    if chosen.contains(&AUTOATTACK) {
        rows.push(autoattack(root, &jeat, backend, python.as_deref())?);
    }
    report(root, &rows)
}

/// A python that can import torch: `$JEAT_PYTHON`, then `venv/bin/python`, then `python3`.
fn torch_python() -> Option<PathBuf> {
    let candidates = std::env::var_os("JEAT_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("venv/bin/python"), PathBuf::from("python3")]);
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import torch"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// AutoAttack standard (Linf 0.1) on the first 500 real Fashion-MNIST test points of the
/// committed PGD-trained CNN: the whole `jeat attack` command against the official code.
fn autoattack(
    root: &Path,
    jeat: &Path,
    backend: Backend,
    python: Option<&Path>,
) -> Result<(String, f64, Option<f64>, String)> {
    if !Path::new(FASHION_MNIST)
        .join("t10k-images-idx3-ubyte.gz")
        .exists()
    {
        bail!(
            "{AUTOATTACK} needs the real Fashion-MNIST test set in {FASHION_MNIST} (apt-get install dataset-fashion-mnist), or leave it out with --workloads"
        );
    }
    let started = Instant::now();
    let mut command = Command::new(jeat);
    command.args(["--backend", backend.jeat_name(), "attack", "--checkpoint"]);
    command.arg("crates/jeat-attacks/tests/fixtures/cpu_pgd_at_cnn.safetensors");
    command.args([
        "--dataset",
        "fashion-mnist",
        "--n",
        "500",
        "--suite",
        "aa-standard",
    ]);
    command.args(["--eps", "0.1", "--state"]);
    // A fresh state file: a resumed evaluation would not be timed.
    let state = root.join("target/bench-vs-pytorch/autoattack-500.state.json");
    let _ = std::fs::remove_file(&state);
    command.arg(&state);
    status(command.current_dir(root), "jeat attack")?;
    let jeat_s = started.elapsed().as_secs_f64();
    let pytorch_s = match python {
        Some(python) => {
            let torch_json = root.join("target/bench-vs-pytorch/autoattack-500.pytorch.json");
            let mut command = Command::new(python);
            command.arg(root.join("xtask/python/bench_workloads.py"));
            command.args(["--workloads", AUTOATTACK, "--fashion-mnist", FASHION_MNIST]);
            command.arg("--json").arg(&torch_json);
            match command.current_dir(root).status() {
                Ok(s) if s.success() => {
                    read_json(&torch_json)?["workloads"][AUTOATTACK]["median_s"].as_f64()
                }
                _ => {
                    println!(
                        "xtask: the official AutoAttack did not run (is it installed? {SETUP})"
                    );
                    None
                }
            }
        }
        None => None,
    };
    Ok((
        AUTOATTACK.into(),
        jeat_s,
        pytorch_s,
        "official fra31/auto-attack".into(),
    ))
}

fn status(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("could not start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn report(root: &Path, rows: &[(String, f64, Option<f64>, String)]) -> Result<()> {
    let mut table = String::from(
        "| workload | jeat | PyTorch | jeat ÷ PyTorch | PyTorch layout |\n|---|---|---|---|---|\n",
    );
    let mut json_rows = Map::new();
    for (workload, jeat_s, pytorch_s, note) in rows {
        let ratio = pytorch_s.map(|p| jeat_s / p);
        let show = |v: Option<f64>, unit: &str| v.map_or("—".into(), |v| format!("{v:.3}{unit}"));
        table.push_str(&format!(
            "| {workload} | {jeat_s:.3} s | {} | {} | {note} |\n",
            show(*pytorch_s, " s"),
            show(ratio, "×")
        ));
        json_rows.insert(
            workload.clone(),
            json!({"jeat_s": jeat_s, "pytorch_s": pytorch_s, "ratio": ratio}),
        );
    }
    print!("{table}");
    let path = root.join("target").join("bench-vs-pytorch.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&Value::Object(json_rows))? + "\n",
    )?;
    std::fs::write(root.join("target").join("bench-vs-pytorch.md"), &table)?;
    println!("xtask: wrote {}", path.display());
    Ok(())
}
