//! APGD's step-size schedule against fra31/auto-attack's own decisions on recorded loss
//! histories (tests/fixtures/make_apgd_reference.py drives the reference's `attack_single_run`
//! with those losses and reads its step sizes after every iteration).

use jeat_attacks::apgd_schedule::StepSchedule;

#[derive(serde::Deserialize)]
struct Reference {
    iterations: usize,
    rho: f64,
    /// `losses[t][point]`, row 0 at the starting point.
    losses: Vec<Vec<f64>>,
    /// `steps[i][point]`, in units of eps, after iteration i.
    steps: Vec<Vec<f64>>,
}

fn reference() -> Reference {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apgd_schedule_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn row(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

#[test]
fn step_sizes_follow_the_reference_after_every_iteration() {
    let reference = reference();
    let n = reference.losses[0].len();
    let mut schedule = StepSchedule::new(
        reference.iterations,
        reference.rho,
        row(&reference.losses[0]),
    );
    let mut steps = vec![2.0f64; n];
    let mut checkpoints = Vec::new();
    for i in 0..reference.iterations {
        let decision = schedule.record(row(&reference.losses[i + 1]));
        if let Some(halve) = decision.halve {
            checkpoints.push(i);
            for (s, h) in steps.iter_mut().zip(halve) {
                if h {
                    *s /= 2.0;
                }
            }
        }
        assert_eq!(steps, reference.steps[i], "after iteration {i}");
    }
    // The reference's checkpoints for 100 iterations: 22 iterations, then periods shrinking by
    // 3 down to 6.
    assert_eq!(checkpoints, [21, 40, 56, 69, 79, 86, 92, 98]);
}

/// The first window compares its oldest loss with zero: for a negative loss that rose from the
/// start (point 4) that is no rise, for a positive one that fell from the start (point 5) it is.
#[test]
fn the_first_checkpoint_compares_with_zero_not_with_the_start() {
    let reference = reference();
    let first = 21;
    assert_eq!(reference.steps[first][4], 1.0, "point 4 is halved");
    assert_eq!(reference.steps[first][5], 2.0, "point 5 is not");
    let mut schedule = StepSchedule::new(100, 0.75, row(&reference.losses[0]));
    let mut decision = None;
    for i in 0..=first {
        decision = schedule.record(row(&reference.losses[i + 1])).halve;
    }
    let halve = decision.expect("iteration 21 is the first checkpoint");
    assert!(halve[4] && !halve[5], "{halve:?}");
}
