//! Data-parallel training (`Trainer::data_parallel`, `jeat train --devices`): a batch split over
//! two devices reaches the weights one device reaches, batch-norm running statistics are the
//! shares' weighted mean, and a two-device run stopped mid-epoch resumes exactly.
//!
//! The two devices are the test device and the CPU backend: on flex, two copies of the model
//! working at the same time on the CPU (the sharding, gathering and merging are the same code a
//! multi-GPU run takes); with `JEAT_TEST_BACKEND=wgpu`, wgpu and flex, so the gradients cross
//! backends as they cross GPUs.

mod common;

use burn::prelude::*;
use jeat_train::presets::preset;
use jeat_train::{TrainConfig, Trainer};
use std::path::Path;

fn devices() -> Vec<Device> {
    vec![jeat_core::testing::device(), Device::flex()]
}

fn config(method: &str) -> TrainConfig {
    let mut config = preset(&format!("smoke-{method}"), None).unwrap();
    config.training.epochs = 2;
    config.training.checkpoint_every = 4;
    config.data.synthetic.as_mut().unwrap().train = 256 + 64;
    config
}

/// `config` with SGD at 0.05, whose step is proportional to the gradient (Adam's first steps
/// are about the gradient's sign, which turns rounding in near-zero components into whole
/// steps), for comparing weights across device splits.
fn with_sgd(mut config: TrainConfig) -> TrainConfig {
    config.optimizer = jeat_train::config::OptimizerConfig::Sgd {
        momentum: 0.9,
        weight_decay: 0.0,
        nesterov: false,
    };
    config.schedule.lr = 0.05;
    config
}

/// `steps` steps of `config` in `dir` on one device or on [`devices`].
fn train(config: TrainConfig, dir: &Path, steps: usize, parallel: bool) -> Vec<(String, Vec<f32>)> {
    let devices = match parallel {
        true => devices(),
        false => Vec::new(),
    };
    train_on(config, dir, steps, &devices)
}

/// `steps` steps of `config` in `dir` on the test device, split over `devices` when there are
/// several; the run must not roll back.
fn train_on(
    config: TrainConfig,
    dir: &Path,
    steps: usize,
    devices: &[Device],
) -> Vec<(String, Vec<f32>)> {
    let mut trainer = Trainer::create(config, dir, &jeat_core::testing::device(), false).unwrap();
    if devices.len() > 1 {
        let split = trainer.data_parallel(devices).unwrap();
        if devices.len() == 2 {
            assert_eq!(split, "batch 32 split 16 + 16 over 2 devices");
        }
    }
    trainer.stop_after(steps);
    let outcome = trainer.run(&mut |_| {}).unwrap();
    assert_eq!(outcome.state.rollbacks, 0, "the run rolled back");
    common::named_tensors(trainer.model())
}

/// Standard and PGD training (the inner attack's random start is drawn for the whole batch, so
/// each point is attacked as on one device): after 5 steps on two devices the weights are one
/// device's to rounding (1e-5; the sums run in another order). The weights moved by far more
/// than that, so a gradient summed without its shares' weights, or one share's alone, fails.
#[test]
fn two_devices_reach_the_weights_of_one() {
    for method in ["standard", "pgd-at"] {
        let dir = tempfile::tempdir().unwrap();
        let initial = train(config(method), &dir.path().join("initial"), 0, false);
        let one = train(config(method), &dir.path().join("one"), 5, false);
        let two = train(config(method), &dir.path().join("two"), 5, true);
        let moved = common::max_difference(&initial, &one);
        let difference = common::max_difference(&one, &two);
        eprintln!("{method}: weights moved by up to {moved}; two devices vs one: {difference}");
        assert!(
            moved > 1e-3,
            "{method}: training moved the weights by {moved} only"
        );
        assert!(
            difference <= 1e-5,
            "{method}: two devices differ from one by up to {difference}"
        );
    }
}

/// A batch-norm network: the first batch-norm layer sees the same inputs on any split, and its
/// running mean after a step is the full batch's (the shares' means weighted by their size),
/// not the first device's share alone. Later layers see activations each share normalised with
/// its own batch statistics (no synchronised batch norm), so their merged running means are
/// near one device's but not equal to them: the test measures how near, on the first and the
/// last layer.
#[test]
fn batch_norm_running_means_are_the_shares_weighted_mean() {
    let mut config = config("standard");
    config.model.arch = "wrn-10-1".into();
    let dir = tempfile::tempdir().unwrap();
    let initial = train(config.clone(), &dir.path().join("initial"), 0, false);
    let one = train(config.clone(), &dir.path().join("one"), 1, false);
    let two = train(config, &dir.path().join("two"), 1, true);
    let running_means = |tensors: &[(String, Vec<f32>)]| -> Vec<Vec<f32>> {
        tensors
            .iter()
            .filter(|(name, _)| name.ends_with("running_mean"))
            .map(|(_, values)| values.clone())
            .collect()
    };
    let (initial, one, two) = (
        running_means(&initial),
        running_means(&one),
        running_means(&two),
    );
    assert!(one.len() > 2, "{} batch-norm layers", one.len());
    let largest = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    let last = one.len() - 1;
    for (layer, name) in [(0, "first"), (last, "last")] {
        let moved = largest(&initial[layer], &one[layer]);
        let difference = largest(&one[layer], &two[layer]);
        eprintln!("{name} running mean moved by up to {moved}; two devices vs one: {difference}");
        assert!(
            moved > 1e-3,
            "the {name} running mean moved by {moved} only"
        );
        match layer {
            0 => assert!(
                difference <= 1e-5,
                "the first running means differ by up to {difference}"
            ),
            _ => assert!(
                difference > 1e-5 && difference < 0.5 * moved,
                "the last running means differ by {difference} (moved {moved}): \
                 the documented behaviour has changed"
            ),
        }
    }
}

