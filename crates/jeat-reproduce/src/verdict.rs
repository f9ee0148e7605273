//! The statistics behind a verdict: a difference decided only when it is more than two standard
//! errors from its threshold (binomial errors for accuracies, paired errors for per-point
//! values, the spread over training seeds added where there are several).

/// How many standard errors a difference must clear to count.
pub const STANDARD_ERRORS: f64 = 2.0;

/// What a run says about a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The claim holds on this run.
    Holds,
    /// It does not.
    DoesNotHold,
    /// The evidence does not decide it, and why.
    Undecidable(String),
    /// What it rests on was not measured, and what.
    NotMeasured(String),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Holds => f.write_str("holds"),
            Self::DoesNotHold => f.write_str("does not hold here"),
            Self::Undecidable(why) => write!(f, "undecidable on this run: {why}"),
            Self::NotMeasured(what) => write!(f, "not measured: {what}"),
        }
    }
}

/// The standard error (percentage points) of the difference of two accuracies `a`, `b` (%)
/// measured on `n` points each.
pub fn difference_standard_error(a: f64, b: f64, n: usize) -> f64 {
    let variance = |p: f64| (p / 100.0) * (1.0 - p / 100.0) / n.max(1) as f64;
    100.0 * (variance(a) + variance(b)).sqrt()
}

/// The verdict on "`difference` > `margin`" given its standard error `se`: decided only when the
/// difference is more than two standard errors from the margin.
pub fn decide(difference: f64, margin: f64, se: f64, what: &str) -> Verdict {
    let distance = difference - margin;
    if distance.abs() <= STANDARD_ERRORS * se {
        Verdict::Undecidable(format!(
            "{what} is within {STANDARD_ERRORS} standard errors ({se:.2} each) of the threshold"
        ))
    } else if distance > 0.0 {
        Verdict::Holds
    } else {
        Verdict::DoesNotHold
    }
}

/// The verdict on "`a - b` > `margin`" for accuracies (%) on `n` points.
pub fn accuracy_verdict(a: f64, b: f64, margin: f64, n: usize) -> Verdict {
    decide(
        a - b,
        margin,
        difference_standard_error(a, b, n),
        &format!("the difference on {n} points"),
    )
}

/// The verdict on "`a - b` > `margin`" for accuracies (%) on `n` points measured once per
/// training seed (`pairs` of `(a, b)`): the mean difference, with the binomial standard error
/// of the mean accuracies and, with two seeds or more, the standard error of the per-seed
/// differences added in quadrature.
pub fn seeded_accuracy_verdict(pairs: &[(f64, f64)], margin: f64, n: usize) -> Verdict {
    let seeds = pairs.len();
    if seeds == 0 {
        return Verdict::NotMeasured("no seed measured both".into());
    }
    let differences: Vec<f64> = pairs.iter().map(|(a, b)| a - b).collect();
    let (a, b) = (
        mean(&pairs.iter().map(|p| p.0).collect::<Vec<_>>()),
        mean(&pairs.iter().map(|p| p.1).collect::<Vec<_>>()),
    );
    let binomial = difference_standard_error(a, b, n);
    let across_seeds = match seeds {
        1 => 0.0,
        _ => standard_deviation(&differences) / (seeds as f64).sqrt(),
    };
    let what = match seeds {
        1 => format!("the difference on {n} points"),
        _ => format!("the mean difference over {seeds} training seeds on {n} points"),
    };
    decide(
        mean(&differences),
        margin,
        binomial.hypot(across_seeds),
        &what,
    )
}

/// The verdict on "`smaller` is below `larger`" for paired per-point values: their mean
/// difference against its standard error.
pub fn paired_verdict(larger: &[f64], smaller: &[f64], what: &str) -> (Verdict, f64, f64) {
    let differences: Vec<f64> = larger.iter().zip(smaller).map(|(l, s)| l - s).collect();
    let se = standard_deviation(&differences) / (differences.len().max(1) as f64).sqrt();
    let difference = mean(&differences);
    (decide(difference, 0.0, se, what), difference, se)
}

/// One verdict from the verdicts of the training seeds: decided only when every seed decides the
/// same way.
pub fn across_seeds(verdicts: &[Verdict]) -> Verdict {
    if let Some(missing) = verdicts.iter().find_map(|v| match v {
        Verdict::NotMeasured(what) => Some(what.clone()),
        _ => None,
    }) {
        return Verdict::NotMeasured(missing);
    }
    match verdicts {
        [] => Verdict::NotMeasured("no training seed".into()),
        [only] => only.clone(),
        [first, rest @ ..]
            if rest.iter().all(|v| v == first) && !matches!(first, Verdict::Undecidable(_)) =>
        {
            first.clone()
        }
        _ => {
            let count = |f: fn(&Verdict) -> bool| verdicts.iter().filter(|v| f(v)).count();
            Verdict::Undecidable(format!(
                "the {} training seeds disagree ({} hold, {} do not, {} undecided)",
                verdicts.len(),
                count(|v| *v == Verdict::Holds),
                count(|v| *v == Verdict::DoesNotHold),
                count(|v| matches!(v, Verdict::Undecidable(_)))
            ))
        }
    }
}

/// The mean of `values` (0 for none).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The sample standard deviation (0 for fewer than two values).
pub fn standard_deviation(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
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
            Verdict::Undecidable(_)
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

    /// With several seeds the spread of their differences widens the standard error: a mean
    /// difference of 10 decided on one seed is not when the seeds scatter.
    #[test]
    fn the_spread_over_seeds_enters_the_accuracy_verdict() {
        assert_eq!(
            seeded_accuracy_verdict(&[(40.0, 30.0)], 0.0, 1000),
            Verdict::Holds
        );
        assert_eq!(
            seeded_accuracy_verdict(&[(40.0, 30.0), (41.0, 30.5), (39.5, 29.0)], 0.0, 1000),
            Verdict::Holds
        );
        assert!(matches!(
            seeded_accuracy_verdict(&[(50.0, 30.0), (30.0, 30.0), (40.0, 30.0)], 0.0, 1000),
            Verdict::Undecidable(_)
        ));
        assert!(matches!(
            seeded_accuracy_verdict(&[], 0.0, 1000),
            Verdict::NotMeasured(_)
        ));
    }

    #[test]
    fn seeds_decide_only_together() {
        let (h, d) = (Verdict::Holds, Verdict::DoesNotHold);
        assert_eq!(across_seeds(&[h.clone(), h.clone()]), h);
        assert_eq!(across_seeds(&[d.clone(), d.clone()]), d);
        let mixed = across_seeds(&[h.clone(), d]);
        assert!(
            matches!(&mixed, Verdict::Undecidable(why) if why.contains("1 hold, 1 do not")),
            "{mixed}"
        );
        assert!(matches!(
            across_seeds(&[h, Verdict::NotMeasured("x".into())]),
            Verdict::NotMeasured(_)
        ));
    }
}
