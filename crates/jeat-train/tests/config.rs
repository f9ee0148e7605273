//! The configuration: TOML with clear errors, presets, schedules.

use jeat_train::config::{Decay, ScheduleConfig};
use jeat_train::presets::preset;
use jeat_train::{Profile, TrainConfig, TrainError, TrainingMethod};

const SMALL: &str = r#"
[model]
arch = "mnist-cnn"

[data]
dataset = "synthetic"
validation = 16
synthetic = { classes = 3, shape = [1, 8, 8], train = 96, test = 32 }

[objective]
name = "pgd-at"
attack = { eps = 0.1, step_size = 0.025, steps = 2, start = { kind = "uniform" } }

[optimizer]
name = "sgd"

[schedule]
lr = 0.05

[training]
epochs = 1
batch_size = 16
"#;

#[test]
fn a_small_config_reads_with_defaults() {
    let config = TrainConfig::from_toml(SMALL, "small.toml").unwrap();
    assert_eq!(config.training.checkpoint_every, 200);
    assert_eq!(config.guard.max_rollbacks, 3);
    assert_eq!(config.evaluation_eps(), 0.1);
    // The resolved config round-trips through TOML.
    assert_eq!(
        TrainConfig::from_toml(&config.to_toml(), "resolved").unwrap(),
        config
    );
}

#[test]
fn unknown_keys_and_wrong_types_name_the_key_and_the_line() {
    let typo = SMALL.replace("batch_size = 16", "batch_sise = 16");
    let err = TrainConfig::from_toml(&typo, "typo.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("typo.toml at line") && err.contains("batch_sise"),
        "{err}"
    );
    let wrong = SMALL.replace("lr = 0.05", "lr = \"fast\"");
    let err = TrainConfig::from_toml(&wrong, "wrong.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrong.toml at line 18"), "{err}");
    let bad_value = SMALL.replace("lr = 0.05", "lr = -1.0");
    assert!(matches!(
        TrainConfig::from_toml(&bad_value, "x").unwrap_err(),
        TrainError::Config(_)
    ));
    let bad_dataset = SMALL.replace("dataset = \"synthetic\"", "dataset = \"imagenet\"");
    let err = TrainConfig::from_toml(&bad_dataset, "x")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("imagenet") && err.contains("fashion-mnist"),
        "{err}"
    );
}

/// The `pgd-at` checkpoint a method's preset starts from, where it needs one.
fn pretrained_for(method: TrainingMethod) -> Option<std::path::PathBuf> {
    method
        .starts_from()
        .map(|_| std::path::PathBuf::from("pgd-at.safetensors"))
}

#[test]
fn every_preset_is_valid_and_unknown_ones_list_the_choices() {
    for profile in Profile::ALL {
        for method in TrainingMethod::ALL {
            let pretrained = pretrained_for(method);
            let name = format!("{}-{method}", profile.name());
            let config = preset(&name, pretrained.clone()).unwrap();
            assert_eq!(config.objective.method(), method);
            assert_eq!(
                config,
                profile.config(method, pretrained).unwrap(),
                "{name}"
            );
            assert_eq!(config.evaluation.select_by, method.selection());
        }
    }
    let err = preset("paper-mart", None).unwrap_err().to_string();
    assert!(err.contains("jeat") && err.contains("smoke"), "{err}");
    // prejeat without its pgd-at checkpoint is refused.
    assert!(preset("cpu-prejeat", None).is_err());
}

#[test]
fn schedules_follow_their_definitions() {
    let piecewise = ScheduleConfig {
        lr: 0.1,
        decay: Decay::Piecewise {
            milestones: vec![75, 90],
            factor: 0.1,
        },
        warmup_epochs: 0.0,
    };
    let at = |s: &ScheduleConfig, epoch: f64| s.lr_at((epoch * 100.0) as usize, 100, 100);
    assert_eq!(at(&piecewise, 10.0), 0.1);
    assert!((at(&piecewise, 75.0) - 0.01).abs() < 1e-15);
    assert!((at(&piecewise, 95.0) - 0.001).abs() < 1e-15);
    let cosine = ScheduleConfig {
        lr: 0.1,
        decay: Decay::Cosine,
        warmup_epochs: 2.0,
    };
    assert!((at(&cosine, 50.0) - 0.05).abs() < 1e-12);
    // Linear warm-up: step 0 of 200 warm-up steps uses 1/200 of the rate.
    assert!((cosine.lr_at(0, 100, 100) - 0.1 / 200.0).abs() < 1e-12);
    assert!(at(&cosine, 100.0).abs() < 1e-12);
}

