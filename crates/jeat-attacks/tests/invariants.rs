//! Invariants every attack and every run must keep, on a small convolutional network.

mod common;

use burn::prelude::*;
use common::{floats, images, labels};
use jeat_attacks::apgd::{Apgd, ApgdLoss};
use jeat_attacks::fab::FabTargeted;
use jeat_attacks::pgd::{Pgd, Target};
use jeat_attacks::runner::{Evaluation, adversarial_examples, evaluate, point_results};
use jeat_attacks::square::Square;
use jeat_attacks::suite::Suite;
use jeat_attacks::{Attack, AttackError, Norm, ThreatModel};
use jeat_core::PointSource;
use jeat_core::rng;
use jeat_models::{Classifier, Model, ModelSpec};

const SIDE: usize = 8;

/// A random network, its weights drawn on the CPU backend and moved to the test device: the
/// same network on every backend (a GPU backend's own generator would draw other weights).
fn model() -> Model {
    ModelSpec::new("mnist-cnn", 10, [1, SIDE, SIDE])
        .build_seeded(&Device::flex(), 11)
        .unwrap()
        .to_device(&jeat_core::testing::device())
        .valid()
}

fn random_images(count: usize, seed: u64) -> Vec<f32> {
    floats(rng::uniform(
        [count * SIDE * SIDE],
        0.0,
        1.0,
        seed,
        &jeat_core::testing::device(),
    ))
}

/// Every attack, both norms, random inputs: no candidate leaves the ball or the [0, 1] box.
#[test]
fn no_attack_leaves_the_ball_or_the_box() {
    let device = jeat_core::testing::device();
    let model = model();
    let count = 12;
    for (trial, (norm, eps)) in [
        (Norm::Linf, 0.1),
        (Norm::L2, 0.5),
        (Norm::Linf, 0.3),
        (Norm::L2, 2.0 / 3.0),
    ]
    .into_iter()
    .enumerate()
    {
        let x = random_images(count, trial as u64);
        let clean = images(x.clone(), count, SIDE, &device);
        // Attack the model's own predictions so that every point is attacked.
        let y = model.logits(clean.clone()).argmax(1).squeeze_dim::<1>(1);
        let threat = ThreatModel::new(norm, eps).unwrap();
        let attacks: Vec<Box<dyn Attack>> = vec![
            Box::new(Pgd::fgsm(threat.clone())),
            Box::new(Pgd::madry(threat.clone(), 5).with_restarts(2)),
            Box::new(Pgd::cw(threat.clone(), 5)),
            Box::new(Pgd::mim(threat.clone(), 5)),
            Box::new(Pgd::madry(threat.clone(), 5).targeted(Target::Random)),
            Box::new(Pgd::cw(threat.clone(), 5).targeted(Target::LeastLikely)),
            Box::new(Apgd {
                iterations: 10,
                ..Apgd::ce(threat.clone())
            }),
            Box::new(Apgd {
                iterations: 10,
                loss: ApgdLoss::Dlr,
                ..Apgd::ce(threat.clone())
            }),
            Box::new(Apgd {
                iterations: 5,
                loss: ApgdLoss::TargetedDlr { targets: 3 },
                ..Apgd::ce(threat.clone())
            }),
            Box::new(FabTargeted {
                iterations: 10,
                targets: 3,
                restarts: 2,
                ..FabTargeted::standard(threat.clone())
            }),
            Box::new(Square {
                queries: 30,
                ..Square::standard(threat.clone())
            }),
        ];
        for attack in attacks {
            let adversarial = floats(attack.run(&model, &clean, &y, 5).unwrap().adversarial);
            for (p, (adv, orig)) in adversarial
                .chunks(SIDE * SIDE)
                .zip(x.chunks(SIDE * SIDE))
                .enumerate()
            {
                assert!(
                    adv.iter().all(|v| (0.0..=1.0).contains(v)),
                    "{} left the box",
                    attack.name()
                );
                let size = match norm {
                    Norm::Linf => adv
                        .iter()
                        .zip(orig)
                        .fold(0f64, |m, (a, o)| m.max(f64::from((a - o).abs()))),
                    Norm::L2 => adv
                        .iter()
                        .zip(orig)
                        .map(|(a, o)| f64::from(a - o).powi(2))
                        .sum::<f64>()
                        .sqrt(),
                };
                assert!(
                    size <= eps * (1.0 + 1e-6) + 1e-7,
                    "{} {norm:?}: point {p} at {size} > {eps}",
                    attack.name()
                );
            }
        }
    }
}

