//! Batch-norm running statistics drive every attack and validation, so only the data may write
//! them: attacks and SGLD (on the inference-mode snapshot) leave them untouched, and the loss's
//! forward pass on SGLD samples does not update them unless configured to.

mod common;

use burn::module::Module;
use jeat_energy::PointLoss;
use jeat_models::{Classifier, Model, ModelSpec};
use jeat_sampling::{Energy, SgldConfig};
use jeat_train::ObjectiveConfig as Objective;
use jeat_train::config::SampleBatchNorm;
use jeat_train::presets::preset;
use jeat_train::{TrainConfig, Trainer};

/// Every running mean and variance of `model`, in visiting order.
fn running_statistics(model: &Model) -> Vec<f32> {
    let values: Vec<f32> = common::named_tensors(model)
        .into_iter()
        .filter(|(name, _)| name.ends_with("running_mean") || name.ends_with("running_var"))
        .flat_map(|(_, values)| values)
        .collect();
    assert!(!values.is_empty(), "the model has no batch norm");
    values
}

fn config(method: &str) -> TrainConfig {
    let mut config = preset(&format!("smoke-{method}"), None).unwrap();
    config.model.arch = "wrn-10-1".into();
    config.data.synthetic.as_mut().unwrap().train = 256 + 64;
    if let Objective::Jem { data_noise, .. } = &mut config.objective {
        *data_noise = 0.0; // the data batch is then exactly standard training's
    }
    config
}

/// The running statistics after one training step of `config`.
fn after_one_step(config: TrainConfig) -> Vec<f32> {
    let dir = tempfile::tempdir().unwrap();
    let mut trainer =
        Trainer::create(config, dir.path(), &jeat_core::testing::device(), false).unwrap();
    trainer.stop_after(1);
    trainer.run(&mut |_| {}).unwrap();
    running_statistics(trainer.model())
}

/// JEM without data noise forwards the same data batch as standard training, plus the SGLD
/// samples: by default its running statistics after a step are standard training's; configured
/// to let the samples update them (JEM's PyTorch code), they differ.
#[test]
fn sgld_samples_do_not_write_running_statistics_unless_configured_to() {
    let standard = after_one_step(config("standard"));
    let jem = after_one_step(config("jem"));
    let initial = {
        let c = config("standard");
        let spec = ModelSpec::new(c.model.arch.clone(), 4, [1, 12, 12]);
        running_statistics(&spec.build(&jeat_core::testing::device()).unwrap())
    };
    assert_ne!(
        standard, initial,
        "one step did not update the statistics at all"
    );
    assert_eq!(
        jem, standard,
        "the samples' batch statistics leaked into the running ones"
    );
    let mut updating = config("jem");
    updating.sampler.batch_norm = SampleBatchNorm::UpdateRunning;
    assert_ne!(after_one_step(updating), standard);
}

/// An attack and an SGLD chain on the inference-mode snapshot of a model in training mode
/// leave its running statistics as they were.
#[test]
fn attacks_and_sampling_leave_running_statistics_untouched() {
    let device = jeat_core::testing::device().autodiff();
    let model = ModelSpec::new("wrn-10-1", 4, [1, 12, 12])
        .build_seeded(&device, 3)
        .unwrap();
    // Make the statistics non-trivial first: one training-mode forward on data.
    // Drawn with our own seeded generator, not burn's device generator: that one is shared by
    // every thread, and a draw here would change the weights another test is building.
    let x = jeat_core::rng::uniform([16, 1, 12, 12], 0.0, 1.0, 5, &device);
    let _ = model.forward(x.clone());
    let before = running_statistics(&model);
    let valid = model.valid();
    let x = x.without_autodiff();
    let labels = valid.logits(x.clone()).argmax(1).squeeze_dim::<1>(1);
    let attack = jeat_train::InnerAttack::madry(0.1, 3);
    jeat_train::inner::adversarial(&valid, &x, &labels, &attack, PointLoss::CrossEntropy, 1)
        .unwrap();
    SgldConfig::from_jem_units(5, 1.0, 0.01)
        .run(&valid, x, Energy::Marginal, None, 2)
        .unwrap();
    assert_eq!(running_statistics(&model), before);
}