/// TRADES' preset runs its reference code's inner attack: at CIFAR-10 scale eps 0.031, step
/// 0.007, 10 steps from `x + 0.001 · N(0, I)`; at the CPU profile's 0.1, the same ratio.
#[test]
fn the_trades_preset_uses_the_reference_inner_attack() {
    use jeat_train::{InnerStart, ObjectiveConfig as Objective};
    let Objective::Trades { beta, attack } = preset("paper-trades", None).unwrap().objective else {
        panic!("not TRADES")
    };
    assert_eq!(beta, 6.0);
    assert_eq!((attack.eps, attack.steps), (0.031, 10));
    assert!(
        (attack.step_size - 0.007).abs() < 1e-12,
        "{}",
        attack.step_size
    );
    assert_eq!(attack.start, InnerStart::Gaussian { std: 0.001 });
    let Objective::Trades { attack, .. } = preset("cpu-trades", None).unwrap().objective else {
        panic!("not TRADES")
    };
    assert!((attack.step_size / attack.eps - 0.007 / 0.031).abs() < 1e-12);
}

/// The `p(x, y)` term needs JEM's class-conditional buffer: a config asking for it without one
/// is refused with what to set.
#[test]
fn the_joint_term_without_a_class_conditional_buffer_is_refused() {
    let mut config = preset("smoke-jem", None).unwrap();
    if let jeat_train::ObjectiveConfig::Jem { joint_weight, .. } = &mut config.objective {
        *joint_weight = 1.0;
    }
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("sampler.class_conditional = true"), "{err}");
    config.sampler.class_conditional = true;
    config.validate().unwrap();
}

/// `[objective]` reads with its defaults and refuses unknown keys; it round-trips.
#[test]
fn objectives_read_from_toml_with_defaults_and_refuse_unknown_keys() {
    use jeat_train::ObjectiveConfig;
    let jeat: ObjectiveConfig = toml::from_str(
        r#"
        name = "jeat"
        attack = { eps = 0.1, step_size = 0.025, steps = 3, start = { kind = "uniform" } }
        "#,
    )
    .unwrap();
    assert_eq!(
        jeat.loss(),
        jeat_energy::Objective::Jeat(jeat_energy::JeatLoss::default())
    );
    assert!(jeat.inner_attack().is_some() && jeat.loss().needs_samples());
    let jem: ObjectiveConfig = toml::from_str(r#"name = "jem""#).unwrap();
    assert_eq!(jem.data_noise(), 0.015);
    let typo = toml::from_str::<ObjectiveConfig>(
        r#"
        name = "jeat"
        lamda = 2.0
        attack = { eps = 0.1, step_size = 0.025, steps = 3, start = { kind = "uniform" } }
        "#,
    );
    assert!(typo.unwrap_err().to_string().contains("lamda"));
    // Another method's setting in a struct-like objective is refused too (it used to be
    // dropped without a word).
    let foreign = toml::from_str::<ObjectiveConfig>(
        r#"
        name = "pgd-at"
        beta = 6.0
        attack = { eps = 0.1, step_size = 0.025, steps = 3, start = { kind = "uniform" } }
        "#,
    );
    assert!(foreign.unwrap_err().to_string().contains("beta"));
    let back: ObjectiveConfig = toml::from_str(&toml::to_string(&jeat).unwrap()).unwrap();
    assert_eq!(back, jeat);
    // Run settings out of range, and prejeat without its checkpoint, are refused.
    let bad_eps = ObjectiveConfig::PgdAt {
        attack: jeat_train::InnerAttack::madry(0.0, 10),
    };
    let err = bad_eps.validate().unwrap_err().to_string();
    assert!(err.contains("eps must be in (0, 1]"), "{err}");
    let ObjectiveConfig::Jeat(settings) = jeat else {
        unreachable!()
    };
    let err = ObjectiveConfig::Prejeat(settings)
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("pretrained"), "{err}");
}

