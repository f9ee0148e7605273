//! The `smoke` profile end to end (training, every attack column, generation, scores when the
//! Inception weights are present, energy analysis, report), then the sanity of its numbers, and
//! a rerun that finds every cell cached.

use jeat_attacks::runner::point_results;
use jeat_reproduce::claims::{Verdict, Verdicts, claims};
use jeat_reproduce::{Options, ProfilePlan, report, run};

#[test]
fn the_smoke_table_is_built_sane_and_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        plan: ProfilePlan::of(jeat_train::Profile::Smoke),
        out: dir.path().to_path_buf(),
        backend: "flex".into(),
        device: jeat_core::testing::device(),
        training_devices: Vec::new(),
        inception: None,
    };
    let summary = run(&options, &mut |line| eprintln!("{line}")).unwrap();
    report::write(&summary, dir.path()).unwrap();
    assert!(
        !summary.real_data,
        "the smoke profile runs on synthetic data and must say so"
    );

    for file in ["table.md", "results.json", "landscape.png"] {
        assert!(dir.path().join(file).is_file(), "{file} missing");
    }
    let table = std::fs::read_to_string(dir.path().join("table.md")).unwrap();
    assert!(
        table.contains("SYNTHETIC"),
        "the table must say the data is synthetic"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    let models = results["models"].as_array().unwrap();
    assert_eq!(models.len(), 6);

    for method in &summary.methods {
        assert!(
            dir.path()
                .join("grids")
                .join(format!("{}.png", method.method))
                .is_file()
        );
        let clean = method.clean_accuracy;
        assert!(
            (0.0..=100.0).contains(&clean),
            "{}: clean {clean}",
            method.method
        );
        // Every column ran on the same points, and its numbers are a recount of the per-point
        // results its attacks left in their state files.
        for (column, (_, suite)) in method.columns.iter().zip(&options.plan.columns) {
            let report = &column.report;
            assert_eq!(report.points, options.plan.attack_points, "{}", column.name);
            assert!(
                (report.clean_accuracy - clean).abs() < 1e-9,
                "{}",
                column.name
            );
            let state = dir
                .path()
                .join("cells")
                .join(method.method.name())
                .join(format!("attack-{suite}.state.json"));
            let points = point_results(&state).unwrap();
            assert_eq!(points.len(), report.points, "{}", state.display());
            let percent = |count: usize| 100.0 * count as f64 / points.len() as f64;
            let correct = points
                .iter()
                .filter(|p| p.label == p.clean_prediction)
                .count();
            let robust = points.iter().filter(|p| p.robust).count();
            assert!((report.clean_accuracy - percent(correct)).abs() < 1e-9);
            assert!(
                (report.robust_accuracy - percent(robust)).abs() < 1e-9,
                "{} {}: {} reported, {} in the per-point results",
                method.method,
                column.name,
                report.robust_accuracy,
                percent(robust)
            );
            for (k, attack) in report.attacks.iter().enumerate() {
                let by_it = points.iter().filter(|p| p.fooled_at == Some(k)).count();
                assert_eq!(attack.fooled, by_it, "{} {}", column.name, attack.name);
            }
        }
        if let Some(fid) = &method.scores.fid {
            assert!(fid.value.is_finite() && fid.value >= 0.0);
        }
    }
    // Whether robust training flattens the landscape is a claim checked on real data
    // (docs/results); six epochs on synthetic images only have to give numbers.
    for method in &summary.methods {
        let flatness = &method.analysis.flatness;
        assert!(
            flatness.random_change.is_finite() && flatness.random_change >= 0.0,
            "{}: energy change {}",
            method.method,
            flatness.random_change
        );
    }

    // On synthetic data the report gives no verdict, and says why.
    assert!(table.contains("No verdicts: the data"), "{table}");
    assert!(!table.contains("**holds**") && !table.contains("does not hold"));
    // The same numbers taken as real get a verdict on every claim; what was not measured says
    // so instead of "does not hold".
    let mut as_real = summary.clone();
    as_real.real_data = true;
    let Verdicts::Checked(checked) = claims(&as_real) else {
        panic!("no verdicts on real data");
    };
    assert_eq!(checked.len(), 5, "{checked:?}");
    let statement_of = |claims: &[jeat_reproduce::claims::Claim], needle: &str| {
        claims
            .iter()
            .find(|c| c.statement.contains(needle))
            .unwrap_or_else(|| panic!("no claim about {needle}"))
            .clone()
    };
    let robustness = statement_of(&checked, "far more robust");
    assert!(
        robustness
            .statement
            .contains("apgd-ce,apgd-t,fab-t,square-1000")
            && robustness.statement.contains("not its standard version"),
        "the claim must name the column's real protocol: {}",
        robustness.statement
    );
    as_real.methods[0]
        .columns
        .retain(|c| c.name != "AutoAttack");
    as_real
        .methods
        .retain(|r| r.method != jeat_train::TrainingMethod::Jeat);
    let Verdicts::Checked(checked) = claims(&as_real) else {
        panic!("no verdicts on real data");
    };
    for needle in [
        "far more robust",
        "comparable to PGD-AT",
        "generates better",
    ] {
        let claim = statement_of(&checked, needle);
        assert!(
            matches!(claim.verdict, Verdict::NotMeasured(_)),
            "{needle}: {}",
            claim.verdict
        );
    }

    // A rerun redoes nothing: every cell is found in the cache (counted by the cache itself).
    let (hits, misses) = summary.cells;
    assert!(
        misses > 0 && hits == 0,
        "a first run computes its cells: {:?}",
        summary.cells
    );
    let again = run(&options, &mut |_| {}).unwrap();
    assert_eq!(
        again.cells,
        (hits + misses, 0),
        "the rerun recomputed cells"
    );
    for (a, b) in again.methods.iter().zip(&summary.methods) {
        assert_eq!(a.clean_accuracy, b.clean_accuracy);
        assert_eq!(a.columns.len(), b.columns.len());
    }
}
