//! The engine's gradient steps on the device against flex: `fgsm-pgd-step` (the attacks' steps),
//! `sgld-step` (the sampler's), and `fusion-layout` (the fused element-wise chain those steps
//! compile to, on the input layout that once broke it).

use super::fixtures;
use super::{
    Context, Measurement, Outcome, images, max_abs_difference, mean_and_std, outside_linf_ball,
    relative_error, sign_disagreement,
};
use anyhow::Result;
use burn::prelude::*;
use jeat_core::host::{floats, label_tensor};
use jeat_core::layout::row_major;
use jeat_core::rng;
use jeat_energy::{PointLoss, Reference};
use jeat_engine::steps::{Direction, GradientSteps, gradient};
use jeat_engine::{Norm, ThreatModel};
use jeat_sampling::{Energy, SgldConfig};

/// The Linf radius of the Fashion-MNIST checks (the `cpu` profile's).
pub const EPS: f64 = 0.1;
/// Every draw of these checks derives from it.
const SEED: u64 = 20;
/// How far outside the eps-ball ∩ [0, 1] a value may be: f32 rounding of `x + δ − x`.
const BALL_TOLERANCE: f64 = 1e-6;
/// The fraction of pixels whose perturbation sign may differ from flex's: gradient entries
/// near zero may come out with the other sign when sums run in another order, and a max-pooling
/// window with tied values (flat image backgrounds) may route its gradient to either of them.
const SIGN_TOLERANCE: f64 = 0.01;

/// FGSM (one step of eps from the clean point) and PGD-k (steps of eps/4 from a uniform random
/// start; k = 3, or 10 without `--quick`) on the cross-entropy of the PGD-trained CNN, from
/// the same points on the device and on flex: each result must lie in the eps-ball ∩ [0, 1],
/// and its perturbation signs must be flex's but for a small fraction.
pub fn fgsm_pgd(context: &Context) -> Result<Outcome> {
    let threat = ThreatModel::new(Norm::Linf, EPS)?;
    let pgd_steps = if context.quick { 3 } else { 10 };
    let chains = [
        (
            "FGSM".to_string(),
            GradientSteps::projected(
                PointLoss::CrossEntropy,
                Direction::Ascend,
                threat.ball(),
                EPS,
                1,
            ),
            false,
        ),
        (
            format!("PGD-{pgd_steps}"),
            GradientSteps::projected(
                PointLoss::CrossEntropy,
                Direction::Ascend,
                threat.ball(),
                EPS / 4.0,
                pgd_steps,
            ),
            true,
        ),
    ];
    let (x_host, shape, labels) = fixtures::fashion_points(context.points())?;
    // `[chain][N·1·28·28]`: where each chain ends on `device`.
    let ends = |device: &Device| -> Result<Vec<Vec<f32>>> {
        let model = context.files.pgd_cnn(device)?;
        let x = images(&x_host, shape, device)?;
        let reference = Reference::labels(label_tensor(&labels, device));
        chains
            .iter()
            .map(|(_, chain, random_start)| {
                let start = match random_start {
                    true => threat.random_start(&x, SEED),
                    false => x.clone(),
                };
                let end = chain.run(&model, start, Some(&x), &reference, SEED, &mut |_| {})?;
                Ok(floats(end.x))
            })
            .collect()
    };
    let on_device = ends(&context.device)?;
    let on_flex = ends(&context.flex)?;
    let mut outcome = Outcome {
        notes: vec![format!(
            "{} Fashion-MNIST points, PGD-trained CNN, Linf eps {EPS}",
            shape[0]
        )],
        ..Outcome::default()
    };
    for (((name, _, _), device), flex) in chains.iter().zip(&on_device).zip(&on_flex) {
        let perturbation =
            |end: &[f32]| -> Vec<f32> { end.iter().zip(&x_host).map(|(a, x)| a - x).collect() };
        outcome.measurements.push(Measurement::at_most(
            format!("{name}: outside the eps-ball ∩ [0, 1] by"),
            outside_linf_ball(device, &x_host, EPS),
            BALL_TOLERANCE,
        ));
        outcome.measurements.push(Measurement::at_most(
            format!("{name}: fraction of pixels whose perturbation sign differs from flex's"),
            sign_disagreement(&perturbation(device), &perturbation(flex)),
            SIGN_TOLERANCE,
        ));
    }
    Ok(outcome)
}

