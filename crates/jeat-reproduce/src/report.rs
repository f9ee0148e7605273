//! The report: `table.md` (our numbers beside the reference numbers, with protocol ids, the
//! data, sample counts, backend and time), `results.json` (one RobustBench-style record per
//! model) and whether the paper's qualitative claims hold on this run ([`crate::claims`]).

use crate::claims::{RULES, Verdicts, claims};
use crate::error::{ReproduceError, Result};
use crate::profile::AUTOATTACK;
use crate::summary::Summary;
use std::fmt::Write;
use std::path::Path;

/// A row of published numbers.
#[derive(Debug, Clone, Copy)]
pub struct Published {
    /// The method.
    pub method: &'static str,
    /// The network.
    pub model: &'static str,
    /// Clean accuracy (%).
    pub clean: Option<f64>,
    /// PGD-20 accuracy (%).
    pub pgd20: Option<f64>,
    /// AutoAttack accuracy (%).
    pub autoattack: Option<f64>,
    /// Inception Score.
    pub is: Option<f64>,
    /// FID.
    pub fid: Option<f64>,
    /// Where the numbers come from.
    pub source: &'static str,
}

const fn row(
    method: &'static str,
    model: &'static str,
    numbers: [Option<f64>; 5],
    source: &'static str,
) -> Published {
    let [clean, pgd20, autoattack, is, fid] = numbers;
    Published {
        method,
        model,
        clean,
        pgd20,
        autoattack,
        is,
        fid,
        source,
    }
}

/// Published numbers (CIFAR-10, Linf 8/255), as docs/reproduction.md lists them with their sources.
pub const PUBLISHED: [Published; 6] = [
    row(
        "standard",
        "WRN-28-10",
        [Some(94.78), None, Some(0.0), None, None],
        "RobustBench `Standard`",
    ),
    row(
        "pgd-at",
        "WRN-34-10",
        [Some(87.14), Some(47.04), Some(44.04), None, None],
        "RobustBench (PGD-20 as reported)",
    ),
    row(
        "trades",
        "WRN-34-10",
        [Some(84.92), Some(56.43), Some(53.08), None, None],
        "RobustBench (PGD-20 as reported)",
    ),
    row(
        "jem",
        "WRN-28-10",
        [Some(92.9), None, Some(4.28), Some(8.76), Some(38.4)],
        "JEM paper; AA from EB-JDAT",
    ),
    row(
        "jeat",
        "—",
        [Some(85.16), None, Some(28.43), Some(8.80), Some(38.24)],
        "IS: JEAT abstract; rest as tabulated by EB-JDAT",
    ),
    row(
        "prejeat",
        "—",
        [None, None, None, None, None],
        "not published separately",
    ),
];

pub(crate) fn cell(value: Option<f64>, digits: usize) -> String {
    value.map_or("–".to_string(), |v| format!("{v:.digits$}"))
}

/// Writes `table.md` and `results.json` into `dir`.
pub fn write(summary: &Summary, dir: &Path) -> Result<()> {
    let table = dir.join("table.md");
    let markdown = markdown(summary).expect("writing to a String cannot fail");
    std::fs::write(&table, markdown).map_err(|e| ReproduceError::io(&table, e))?;
    let p = &summary.plan;
    let records: Vec<serde_json::Value> = summary
        .methods
        .iter()
        .map(|r| {
            let mut record = serde_json::json!({
                "name": r.method,
                "model": r.model.arch,
                "dataset": summary.data,
                "threat_model": format!("Linf {}", p.eps()),
                "clean_acc": r.clean_accuracy,
                "autoattack_acc": r.column(AUTOATTACK),
                "is": r.scores.is.as_ref().map(|x| x.value),
                "fid": r.scores.fid.as_ref().map(|x| x.value),
                "kid": r.scores.kid.as_ref().map(|x| x.value),
                "protocols": r.columns.iter().map(|c| (c.name.clone(), c.report.protocol.clone())).collect::<std::collections::BTreeMap<_, _>>(),
                "energy_flatness": r.analysis.flatness,
                "checkpoint": r.checkpoint,
                "backend": summary.backend,
            });
            for c in &r.columns {
                record[format!("{}_acc", c.name.to_lowercase().replace('-', "_"))] = serde_json::json!(c.report.robust_accuracy);
            }
            record
        })
        .collect();
    let results = serde_json::json!({"profile": p.profile.name(), "real_data": summary.real_data, "models": records});
    for (name, value) in [
        ("results.json", results),
        (
            "summary.json",
            serde_json::to_value(summary).expect("a summary serialises"),
        ),
    ] {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(&value).expect("JSON serialises");
        std::fs::write(&path, text).map_err(|e| ReproduceError::io(&path, e))?;
    }
    Ok(())
}