struct Random {
    x: Vec<f32>,
    y: Vec<i64>,
}

impl PointSource for Random {
    fn len(&self) -> usize {
        self.y.len()
    }

    fn load(&self, indices: &[usize]) -> (Tensor<4>, Tensor<1, Int>) {
        let n = SIDE * SIDE;
        let x: Vec<f32> = indices
            .iter()
            .flat_map(|&i| self.x[i * n..(i + 1) * n].to_vec())
            .collect();
        let y: Vec<i64> = indices.iter().map(|&i| self.y[i]).collect();
        (
            images(x, indices.len(), SIDE, &jeat_core::testing::device()),
            labels(&y, &jeat_core::testing::device()),
        )
    }
}

fn source(model: &Model, count: usize) -> Random {
    let x = random_images(count, 42);
    // Predicted in the runner's batches of 7, so that the computation is the same one.
    let n = SIDE * SIDE;
    let predicted: Vec<f32> = x
        .chunks(7 * n)
        .flat_map(|chunk| {
            let batch = images(
                chunk.to_vec(),
                chunk.len() / n,
                SIDE,
                &jeat_core::testing::device(),
            );
            common::floats(model.logits(batch).argmax(1).float())
        })
        .collect();
    // Three quarters labelled as predicted, the rest wrongly: clean accuracy 75 %.
    let y = predicted
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            if i % 4 == 3 {
                (p as i64 + 1) % 10
            } else {
                p as i64
            }
        })
        .collect();
    Random { x, y }
}

fn evaluation(state_path: Option<std::path::PathBuf>) -> Evaluation {
    Evaluation {
        suite: Suite::parse("fgsm,pgd-5,cw-5,apgd-ce,square-40").unwrap(),
        threat: ThreatModel::parse(Norm::Linf, "0.05").unwrap(),
        batch_size: 7,
        seed: 3,
        identity: "mnist-cnn(random) on 40 random images".into(),
        keep_adversarial: state_path.is_some(),
        state_path,
    }
}

