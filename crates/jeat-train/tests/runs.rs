//! Whole runs on synthetic data: exact resume, the divergence guard, run directories.

mod common;

use jeat_train::presets::preset;
use jeat_train::{Event, TrainConfig, TrainError, Trainer};

fn config(method: &str) -> TrainConfig {
    let mut config = preset(&format!("smoke-{method}"), None).unwrap();
    config.training.epochs = 2;
    config.training.checkpoint_every = 4;
    config.data.synthetic.as_mut().unwrap().train = 256 + 64;
    config
}

/// The largest absolute difference between the tensors of two safetensors files (0 when they
/// are bit for bit equal).
fn max_difference(a: &std::path::Path, b: &std::path::Path) -> f32 {
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    let (a, b) = (
        safetensors::SafeTensors::deserialize(&a).unwrap(),
        safetensors::SafeTensors::deserialize(&b).unwrap(),
    );
    let mut worst = 0f32;
    for name in a.names() {
        let (x, y) = (a.tensor(name).unwrap(), b.tensor(name).unwrap());
        for (p, q) in x.data().chunks(4).zip(y.data().chunks(4)) {
            let (p, q) = (
                f32::from_le_bytes(p.try_into().unwrap()),
                f32::from_le_bytes(q.try_into().unwrap()),
            );
            worst = worst.max((p - q).abs());
        }
    }
    worst
}

/// A run stopped mid-epoch and resumed from its last checkpoint ends with exactly the weights
/// of an uninterrupted run (bit for bit on the CPU backend: every random draw comes from the
/// seed and the step, and the optimiser state and replay buffer are restored).
#[test]
fn a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one() {
    let device = jeat_core::testing::device();
    for method in ["pgd-at", "jeat"] {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole");
        Trainer::create(config(method), &whole, &device, false)
            .unwrap()
            .run(&mut |_| {})
            .unwrap();

        let parts = dir.path().join("parts");
        let mut first = Trainer::create(config(method), &parts, &device, false).unwrap();
        first.stop_after(11); // mid-epoch 1 (8 steps per epoch), 3 steps after a checkpoint
        let stopped = first.run(&mut |_| {}).unwrap();
        assert!(!stopped.state.finished);
        let mut resumed = Trainer::resume(&parts, &device, None).unwrap();
        assert_eq!(
            resumed.state().global_step,
            8,
            "resumes from the last checkpoint"
        );
        let outcome = resumed.run(&mut |_| {}).unwrap();
        assert!(outcome.state.finished);
        let difference = max_difference(
            &parts.join("final.safetensors"),
            &whole.join("final.safetensors"),
        );
        common::assert_same_weights(difference, &format!("{method}: resumed vs uninterrupted"));
        assert!(parts.join("curves.png").is_file() && parts.join("best.safetensors").is_file());
    }
}

/// A stop request (what `jeat train --dashboard`'s quit key sends) ends the run at the next
/// step with a checkpoint there, not at the last periodic one, and the resumed run ends with the
/// weights of an uninterrupted one.
#[test]
fn a_stop_request_checkpoints_where_it_stops_and_the_run_resumes_exactly() {
    let device = jeat_core::testing::device();
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    Trainer::create(config("standard"), &whole, &device, false)
        .unwrap()
        .run(&mut |_| {})
        .unwrap();

    let parts = dir.path().join("parts");
    let mut first = Trainer::create(config("standard"), &parts, &device, false).unwrap();
    let request = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    first.stop_on_request(request.clone());
    let stopped = first
        .run(&mut |event| {
            // Step 6 is two steps past the periodic checkpoint at step 4.
            if let Event::Step { global_step: 6, .. } = event {
                request.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        })
        .unwrap();
    assert!(!stopped.state.finished);
    assert_eq!(stopped.state.global_step, 6, "stops at the next step");
    let mut resumed = Trainer::resume(&parts, &device, None).unwrap();
    assert_eq!(resumed.state().global_step, 6, "resumes where it stopped");
    assert!(resumed.run(&mut |_| {}).unwrap().state.finished);
    let difference = max_difference(
        &parts.join("final.safetensors"),
        &whole.join("final.safetensors"),
    );
    common::assert_same_weights(
        difference,
        "stopped on request and resumed vs uninterrupted",
    );
}

/// A training set smaller than one batch (a user's small dataset, or `data.train_subset`
/// below the batch size) trains on all of it, one partial batch per epoch, and says so.
#[test]
fn a_training_set_smaller_than_a_batch_is_one_partial_batch_per_epoch() {
    let device = jeat_core::testing::device();
    let dir = tempfile::tempdir().unwrap();
    let mut config = config("standard");
    let batch = config.training.batch_size;
    config.data.train_subset = Some(batch / 2);
    let mut started = String::new();
    let outcome = Trainer::create(config.clone(), dir.path(), &device, false)
        .unwrap()
        .run(&mut |event| {
            if let Event::Started { data, .. } = event {
                started = data;
            }
        })
        .unwrap();
    assert_eq!(outcome.state.global_step, config.training.epochs);
    assert!(
        started.contains(&format!("batches of {}", batch / 2)),
        "{started}"
    );
    assert!(outcome.last.is_some_and(|p| p.is_file()));
}

#[test]
fn two_runs_with_one_seed_are_identical() {
    let device = jeat_core::testing::device();
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b"] {
        Trainer::create(config("pgd-at"), &dir.path().join(name), &device, false)
            .unwrap()
            .run(&mut |_| {})
            .unwrap();
    }
    let difference = max_difference(
        &dir.path().join("a/final.safetensors"),
        &dir.path().join("b/final.safetensors"),
    );
    common::assert_same_weights(difference, "two runs with one seed");
}