/// `table.md`.
fn markdown(summary: &Summary) -> std::result::Result<String, std::fmt::Error> {
    let p = &summary.plan;
    let mut md = String::new();
    writeln!(
        md,
        "# Reproduction table — profile `{}`\n",
        p.profile.name()
    )?;
    writeln!(
        md,
        "Data: **{}**{}. Backend: {}. Linf eps {} ([0, 1] pixel units). Every attack column on the same first {} test points; generated samples: {} per class; wall-clock time of this invocation: {:.0} s (cached cells count their original time below).\n",
        summary.data,
        if summary.real_data {
            " (real)"
        } else {
            " (SYNTHETIC data: numbers say nothing about real images)"
        },
        summary.backend,
        p.eps(),
        p.attack_points,
        p.samples_per_class,
        summary.seconds
    )?;
    writeln!(
        md,
        "Training seeds: {}{}.\n",
        p.seeds,
        match p.seeds {
            1 =>
                " (every number and verdict rests on one training run of each method; `--seeds 3` trains more)",
            _ =>
                " (the table shows the first; the spread over all of them is below and in the verdicts)",
        }
    )?;
    writeln!(md, "## Our numbers\n")?;
    let names: Vec<&str> = p.columns.iter().map(|(n, _)| n.as_str()).collect();
    writeln!(
        md,
        "| method | model | clean % | {} | IS | FID | KID ×100 (± s.e.) | generator | on-target % | train s |",
        names.join(" % | ") + " %"
    )?;
    writeln!(md, "|{}", "---|".repeat(10 + names.len() - 1))?;
    for r in &summary.methods {
        let attacks: Vec<String> = names.iter().map(|n| cell(r.column(n), 2)).collect();
        writeln!(
            md,
            "| {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {:.0} |",
            r.method,
            r.model.arch,
            r.clean_accuracy,
            attacks.join(" | "),
            r.scores.is.as_ref().map_or("–".into(), |x| format!(
                "{:.2} ± {:.2}",
                x.value,
                x.std.unwrap_or(0.0)
            )),
            r.scores
                .fid
                .as_ref()
                .map_or("–".into(), |x| format!("{:.1}", x.value)),
            r.scores.kid.as_ref().map_or("–".into(), kid_cell),
            r.samples.generator.name(),
            cell(r.samples.classified_as_target.map(|f| 100.0 * f), 1),
            r.training_seconds,
        )?;
    }
    for (method, error) in &summary.failures {
        writeln!(md, "| {method} | failed: {} |", error.replace('|', "/"))?;
    }
    writeln!(md, "\nProtocol ids:")?;
    if let Some(r) = summary.methods.first() {
        for c in &r.columns {
            writeln!(
                md,
                "- {}: `{}` ({} points, seed {})",
                c.name, c.report.protocol, c.report.points, c.report.seed
            )?;
        }
        for (name, score) in [
            ("FID", &r.scores.fid),
            ("KID", &r.scores.kid),
            ("IS", &r.scores.is),
        ] {
            if let Some(score) = score {
                writeln!(md, "- {name}: `{}`", score.protocol)?;
            }
        }
        for note in &r.scores.notes {
            writeln!(md, "- empty score cells: {note}")?;
        }
    }
    writeln!(
        md,
        "\n## Reference numbers (CIFAR-10, WideResNets, Linf 8/255; see docs/reproduction.md)\n"
    )?;
    if summary.dataset == Some(jeat_data::DatasetName::Cifar10) {
        writeln!(
            md,
            "Same dataset and threat model as ours; protocols as listed.\n"
        )?;
    } else {
        writeln!(
            md,
            "A different dataset, network and radius from ours: compare orderings, not values.\n"
        )?;
    }
    writeln!(
        md,
        "| method | model | clean % | PGD-20 % | AutoAttack % | IS | FID | source |\n|---|---|---|---|---|---|---|---|"
    )?;
    for r in PUBLISHED {
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.method,
            r.model,
            cell(r.clean, 2),
            cell(r.pgd20, 2),
            cell(r.autoattack, 2),
            cell(r.is, 2),
            cell(r.fid, 2),
            r.source
        )?;
    }
    writeln!(md, "\n## Why robust classifiers generate: energies\n")?;
    writeln!(
        md,
        "| method | flatness: mean \\|E(x+δ,y) − E(x,y)\\| | E(x_adv,y) − E(x,y) | E(x) clean / PGD / generated | E(x,y) clean / PGD / generated |\n|---|---|---|---|---|"
    )?;
    for r in &summary.methods {
        let f = &r.analysis.flatness;
        let e = &r.analysis.mean_energies;
        let list = |pick: fn(&(String, f64, f64)) -> f64| {
            e.iter()
                .map(|x| format!("{:.2}", pick(x)))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        writeln!(
            md,
            "| {} | {:.4} | {:.3} | {} | {} |",
            r.method,
            f.random_change,
            f.adversarial_gap,
            list(|x| x.1),
            list(|x| x.2)
        )?;
    }
    writeln!(
        md,
        "\nLandscape: `landscape.png` (one row per model: near x with the eps-ball outlined, a wide view, and energy slices along the PGD-20 direction and a random one; the same directions for every model, each map with its own colour bar, dark = low); histograms: `cells/<method>/energies.png`; samples: `grids/<method>.png`.\n"
    )?;
    across_seeds(summary, &mut md)?;
    writeln!(md, "## The paper's qualitative claims on this run\n")?;
    match claims(summary) {
        Verdicts::Withheld(why) => writeln!(md, "No verdicts: {why}.")?,
        Verdicts::Checked(claims) => {
            for claim in claims {
                writeln!(
                    md,
                    "- {} — **{}** ({})",
                    claim.statement, claim.verdict, claim.evidence
                )?;
            }
            writeln!(md, "\nWhere the rules and thresholds come from:\n\n{RULES}")?;
        }
    }
    Ok(md)
}

