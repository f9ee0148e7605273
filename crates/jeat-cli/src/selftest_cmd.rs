//! `jeat selftest`: a correctness check of the chosen backend and device, for users on a new
//! GPU. Each check runs a piece of real work on the device and compares it with the flex CPU
//! backend on the same inputs, or with values PyTorch computed (committed fixtures); everything
//! it needs is embedded in the binary ([`fixtures`]), so the binary alone can be carried to the
//! machine to check.
//!
//! | check | what |
//! |---|---|
//! | `wrn-pytorch` | WRN-16-1 of jeat-models' parity fixtures: logits and input gradients of the summed cross-entropy against PyTorch's |
//! | `mnist-cnn-pytorch` | the same for the MNIST CNN |
//! | `fgsm-pgd-step` | FGSM and PGD on the engine: in the eps-ball ∩ [0, 1], perturbation signs as flex's |
//! | `sgd-steps` | three SGD steps (momentum, weight decay) of cross-entropy training: the weights flex reaches |
//! | `sgld-step` | one SGLD step: the noise's mean and standard deviation, the drift as flex's |
//! | `fusion-layout` | the kernel-fusion layout case of `jeat_core::layout`: a fused chain on a permuted `[B, 1, H, W]` tensor |
//! | `autoattack-points` | APGD-CE and APGD-T (AutoAttack standard without `--quick`) on 20 real Fashion-MNIST points against a PGD-trained CNN: the points flex finds robust |
//!
//! One line per check (name, PASS/FAIL, its worst measurement and that measurement's tolerance,
//! seconds) with the measurements below it, then a summary; any failure makes the command fail
//! (exit code 1). `--quick` makes every check small enough for a software Vulkan driver
//! (lavapipe) in CI.

mod autoattack;
mod fixtures;
mod parity;
mod steps;
mod training;

use crate::backend::Backend;
use anyhow::{Context as _, Result, bail};
use burn::prelude::*;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// Small checks (8 points, fewer steps and iterations), for a software Vulkan driver in CI:
    /// about 100 s on lavapipe on 2 cores, nearly all of it compiling kernels.
    #[arg(long)]
    quick: bool,
    /// Also write the results as JSON: `{"passed", "device", "quick", "checks": [{"name",
    /// "passed", "error", "tolerance", "seconds", "measurements", "notes", "failure"}]}`.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What every check gets: the device under test, flex beside it, the embedded fixtures.
pub struct Context {
    /// The device under test (plain, without autodiff).
    pub device: Device,
    /// The flex CPU device, the reference (plain).
    pub flex: Device,
    /// Small sizes (`--quick`).
    pub quick: bool,
    /// The embedded weight files, written out where the checkpoint readers can open them.
    pub files: fixtures::Scratch,
}

impl Context {
    /// How many of the embedded Fashion-MNIST points the checks on that model use.
    pub fn points(&self) -> usize {
        if self.quick { 8 } else { 20 }
    }
}

/// One measured quantity of a check and the bound it must respect.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Measurement {
    /// What was measured.
    pub what: String,
    /// The measured value (an error, a fraction, a count).
    pub error: f64,
    /// The bound: at most (or, for [`Measurement::at_least`], at least) this.
    pub tolerance: f64,
    /// Whether the bound is a lower one.
    pub at_least: bool,
    /// Whether the value respects the bound (a non-finite value never does).
    pub passed: bool,
}

impl Measurement {
    /// `error ≤ tolerance`.
    pub fn at_most(what: impl Into<String>, error: f64, tolerance: f64) -> Self {
        Self {
            what: what.into(),
            error,
            tolerance,
            at_least: false,
            passed: error.is_finite() && error <= tolerance,
        }
    }

    /// `value ≥ minimum` (a quantity that must be large enough, such as how far training moved).
    pub fn at_least(what: impl Into<String>, value: f64, minimum: f64) -> Self {
        Self {
            what: what.into(),
            error: value,
            tolerance: minimum,
            at_least: true,
            passed: value.is_finite() && value >= minimum,
        }
    }

    /// How close the value is to its bound (1 at the bound, above 1 beyond it).
    fn severity(&self) -> f64 {
        let ratio = match self.at_least {
            false => self.error / self.tolerance,
            true => self.tolerance / self.error,
        };
        if ratio.is_nan() { f64::INFINITY } else { ratio }
    }
}

/// What a check measured, and lines worth reading beside it.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Its measurements; the check passes when every one does.
    pub measurements: Vec<Measurement>,
    /// Informational lines (what was run, counts, diagnostics).
    pub notes: Vec<String>,
}

/// A check's function.
type Check = fn(&Context) -> Result<Outcome>;

/// Every check, in the order they run.
pub const CHECKS: [(&str, Check); 7] = [
    ("wrn-pytorch", parity::wrn),
    ("mnist-cnn-pytorch", parity::mnist_cnn),
    ("fgsm-pgd-step", steps::fgsm_pgd),
    ("sgd-steps", training::sgd_steps),
    ("sgld-step", steps::sgld),
    ("fusion-layout", steps::fusion_layout),
    ("autoattack-points", autoattack::autoattack_points),
];

