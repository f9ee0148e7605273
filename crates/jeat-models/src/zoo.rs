//! Published models by name: the CIFAR-10 Linf entries of RobustBench's model zoo (robustbench
//! 1.1.1) whose architecture jeat has, and the released checkpoints of the JEM family. Each
//! name gives the architecture, the input normalisation the model was trained with (inside the
//! model, so every eps is in pixel units) and what RobustBench's own loader tolerates in the
//! file. The weights are the user's download: RobustBench fetches them at run time from its
//! hosting, which jeat does not reach.

use crate::normalization::NormalizationSpec;
use crate::registry::ModelSpec;

/// How a published model normalises its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputNormalization {
    /// None: the network sees [0, 1].
    None,
    /// CIFAR-10's mean (0.4914, 0.4822, 0.4465) and std (0.2471, 0.2435, 0.2616).
    Cifar10,
    /// The same mean with std (0.2023, 0.1994, 0.2010), as MadryLab's robustness library.
    Cifar10Robustness,
    /// `(x - 0.5) / 0.5`: images in [-1, 1] (JEM and its successors, Hendrycks et al.).
    MinusOneToOne,
}

impl InputNormalization {
    /// The model's normalisation layer.
    pub fn spec(self) -> NormalizationSpec {
        let custom = |mean: [f32; 3], std: [f32; 3]| NormalizationSpec::Custom {
            mean: mean.to_vec(),
            std: std.to_vec(),
        };
        match self {
            Self::None => NormalizationSpec::None,
            Self::Cifar10 => NormalizationSpec::Cifar10,
            Self::Cifar10Robustness => custom([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]),
            Self::MinusOneToOne => custom([0.5; 3], [0.5; 3]),
        }
    }
}

/// A published model jeat can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZooEntry {
    /// The name (RobustBench's entry name, or the release's).
    pub name: &'static str,
    /// jeat's architecture (see [`crate::registry::PRESETS`]).
    pub arch: &'static str,
    /// The input normalisation.
    pub normalization: InputNormalization,
    /// Checkpoint entries RobustBench's loader drops without complaint (its non-strict retry
    /// for these entries), by prefix; jeat ignores them too and still refuses missing weights.
    pub ignored_prefixes: &'static [&'static str],
}

impl ZooEntry {
    /// The entry, ignoring the checkpoint entries that start with one of `prefixes`.
    const fn ignoring(self, prefixes: &'static [&'static str]) -> Self {
        Self {
            ignored_prefixes: prefixes,
            ..self
        }
    }

    /// The model spec (CIFAR-10: 10 classes, 3×32×32).
    pub fn spec(&self) -> ModelSpec {
        let mut spec = ModelSpec::new(self.arch, 10, [3, 32, 32]);
        spec.normalization = self.normalization.spec();
        spec
    }
}

const fn entry(
    name: &'static str,
    arch: &'static str,
    normalization: InputNormalization,
) -> ZooEntry {
    ZooEntry {
        name,
        arch,
        normalization,
        ignored_prefixes: &[],
    }
}

use InputNormalization::{Cifar10, Cifar10Robustness, MinusOneToOne, None as Raw};