/// KID ×100 with its standard error, the uncertainty the verdicts use (its spread over
/// subsets is zero where every subset is the whole sample, and is no error bar).
fn kid_cell(kid: &jeat_metrics::scoring::Scored) -> String {
    match kid.standard_error {
        Some(se) => format!("{:.2} ± {:.2}", 100.0 * kid.value, 100.0 * se),
        None => format!("{:.2}", 100.0 * kid.value),
    }
}

/// Mean ± standard deviation over the training seeds of each method's headline numbers, when
/// the profile trained more than one.
fn across_seeds(summary: &Summary, md: &mut String) -> std::fmt::Result {
    if summary.replicates.is_empty() {
        return Ok(());
    }
    writeln!(
        md,
        "## Across training seeds (mean ± standard deviation)\n\n| method | seeds | clean % | AutoAttack % | FID | KID ×100 |\n|---|---|---|---|---|---|"
    )?;
    let spread = |values: Vec<f64>, digits: usize| {
        if values.is_empty() {
            return "–".to_string();
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = match values.len() {
            1 => 0.0,
            _ => (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt(),
        };
        format!("{mean:.digits$} ± {sd:.digits$}")
    };
    for row in &summary.methods {
        let rows = summary.rows_of(row.method);
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            row.method,
            rows.len(),
            spread(rows.iter().map(|r| r.clean_accuracy).collect(), 2),
            spread(
                rows.iter().filter_map(|r| r.column(AUTOATTACK)).collect(),
                2
            ),
            spread(
                rows.iter()
                    .filter_map(|r| r.scores.fid.as_ref().map(|f| f.value))
                    .collect(),
                1
            ),
            spread(
                rows.iter()
                    .filter_map(|r| r.scores.kid.as_ref().map(|k| 100.0 * k.value))
                    .collect(),
                2
            ),
        )?;
    }
    writeln!(md)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeat_metrics::scoring::Scored;

    /// With 1,000 samples in subsets of 1,000, every subset is the whole sample: the spread
    /// over subsets is 0, and the table must show the standard error instead.
    #[test]
    fn the_kid_cell_shows_the_standard_error_not_the_spread_over_whole_sample_subsets() {
        let kid = Scored {
            value: 0.0671,
            std: Some(0.0),
            standard_error: Some(0.0017),
            protocol: "kid-tf2015:1000-vs-1000:100x1000-seed2020".into(),
        };
        assert_eq!(kid_cell(&kid), "6.71 ± 0.17");
        let without = Scored {
            standard_error: None,
            ..kid
        };
        assert_eq!(kid_cell(&without), "6.71");
    }
}
