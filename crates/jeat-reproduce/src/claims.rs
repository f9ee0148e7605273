//! The paper's qualitative claims, checked on a run, each with a verdict that says when the run
//! cannot decide it: robust accuracies on N points carry a binomial standard error, energies are
//! compared point by point (raw and in units of each model's own energy spread), generation by
//! KID's spread, and with several training seeds their spread enters every verdict. On synthetic
//! data no verdict is given. [`RULES`] says where each rule and threshold comes from.

use crate::profile::AUTOATTACK;
use crate::summary::{MethodResult, Summary};
pub use crate::verdict::Verdict;
use crate::verdict::{across_seeds, decide, paired_verdict, seeded_accuracy_verdict};
use jeat_analysis::Flatness;
use jeat_train::TrainingMethod;

/// Feature dimensions of FID's pool3 statistics.
const FID_DIMENSIONS: usize = 2048;

/// The margin of "far more robust" and of "comparable robustness", in percentage points.
const ROBUSTNESS_MARGIN: f64 = 10.0;

/// Where the rules and thresholds of the verdicts come from, for the report.
pub const RULES: &str = "\
- *10 points* (\"far more robust\", \"comparable robustness\"): ours. The paper states both \
claims in words, without a number.
- *2 standard errors*: ours, about a 95 % two-sided interval under a normal approximation. A \
robust accuracy on N points is a proportion with binomial standard error sqrt(p(1 − p)/N); the \
difference of two models' accuracies has the two errors added in quadrature.
- *Energies*: the two models are compared point by point on the same test points and the same \
random draws (a paired difference and its standard error), once in raw energy and once in units \
of each model's standard deviation of E(x, y) over clean points, since a model whose logits are \
twice as large has energies, and changes of energy, twice as large. A verdict needs both forms to \
agree.
- *Generation*: KID is unbiased at any sample size (Bińkowski et al., 2018); a difference counts \
when it exceeds 2 standard errors, the two KIDs' errors (from the first-order variance of the \
MMD² U-statistic; KID's spread over subsets is no error bar where every subset is the whole \
sample) added in quadrature. FID from fewer \
samples than its 2,048 feature dimensions has a singular covariance and is dominated by its bias \
(Chong & Forsyth, 2020), so below that it is shown but not used; at 2,048 or more it must point \
the way KID does.
- *Training seeds*: with one seed, the spread over training runs is not measured and every \
verdict is about this one run of each method. With several (`--seeds`), the spread of the \
per-seed accuracy differences enters the standard error, and the other verdicts must agree on \
every seed.";

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

/// The claims of a run, or why it gives no verdicts.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdicts {
    /// No verdict is given, and why.
    Withheld(String),
    /// The claims as checked.
    Checked(Vec<Claim>),
}

/// `value` with `digits` decimals, or a dash.
fn number(value: Option<f64>, digits: usize) -> String {
    value.map_or("–".to_string(), |v| format!("{v:.digits$}"))
}

/// The paper's qualitative claims, checked on this run (none on synthetic data).
pub fn claims(summary: &Summary) -> Verdicts {
    if !summary.real_data {
        return Verdicts::Withheld(format!(
            "the data ({}) is synthetic: its numbers test the code paths, and say nothing about the paper's claims",
            summary.data
        ));
    }
    let mut out = robustness_claims(summary);
    out.extend(energy_claims(summary));
    out.extend(generation_claims(summary));
    Verdicts::Checked(out)
}

/// How the AutoAttack column is named in a claim: AutoAttack itself only when it is the
/// standard version.
fn autoattack_name(summary: &Summary) -> String {
    let suite = summary
        .plan
        .columns
        .iter()
        .find(|(name, _)| name == AUTOATTACK)
        .map_or("", |(_, suite)| suite.as_str());
    match suite {
        "aa-standard" => "AutoAttack (standard version)".into(),
        other => format!(
            "the profile's AutoAttack column `{other}` (a reduced AutoAttack, not its standard version)"
        ),
    }
}

