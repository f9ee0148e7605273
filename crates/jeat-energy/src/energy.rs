//! Energies of a classifier's logits, computed stably.

use burn::prelude::*;

/// `logsumexp` over classes, `[B, K]` → `[B]`, shifted by the row maximum so that large logits
/// do not overflow. The shift is a constant for differentiation (the gradient is the softmax
/// either way).
pub fn logsumexp(logits: Tensor<2>) -> Tensor<1> {
    let max = logits.clone().max_dim(1).detach();
    let shifted = (logits - max.clone()).exp().sum_dim(1).log();
    (shifted + max).squeeze_dim::<1>(1)
}

/// The marginal energy `E(x) = -logsumexp_y f(x)[y]`: logits `[B, K]` → `[B]`.
pub fn marginal_energy(logits: Tensor<2>) -> Tensor<1> {
    logsumexp(logits).neg()
}

/// The joint energy `E(x, y) = -f(x)[y]`: logits `[B, K]`, labels `[B]` → `[B]`.
pub fn joint_energy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [batch] = labels.dims();
    logits
        .gather(1, labels.reshape([batch, 1]))
        .squeeze_dim::<1>(1)
        .neg()
}

/// Per-point cross-entropy as the energy difference `E(x, y) - E(x)`: logits `[B, K]`, labels
/// `[B]` → `[B]`.
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    joint_energy(logits.clone(), labels) - marginal_energy(logits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn energies_match_hand_computed_values_and_survive_huge_logits() {
        let device = jeat_core::testing::device();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 1000.0, 1000.0, -1000.0], [2, 3]),
            &device,
        );
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 2], [2]), &device);
        let lse0 = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln() as f32;
        let lse1 = 1000.0 + 2f32.ln();
        let e = values(marginal_energy(logits.clone()));
        assert!(
            (e[0] + lse0).abs() < 1e-5 && (e[1] + lse1).abs() < 1e-3,
            "{e:?}"
        );
        assert_eq!(
            values(joint_energy(logits.clone(), labels.clone())),
            vec![-1.0, 1000.0]
        );
        let ce = values(cross_entropy(logits, labels));
        assert!((ce[0] - (lse0 - 1.0)).abs() < 1e-5, "{ce:?}");
        assert!(
            (ce[1] - (lse1 + 1000.0)).abs() < 1e-2 && ce[1].is_finite(),
            "{ce:?}"
        );
    }

    #[test]
    fn cross_entropy_equals_burns_own() {
        let device = jeat_core::testing::device();
        let logits = Tensor::<2>::random(
            [16, 10],
            burn::tensor::Distribution::Normal(0.0, 3.0),
            &device,
        );
        let labels = Tensor::<1, Int>::from_data(
            TensorData::new((0..16i64).map(|i| (i * 7) % 10).collect::<Vec<_>>(), [16]),
            &device,
        );
        let ours = cross_entropy(logits.clone(), labels.clone())
            .mean()
            .into_scalar::<f32>();
        let burns = burn::nn::loss::CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits, labels)
            .into_scalar::<f32>();
        assert!(
            (ours - burns).abs() < 1e-5 * burns.abs().max(1.0),
            "{ours} vs {burns}"
        );
    }

    #[test]
    fn gradient_of_the_marginal_energy_is_minus_the_softmax() {
        let device = jeat_core::testing::device().autodiff();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![0.5f32, -1.0, 2.0, 0.0], [1, 4]),
            &device,
        )
        .require_grad();
        let grads = marginal_energy(logits.clone()).sum().backward();
        let grad = logits
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let z = [0.5f64, -1.0, 2.0, 0.0];
        let norm: f64 = z.iter().map(|v| v.exp()).sum();
        for (g, v) in grad.iter().zip(z) {
            assert!((f64::from(*g) + v.exp() / norm).abs() < 1e-6, "{grad:?}");
        }
    }
}

/// Which energy: what a sampler descends, or a chain is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Energy {
    /// `E(x) = -logsumexp_y f(x)[y]`: samples of `p(x)`.
    Marginal,
    /// `E(x, y) = -f(x)[y]`: samples of `p(x | y)`.
    Joint,
}
