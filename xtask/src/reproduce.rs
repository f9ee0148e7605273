//! `cargo xtask reproduce-table`: `jeat reproduce` built in release mode with the chosen
//! backend.

use crate::cargo::{Backend, run_jeat};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// The table of `profile` in `out` (default `runs/<profile>`).
pub fn table(
    root: &Path,
    backend: Backend,
    profile: String,
    out: Option<PathBuf>,
    methods: Option<String>,
) -> Result<()> {
    if !["smoke", "cpu", "paper"].contains(&profile.as_str()) {
        bail!("unknown profile '{profile}'; valid: smoke, cpu, paper");
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
    run_jeat(root, backend, &args)
}
