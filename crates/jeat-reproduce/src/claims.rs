//! The paper's qualitative claims, checked on a run, with a verdict that says when the run is too
//! small to decide: robust accuracies on N points carry a binomial standard error, and FID from
//! fewer samples than the 2,048 feature dimensions is dominated by its bias.

use crate::profile::AUTOATTACK;
use crate::report::{cell, column};
use crate::summary::Summary;
use jeat_train::TrainingMethod;

/// Feature dimensions of FID's pool3 statistics.
const FID_DIMENSIONS: usize = 2048;

/// How many standard errors a difference must clear to count.
const STANDARD_ERRORS: f64 = 2.0;

/// What a run says about a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The claim holds on this run.
    Holds,
    /// It does not.
    DoesNotHold,
    /// The run is too small to decide, and why.
    NotMeaningful(String),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Holds => f.write_str("holds"),
            Self::DoesNotHold => f.write_str("does not hold here"),
            Self::NotMeaningful(why) => write!(f, "not meaningful at this size: {why}"),
        }
    }
}

/// One claim as checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// The claim.
    pub statement: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The numbers behind it.
    pub evidence: String,
}

/// The standard error (percentage points) of the difference of two accuracies `a`, `b` (%)
/// measured on `n` points each.
pub fn difference_standard_error(a: f64, b: f64, n: usize) -> f64 {
    let variance = |p: f64| (p / 100.0) * (1.0 - p / 100.0) / n.max(1) as f64;
    100.0 * (variance(a) + variance(b)).sqrt()
}

/// The verdict on "`a - b` > `margin`" for accuracies on `n` points: decided only when the
/// difference is more than two standard errors from the margin.
pub fn accuracy_verdict(a: f64, b: f64, margin: f64, n: usize) -> Verdict {
    let se = difference_standard_error(a, b, n);
    let distance = a - b - margin;
    if distance.abs() <= STANDARD_ERRORS * se {
        Verdict::NotMeaningful(format!(
            "the difference is within {STANDARD_ERRORS} standard errors ({se:.1} points each) of the threshold on {n} points"
        ))
    } else if distance > 0.0 {
        Verdict::Holds
    } else {
        Verdict::DoesNotHold
    }
}

fn decided(holds: bool) -> Verdict {
    if holds {
        Verdict::Holds
    } else {
        Verdict::DoesNotHold
    }
}

/// The paper's qualitative claims, checked on this run.
pub fn claims(summary: &Summary) -> Vec<Claim> {
    let get = |m: TrainingMethod| summary.row(m);
    let n = summary.plan.attack_points;
    let mut out = Vec::new();
    if let (Some(standard), Some(robust)) =
        (get(TrainingMethod::Standard), get(TrainingMethod::PgdAt))
    {
        let (s, r) = (column(standard, AUTOATTACK), column(robust, AUTOATTACK));
        out.push(Claim {
            statement: "adversarial training (pgd-at) is far more robust than standard training under AutoAttack (by more than 10 points)".into(),
            verdict: match (s, r) {
                (Some(s), Some(r)) => accuracy_verdict(r, s, 10.0, n),
                _ => Verdict::DoesNotHold,
            },
            evidence: format!("AutoAttack: standard {} %, pgd-at {} %", cell(s, 2), cell(r, 2)),
        });
        let (fs, fr) = (
            standard.analysis.flatness.random_change,
            robust.analysis.flatness.random_change,
        );
        out.push(Claim {
            statement:
                "the joint energy E(x, y) is flatter around data for pgd-at than for standard training"
                    .into(),
            verdict: decided(fr < fs),
            evidence: format!(
                "mean |E(x+δ, y) - E(x, y)| in the eps-ball: standard {fs:.4}, pgd-at {fr:.4}"
            ),
        });
        let (gs, gr) = (
            standard.analysis.flatness.adversarial_gap,
            robust.analysis.flatness.adversarial_gap,
        );
        out.push(Claim {
            statement:
                "attacks raise E(x, y) less on the pgd-at model (smaller clean-to-adversarial gap)"
                    .into(),
            verdict: decided(gr < gs),
            evidence: format!("E(x_adv, y) - E(x, y): standard {gs:.3}, pgd-at {gr:.3}"),
        });
    }
    if let (Some(jeat), Some(robust)) = (get(TrainingMethod::Jeat), get(TrainingMethod::PgdAt)) {
        let (fj, fr) = (
            jeat.scores.fid.as_ref().map(|f| f.value),
            robust.scores.fid.as_ref().map(|f| f.value),
        );
        if let (Some(fj), Some(fr)) = (fj, fr) {
            let samples = jeat.samples.count.min(robust.samples.count);
            out.push(Claim {
                statement: "JEAT generates better images than robust-classifier generation from PGD-AT (lower FID)".into(),
                verdict: if samples < FID_DIMENSIONS {
                    Verdict::NotMeaningful(format!(
                        "FID from {samples} samples (< {FID_DIMENSIONS} feature dimensions) is dominated by its bias"
                    ))
                } else {
                    decided(fj < fr)
                },
                evidence: format!("FID: jeat {fj:.1}, pgd-at {fr:.1}"),
            });
        }
        let (aj, ar) = (column(jeat, AUTOATTACK), column(robust, AUTOATTACK));
        out.push(Claim {
            statement: "JEAT keeps a robustness comparable to PGD-AT (AutoAttack within 10 points)"
                .into(),
            verdict: match (aj, ar) {
                (Some(j), Some(r)) => accuracy_verdict(j, r, -10.0, n),
                _ => Verdict::DoesNotHold,
            },
            evidence: format!(
                "AutoAttack: jeat {} %, pgd-at {} %",
                cell(aj, 2),
                cell(ar, 2)
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_within_two_standard_errors_are_not_decided() {
        // 40 % vs 30 % on 100 points: se = sqrt(.24/100 + .21/100) = 6.7 points.
        let se = difference_standard_error(40.0, 30.0, 100);
        assert!((se - 100.0 * (0.0045f64).sqrt()).abs() < 1e-9);
        assert!(matches!(
            accuracy_verdict(40.0, 30.0, 0.0, 100),
            Verdict::NotMeaningful(_)
        ));
        // The same difference on 1,000 points (se 2.1) is decided, either way of a margin.
        assert_eq!(accuracy_verdict(40.0, 30.0, 0.0, 1000), Verdict::Holds);
        assert_eq!(
            accuracy_verdict(40.0, 30.0, 20.0, 1000),
            Verdict::DoesNotHold
        );
        // "Within 10 points" as a difference above -10: 60 vs 65 on 1,000 points holds.
        assert_eq!(accuracy_verdict(60.0, 65.0, -10.0, 1000), Verdict::Holds);
    }
}