#[test]
fn an_injected_nan_rolls_back_lowers_the_learning_rate_and_training_goes_on() {
    let device = jeat_core::testing::device();
    let dir = tempfile::tempdir().unwrap();
    let mut trainer = Trainer::create(config("standard"), dir.path(), &device, false).unwrap();
    trainer.inject_fault_at(6);
    let mut rollbacks = Vec::new();
    let outcome = trainer
        .run(&mut |event| {
            if let Event::Rollback {
                reason,
                to_step,
                lr_scale,
            } = event
            {
                rollbacks.push((reason, to_step, lr_scale));
            }
        })
        .unwrap();
    assert_eq!(rollbacks.len(), 1);
    let (reason, to_step, lr_scale) = &rollbacks[0];
    assert!(reason.contains("non-finite loss at step 6"), "{reason}");
    assert_eq!((*to_step, *lr_scale), (4, 0.5));
    assert!(outcome.state.finished);
    assert_eq!((outcome.state.rollbacks, outcome.state.lr_scale), (1, 0.5));
    let log = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert!(log.contains("\"kind\":\"rollback\""));
}

#[test]
fn past_the_rollback_limit_training_stops_and_says_why() {
    let device = jeat_core::testing::device();
    let dir = tempfile::tempdir().unwrap();
    let mut config = config("standard");
    config.guard.max_rollbacks = 0;
    let mut trainer = Trainer::create(config, dir.path(), &device, false).unwrap();
    trainer.inject_fault_at(2);
    let err = trainer.run(&mut |_| {}).unwrap_err();
    assert!(matches!(err, TrainError::Diverged(_)), "{err}");
    assert!(
        err.to_string().contains("non-finite loss at step 2"),
        "{err}"
    );
}

#[test]
fn run_directories_are_not_overwritten_or_resumed_with_another_config() {
    let device = jeat_core::testing::device();
    let dir = tempfile::tempdir().unwrap();
    let mut short = config("standard");
    short.training.epochs = 1;
    Trainer::create(short.clone(), dir.path(), &device, false)
        .unwrap()
        .run(&mut |_| {})
        .unwrap();
    let err = Trainer::create(short.clone(), dir.path(), &device, false)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("already holds a finished run") && err.contains("--overwrite"),
        "{err}"
    );
    let mut other = short.clone();
    other.schedule.lr = 0.2;
    let err = Trainer::resume(dir.path(), &device, Some(&other))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("refusing to resume") && err.contains("lr = 0.2"),
        "{err}"
    );
    Trainer::create(short, dir.path(), &device, true).unwrap();
}

/// A checkpoint that cannot be written (here: its temporary directory is blocked by a file, as
/// a full disk would fail it) is an error, and the previous checkpoint stays usable.
#[test]
fn a_failed_checkpoint_write_keeps_the_previous_one() {
    let device = jeat_core::testing::device();
    let dir = tempfile::tempdir().unwrap();
    let mut trainer = Trainer::create(config("standard"), dir.path(), &device, false).unwrap();
    let blocker = dir.path().join("checkpoints").join("last.tmp");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let err = trainer.run(&mut |_| {}).unwrap_err();
    assert!(matches!(err, TrainError::Io { .. }), "{err}");
    std::fs::remove_file(&blocker).unwrap();
    let resumed = Trainer::resume(dir.path(), &device, None).unwrap();
    assert_eq!(resumed.state().global_step, 0);
}

/// The logged training losses and validation accuracies of a finished run.
fn curves(run: &std::path::Path) -> (Vec<f64>, Vec<f64>) {
    let log = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let (mut losses, mut accuracies) = (Vec::new(), Vec::new());
    for line in log.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(loss) = record["values"]["loss"].as_f64() {
            losses.push(loss);
        }
        if let Some(accuracy) = record["validation"]["clean_accuracy"].as_f64() {
            accuracies.push(accuracy);
        }
    }
    (losses, accuracies)
}

