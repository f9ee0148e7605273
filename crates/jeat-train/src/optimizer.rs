//! burn's optimisers configured as the paper's runs need them: SGD with PyTorch's momentum
//! semantics (burn defaults to dampening 0.1; PyTorch uses 0) and coupled weight decay, or Adam.

use crate::config::OptimizerConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};

/// A fresh optimiser for `config`.
pub fn build(config: &OptimizerConfig) -> ModuleOptimizer {
    match *config {
        OptimizerConfig::Sgd {
            momentum,
            weight_decay,
            nesterov,
        } => SgdConfig::new()
            .with_momentum((momentum > 0.0).then_some(MomentumConfig {
                momentum,
                dampening: 0.0,
                nesterov,
            }))
            .with_weight_decay(
                (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32)),
            )
            .init(),
        OptimizerConfig::Adam {
            beta1,
            beta2,
            weight_decay,
        } => AdamConfig::new()
            .with_beta_1(beta1 as f32)
            .with_beta_2(beta2 as f32)
            .with_epsilon(1e-8)
            .with_weight_decay(
                (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32)),
            )
            .init(),
    }
}