/// JEM's chains are unclamped by default; only the cpu profile's energy-based methods clamp
/// them (unclamped, cpu-jem diverged), and JEM++'s chain (JEM++, SADA-JEM, EB-JDAT) everywhere; the other methods'
/// configs stay what they were.
#[test]
fn only_the_cpu_profiles_energy_based_methods_clamp_their_chains() {
    for profile in Profile::ALL {
        for method in TrainingMethod::ALL {
            let pretrained = pretrained_for(method);
            let config = profile.config(method, pretrained).unwrap();
            let expected = (profile == Profile::Cpu && method.energy_based())
                || matches!(
                    method,
                    TrainingMethod::Jempp | TrainingMethod::SadaJem | TrainingMethod::EbJdat
                );
            assert_eq!(
                config.sampler.sgld.clamp,
                expected,
                "{}-{method}",
                profile.name()
            );
        }
    }
}

/// JEM++'s preset: JEM's loss without the joint term, its proximal chain (clamped, noise-free,
/// each pixel's drift at most 1/2 per step) of the profile's length from class-conditional
/// Gaussians; the paper profile trains its WideResNet on images in [-1, 1].
#[test]
fn the_jempp_preset_is_jem_with_the_proximal_chain_and_informative_starts() {
    use jeat_sampling::BufferInit;
    let cpu = jeat_train::presets::preset("cpu-jempp", None).unwrap();
    // JEM's loss; on the cpu profile on clean data and with the energy regulariser (its
    // noise-free chain cannot imitate the data's noise there), elsewhere as theirs.
    assert!(matches!(
        cpu.objective.loss(),
        jeat_energy::Objective::Jem { energy_l2, joint_weight: 0.0 } if energy_l2 > 0.0
    ));
    assert_eq!(cpu.objective.data_noise(), 0.0);
    assert_eq!(cpu.sampler.init, BufferInit::ClassGaussian);
    let chain = cpu.sampler.sgld;
    assert_eq!(
        (chain.max_step, chain.noise, chain.clamp),
        (Some(0.5), 0.0, true)
    );
    assert_eq!(
        chain.steps,
        jeat_train::presets::preset("cpu-jem", None)
            .unwrap()
            .sampler
            .sgld
            .steps
    );
    let paper = jeat_train::presets::preset("paper-jempp", None).unwrap();
    assert_eq!(paper.objective.data_noise(), 0.015);
    assert_eq!(
        paper.objective.loss(),
        jeat_energy::Objective::Jem {
            energy_l2: 0.0,
            joint_weight: 0.0
        }
    );
    assert_eq!(paper.model.arch, "jem-wrn-28-10");
    assert_eq!(paper.sampler.sgld.steps, 10);
    assert_eq!(
        paper.model.normalization,
        jeat_models::NormalizationSpec::Custom {
            mean: vec![0.5; 3],
            std: vec![0.5; 3]
        }
    );
    // The other methods' chains are unchanged: no bound.
    assert_eq!(
        jeat_train::presets::preset("cpu-jem", None)
            .unwrap()
            .sampler
            .sgld
            .max_step,
        None
    );
}

/// EB-JDAT's preset: its weights, its attack (start within half the radius, five steps of an
/// eighth, inside 9/8 of it), JEM++'s chain; an attack start outside the ball is refused.
#[test]
fn the_eb_jdat_preset_has_its_weights_attack_and_chain() {
    let config = jeat_train::presets::preset("cpu-eb-jdat", None).unwrap();
    let eps = config.evaluation_eps();
    let jeat_train::ObjectiveConfig::EbJdat {
        px,
        pyx,
        adv,
        pya,
        attack,
        ..
    } = config.objective.clone()
    else {
        panic!("not eb-jdat: {:?}", config.objective)
    };
    assert_eq!((px, pyx, adv, pya), (1.0, 1.0, 0.1, 1.0));
    assert_eq!(
        attack.start,
        jeat_train::InnerStart::UniformWithin { radius: eps / 2.0 }
    );
    assert!((attack.eps - (eps / 2.0 + 5.0 * attack.step_size)).abs() < 1e-12);
    assert_eq!(config.sampler.sgld.max_step, Some(0.5));
    let mut wide = config.clone();
    if let jeat_train::ObjectiveConfig::EbJdat { attack, .. } = &mut wide.objective {
        attack.start = jeat_train::InnerStart::UniformWithin { radius: 1.0 };
    }
    let err = wide.validate().unwrap_err().to_string();
    assert!(err.contains("start radius"), "{err}");
}