/// The result of one check.
#[derive(Debug, serde::Serialize)]
pub struct CheckResult {
    /// Its name.
    pub name: &'static str,
    /// Whether it ran and every measurement passed.
    pub passed: bool,
    /// The worst measurement's value (the first failing one's, if any).
    pub error: Option<f64>,
    /// That measurement's tolerance.
    pub tolerance: Option<f64>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Every measurement.
    pub measurements: Vec<Measurement>,
    /// Informational lines.
    pub notes: Vec<String>,
    /// Why it could not run to the end (an error or a panic), if it did not.
    pub failure: Option<String>,
}

impl CheckResult {
    /// The result of a check that returned `outcome` after `seconds`.
    pub fn new(name: &'static str, outcome: Result<Outcome, String>, seconds: f64) -> Self {
        let (outcome, failure) = match outcome {
            Ok(outcome) => (outcome, None),
            Err(why) => (Outcome::default(), Some(why)),
        };
        // The first failing measurement; else the error closest to its tolerance (lower bounds,
        // such as "training moved the weights", only where a check has nothing else).
        let closest = |upper: bool| {
            outcome
                .measurements
                .iter()
                .filter(|m| m.at_least != upper)
                .max_by(|a, b| a.severity().total_cmp(&b.severity()))
        };
        let worst = outcome
            .measurements
            .iter()
            .find(|m| !m.passed)
            .or_else(|| closest(true))
            .or_else(|| closest(false));
        Self {
            name,
            passed: failure.is_none()
                && !outcome.measurements.is_empty()
                && outcome.measurements.iter().all(|m| m.passed),
            error: worst.map(|m| m.error),
            tolerance: worst.map(|m| m.tolerance),
            seconds,
            measurements: outcome.measurements,
            notes: outcome.notes,
            failure,
        }
    }

    /// The check's line, its measurements' and its notes', for the terminal.
    pub fn to_text(&self) -> String {
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        let mut text = match (self.error, self.tolerance) {
            (Some(error), Some(tolerance)) => format!(
                "{:<18} {verdict}  error {error:.2e}  tolerance {tolerance:.2e}  ({:.1} s)\n",
                self.name, self.seconds
            ),
            _ => format!("{:<18} {verdict}  ({:.1} s)\n", self.name, self.seconds),
        };
        for m in &self.measurements {
            let bound = if m.at_least { '≥' } else { '≤' };
            let mark = if m.passed { "ok" } else { "FAIL" };
            text.push_str(&format!(
                "    {}: {:.3e} (must be {bound} {:.1e}) {mark}\n",
                m.what, m.error, m.tolerance
            ));
        }
        for note in &self.notes {
            text.push_str(&format!("    note: {note}\n"));
        }
        if let Some(why) = &self.failure {
            text.push_str(&format!("    failed to run: {why}\n"));
        }
        text
    }
}

/// Runs `check` and times it; an error or a panic is the check's failure, not the command's.
fn run_check(name: &'static str, check: Check, context: &Context) -> CheckResult {
    let started = Instant::now();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(context)));
    let outcome = match outcome {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(error)) => Err(format!("{error:#}")),
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    };
    CheckResult::new(name, outcome, started.elapsed().as_secs_f64())
}

/// The summary line, and an error naming the failed checks when there are any.
pub fn verdict(results: &[CheckResult], seconds: f64) -> (String, Result<()>) {
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.name)
        .collect();
    let line = format!(
        "summary: {} of {} checks passed in {seconds:.1} s{}",
        results.len() - failed.len(),
        results.len(),
        match failed.is_empty() {
            true => String::new(),
            false => format!("; FAILED: {}", failed.join(", ")),
        }
    );
    let result = match failed.is_empty() {
        true => Ok(()),
        false => Err(anyhow::anyhow!(
            "selftest failed: {} (see the lines above)",
            failed.join(", ")
        )),
    };
    (line, result)
}

pub fn run(args: SelftestArgs, backend: Backend, device: Device) -> Result<()> {
    let started = Instant::now();
    let flex = Backend::Flex
        .device(None)
        .context("the selftest compares with the flex CPU backend")?;
    println!(
        "jeat selftest{}: {backend} device {device:?} against the flex CPU backend and committed PyTorch values",
        if args.quick { " --quick" } else { "" }
    );
    if backend == Backend::Flex {
        println!(
            "note: --backend flex compares flex with flex (a smoke test; the *-pytorch checks still compare with PyTorch)"
        );
    }
    let context = Context {
        device,
        flex,
        quick: args.quick,
        files: fixtures::Scratch::new()?,
    };
    let mut results = Vec::new();
    for (name, check) in CHECKS {
        let result = run_check(name, check, &context);
        print!("{}", result.to_text());
        results.push(result);
    }
    let seconds = started.elapsed().as_secs_f64();
    let (line, outcome) = verdict(&results, seconds);
    println!("{line}");
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "passed": outcome.is_ok(),
            "backend": backend,
            "device": format!("{:?}", context.device),
            "quick": args.quick,
            "seconds": seconds,
            "checks": results,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    outcome
}

