//! Models built by name (`wrn-34-10`, `preact-resnet-18`, `mnist-cnn`, …), one type for all.

use crate::classifier::Classifier;
use crate::dm_preact_resnet::{DmPreActResNet18, DmPreActResNet18Config};
use crate::dm_wide_resnet::{DmWideResNet, DmWideResNetConfig};
use crate::error::ModelError;
use crate::jem_wide_resnet::{JemWideResNet, JemWideResNetConfig};
use crate::mnist_cnn::{MnistCnn, MnistCnnConfig};
use crate::normalization::NormalizationSpec;
use crate::preact_resnet::{PreActResNet18, PreActResNet18Config};
use crate::resnet::{ResNet, ResNetConfig, ResNetDepth};
use crate::wide_resnet::{WideResNet, WideResNetConfig};
use burn::prelude::*;

/// Everything needed to build a model: architecture name, classes, input shape, normalisation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelSpec {
    /// One of [`PRESETS`], or a WideResNet of any depth `6n + 4` and width:
    /// `wrn-<depth>-<width>[-nobn]`, `dm-wrn-<depth>-<width>`, `jem-wrn-<depth>-<width>[-nobn]`.
    pub arch: String,
    /// Output classes.
    pub num_classes: usize,
    /// Input `[channels, height, width]`.
    pub input_shape: [usize; 3],
    /// Input normalisation inside the model.
    pub normalization: NormalizationSpec,
    /// Dropout probability (WideResNet only).
    #[serde(default)]
    pub dropout: f64,
}

/// The preset names, for help texts and error messages.
pub const PRESETS: [&str; 15] = [
    "wrn-34-10",
    "wrn-28-10",
    "wrn-28-10-nobn",
    "wrn-16-4",
    "wrn-16-1",
    "dm-wrn-28-10",
    "dm-wrn-70-16",
    "jem-wrn-28-10",
    "jem-wrn-28-10-nobn",
    "preact-resnet-18",
    "preact-resnet-18-fast",
    "dm-preact-resnet-18",
    "resnet-18",
    "resnet-50",
    "mnist-cnn",
];

impl ModelSpec {
    /// A spec with no normalisation and no dropout.
    pub fn new(arch: impl Into<String>, num_classes: usize, input_shape: [usize; 3]) -> Self {
        Self {
            arch: arch.into(),
            num_classes,
            input_shape,
            normalization: NormalizationSpec::None,
            dropout: 0.0,
        }
    }

    /// Builds the model with fresh weights on `device`.
    pub fn build(&self, device: &Device) -> Result<Model, ModelError> {
        let [channels, height, _] = self.input_shape;
        let unknown = || ModelError::UnknownArchitecture {
            name: self.arch.clone(),
            valid: format!(
                "{} (or any [dm-|jem-]wrn-<6n+4>-<k>, with -nobn for wrn- and jem-wrn-)",
                PRESETS.join(", ")
            ),
        };
        let normalization = self.normalization.clone();
        let classes = self.num_classes;
        match self.arch.as_str() {
            "preact-resnet-18" | "preact-resnet-18-fast" => Ok(Model::PreActResNet18(
                PreActResNet18Config::new()
                    .with_num_classes(classes)
                    .with_in_channels(channels)
                    .with_normalization(normalization)
                    .with_rice(self.arch == "preact-resnet-18")
                    .init(device),
            )),
            "dm-preact-resnet-18" => Ok(Model::DmPreActResNet18(
                DmPreActResNet18Config::new()
                    .with_num_classes(classes)
                    .with_in_channels(channels)
                    .with_normalization(normalization)
                    .init(device),
            )),
            "resnet-18" | "resnet-50" => Ok(Model::ResNet(
                ResNetConfig::new(match self.arch.as_str() {
                    "resnet-18" => ResNetDepth::R18,
                    _ => ResNetDepth::R50,
                })
                .with_num_classes(classes)
                .with_in_channels(channels)
                .with_normalization(normalization)
                .init(device),
            )),
            name if name.starts_with("dm-wrn-") => {
                let (depth, width, true) = parse_wrn(&name[3..]).ok_or_else(unknown)? else {
                    return Err(unknown());
                };
                Ok(Model::DmWideResNet(
                    DmWideResNetConfig::new(depth, width)
                        .with_num_classes(classes)
                        .with_in_channels(channels)
                        .with_normalization(normalization)
                        .init(device),
                ))
            }
            name if name.starts_with("jem-wrn-") => {
                let (depth, width, batch_norm) = parse_wrn(&name[4..]).ok_or_else(unknown)?;
                Ok(Model::JemWideResNet(
                    JemWideResNetConfig::new(depth, width)
                        .with_num_classes(classes)
                        .with_in_channels(channels)
                        .with_batch_norm(batch_norm)
                        .with_normalization(normalization)
                        .init(device),
                ))
            }
            "mnist-cnn" => {
                if height % 4 != 0 {
                    return Err(unknown());
                }
                Ok(Model::MnistCnn(
                    MnistCnnConfig::new()
                        .with_num_classes(self.num_classes)
                        .with_in_channels(channels)
                        .with_input_size(height)
                        .with_normalization(self.normalization.clone())
                        .init(device),
                ))
            }
            name => {
                let (depth, width, batch_norm) = parse_wrn(name).ok_or_else(unknown)?;
                Ok(Model::WideResNet(
                    WideResNetConfig::new(depth, width)
                        .with_num_classes(self.num_classes)
                        .with_in_channels(channels)
                        .with_dropout(self.dropout)
                        .with_batch_norm(batch_norm)
                        .with_normalization(self.normalization.clone())
                        .init(device),
                ))
            }
        }
    }
}

