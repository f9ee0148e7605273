//! `jeat selftest --quick` on flex: every check runs, passes and is named, the JSON says so,
//! and the note says flex was compared with itself. (That a check fails when it should is
//! shown by the unit tests of `selftest_cmd`: a wrong value, a wrong PyTorch gradient.)

mod common;

use common::{jeat, run};

const CHECKS: [&str; 7] = [
    "wrn-pytorch",
    "mnist-cnn-pytorch",
    "fgsm-pgd-step",
    "sgd-steps",
    "sgld-step",
    "fusion-layout",
    "autoattack-points",
];

#[test]
fn the_quick_selftest_passes_on_flex_and_names_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("selftest.json");
    let (ok, stdout, stderr) = run(jeat()
        .args(["--backend", "flex", "selftest", "--quick", "--json"])
        .arg(&json));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("compares flex with flex"), "{stdout}");
    for name in CHECKS {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no line for {name}: {stdout}"));
        assert!(line.contains("PASS"), "{line}");
    }
    assert!(
        stdout.contains(&format!(
            "summary: {} of {} checks passed",
            CHECKS.len(),
            CHECKS.len()
        )),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["quick"], true, "{report}");
    let checks = report["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, CHECKS);
    for check in checks {
        assert_eq!(check["passed"], true, "{check}");
        let (error, tolerance) = (check["error"].as_f64(), check["tolerance"].as_f64());
        assert!(error.is_some() && tolerance.is_some(), "{check}");
        assert!(check["seconds"].as_f64().unwrap() >= 0.0, "{check}");
    }
}