/// The rows of `a` and `b` trained with the same seed, in seed order.
fn paired_rows(
    summary: &Summary,
    a: TrainingMethod,
    b: TrainingMethod,
) -> Vec<(&MethodResult, &MethodResult)> {
    let others = summary.rows_of(b);
    summary
        .rows_of(a)
        .into_iter()
        .filter_map(|x| {
            others
                .iter()
                .find(|y| y.replicate == x.replicate)
                .map(|y| (x, *y))
        })
        .collect()
}

/// A statement's verdict is "not measured" when a method it names has no row.
fn missing_method(summary: &Summary, methods: &[TrainingMethod]) -> Option<Verdict> {
    methods
        .iter()
        .find(|m| summary.row(**m).is_none())
        .map(|m| {
            Verdict::NotMeasured(match summary.failures.iter().find(|(f, _)| f == m) {
                Some((_, why)) => format!("{m} failed ({why})"),
                None => format!("{m} was not run (see --methods)"),
            })
        })
}

fn robustness_claims(summary: &Summary) -> Vec<Claim> {
    let n = summary.plan.attack_points;
    let attack = autoattack_name(summary);
    let seeds_note = |pairs: usize| match pairs {
        1 => "one training seed".to_string(),
        k => format!("mean of {k} training seeds"),
    };
    let claim = |statement: String, a: TrainingMethod, b: TrainingMethod, margin: f64| {
        if let Some(verdict) = missing_method(summary, &[a, b]) {
            return Claim {
                statement,
                verdict,
                evidence: String::new(),
            };
        }
        let measured: Vec<(Option<f64>, Option<f64>)> = paired_rows(summary, a, b)
            .iter()
            .map(|(x, y)| (x.column(AUTOATTACK), y.column(AUTOATTACK)))
            .collect();
        let pairs: Vec<(f64, f64)> = measured
            .iter()
            .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
            .collect();
        let verdict = match pairs.len() == measured.len() {
            true => seeded_accuracy_verdict(&pairs, margin, n),
            false => Verdict::NotMeasured(format!("the AutoAttack column of {a} or {b}")),
        };
        let per_seed = |second: bool| {
            measured
                .iter()
                .map(|(x, y)| number(if second { *y } else { *x }, 2))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        Claim {
            statement,
            verdict,
            evidence: format!(
                "{a} {} %, {b} {} % ({n} points; {})",
                per_seed(false),
                per_seed(true),
                seeds_note(measured.len())
            ),
        }
    };
    vec![
        claim(
            format!(
                "adversarial training (pgd-at) is far more robust than standard training under {attack} (by more than {ROBUSTNESS_MARGIN} points)"
            ),
            TrainingMethod::PgdAt,
            TrainingMethod::Standard,
            ROBUSTNESS_MARGIN,
        ),
        claim(
            format!(
                "JEAT keeps a robustness comparable to PGD-AT under {attack} (within {ROBUSTNESS_MARGIN} points)"
            ),
            TrainingMethod::Jeat,
            TrainingMethod::PgdAt,
            -ROBUSTNESS_MARGIN,
        ),
    ]
}

/// A model's per-point values of an energy claim and its energy scale.
type PerPoint = fn(&Flatness) -> (&[f64], f64);

/// The verdict of one seed on "`smaller`'s values are below `larger`'s", raw and scale-free, and
/// its evidence.
fn energy_verdict(larger: &Flatness, smaller: &Flatness, values: PerPoint) -> (Verdict, String) {
    let ((l, l_scale), (s, s_scale)) = (values(larger), values(smaller));
    if l.is_empty() || l.len() != s.len() {
        return (
            Verdict::NotMeasured(
                "per-point energies (a cached analysis from before they were kept: delete cells/*/analysis.json)"
                    .into(),
            ),
            String::new(),
        );
    }
    if l_scale <= 0.0 || s_scale <= 0.0 {
        return (
            Verdict::Undecidable("a model's clean energies have no spread to scale by".into()),
            String::new(),
        );
    }
    let (raw, raw_difference, raw_se) = paired_verdict(l, s, "the paired difference");
    let scaled = |values: &[f64], scale: f64| values.iter().map(|v| v / scale).collect::<Vec<_>>();
    let (free, free_difference, free_se) = paired_verdict(
        &scaled(l, l_scale),
        &scaled(s, s_scale),
        "the paired difference in energy-spread units",
    );
    let verdict = match (&raw, &free) {
        (a, b) if a == b => a.clone(),
        (Verdict::Undecidable(why), _) | (_, Verdict::Undecidable(why)) => {
            Verdict::Undecidable(why.clone())
        }
        _ => Verdict::Undecidable(
            "raw energies and energies in units of each model's spread point opposite ways".into(),
        ),
    };
    let evidence = format!(
        "paired difference {raw_difference:.4} ± {raw_se:.4} (s.e., {} points); in units of each model's clean-energy spread ({l_scale:.3}, {s_scale:.3}): {free_difference:.4} ± {free_se:.4}",
        l.len()
    );
    (verdict, evidence)
}

fn energy_claims(summary: &Summary) -> Vec<Claim> {
    let (standard, robust) = (TrainingMethod::Standard, TrainingMethod::PgdAt);
    let claim = |statement: &str, mean_of: fn(&Flatness) -> f64, values: PerPoint| {
        let statement = statement.to_string();
        if let Some(verdict) = missing_method(summary, &[standard, robust]) {
            return Claim {
                statement,
                verdict,
                evidence: String::new(),
            };
        }
        let seeds: Vec<(Verdict, String, f64, f64)> = paired_rows(summary, standard, robust)
            .iter()
            .map(|(s, r)| {
                let (s, r) = (&s.analysis.flatness, &r.analysis.flatness);
                let (verdict, evidence) = energy_verdict(s, r, values);
                (verdict, evidence, mean_of(s), mean_of(r))
            })
            .collect();
        let verdict = across_seeds(&seeds.iter().map(|s| s.0.clone()).collect::<Vec<_>>());
        let evidence = seeds
            .iter()
            .map(|(_, evidence, s, r)| format!("standard {s:.4}, pgd-at {r:.4}; {evidence}"))
            .collect::<Vec<_>>()
            .join(" | ");
        Claim {
            statement,
            verdict,
            evidence,
        }
    };
    vec![
        claim(
            "the joint energy E(x, y) is flatter around data for pgd-at than for standard training (mean |E(x+δ, y) − E(x, y)| over random δ in the eps-ball)",
            |f| f.random_change,
            |f| (&f.random_change_per_point, f.energy_spread),
        ),
        claim(
            "attacks raise E(x, y) less on the pgd-at model (smaller E(x_adv, y) − E(x, y) under PGD-20)",
            |f| f.adversarial_gap,
            |f| (&f.adversarial_gap_per_point, f.energy_spread),
        ),
    ]
}

/// One seed's verdict on "`better` generates better than `worse`" from KID (and FID at 2,048
/// samples or more).
fn generation_verdict(better: &MethodResult, worse: &MethodResult) -> Verdict {
    let (Some(kb), Some(kw)) = (&better.scores.kid, &worse.scores.kid) else {
        return Verdict::NotMeasured(format!(
            "KID of {} or {} (the FID weights: cargo xtask fetch-inception)",
            better.method, worse.method
        ));
    };
    let (Some(sb), Some(sw)) = (kb.standard_error, kw.standard_error) else {
        return Verdict::NotMeasured(
            "KID's standard error (a score cell from before it was kept: delete cells/*/scores.json)"
                .into(),
        );
    };
    // In the table's units (KID × 100).
    let verdict = decide(
        100.0 * (kw.value - kb.value),
        0.0,
        100.0 * sb.hypot(sw),
        "the KID×100 difference",
    );
    let samples = better.samples.count.min(worse.samples.count);
    let fids = better.scores.fid.as_ref().zip(worse.scores.fid.as_ref());
    match (verdict, fids) {
        (Verdict::Holds, Some((fb, fw))) if samples >= FID_DIMENSIONS && fb.value >= fw.value => {
            Verdict::Undecidable("KID is lower but FID is not".into())
        }
        (Verdict::DoesNotHold, Some((fb, fw)))
            if samples >= FID_DIMENSIONS && fb.value < fw.value =>
        {
            Verdict::Undecidable("FID is lower but KID is not".into())
        }
        (verdict, _) => verdict,
    }
}

fn generation_claims(summary: &Summary) -> Vec<Claim> {
    let (jeat, robust) = (TrainingMethod::Jeat, TrainingMethod::PgdAt);
    let statement =
        "JEAT generates better images than robust-classifier generation from PGD-AT (lower KID, and lower FID where FID is meaningful)"
            .to_string();
    if let Some(verdict) = missing_method(summary, &[jeat, robust]) {
        return vec![Claim {
            statement,
            verdict,
            evidence: String::new(),
        }];
    }
    let pairs = paired_rows(summary, jeat, robust);
    let verdict = across_seeds(
        &pairs
            .iter()
            .map(|(j, r)| generation_verdict(j, r))
            .collect::<Vec<_>>(),
    );
    let score = |r: &MethodResult| {
        let kid = r.scores.kid.as_ref().map(|k| {
            format!(
                "{:.2} ± {:.2} (s.e.)",
                100.0 * k.value,
                100.0 * k.standard_error.unwrap_or(f64::NAN)
            )
        });
        format!(
            "KID×100 {}, FID {}",
            kid.unwrap_or_else(|| "–".into()),
            number(r.scores.fid.as_ref().map(|f| f.value), 1)
        )
    };
    let samples = pairs
        .iter()
        .map(|(j, r)| j.samples.count.min(r.samples.count))
        .min()
        .unwrap_or(0);
    let fid_note = match samples < FID_DIMENSIONS {
        true => format!(
            "; FID from {samples} samples (< {FID_DIMENSIONS} feature dimensions) is dominated by its bias and not used"
        ),
        false => String::new(),
    };
    let evidence = pairs
        .iter()
        .map(|(j, r)| format!("jeat {}; pgd-at {}", score(j), score(r)))
        .collect::<Vec<_>>()
        .join(" | ");
    vec![Claim {
        statement,
        verdict,
        evidence: format!("{evidence}{fid_note}"),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flatness(change: Vec<f64>, spread: f64) -> Flatness {
        Flatness {
            random_change: change.iter().sum::<f64>() / change.len().max(1) as f64,
            adversarial_gap: 0.0,
            points: change.len(),
            adversarial_gap_per_point: vec![0.0; change.len()],
            random_change_per_point: change,
            energy_spread: spread,
        }
    }

    /// A paired comparison decides what the bare means cannot, and the scale-free form refuses
    /// a difference that is only the models' energy scale.
    #[test]
    fn energy_claims_are_paired_and_scale_free() {
        fn change(f: &Flatness) -> (&[f64], f64) {
            (&f.random_change_per_point, f.energy_spread)
        }
        // Every point 0.1 lower on the second model, on the same energy scale: holds.
        let base: Vec<f64> = (0..50).map(|i| 1.0 + (i % 7) as f64 * 0.3).collect();
        let lower: Vec<f64> = base.iter().map(|v| v - 0.1).collect();
        let (verdict, _) =
            energy_verdict(&flatness(base.clone(), 2.0), &flatness(lower, 2.0), change);
        assert_eq!(verdict, Verdict::Holds);
        // Half as large everywhere, but with logits (and so energies) half as large: in units of
        // each model's spread they are the same, so the raw difference does not decide.
        let halved: Vec<f64> = base.iter().map(|v| v / 2.0).collect();
        let (verdict, evidence) =
            energy_verdict(&flatness(base.clone(), 2.0), &flatness(halved, 1.0), change);
        assert!(
            matches!(verdict, Verdict::Undecidable(_)),
            "{verdict}: {evidence}"
        );
        // Unpaired noise the pairing removes is absent; noise that is there leaves it open.
        let noisy: Vec<f64> = base
            .iter()
            .enumerate()
            .map(|(i, v)| v + if i % 2 == 0 { 0.5 } else { -0.55 })
            .collect();
        let (verdict, _) = energy_verdict(&flatness(base, 2.0), &flatness(noisy, 2.0), change);
        assert!(matches!(verdict, Verdict::Undecidable(_)), "{verdict}");
        // No per-point values (an old cache): not measured.
        let (verdict, _) = energy_verdict(
            &flatness(Vec::new(), 1.0),
            &flatness(Vec::new(), 1.0),
            change,
        );
        assert!(matches!(verdict, Verdict::NotMeasured(_)));
    }
}