impl ModelSpec {
    /// Builds the model with initial weights that depend on `seed` alone. burn draws them from
    /// the device's generator, which every thread of the process shares, and only when a
    /// parameter is first used: seeding, building and touching every parameter happen under
    /// one process-wide lock, so builds in parallel threads do not disturb each other.
    pub fn build_seeded(&self, device: &Device, seed: u64) -> Result<Model, ModelError> {
        struct Touch;
        impl burn::module::ModuleVisitor for Touch {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                let _ = param.val();
            }
        }
        static SEEDED_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = SEEDED_BUILD
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        device.clone().without_autodiff().seed(seed);
        let model = self.build(device)?;
        model.visit(&mut Touch);
        Ok(model)
    }
}

/// `wrn-34-10` → (34, 10, true); `wrn-28-10-nobn` → (28, 10, false).
fn parse_wrn(name: &str) -> Option<(usize, usize, bool)> {
    let rest = name.strip_prefix("wrn-")?;
    let (rest, batch_norm) = match rest.strip_suffix("-nobn") {
        Some(rest) => (rest, false),
        None => (rest, true),
    };
    let (depth, width) = rest.split_once('-')?;
    let (depth, width): (usize, usize) = (depth.parse().ok()?, width.parse().ok()?);
    (depth >= 10 && (depth - 4).is_multiple_of(6) && width > 0)
        .then_some((depth, width, batch_norm))
}

/// Any model of the registry.
#[derive(Module, Debug)]
pub enum Model {
    /// WideResNet.
    WideResNet(WideResNet),
    /// PreAct-ResNet-18 (Rice et al.'s or the fast-adversarial-training variant).
    PreActResNet18(PreActResNet18),
    /// DeepMind's WideResNet with Swish.
    DmWideResNet(DmWideResNet),
    /// DeepMind's PreAct-ResNet-18 with Swish.
    DmPreActResNet18(DmPreActResNet18),
    /// A CIFAR ResNet-18 or ResNet-50.
    ResNet(ResNet),
    /// JEM's WideResNet with its classification head.
    JemWideResNet(JemWideResNet),
    /// The small MNIST CNN.
    MnistCnn(MnistCnn),
}

impl Model {
    /// Logits `[B, K]` of images `[B, C, H, W]` in [0, 1].
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::WideResNet(m) => m.forward(images),
            Self::PreActResNet18(m) => m.forward(images),
            Self::DmWideResNet(m) => m.forward(images),
            Self::DmPreActResNet18(m) => m.forward(images),
            Self::ResNet(m) => m.forward(images),
            Self::JemWideResNet(m) => m.forward(images),
            Self::MnistCnn(m) => m.forward(images),
        }
    }
}