/// One SGLD step (jeat-sampling's chain on the engine's `GradientSteps::langevin`: JEM's step
/// 1 and noise 0.01 in [-1, 1] units, i.e. `x' = x − 0.25 ∇E(x) + 0.005 ε` with `E(x) =
/// −logsumexp f(x)`) of the PGD-trained CNN from uniform noise `[N, 1, 28, 28]` (JEM's
/// start; real images' flat backgrounds make max-pooling ties, whose gradient either side may
/// take) on the device. The residual `x' − (x −
/// α∇E(x))` is the noise: its mean must be within 5 standard errors (`5σ/√n`) of 0 and its
/// standard deviation within 5 standard errors (`5σ/√(2n)`) of σ; the drift `α∇E(x)` must be
/// flex's to 1e-3 relative.
pub fn sgld(context: &Context) -> Result<Outcome> {
    let config = SgldConfig::from_jem_units(1, 1.0, 0.01);
    let chain = config.engine(Energy::Marginal);
    let shape = [context.points(), 1, 28, 28];
    let x_host = floats(rng::uniform(
        [shape.iter().product()],
        0.0,
        1.0,
        SEED,
        &context.flex,
    ));
    // `(x', α∇E(x))` as host values `[N·1·28·28]`.
    let step = |device: &Device| -> Result<(Vec<f32>, Vec<f32>)> {
        let model = context.files.pgd_cnn(device)?;
        let x = images(&x_host, shape, device)?;
        // The marginal energy reads no label.
        let reference = Reference::labels(Tensor::<1, Int>::zeros([shape[0]], device));
        let end = chain.run(&model, x.clone(), None, &reference, SEED, &mut |_| {})?;
        let drift = gradient(&model, &x, chain.loss, &reference)?.grad * chain.step_size;
        Ok((floats(end.x), floats(drift)))
    };
    let (next, drift) = step(&context.device)?;
    let (_, flex_drift) = step(&context.flex)?;
    let noise: Vec<f64> = next
        .iter()
        .zip(&x_host)
        .zip(&drift)
        .map(|((&n, &x), &d)| f64::from(n) - f64::from(x) + f64::from(d))
        .collect();
    let (mean, std) = mean_and_std(&noise);
    let sigma = chain.noise_std;
    let n = noise.len() as f64;
    let largest_drift = drift.iter().fold(0f32, |m, d| m.max(d.abs()));
    Ok(Outcome {
        measurements: vec![
            Measurement::at_most(
                "noise: |mean| (5 standard errors)",
                mean.abs(),
                5.0 * sigma / n.sqrt(),
            ),
            Measurement::at_most(
                format!("noise: |std − {sigma}| (5 standard errors)"),
                (std - sigma).abs(),
                5.0 * sigma / (2.0 * n).sqrt(),
            ),
            Measurement::at_most(
                "drift α∇E against flex's, max |Δ| / max |flex|",
                relative_error(&drift, &flex_drift),
                1e-3,
            ),
        ],
        notes: vec![format!(
            "{} values; step α {}, noise σ {sigma}; noise mean {mean:.2e}, std {std:.5}; largest drift {largest_drift:.2e}",
            noise.len(),
            chain.step_size
        )],
    })
}

/// `clamp(x + clamp(x + eps·sign(g) − x, −eps, eps), 0, 1)`: one FGSM step and its projection,
/// one fused kernel on a fusing backend.
fn fgsm_chain(x: Tensor<4>, g: Tensor<4>, eps: f64) -> Tensor<4> {
    let next = x.clone() + g.sign() * eps;
    (x.clone() + (next - x).clamp(-eps, eps)).clamp(0.0, 1.0)
}

/// The case of jeat-core's `layout` test: `g` `[12, 1, 8, 8]` made as `[12, 8, 8, 1]` and
/// permuted (the strides the input gradient of a convolution on one-channel images has), given
/// canonical strides by `jeat_core::layout::row_major` as the engine does, then read by a fused
/// FGSM chain with `x` `[12, 1, 8, 8]`: the values must be the host's to 1e-6. The same chain on
/// `g` as it is (without the workaround) is reported in a note: burn 0.22.1's fusion misreads
/// it on wgpu.
pub fn fusion_layout(context: &Context) -> Result<Outcome> {
    const N: usize = 12;
    const SIDE: usize = 8;
    let count = N * SIDE * SIDE;
    let device = &context.device;
    let x_host = floats(rng::uniform([count], 0.0, 1.0, 0, &context.flex));
    let g_host = floats(rng::normal([count], 1.0, 1, &context.flex));
    let x = images(&x_host, [N, 1, SIDE, SIDE], device)?;
    let g = images(&g_host, [N, SIDE, SIDE, 1], device)?.permute([0, 3, 1, 2]);
    let want: Vec<f32> = x_host
        .iter()
        .zip(&g_host)
        .map(|(&x, &g)| (x + EPS as f32 * g.signum()).clamp(0.0, 1.0))
        .collect();
    let with_workaround = floats(fgsm_chain(x.clone(), row_major(g.clone()), EPS));
    let without = max_abs_difference(&floats(fgsm_chain(x, g, EPS)), &want);
    Ok(Outcome {
        measurements: vec![Measurement::at_most(
            "fused FGSM chain on a permuted [12, 1, 8, 8] tensor after row_major, max |device − host|",
            max_abs_difference(&with_workaround, &want),
            1e-6,
        )],
        notes: vec![match without > 1e-6 {
            true => format!(
                "without row_major this device misreads the permuted tensor (max error {without:.3}): burn's fusion defect is present here, and jeat's workaround is needed"
            ),
            false => "without row_major the permuted tensor is read correctly too".to_string(),
        }],
    })
}