/// The report's numbers equal a recount from the per-point results the run saved, and the
/// clean accuracy a recount from the model's own predictions; every fooled point was fooled
/// inside the ball, by an attack of the suite, with a prediction other than its label.
#[test]
fn the_report_equals_a_recount_of_its_per_point_results() {
    let model = model();
    let points = source(&model, 40);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let report = evaluate(
        &evaluation(Some(state.clone())),
        &model,
        &points,
        &mut |_| {},
    )
    .unwrap();
    let results = point_results(&state).unwrap();
    assert_eq!(results.len(), 40);

    // Clean accuracy from the model directly, one point at a time.
    let correct = (0..40)
        .filter(|&i| {
            let (x, y) = points.load(&[i]);
            let predicted = common::floats(model.logits(x).argmax(1).float())[0] as i64;
            predicted == common::floats(y.float())[0] as i64
        })
        .count();
    assert!((report.clean_accuracy - 100.0 * correct as f64 / 40.0).abs() < 1e-9);

    for (k, attack) in report.attacks.iter().enumerate() {
        let fooled_so_far = results
            .iter()
            .filter(|p| p.fooled_at.is_some_and(|at| at <= k))
            .count();
        let robust = results
            .iter()
            .filter(|p| p.label == p.clean_prediction)
            .count()
            - fooled_so_far;
        assert!(
            (attack.robust_accuracy - 100.0 * robust as f64 / 40.0).abs() < 1e-9,
            "{}: report {} vs recount {}",
            attack.name,
            attack.robust_accuracy,
            100.0 * robust as f64 / 40.0
        );
        let by_this = results
            .iter()
            .filter(|p| {
                p.fooled_at == Some(k) && p.fooled_by.as_deref() == Some(attack.name.as_str())
            })
            .count();
        assert_eq!(attack.fooled, by_this, "{}", attack.name);
    }
    for p in results.iter().filter(|p| p.fooled_by.is_some()) {
        assert_eq!(
            p.label, p.clean_prediction,
            "point {}: fooled but never correct",
            p.index
        );
        assert_ne!(p.adversarial_prediction, Some(p.label), "point {}", p.index);
        assert!(
            p.perturbation.is_some_and(|d| d <= 0.05 + 1e-7),
            "point {}",
            p.index
        );
    }
    assert!(
        report.attacks.iter().map(|a| a.fooled).sum::<usize>() > 0,
        "nothing fooled: the test would prove nothing"
    );

    // The kept adversarial examples: one per fooled point, inside the ball and the box, and
    // the model predicts on each what the per-point result says.
    let examples = adversarial_examples(&state).unwrap();
    let fooled: Vec<_> = results.iter().filter(|p| p.fooled_by.is_some()).collect();
    assert_eq!(examples.len(), fooled.len());
    for p in fooled {
        let (x, _) = points.load(&[p.index]);
        let clean = floats(x.clone());
        let adversarial = &examples[&p.index];
        let distance = clean
            .iter()
            .zip(adversarial)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(f64::from(distance) <= 0.05 + 1e-6, "point {}", p.index);
        assert!(adversarial.iter().all(|v| (0.0..=1.0).contains(v)));
        let x_adv = Tensor::<1>::from_floats(adversarial.as_slice(), &x.device()).reshape(x.dims());
        let predicted = floats(model.logits(x_adv).argmax(1).float())[0] as usize;
        assert_eq!(
            Some(predicted),
            p.adversarial_prediction,
            "point {}",
            p.index
        );
    }
}

/// A run interrupted after a few batches resumes from its state file and ends with exactly the
/// results of an uninterrupted run; a state file of another run is refused.
#[test]
fn a_killed_run_resumes_to_the_same_results_and_foreign_states_are_refused() {
    let model = model();
    let points = source(&model, 40);
    let dir = tempfile::tempdir().unwrap();
    let uninterrupted_path = dir.path().join("whole.json");
    let whole = evaluate(
        &evaluation(Some(uninterrupted_path.clone())),
        &model,
        &points,
        &mut |_| {},
    )
    .unwrap();

    let path = dir.path().join("state.json");
    let mut calls = 0;
    let interrupted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        evaluate(
            &evaluation(Some(path.clone())),
            &model,
            &points,
            &mut |progress| {
                calls += 1;
                if progress.stage == "cw-5" {
                    panic!("killed");
                }
            },
        )
    }));
    assert!(interrupted.is_err(), "the run was not interrupted");
    let resumed = evaluate(
        &evaluation(Some(path.clone())),
        &model,
        &points,
        &mut |_| {},
    )
    .unwrap();
    let strip = |mut r: jeat_attacks::runner::Report| {
        r.attacks.iter_mut().for_each(|a| a.seconds = 0.0);
        r.seconds = 0.0;
        r
    };
    assert_eq!(strip(resumed), strip(whole));
    assert_eq!(
        point_results(&path).unwrap(),
        point_results(&uninterrupted_path).unwrap()
    );
    assert_eq!(
        adversarial_examples(&path).unwrap(),
        adversarial_examples(&uninterrupted_path).unwrap()
    );

    let mut other = evaluation(Some(path));
    other.identity = "another model".into();
    let err = evaluate(&other, &model, &points, &mut |_| {}).unwrap_err();
    assert!(matches!(err, AttackError::StateMismatch { .. }), "{err}");
    assert!(err.to_string().contains("another model"), "{err}");
}

#[test]
fn images_outside_the_unit_range_are_refused() {
    let model = model();
    let mut points = source(&model, 4);
    points.x[3] = 1.5;
    let err = evaluate(&evaluation(None), &model, &points, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("[0, 1]"), "{err}");
}

fn evaluation_of(suite: &str) -> Evaluation {
    Evaluation {
        suite: Suite::parse(suite).unwrap(),
        ..evaluation(None)
    }
}