/// JEM on three devices with a chain count of its own: each loss term is the mean over its own
/// rows (the data split 11 + 11 + 10, the chains 6 + 5 + 5, or 1 + 1 + 0 with two chains), so
/// the weights are one device's to rounding. SGLD without noise makes the chains the same on
/// every device (the shares after the first draw their noise from seeds of their own).
/// Weighting the sample term by the data share fails it (16 chains: off by 7e-5), and a
/// share without chains made its mean NaN, rolled back and stopped training (2 chains).
#[test]
fn three_devices_weigh_data_and_chains_by_their_own_rows() {
    let three = vec![jeat_core::testing::device(), Device::flex(), Device::flex()];
    for chains in [16, 2] {
        let mut config = with_sgd(config("jem"));
        config.sampler.batch_size = Some(chains);
        config.sampler.sgld.noise = 0.0;
        let dir = tempfile::tempdir().unwrap();
        let initial = train_on(config.clone(), &dir.path().join("initial"), 0, &[]);
        let one = train_on(config.clone(), &dir.path().join("one"), 3, &[]);
        let parallel = train_on(config, &dir.path().join("three"), 3, &three);
        let moved = common::max_difference(&initial, &one);
        let difference = common::max_difference(&one, &parallel);
        eprintln!(
            "{chains} chains: weights moved by up to {moved}; three devices vs one: {difference}"
        );
        assert!(moved > 1e-3, "training moved the weights by {moved} only");
        assert!(
            difference <= 1e-5,
            "{chains} chains: three devices differ from one by up to {difference}"
        );
    }
}

/// SADA-JEM on two devices: SAM's second pass runs over both shares' points at the weights
/// moved along the gathered gradient, so three steps end on one device's weights to rounding
/// (its chain, JEM++'s, has no noise, so the shares' chains are the ones a single device
/// runs). Two devices were refused before.
#[test]
fn sharpness_aware_steps_on_two_devices_are_one_devices() {
    let config = with_sgd(config("sada-jem"));
    let dir = tempfile::tempdir().unwrap();
    let initial = train(config.clone(), &dir.path().join("initial"), 0, false);
    let one = train(config.clone(), &dir.path().join("one"), 3, false);
    let two = train(config, &dir.path().join("two"), 3, true);
    let moved = common::max_difference(&initial, &one);
    let difference = common::max_difference(&one, &two);
    eprintln!("weights moved by up to {moved}; two devices vs one: {difference}");
    assert!(moved > 1e-3, "training moved the weights by {moved} only");
    assert!(
        difference <= 1e-5,
        "two devices differ from one by up to {difference}"
    );
}

/// JEAT on two devices (the inner attack, SGLD chains from the replay buffer on each device's
/// share, the buffer written back whole): a run stopped mid-epoch and resumed on the same two
/// devices ends with the weights of an uninterrupted two-device run (bit for bit on flex).
#[test]
fn a_stopped_two_device_run_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let device = jeat_core::testing::device();
    let whole = dir.path().join("whole");
    let mut trainer = Trainer::create(config("jeat"), &whole, &device, false).unwrap();
    trainer.data_parallel(&devices()).unwrap();
    trainer.run(&mut |_| {}).unwrap();

    let parts = dir.path().join("parts");
    let mut first = Trainer::create(config("jeat"), &parts, &device, false).unwrap();
    first.data_parallel(&devices()).unwrap();
    first.stop_after(11);
    assert!(!first.run(&mut |_| {}).unwrap().state.finished);
    let mut resumed = Trainer::resume(&parts, &device, None).unwrap();
    resumed.data_parallel(&devices()).unwrap();
    assert_eq!(resumed.state().global_step, 8);
    assert!(resumed.run(&mut |_| {}).unwrap().state.finished);
    assert!(parts.join("checkpoints/last/buffer.safetensors").is_file());

    let load = |run: &Path| {
        let (model, _, _) =
            jeat_models::checkpoint::load_model(&run.join("final.safetensors"), None, &device)
                .unwrap();
        common::named_tensors(&model)
    };
    let difference = common::max_difference(&load(&whole), &load(&parts));
    common::assert_same_weights(difference, "resumed vs uninterrupted");
}

#[test]
fn data_parallelism_refuses_no_devices_and_a_batch_smaller_than_the_devices() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config("standard");
    config.training.batch_size = 1;
    let mut trainer =
        Trainer::create(config, dir.path(), &jeat_core::testing::device(), false).unwrap();
    let err = trainer.data_parallel(&devices()).unwrap_err().to_string();
    assert!(err.contains("cannot be split over 2 devices"), "{err}");
    let err = trainer.data_parallel(&[]).unwrap_err().to_string();
    assert!(err.contains("at least one device"), "{err}");
}
