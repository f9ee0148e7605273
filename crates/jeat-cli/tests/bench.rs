//! `jeat bench`: the JSON `cargo xtask bench-vs-pytorch` reads, and its bad arguments.

use std::process::Command;

fn jeat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jeat"))
}

/// `jeat bench ARGS --json FILE`, which must succeed: its stdout and the JSON it wrote.
fn bench(args: &[&str]) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let output = jeat()
        .arg("bench")
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (String::from_utf8_lossy(&output.stdout).into_owned(), report)
}

#[test]
fn a_workload_is_timed_once_per_repeat_and_its_median_written() {
    let (stdout, report) = bench(&["--workloads", "wrn-16-4-forward", "--repeats", "2"]);
    assert!(stdout.contains("wrn-16-4-forward"), "{stdout}");
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

/// `--quick` runs the GPU-sized workloads of `cargo xtask gpu-check` on tiny shapes: the
/// WRN-34-10 training iteration and AutoAttack complete, and the JSON says the shapes were not
/// the named ones.
#[test]
fn the_gpu_check_workloads_run_on_quick_shapes() {
    let workloads = "wrn-34-10-pgd10-at-iteration,wrn-16-4-autoattack-20";
    let (_, report) = bench(&["--quick", "--repeats", "1", "--workloads", workloads]);
    for workload in workloads.split(',') {
        let entry = &report[workload];
        assert!(entry["median_s"].as_f64().unwrap() > 0.0, "{report}");
        assert_eq!(entry["quick"], serde_json::json!(true), "{report}");
    }
}