/// Training does something: the loss falls and the validation accuracy rises well above the
/// 25 % of chance (4 classes), for plain and adversarial training.
#[test]
fn training_lowers_the_loss_and_raises_accuracy() {
    let device = jeat_core::testing::device();
    for method in ["standard", "pgd-at"] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = preset(&format!("smoke-{method}"), None).unwrap();
        config.training.epochs = 3;
        config.training.log_every = 1;
        Trainer::create(config, dir.path(), &device, false)
            .unwrap()
            .run(&mut |_| {})
            .unwrap();
        let (losses, accuracies) = curves(dir.path());
        let head = losses[..3].iter().sum::<f64>() / 3.0;
        let tail = losses[losses.len() - 3..].iter().sum::<f64>() / 3.0;
        assert!(tail < 0.8 * head, "{method}: loss {head:.3} -> {tail:.3}");
        let last = *accuracies.last().unwrap();
        assert!(last > 60.0, "{method}: validation accuracy {last} %");
    }
}

/// JEM with its `p(x, y)` term trains from a class-conditional buffer and logs the term's
/// energies; a resumed run still matches an uninterrupted one.
#[test]
fn jem_with_the_joint_term_trains_and_resumes_exactly() {
    let device = jeat_core::testing::device();
    let joint = || {
        let mut config = config("jem");
        config.training.epochs = 1;
        config.sampler.class_conditional = true;
        if let jeat_train::ObjectiveConfig::Jem { joint_weight, .. } = &mut config.objective {
            *joint_weight = 1.0;
        }
        config
    };
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let mut logged = joint();
    logged.training.log_every = 1;
    Trainer::create(logged, &whole, &device, false)
        .unwrap()
        .run(&mut |_| {})
        .unwrap();
    let log = std::fs::read_to_string(whole.join("metrics.jsonl")).unwrap();
    assert!(
        log.contains("e_joint_sample"),
        "the p(x, y) term is not in the loss"
    );

    let a = dir.path().join("a");
    Trainer::create(joint(), &a, &device, false)
        .unwrap()
        .run(&mut |_| {})
        .unwrap();
    let b = dir.path().join("b");
    let mut first = Trainer::create(joint(), &b, &device, false).unwrap();
    first.stop_after(6);
    first.run(&mut |_| {}).unwrap();
    Trainer::resume(&b, &device, None)
        .unwrap()
        .run(&mut |_| {})
        .unwrap();
    let difference = max_difference(&a.join("final.safetensors"), &b.join("final.safetensors"));
    common::assert_same_weights(difference, "jem with the joint term, resumed");
}

/// JEM++, SADA-JEM, WEAT and EB-JDAT train from their presets: JEM++'s chains start from
/// class-conditional Gaussians and take the proximal step, SADA-JEM's steps are
/// sharpness-aware, WEAT's inner attack is TRADES', EB-JDAT's its own; each learns and logs its
/// terms.
#[test]
fn the_family_presets_train() {
    let device = jeat_core::testing::device();
    for (method, term) in [
        ("jempp", "e_sample"),
        ("sada-jem", "e_sample"),
        ("weat", "kl"),
        ("eb-jdat", "e_adv"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(method);
        config.training.log_every = 1;
        Trainer::create(config, dir.path(), &device, false)
            .unwrap()
            .run(&mut |_| {})
            .unwrap();
        let log = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
        assert!(log.contains(term), "{method}: no {term} in the log");
        let (_, accuracies) = curves(dir.path());
        let last = *accuracies.last().unwrap();
        assert!(last > 40.0, "{method}: validation accuracy {last} %");
    }
}

/// SADA-JEM's second pass is taken: with a vanishing SAM radius its run ends on the weights of
/// JEM++ with the same settings, and with its radius 2 it does not.
#[test]
fn sada_jem_steps_from_the_perturbed_gradient() {
    let device = jeat_core::testing::device();
    let run = |config: TrainConfig, dir: &std::path::Path| {
        let mut config = config;
        config.training.epochs = 1;
        Trainer::create(config, dir, &device, false)
            .unwrap()
            .run(&mut |_| {})
            .unwrap();
        dir.join("final.safetensors")
    };
    let with_rho = |rho: f64| {
        let mut sada = config("sada-jem");
        if let jeat_train::ObjectiveConfig::SadaJem { sam_rho, .. } = &mut sada.objective {
            *sam_rho = rho;
        }
        sada
    };
    let mut jempp = config("jempp");
    jempp.objective = jeat_train::ObjectiveConfig::Jempp {
        data_noise: 0.0,
        energy_l2: 0.0,
    };
    let dir = tempfile::tempdir().unwrap();
    let plain = run(jempp, &dir.path().join("jempp"));
    let tiny = run(with_rho(1e-12), &dir.path().join("tiny"));
    let sam = run(with_rho(2.0), &dir.path().join("sam"));
    assert!(
        max_difference(&plain, &tiny) < 1e-5,
        "{}",
        max_difference(&plain, &tiny)
    );
    assert!(
        max_difference(&plain, &sam) > 1e-3,
        "{}",
        max_difference(&plain, &sam)
    );
}