/// RobustBench's CIFAR-10 Linf entries (robustbench 1.1.1, `model_zoo/cifar10.py`) that jeat
/// builds. The TRADES-style WideResNets carry an unused `sub_block1`, which jeat ignores.
pub const ROBUSTBENCH_CIFAR10_LINF: &[ZooEntry] = &[
    entry("Standard", "wrn-28-10", Raw),
    entry(
        "Andriushchenko2020Understanding",
        "preact-resnet-18-fast",
        Raw,
    ),
    entry("Carmon2019Unlabeled", "wrn-28-10", Raw),
    entry("Sehwag2020Hydra", "wrn-28-10", Raw),
    entry("Wang2020Improving", "wrn-28-10", Raw),
    entry("Hendrycks2019Using", "wrn-28-10", MinusOneToOne),
    entry("Rice2020Overfitting", "wrn-34-20", Cifar10).ignoring(&["mu", "sigma"]),
    entry("Zhang2019Theoretically", "wrn-34-10", Raw),
    entry("Engstrom2019Robustness", "resnet-50", Cifar10Robustness).ignoring(&[
        "mu",
        "sigma",
        "normalizer.",
        "attacker.",
    ]),
    entry("Huang2020Self", "wrn-34-10", Raw),
    entry("Wong2020Fast", "preact-resnet-18-fast", Cifar10).ignoring(&["mu", "sigma", "bn."]),
    entry("Zhang2019You", "wrn-34-10", Raw),
    entry("Zhang2020Attacks", "wrn-34-10", Raw),
    entry("Wu2020Adversarial_extra", "wrn-28-10", Raw),
    entry("Wu2020Adversarial", "wrn-34-10", Raw),
    entry("Gowal2020Uncovering_70_16", "dm-wrn-70-16", Cifar10),
    entry("Gowal2020Uncovering_70_16_extra", "dm-wrn-70-16", Cifar10),
    entry("Gowal2020Uncovering_34_20", "dm-wrn-34-20", Cifar10),
    entry("Gowal2020Uncovering_28_10_extra", "dm-wrn-28-10", Cifar10),
    entry("Sehwag2021Proxy", "wrn-34-10", Raw),
    entry("Sehwag2021Proxy_R18", "resnet-18", Raw),
    entry("Sitawarin2020Improving", "wrn-34-10", Raw),
    entry("Chen2020Efficient", "wrn-34-10", Cifar10).ignoring(&["mu", "sigma"]),
    entry("Cui2020Learnable_34_20", "wrn-34-20", Raw),
    entry("Cui2020Learnable_34_10", "wrn-34-10", Raw),
    entry("Zhang2020Geometry", "wrn-28-10", Raw),
    entry(
        "Rebuffi2021Fixing_28_10_cutmix_ddpm",
        "dm-wrn-28-10",
        Cifar10,
    ),
    entry(
        "Rebuffi2021Fixing_106_16_cutmix_ddpm",
        "dm-wrn-106-16",
        Cifar10,
    ),
    entry(
        "Rebuffi2021Fixing_70_16_cutmix_ddpm",
        "dm-wrn-70-16",
        Cifar10,
    ),
    entry(
        "Rebuffi2021Fixing_70_16_cutmix_extra",
        "dm-wrn-70-16",
        Cifar10,
    ),
    entry("Sridhar2021Robust", "wrn-28-10", Raw),
    entry("Sridhar2021Robust_34_15", "wrn-34-15", Raw),
    entry("Rebuffi2021Fixing_R18_ddpm", "dm-preact-resnet-18", Cifar10),
    entry("Rade2021Helper_R18_extra", "dm-preact-resnet-18", Cifar10),
    entry("Rade2021Helper_R18_ddpm", "dm-preact-resnet-18", Cifar10),
    entry("Rade2021Helper_extra", "dm-wrn-34-10", Cifar10),
    entry("Rade2021Helper_ddpm", "dm-wrn-28-10", Cifar10),
    entry("Addepalli2021Towards_RN18", "resnet-18", Raw),
    entry("Addepalli2021Towards_WRN34", "wrn-34-10", Raw),
    entry(
        "Gowal2021Improving_70_16_ddpm_100m",
        "dm-wrn-70-16",
        Cifar10,
    ),
    entry(
        "Gowal2021Improving_28_10_ddpm_100m",
        "dm-wrn-28-10",
        Cifar10,
    ),
    entry(
        "Gowal2021Improving_R18_ddpm_100m",
        "dm-preact-resnet-18",
        Cifar10,
    ),
    entry("Chen2021LTD_WRN34_10", "wrn-34-10", Raw),
    entry("Chen2021LTD_WRN34_20", "wrn-34-20", Raw),
    entry("Jia2022LAS-AT_34_10", "wrn-34-10", Raw),
    entry("Jia2022LAS-AT_70_16", "wrn-70-16", Raw),
    entry("Pang2022Robustness_WRN28_10", "dm-wrn-28-10", Cifar10),
    entry("Pang2022Robustness_WRN70_16", "dm-wrn-70-16", Cifar10),
    entry("Addepalli2022Efficient_RN18", "resnet-18", Raw),
    entry("Addepalli2022Efficient_WRN_34_10", "wrn-34-10", Raw),
    entry("Wang2023Better_WRN-28-10", "dm-wrn-28-10", Cifar10),
    entry("Wang2023Better_WRN-70-16", "dm-wrn-70-16", Cifar10),
    entry("Xu2023Exploring_WRN-28-10", "dm-wrn-28-10", Cifar10),
    entry("Cui2023Decoupled_WRN-28-10", "dm-wrn-28-10", Cifar10),
    entry("Cui2023Decoupled_WRN-34-10", "wrn-34-10", Raw),
    entry("Chen2024Data_WRN_34_10", "wrn-34-10", Raw),
    entry("Chen2024Data_WRN_34_20", "wrn-34-20", Raw),
    entry(
        "Bartoldson2024Adversarial_WRN-94-16",
        "dm-wrn-94-16",
        Cifar10,
    ),
    entry("Bartoldson2024Adversarial_WRN-82-8", "dm-wrn-82-8", Cifar10),
];

