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
pub const SETUP: &str = "python3 -m venv venv && venv/bin/pip install torch safetensors numpy \
                     git+https://github.com/fra31/auto-attack, then JEAT_PYTHON=venv/bin/python";

/// Runs the chosen workloads (all when `workloads` is empty), `repeats` timed runs each, with
/// the convolutions in `precision` (`f32`, or `bf16`: jeat's `--precision bf16`, PyTorch's
/// `torch.autocast("cpu", torch.bfloat16)`).
pub fn run(
    root: &Path,
    backend: Backend,
    workloads: &[String],
    repeats: usize,
    precision: &str,
) -> Result<()> {
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
    let features = backend.cargo_features();
    build.extend(features.iter().map(String::as_str));
    cargo(root, &build)?;
    let jeat = root.join("target").join("release").join("jeat");
    let python = torch_python(root);
    if python.is_none() {
        println!(
            "xtask: PyTorch side skipped: no python with torch (tried $JEAT_PYTHON, venv/bin/python, python3); to set it up: {SETUP}"
        );
    }

    let mut rows = Vec::new();
    for workload in &micro {
        let jeat_json = out_dir.join(format!("{workload}.jeat.json"));
        let mut command = Command::new(&jeat);
        command.args([
            "--backend",
            backend.jeat_name(),
            "--precision",
            precision,
            "bench",
        ]);
        command.args(["--workloads", workload, "--repeats", &repeats.to_string()]);
        command.arg("--json").arg(&jeat_json);
        status(command.current_dir(root), "jeat bench")?;
        let jeat_s = read_json(&jeat_json)?[*workload]["median_s"]
            .as_f64()
            .context("jeat bench wrote no median")?;
        let weights = root.join("data/inception/default_1.pt");
        let extra = [
            "--repeats".into(),
            repeats.to_string(),
            "--inception-weights".into(),
            weights.display().to_string(),
            "--precision".into(),
            precision.into(),
        ];
        let (pytorch_s, layout) = match &python {
            Some(python) => pytorch_side(root, python, workload, &extra)
                .map(|side| (side.median_s, side.layout))
                .unwrap_or_default(),
            None => (None, String::new()),
        };
        rows.push(Row {
            workload: workload.to_string(),
            jeat_s,
            pytorch_s,
            note: layout,
        });
    }
    if chosen.contains(&AUTOATTACK) {
        if precision != "f32" {
            bail!("autoattack-500 compares with the official code in f32 only");
        }
        rows.push(autoattack(root, &jeat, backend, python.as_deref())?);
    }
    report(root, &rows)
}

/// One line of the table.
struct Row {
    workload: String,
    jeat_s: f64,
    pytorch_s: Option<f64>,
    /// The PyTorch layout that was faster, or what the PyTorch side is.
    note: String,
}

/// What bench_workloads.py measured for one workload.
pub struct PytorchSide {
    pub median_s: Option<f64>,
    /// The layout that was faster.
    pub layout: String,
    /// The peak bytes PyTorch's CUDA allocator reserved (CUDA only).
    pub peak_bytes_reserved: Option<u64>,
}

/// Runs bench_workloads.py on `workload` with `extra` arguments; `None` with a line saying so
/// where the script fails (a missing package, weights file or CUDA device).
pub fn pytorch_side(
    root: &Path,
    python: &Path,
    workload: &str,
    extra: &[String],
) -> Option<PytorchSide> {
    let json = root.join(format!("target/bench-vs-pytorch/{workload}.pytorch.json"));
    let _ = std::fs::create_dir_all(root.join("target/bench-vs-pytorch"));
    let ran = Command::new(python)
        .arg(root.join("xtask/python/bench_workloads.py"))
        .args(["--workloads", workload])
        .args(extra)
        .arg("--json")
        .arg(&json)
        .current_dir(root)
        .status()
        .is_ok_and(|s| s.success());
    let entry = ran.then(|| read_json(&json).ok()).flatten();
    let Some(entry) = entry.map(|all| all["workloads"][workload].clone()) else {
        println!(
            "xtask: the PyTorch side of {workload} did not run (see its error above; {SETUP})"
        );
        return None;
    };
    Some(PytorchSide {
        median_s: entry["median_s"].as_f64(),
        layout: entry["layout"].as_str().unwrap_or("").to_string(),
        peak_bytes_reserved: entry["device_bytes_reserved_peak"].as_u64(),
    })
}

/// A python that can import torch: `$JEAT_PYTHON`, then the workspace's `venv/bin/python`,
/// then `python3`.
pub fn torch_python(root: &Path) -> Option<PathBuf> {
    let candidates = std::env::var_os("JEAT_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([root.join("venv/bin/python"), PathBuf::from("python3")]);
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import torch"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// AutoAttack standard (Linf 0.1) on the first 500 real Fashion-MNIST test points of the
/// committed PGD-trained CNN: the whole `jeat attack` command against the official code.
fn autoattack(root: &Path, jeat: &Path, backend: Backend, python: Option<&Path>) -> Result<Row> {
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
            let extra = ["--fashion-mnist".to_string(), FASHION_MNIST.to_string()];
            pytorch_side(root, python, AUTOATTACK, &extra).and_then(|side| side.median_s)
        }
        None => None,
    };
    Ok(Row {
        workload: AUTOATTACK.into(),
        jeat_s,
        pytorch_s,
        note: "official fra31/auto-attack".into(),
    })
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

fn report(root: &Path, rows: &[Row]) -> Result<()> {
    let mut table = String::from(
        "| workload | jeat | PyTorch | jeat ÷ PyTorch | PyTorch layout |\n|---|---|---|---|---|\n",
    );
    let mut json_rows = Map::new();
    for Row {
        workload,
        jeat_s,
        pytorch_s,
        note,
    } in rows
    {
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
