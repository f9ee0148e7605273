//! The `smoke` profile end to end (training, every attack column, generation, scores when the
//! Inception weights are present, energy analysis, report), then the sanity of its numbers, and
//! a rerun that finds every cell cached.

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
        // Every column ran on the same points, and its numbers are a recount of its attacks.
        for column in &method.columns {
            let report = &column.report;
            assert_eq!(report.points, options.plan.attack_points, "{}", column.name);
            assert!(
                (report.clean_accuracy - clean).abs() < 1e-9,
                "{}",
                column.name
            );
            let fooled: usize = report.attacks.iter().map(|a| a.fooled).sum();
            let clean_correct = (clean * report.points as f64 / 100.0).round() as usize;
            let recount = 100.0 * (clean_correct - fooled) as f64 / report.points as f64;
            assert!(
                (report.robust_accuracy - recount).abs() < 1e-9,
                "{}: {} reported, {recount} recounted",
                method.method,
                column.name
            );
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
