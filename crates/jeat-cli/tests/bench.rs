//! `jeat bench`: the JSON `cargo xtask bench-vs-pytorch` reads, and its bad arguments.

use std::process::Command;

fn jeat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jeat"))
}

#[test]
fn a_workload_is_timed_once_per_repeat_and_its_median_written() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let output = jeat()
        .args(["bench", "--workloads", "wrn-16-4-forward", "--repeats", "2"])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("wrn-16-4-forward"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let entry = &report["wrn-16-4-forward"];
    let runs: Vec<f64> = entry["runs_s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(runs.len(), 2, "{report}");
    assert!(runs.iter().all(|&s| s > 0.0), "{report}");
    // The median of two runs is the larger one.
    let larger = runs.iter().copied().fold(f64::MIN, f64::max);
    assert_eq!(entry["median_s"].as_f64().unwrap(), larger, "{report}");
    assert_eq!(
        report.as_object().unwrap().len(),
        1,
        "only the chosen workload"
    );
}

#[test]
fn bad_arguments_get_a_one_line_error() {
    let output = jeat()
        .args(["bench", "--workloads", "wrn-16-4-forward", "--repeats", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--repeats must be at least 1"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = jeat()
        .args(["bench", "--workloads", "wrn-99-forward"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("wrn-99-forward") && stderr.contains("wrn-16-4-attack-step"),
        "names the bad workload and the valid ones: {stderr}"
    );
}