/// A suite may name an attack twice; each run of it is counted once, by its position. FGSM is
/// deterministic, so `fgsm,fgsm` is `fgsm`; a repeated PGD runs again from another random
/// start on the points still robust, so it can only lower the robust accuracy.
#[test]
fn an_attack_named_twice_counts_each_fooled_point_once() {
    let model = model();
    let points = source(&model, 40);
    let run = |suite: &str| evaluate(&evaluation_of(suite), &model, &points, &mut |_| {}).unwrap();
    let (once, twice) = (run("fgsm"), run("fgsm,fgsm"));
    assert!(
        once.attacks[0].fooled > 0,
        "FGSM fooled nothing: the test would prove nothing"
    );
    assert_eq!(twice.robust_accuracy, once.robust_accuracy);
    assert_eq!(twice.attacks[0].fooled, once.attacks[0].fooled);
    assert_eq!(twice.attacks[1].fooled, 0);
    assert_eq!(twice.attacks[1].robust_accuracy, once.robust_accuracy);

    let (pgd, pgd_twice) = (run("pgd-5"), run("pgd-5,pgd-5"));
    assert_eq!(pgd_twice.attacks[0].fooled, pgd.attacks[0].fooled);
    assert_eq!(pgd_twice.attacks[0].robust_accuracy, pgd.robust_accuracy);
    let fooled: usize = pgd_twice.attacks.iter().map(|a| a.fooled).sum();
    let clean = (pgd_twice.clean_accuracy * 40.0 / 100.0).round() as usize;
    assert!(
        (pgd_twice.robust_accuracy - 100.0 * (clean - fooled) as f64 / 40.0).abs() < 1e-9,
        "robust {} %, clean {clean} points, fooled {fooled}",
        pgd_twice.robust_accuracy
    );
    assert!(pgd_twice.robust_accuracy <= pgd.robust_accuracy);
}

/// A state file written before fooled points recorded their attack's position still counts
/// each point once, against the first attack of its name.
#[test]
fn state_files_without_attack_positions_are_summarised_as_before() {
    let model = model();
    let points = source(&model, 40);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut evaluation = evaluation(Some(path.clone()));
    evaluation.keep_adversarial = false;
    let strip = |mut r: jeat_attacks::runner::Report| {
        r.attacks.iter_mut().for_each(|a| a.seconds = 0.0);
        r
    };
    let fresh = strip(evaluate(&evaluation, &model, &points, &mut |_| {}).unwrap());
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for point in state["points"].as_array_mut().unwrap() {
        point.as_object_mut().unwrap().remove("fooled_at");
    }
    std::fs::write(&path, state.to_string()).unwrap();
    let old = strip(evaluate(&evaluation, &model, &points, &mut |_| {}).unwrap());
    assert_eq!(old.robust_accuracy, fresh.robust_accuracy);
    assert_eq!(old.attacks, fresh.attacks);
}

/// An empty set and a label the model has no class for are refused before any attack runs,
/// naming the first bad point and the class count.
#[test]
fn an_empty_set_and_labels_beyond_the_classes_are_refused() {
    let model = model();
    let dir = tempfile::tempdir().unwrap();
    let empty = Random {
        x: Vec::new(),
        y: Vec::new(),
    };
    let keep = evaluation(Some(dir.path().join("state.json")));
    let err = evaluate(&keep, &model, &empty, &mut |_| {}).unwrap_err();
    assert_eq!(err, AttackError::NoPoints);

    let mut points = source(&model, 20);
    points.y[9] = 99;
    points.y[15] = 10;
    let mut stages = Vec::new();
    let err = evaluate(&evaluation(None), &model, &points, &mut |p| {
        stages.push(p.stage.to_string())
    })
    .unwrap_err();
    assert_eq!(
        err,
        AttackError::LabelOutOfRange {
            index: 9,
            label: 99,
            classes: 10
        }
    );
    assert!(err.to_string().contains("10 classes"), "{err}");
    assert!(
        stages.iter().all(|s| s == "clean"),
        "attacks ran: {stages:?}"
    );
}