impl Model {
    /// The same model (same parameters, so gradients reach them) with every batch norm in
    /// inference behaviour: it normalises with its running statistics and does not update
    /// them. Used for the forward pass on SGLD samples during training, whose batch statistics
    /// must not leak into the running statistics that attacks and validation use. (Every other
    /// flag, such as dropout's, is switched off too.)
    pub fn with_frozen_batch_norm(&self) -> Self {
        struct FlagsOff;
        impl burn::module::ModuleMapper for FlagsOff {
            fn map_flag(
                &mut self,
                flag: burn::module::Param<burn::module::Flag>,
            ) -> burn::module::Param<burn::module::Flag> {
                flag.with_value(false)
            }
        }
        self.clone().map(&mut FlagsOff)
    }
}

impl Classifier for Model {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward(images)
    }

    fn num_classes(&self) -> usize {
        match self {
            Self::WideResNet(m) => m.num_classes(),
            Self::PreActResNet18(m) => m.num_classes(),
            Self::DmWideResNet(m) => m.num_classes(),
            Self::DmPreActResNet18(m) => m.num_classes(),
            Self::ResNet(m) => m.num_classes(),
            Self::JemWideResNet(m) => m.num_classes(),
            Self::MnistCnn(m) => m.num_classes(),
        }
    }
}

/// Trainable parameters of a module: what PyTorch's `sum(p.numel() for p in m.parameters())`
/// counts. burn's `num_params` also counts batch-norm running statistics; this does not.
pub fn trainable_params<M: Module>(module: &M) -> usize {
    struct Counter {
        path: Vec<String>,
        count: usize,
    }
    impl burn::module::ModuleVisitor for Counter {
        fn enter_module(&mut self, name: &str, _container: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let field = self.path.last().map(String::as_str);
            if !matches!(field, Some("running_mean" | "running_var")) {
                self.count += param.lazy_shape().num_elements();
            }
        }
    }
    let mut counter = Counter {
        path: Vec::new(),
        count: 0,
    };
    module.visit(&mut counter);
    counter.count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(arch: &str) -> usize {
        trainable_params(
            &ModelSpec::new(arch, 10, [3, 32, 32])
                .build(&jeat_core::testing::device())
                .unwrap(),
        )
    }

    /// Parameter counts of the PyTorch reference implementations, 10 classes.
    #[test]
    fn parameter_counts_equal_the_pytorch_reference() {
        assert_eq!(params("wrn-16-1"), 175_066);
        assert_eq!(params("wrn-16-4"), 2_748_890);
        assert_eq!(params("wrn-28-10"), 36_479_194);
        assert_eq!(params("wrn-34-10"), 46_160_474);
        // PreAct-ResNet-18 of Rice et al., final batch norm included.
        assert_eq!(params("preact-resnet-18"), 11_172_170);
        let mnist = ModelSpec::new("mnist-cnn", 10, [1, 28, 28])
            .build(&jeat_core::testing::device())
            .unwrap();
        // 320 + 18,496 + 627,400 + 2,010.
        assert_eq!(trainable_params(&mnist), 648_226);
    }

    #[test]
    fn names_parse_and_unknown_names_list_the_presets() {
        assert_eq!(parse_wrn("wrn-28-10-nobn"), Some((28, 10, false)));
        assert_eq!(parse_wrn("wrn-30-10"), None);
        let err = ModelSpec::new("resnet-101", 10, [3, 32, 32])
            .build(&jeat_core::testing::device())
            .unwrap_err();
        assert!(err.to_string().contains("wrn-34-10, wrn-28-10"), "{err}");
    }

    #[test]
    fn every_preset_gives_logits_of_the_right_shape() {
        let device = jeat_core::testing::device();
        for (arch, shape) in [
            ("wrn-16-1", [3, 32, 32]),
            ("wrn-16-1-nobn", [1, 28, 28]),
            ("mnist-cnn", [1, 28, 28]),
        ] {
            let model = ModelSpec::new(arch, 7, shape).build(&device).unwrap();
            let x = Tensor::<4>::zeros([2, shape[0], shape[1], shape[2]], &device);
            assert_eq!(model.logits(x).dims(), [2, 7], "{arch}");
            assert_eq!(model.num_classes(), 7);
        }
    }
}