/// RobustBench's CIFAR-10 Linf entries jeat does not build, and why.
pub const ROBUSTBENCH_UNSUPPORTED: &[(&str, &str)] = &[
    (
        "Pang2020Boosting",
        "normalises its features and the last layer's rows",
    ),
    (
        "Ding2020MMA",
        "standardises each image by its own statistics",
    ),
    (
        "Chen2020Adversarial",
        "an ensemble of three ResNet-50s averaging softmaxes",
    ),
    ("Sehwag2021Proxy_ResNest152", "a ResNeSt-152"),
    ("Huang2021Exploring", "RobustWideResNet"),
    ("Huang2021Exploring_ema", "RobustWideResNet"),
    ("Dai2021Parameterizing", "PSSiLU activations"),
    ("Kang2021Stable", "an ODE block after the WideResNet"),
    ("Debenedetti2022Light_XCiT-S12", "an XCiT transformer"),
    ("Debenedetti2022Light_XCiT-M12", "an XCiT transformer"),
    ("Debenedetti2022Light_XCiT-L12", "an XCiT transformer"),
    (
        "Huang2022Revisiting_WRN-A4",
        "RobustResNet with squeeze-excitation",
    ),
    (
        "Bai2023Improving_edm",
        "a mixture of two classifiers and a policy network",
    ),
    ("Peng2023Robust", "RaWideResNet with squeeze-excitation"),
    (
        "Bai2024MixedNUTS",
        "a non-linear mixture of two classifiers",
    ),
    ("Amini2024MeanSparse", "MeanSparse activations"),
    ("Amini2024MeanSparse_Ra_WRN_70_16", "MeanSparse activations"),
    ("Amini2024MeanSparse_S-WRN-94-16", "MeanSparse activations"),
];

/// The released checkpoints of the JEM family (CIFAR-10, WideResNet-28-10, images in [-1, 1],
/// logits of the `class_output` head). JEM++'s model also stores its first convolution and its
/// stages a second time under `f.layer_one` and `f.other_layers`: those copies are ignored.
pub const JEM_FAMILY: &[ZooEntry] = &[
    entry("jem", "jem-wrn-28-10-nobn", MinusOneToOne),
    entry("jem++", "jem-wrn-28-10", MinusOneToOne).ignoring(&["f.layer_one.", "f.other_layers."]),
    entry("sada-jem", "jem-wrn-28-10", MinusOneToOne),
    entry("eb-jdat-jem", "jem-wrn-28-10-nobn", MinusOneToOne),
    entry("eb-jdat-jem++", "jem-wrn-28-10", MinusOneToOne)
        .ignoring(&["f.layer_one.", "f.other_layers."]),
    entry("eb-jdat-sada-jem", "jem-wrn-28-10", MinusOneToOne),
];

/// The entry named `name` in `table`, or an error that lists the nearest names (and says why
/// a RobustBench entry jeat knows of is not built).
pub fn lookup(table: &[ZooEntry], name: &str) -> Result<ZooEntry, String> {
    if let Some(entry) = table.iter().find(|e| e.name == name) {
        return Ok(*entry);
    }
    if let Some((_, why)) = ROBUSTBENCH_UNSUPPORTED.iter().find(|(n, _)| *n == name) {
        return Err(format!("{name} is not supported: {why}"));
    }
    let mut near: Vec<(f64, &str)> = table
        .iter()
        .map(|e| {
            let score =
                strsim::normalized_levenshtein(&name.to_lowercase(), &e.name.to_lowercase());
            (score, e.name)
        })
        .collect();
    near.sort_by(|a, b| b.0.total_cmp(&a.0));
    let names: Vec<&str> = near.iter().take(3).map(|(_, n)| *n).collect();
    Err(format!(
        "unknown model '{name}'; nearest known: {}",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_builds_a_known_architecture_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for entry in ROBUSTBENCH_CIFAR10_LINF.iter().chain(JEM_FAMILY) {
            assert!(names.insert(entry.name), "{} twice", entry.name);
            let arch = entry.arch;
            let known = crate::registry::PRESETS.contains(&arch)
                || ["wrn-", "dm-wrn-"].iter().any(|p| {
                    arch.strip_prefix(p)
                        .is_some_and(|r| r.split('-').count() == 2)
                });
            assert!(known, "{}: {arch}", entry.name);
        }
        for (name, _) in ROBUSTBENCH_UNSUPPORTED {
            assert!(names.insert(name), "{name} both supported and not");
        }
        // robustbench 1.1.1 lists 77 CIFAR-10 Linf entries: each is one or the other.
        assert_eq!(
            ROBUSTBENCH_CIFAR10_LINF.len() + ROBUSTBENCH_UNSUPPORTED.len(),
            77
        );
    }

    #[test]
    fn unknown_names_list_the_nearest_and_unsupported_ones_say_why() {
        let err = lookup(ROBUSTBENCH_CIFAR10_LINF, "Gowal2020Uncovering_70_61").unwrap_err();
        assert!(
            err.contains("nearest known: Gowal2020Uncovering_70_16"),
            "{err}"
        );
        let err = lookup(ROBUSTBENCH_CIFAR10_LINF, "Peng2023Robust").unwrap_err();
        assert!(
            err.contains("not supported") && err.contains("squeeze"),
            "{err}"
        );
        let entry = lookup(ROBUSTBENCH_CIFAR10_LINF, "Wong2020Fast").unwrap();
        assert_eq!(entry.spec().arch, "preact-resnet-18-fast");
        assert_eq!(entry.spec().normalization, NormalizationSpec::Cifar10);
    }
}
