//! Square against fra31/auto-attack with the same random draws (tests/fixtures/
//! make_square_reference.py prescribes them to the reference and records what it queries): the
//! p-schedule and square sides, the Linf stripes, the L2 initialisation and the L2 proposal.

use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_attacks::square::{Square, l2_initial_delta, l2_proposal, linf_initial};
use jeat_attacks::{Norm, ThreatModel};

fn reference() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/square_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(value: &serde_json::Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

fn bools(value: &serde_json::Value) -> Vec<bool> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect()
}

fn assert_close(ours: &[f32], theirs: &[f32], what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    let worst = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "{what}: largest difference {worst}");
}

/// `x + normalise(delta) · eps`, clamped, as the reference turns an L2 perturbation into a
/// query (per point).
fn l2_query(x: &[f32], delta: &[f32], n: usize, eps: f64) -> Vec<f32> {
    let d = x.len() / n;
    let mut out = Vec::with_capacity(x.len());
    for p in 0..n {
        let row = &delta[p * d..(p + 1) * d];
        let norm = row
            .iter()
            .map(|&v| f64::from(v).powi(2))
            .sum::<f64>()
            .sqrt()
            + 1e-12;
        for (xi, di) in x[p * d..(p + 1) * d].iter().zip(row) {
            out.push((f64::from(*xi) + f64::from(*di) / norm * eps).clamp(0.0, 1.0) as f32);
        }
    }
    out
}

#[test]
fn the_p_schedule_and_square_sides_match_the_reference() {
    let reference = reference();
    let iterations: Vec<usize> = reference["schedule_iterations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let expected_p: Vec<f64> = reference["schedule_p"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (norm, name) in [(Norm::Linf, "Linf"), (Norm::L2, "L2")] {
        let square = Square {
            p_init: 0.8,
            ..Square::standard(ThreatModel::new(norm, 0.1).unwrap())
        };
        for (&it, &p) in iterations.iter().zip(&expected_p) {
            assert!((square.fraction(it) - p).abs() < 1e-12, "p at {it}");
        }
        for (c, h) in [(1, 28), (3, 32)] {
            let sides: Vec<usize> = iterations
                .iter()
                .map(|&it| square.side(it, c, h, h))
                .collect();
            let expected: Vec<usize> = reference[format!("sides_{name}_{c}x{h}")]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(sides, expected, "{name} sides for {c}×{h}×{h}");
        }
    }
}

#[test]
fn the_linf_stripes_match_the_reference() {
    let reference = reference();
    let l2 = &reference["l2"];
    let linf = &reference["linf"];
    let dims = [2, 3, 16, 16];
    let device = jeat_core::testing::device();
    let x = Tensor::<4>::from_data(TensorData::new(floats(&l2["x"]), dims), &device);
    let signs = Tensor::<4>::from_data(
        TensorData::new(floats(&linf["signs"]), [2, 3, 1, 16]),
        &device,
    );
    let ours: Vec<f32> = linf_initial(&x, signs, linf["eps"].as_f64().unwrap())
        .into_data()
        .try_to_vec()
        .unwrap();
    assert_close(&ours, &floats(&linf["initial"]), "Linf initialisation");
}

#[test]
fn the_l2_initialisation_and_proposal_match_the_reference() {
    let reference = reference();
    let l2 = &reference["l2"];
    let (n, dims) = (2, [2, 3, 16, 16]);
    let eps = l2["eps"].as_f64().unwrap();
    let x = floats(&l2["x"]);
    let delta = l2_initial_delta(
        dims,
        &bools(&l2["init_transposed"]),
        &floats(&l2["init_signs"]),
    );
    let initial = floats(&l2["initial"]);
    assert_close(&l2_query(&x, &delta, n, eps), &initial, "L2 initialisation");

    // The proposal from the reference's own starting point.
    let d = x.len() / n;
    let mut rows: Vec<Vec<f32>> = (0..n)
        .map(|p| (p * d..(p + 1) * d).map(|i| initial[i] - x[i]).collect())
        .collect();
    let w: Vec<usize> = l2["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let square = Square {
        p_init: l2["p_init"].as_f64().unwrap(),
        ..Square::standard(ThreatModel::new(Norm::L2, eps).unwrap())
    };
    let size = square.side(0, 3, 16, 16);
    assert_eq!(size, 5);
    l2_proposal(
        &mut rows,
        dims,
        eps,
        size,
        [(w[0], w[1]), (w[2], w[3])],
        &floats(&l2["proposal_signs"]),
        l2["proposal_transposed"].as_bool().unwrap(),
    );
    let flat: Vec<f32> = rows.concat();
    assert_close(
        &l2_query(&x, &flat, n, eps),
        &floats(&l2["proposal"]),
        "L2 proposal",
    );
}