/// `max |ours − reference| / max |reference|`; infinite when a value is not finite, the
/// lengths differ, or the reference is all zeros while ours is not.
pub fn relative_error(ours: &[f32], reference: &[f32]) -> f64 {
    if ours.len() != reference.len() || ours.iter().chain(reference).any(|v| !v.is_finite()) {
        return f64::INFINITY;
    }
    let scale = reference
        .iter()
        .fold(0f64, |m, &v| m.max(f64::from(v).abs()));
    let difference = max_abs_difference(ours, reference);
    if difference == 0.0 {
        0.0
    } else if scale == 0.0 {
        f64::INFINITY
    } else {
        difference / scale
    }
}

/// `max |a − b|` (infinite for different lengths or a non-finite value).
pub fn max_abs_difference(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter().zip(b).fold(0f64, |m, (&x, &y)| {
        let d = (f64::from(x) - f64::from(y)).abs();
        if d.is_nan() { f64::INFINITY } else { m.max(d) }
    })
}

/// How far `points` lie outside the Linf ball of radius `eps` around `centers` (same shape) ∩
/// [0, 1]: 0 inside, infinite for a NaN or different lengths.
pub fn outside_linf_ball(points: &[f32], centers: &[f32], eps: f64) -> f64 {
    if points.len() != centers.len() {
        return f64::INFINITY;
    }
    points.iter().zip(centers).fold(0f64, |m, (&a, &x)| {
        let (a, x) = (f64::from(a), f64::from(x));
        let v = ((a - x).abs() - eps).max(-a).max(a - 1.0).max(0.0);
        if v.is_nan() { f64::INFINITY } else { m.max(v) }
    })
}

/// The fraction of entries whose signs (−, 0, +) differ between `a` and `b`.
pub fn sign_disagreement(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return f64::INFINITY;
    }
    let sign = |v: f32| (v > 0.0) as i8 - (v < 0.0) as i8;
    let differ = a
        .iter()
        .zip(b)
        .filter(|(x, y)| sign(**x) != sign(**y))
        .count();
    differ as f64 / a.len() as f64
}

/// Mean and (population) standard deviation, in f64.
pub fn mean_and_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, variance.sqrt())
}

/// A `[N, C, H, W]` tensor of host values on `device`.
pub fn images(values: &[f32], shape: [usize; 4], device: &Device) -> Result<Tensor<4>> {
    if values.len() != shape.iter().product::<usize>() {
        bail!("{} values for a tensor of shape {shape:?}", values.len());
    }
    Ok(Tensor::from_data(
        burn::tensor::TensorData::new(values.to_vec(), shape),
        device,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_value_fails_the_comparison_and_the_command() {
        let reference = [1.0f32, -2.0, 0.5, 4.0];
        assert_eq!(relative_error(&reference, &reference), 0.0);
        // One value off by 0.1 % of the largest: fails a 1e-4 tolerance, passes 1e-2.
        let wrong = [1.0f32, -2.0, 0.5 + 0.004, 4.0];
        let error = relative_error(&wrong, &reference);
        assert!((error - 1e-3).abs() < 1e-6, "{error}");
        assert!(!Measurement::at_most("logits", error, 1e-4).passed);
        assert!(Measurement::at_most("logits", error, 1e-2).passed);
        // Nothing non-finite or misshapen passes.
        assert!(!Measurement::at_most("x", relative_error(&[f32::NAN; 4], &reference), 1.0).passed);
        assert!(relative_error(&reference[..3], &reference).is_infinite());
        assert!(!Measurement::at_least("moved", f64::NAN, 0.0).passed);

        let failing = CheckResult::new(
            "wrn-pytorch",
            Ok(Outcome {
                measurements: vec![
                    Measurement::at_most("logits", 1e-7, 1e-3),
                    Measurement::at_most("input gradient", error, 1e-4),
                ],
                notes: vec![],
            }),
            0.5,
        );
        assert!(!failing.passed);
        assert_eq!(
            failing.error,
            Some(error),
            "the failing measurement is reported"
        );
        assert!(failing.to_text().starts_with("wrn-pytorch        FAIL"));
        let crashed = CheckResult::new("sgld-step", Err("device lost".into()), 0.1);
        assert!(!crashed.passed && crashed.to_text().contains("device lost"));
        let passing = CheckResult::new(
            "fusion-layout",
            Ok(Outcome {
                measurements: vec![Measurement::at_most("values", 0.0, 1e-6)],
                notes: vec![],
            }),
            0.1,
        );
        assert!(passing.passed);
        let (line, result) = verdict(&[failing, crashed, passing], 1.0);
        assert!(
            line.contains("1 of 3 checks passed")
                && line.contains("FAILED: wrn-pytorch, sgld-step"),
            "{line}"
        );
        assert!(result.is_err());
    }

    #[test]
    fn signs_and_moments() {
        assert_eq!(
            sign_disagreement(&[0.1, -0.1, 0.0, 0.2], &[0.3, 0.1, 0.0, 0.0]),
            0.5
        );
        let (mean, std) = mean_and_std(&[1.0, -1.0, 1.0, -1.0]);
        assert_eq!((mean, std), (0.0, 1.0));
    }
}
