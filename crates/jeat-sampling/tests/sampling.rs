//! SGLD on an analytic energy, Gaussian seeds on synthetic data, the replay buffer, the grid.

use burn::prelude::*;
use burn::tensor::TensorData;
use jeat_data::{ImageSet, ImageShape};
use jeat_models::Classifier;
use jeat_sampling::buffer::{BufferInit, ReplayBuffer};
use jeat_sampling::grid::write_grid;
use jeat_sampling::{ClassGaussians, Energy, SamplingError, SgldConfig};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// One logit `f(x) = -½ (x - mu)ᵀ P (x - mu)` over 2-pixel images: `E(x) = -f(x)`, so
/// `p(x) ∝ exp(-E(x))` is `N(mu, P⁻¹)`.
struct Quadratic {
    mu: [f32; 2],
    precision: [[f32; 2]; 2],
}

impl Classifier for Quadratic {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let device = images.device().without_autodiff();
        let [batch, ..] = images.dims();
        let x = images.reshape([batch, 2])
            - Tensor::<2>::from_data(TensorData::new(self.mu.to_vec(), [1, 2]), &device);
        let p = Tensor::<2>::from_data(TensorData::new(self.precision.concat(), [2, 2]), &device);
        (x.clone().matmul(p) * x).sum_dim(1) * -0.5
    }

    fn num_classes(&self) -> usize {
        1
    }
}

fn quadratic() -> (Quadratic, [[f64; 2]; 2]) {
    // Sigma = [[0.01, 0.004], [0.004, 0.008]] (eigenvalues 0.0131, 0.0049); P = Sigma⁻¹.
    let sigma = [[0.01, 0.004], [0.004, 0.008]];
    let det = sigma[0][0] * sigma[1][1] - sigma[0][1] * sigma[1][0];
    let precision = [
        [(sigma[1][1] / det) as f32, (-sigma[0][1] / det) as f32],
        [(-sigma[1][0] / det) as f32, (sigma[0][0] / det) as f32],
    ];
    (
        Quadratic {
            mu: [0.4, 0.6],
            precision,
        },
        sigma,
    )
}

/// Langevin dynamics with noise sqrt(2·alpha) samples exp(-E): mean and covariance of 4,000
/// chains after 800 steps match N(mu, Sigma) within 4 standard errors (mean) and 8 % (variances;
/// the discretisation's own bias, 1 / (1 - alpha / 2s²) - 1, is at most 2 % here; the slowest
/// direction relaxes by exp(-12)).
#[test]
fn sgld_on_a_quadratic_energy_samples_its_gaussian() {
    let device = jeat_core::testing::device();
    let (model, sigma) = quadratic();
    let alpha = 2e-4;
    let chain = SgldConfig {
        steps: 800,
        step_size: alpha,
        noise: (2.0 * alpha).sqrt(),
        clamp: false,
        max_step: None,
    };
    let n = 4000;
    let start = jeat_core::rng::uniform([n, 1, 1, 2], 0.0, 1.0, 1, &device);
    let x = chain.run(&model, start, Energy::Marginal, None, 2).unwrap();
    let v: Vec<f64> = x.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
    let mean = [0, 1].map(|d| v.iter().skip(d).step_by(2).sum::<f64>() / n as f64);
    let cov = |a: usize, b: usize| {
        v.chunks(2)
            .map(|p| (p[a] - mean[a]) * (p[b] - mean[b]))
            .sum::<f64>()
            / (n - 1) as f64
    };
    for d in 0..2 {
        let standard_error = (sigma[d][d] / n as f64).sqrt();
        assert!(
            (mean[d] - [0.4, 0.6][d]).abs() < 4.0 * standard_error,
            "mean {mean:?}"
        );
        assert!(
            (cov(d, d) / sigma[d][d] - 1.0).abs() < 0.08,
            "variance {d}: {} vs {}",
            cov(d, d),
            sigma[d][d]
        );
    }
    assert!(
        (cov(0, 1) - sigma[0][1]).abs() < 0.15 * sigma[0][1],
        "covariance {} vs {}",
        cov(0, 1),
        sigma[0][1]
    );
}

#[test]
fn without_noise_a_small_step_descends_the_energy_monotonically() {
    let device = jeat_core::testing::device();
    let (model, _) = quadratic();
    let chain = SgldConfig {
        steps: 50,
        step_size: 1e-4,
        noise: 0.0,
        clamp: true,
        max_step: None,
    };
    let start = jeat_core::rng::uniform([64, 1, 1, 2], 0.0, 1.0, 3, &device);
    let reference = jeat_energy::Reference::labels(Tensor::zeros([64], &device));
    let mut energies: Vec<Vec<f32>> = Vec::new();
    chain
        .engine(Energy::Marginal)
        .run(&model, start, None, &reference, 0, &mut |visit| {
            energies.push(visit.loss.clone().into_data().try_to_vec::<f32>().unwrap())
        })
        .unwrap();
    for step in 1..energies.len() {
        for (chain, (now, before)) in energies[step].iter().zip(&energies[step - 1]).enumerate() {
            assert!(
                now <= before,
                "chain {chain} rose at step {step}: {before} -> {now}"
            );
        }
    }
    assert!(energies.last().unwrap().iter().sum::<f32>() < energies[0].iter().sum::<f32>() * 0.9);
}

struct Nan;

impl Classifier for Nan {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        images.reshape([batch as i64, -1]).sum_dim(1) * f32::NAN
    }

    fn num_classes(&self) -> usize {
        1
    }
}

#[test]
fn a_non_finite_energy_stops_the_chain_naming_the_step() {
    let device = jeat_core::testing::device();
    let start = Tensor::<4>::zeros([2, 1, 2, 2], &device);
    let err = SgldConfig::default()
        .run(&Nan, start, Energy::Marginal, None, 0)
        .unwrap_err();
    assert!(matches!(err, SamplingError::Chain(_)), "{err}");
    assert!(err.to_string().contains("at step 0"), "{err}");
}

/// Three classes of 2×2 grayscale images drawn from known Gaussians (then quantised to bytes):
/// the fit equals the empirical mean and covariance of the bytes, and draws from it reproduce
/// them.
#[test]
fn fitted_seeds_reproduce_class_means_and_covariances() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let shape = ImageShape::new(1, 2, 2);
    let means = [
        [0.2, 0.3, 0.4, 0.5],
        [0.7, 0.6, 0.5, 0.4],
        [0.5, 0.5, 0.5, 0.5],
    ];
    let per_class = 3000;
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for (class, mean) in means.iter().enumerate() {
        for _ in 0..per_class {
            let shared: f64 = StandardNormal.sample(&mut rng);
            for m in mean {
                let own: f64 = StandardNormal.sample(&mut rng);
                pixels.push(
                    ((m + 0.05 * shared + 0.03 * own) * 255.0)
                        .round()
                        .clamp(0.0, 255.0) as u8,
                );
            }
            labels.push(class as u16);
        }
    }
    let set = ImageSet::new("synthetic gaussians", shape, 3, pixels, labels).unwrap();
    let seeds = ClassGaussians::fit(&set, 1e-4).unwrap();
    for (class, mean) in means.iter().enumerate() {
        let fitted = seeds.mean(class);
        for (f, m) in fitted.iter().zip(mean) {
            assert!((f - m).abs() < 0.004, "class {class} mean {fitted:?}");
        }
        let covariance = seeds.covariance(class);
        for a in 0..4 {
            for b in 0..4 {
                let expected = 0.05f64.powi(2) + if a == b { 0.03f64.powi(2) + 1e-4 } else { 0.0 };
                assert!(
                    (covariance[(a, b)] - expected).abs() < 0.1 * expected,
                    "class {class} cov[{a},{b}] {} vs {expected}",
                    covariance[(a, b)]
                );
            }
        }
        // Draws from the fit have the fit's moments.
        let classes = vec![class; 20_000];
        let draws = seeds.sample_raw(&classes, 9);
        for (d, f) in fitted.iter().enumerate() {
            let m = draws
                .iter()
                .skip(d)
                .step_by(4)
                .map(|&v| f64::from(v))
                .sum::<f64>()
                / 20_000.0;
            assert!((m - f).abs() < 0.002, "draw mean {m} vs {f}");
        }
        let (m0, m1) = (fitted[0], fitted[1]);
        let c01 = draws
            .chunks(4)
            .map(|p| (f64::from(p[0]) - m0) * (f64::from(p[1]) - m1))
            .sum::<f64>()
            / 20_000.0;
        assert!(
            (c01 - covariance[(0, 1)]).abs() < 0.1 * covariance[(0, 1)],
            "draw cov {c01}"
        );
    }
}

/// Logits read off the first pixels: a differentiable classifier of `classes` classes over
/// 1×2×2 images.
struct FirstPixels {
    classes: usize,
}

impl Classifier for FirstPixels {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        images.reshape([batch, 4]).narrow(1, 0, self.classes)
    }

    fn num_classes(&self) -> usize {
        self.classes
    }
}

/// Seeds fitted on labels that miss a class of the model, or on images of another shape, are
/// refused before anything is generated (a class without seeds came out all black).
#[test]
fn seeds_that_miss_a_class_or_the_shape_are_refused() {
    let shape = ImageShape::new(1, 2, 2);
    let pixels: Vec<u8> = (0..6 * 4).map(|v| (v * 10) as u8).collect();
    let set = ImageSet::new("two classes", shape, 2, pixels, vec![0, 0, 0, 1, 1, 1]).unwrap();
    let seeds = ClassGaussians::fit(&set, 1e-2).unwrap();
    let device = jeat_core::testing::device();
    let generator = jeat_sampling::Generator::santurkar();
    let request = |shape: [usize; 3]| jeat_sampling::Request {
        generator: &generator,
        count: 1,
        shape,
        sources: jeat_sampling::generate::Sources {
            seeds: Some(&seeds),
            buffer: None,
        },
        batch_size: 8,
        seed: 0,
        device: &device,
    };
    let made = std::cell::Cell::new(0);
    let mut sink = |_: jeat_sampling::Generated| {
        made.set(made.get() + 1);
        Ok(())
    };
    let three = FirstPixels { classes: 3 };
    let err = jeat_sampling::generate::generate(&three, &request([1, 2, 2]), &mut sink)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("3 classes") && err.contains("class(es) 2 "),
        "{err}"
    );
    let two = FirstPixels { classes: 2 };
    let err = jeat_sampling::generate::generate(&two, &request([3, 2, 2]), &mut sink)
        .unwrap_err()
        .to_string();
    assert!(err.contains("1x2x2") && err.contains("3x2x2"), "{err}");
    assert_eq!(made.get(), 0);
    jeat_sampling::generate::generate(&two, &request([1, 2, 2]), &mut sink).unwrap();
    assert_eq!(made.get(), 1);
}

#[test]
fn a_class_with_too_few_images_is_named() {
    let shape = ImageShape::new(1, 1, 2);
    let set = ImageSet::new("tiny", shape, 2, vec![1, 2, 3, 4, 5, 6], vec![0, 0, 1]).unwrap();
    let err = ClassGaussians::fit(&set, 1e-4).unwrap_err();
    assert_eq!(
        err.to_string(),
        "class 1 has 1 image(s); fitting its Gaussian needs at least 2"
    );
}

#[test]
fn the_buffer_reinitialises_about_rho_of_its_draws_and_round_trips() {
    let device = jeat_core::testing::device();
    let mut buffer =
        ReplayBuffer::new(500, [1, 2, 2], 0.05, BufferInit::Uniform, None, None, 0).unwrap();
    // Mark every stored sample with -1 so that fresh noise (in [0, 1)) is recognisable.
    let slots: Vec<usize> = (0..500).collect();
    buffer.write_back(&slots, Tensor::<4>::full([500, 1, 2, 2], -1.0, &device));
    let draw = buffer.draw(20_000, None, 1, &device).unwrap();
    let values: Vec<f32> = draw.images.into_data().try_to_vec().unwrap();
    let fresh = values.chunks(4).filter(|v| v[0] >= 0.0).count();
    assert_eq!(fresh, draw.reinitialised);
    // Binomial(20000, 0.05): mean 1000, sd ≈ 31.
    assert!(
        (fresh as f64 - 1000.0).abs() < 125.0,
        "{fresh} fresh of 20000"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("buffer.safetensors");
    buffer.save(&path).unwrap();
    assert_eq!(ReplayBuffer::load(&path).unwrap(), buffer);
    std::fs::write(&path, b"garbage").unwrap();
    assert!(
        ReplayBuffer::load(&path)
            .unwrap_err()
            .to_string()
            .contains("buffer.safetensors")
    );
}

#[test]
fn the_grid_has_one_row_per_class() {
    let device = jeat_core::testing::device();
    let images = Tensor::<4>::ones([5, 3, 4, 4], &device) * 0.5;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.png");
    write_grid(&path, images, &[0, 1, 1, 2, 2], 3, 4).unwrap();
    let (shape, _) = jeat_data::png_folder::decode_png(&path).unwrap();
    assert_eq!(
        (shape.channels, shape.height, shape.width),
        (3, 3 * 6 + 2, 4 * 6 + 2)
    );
}

/// A linear energy `E(x) = -Σ x` (one logit, the pixel sum): its gradient is −1 everywhere.
struct Sum;

impl Classifier for Sum {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        images.reshape([batch as i64, -1]).sum_dim(1)
    }

    fn num_classes(&self) -> usize {
        1
    }
}

/// The training sampler's default is JEM's chain: 20 steps of alpha 1 and sigma 0.01 in JEM's
/// [-1, 1] units (0.25 and 0.005 in [0, 1] units), not clamped. On `E = -Σ x` one step moves
/// every pixel by +0.25 (JEM: +0.5 in [-1, 1] units) with noise of sd 0.005, past 1.
#[test]
fn the_default_training_chain_is_jems_in_its_units_and_not_clamped() {
    let default = SgldConfig::default();
    assert_eq!(default.steps, 20);
    assert!(!default.clamp, "JEM does not clamp its samples");
    let one_step = SgldConfig {
        steps: 1,
        ..default
    };
    let device = jeat_core::testing::device();
    let start = Tensor::<4>::full([500, 1, 4, 4], 0.9, &device);
    let end: Vec<f32> = one_step
        .run(&Sum, start, Energy::Marginal, None, 3)
        .unwrap()
        .into_data()
        .try_to_vec()
        .unwrap();
    let moves: Vec<f64> = end.iter().map(|&v| f64::from(v) - 0.9).collect();
    let mean = moves.iter().sum::<f64>() / moves.len() as f64;
    let sd = (moves.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / moves.len() as f64).sqrt();
    // JEM's step in its units, x' = 2x - 1: x' ← x' + 1 · ∂f/∂x' + 0.01 ε with ∂f/∂x' = ½,
    // a move of ½ in x' (0.25 in x), noise 0.01 in x' (0.005 in x).
    let (jem_move, jem_noise) = (1.0 * 0.5, 0.01);
    assert!((mean - jem_move / 2.0).abs() < 1e-3, "mean move {mean}");
    assert!((sd - jem_noise / 2.0).abs() < 5e-4, "noise sd {sd}");
    assert!(end.iter().all(|&v| v > 1.0), "the chain was clamped");
    let clamped = SgldConfig {
        clamp: true,
        ..one_step
    };
    let end: Vec<f32> = clamped
        .run(
            &Sum,
            Tensor::<4>::full([4, 1, 4, 4], 0.9, &device),
            Energy::Marginal,
            None,
            3,
        )
        .unwrap()
        .into_data()
        .try_to_vec()
        .unwrap();
    assert!(end.iter().all(|&v| v <= 1.0));
}

/// JEM's class-conditional buffer: draws for a label come from that label's part of the slots.
#[test]
fn a_class_conditional_buffer_draws_each_label_from_its_part() {
    let device = jeat_core::testing::device();
    let mut buffer =
        ReplayBuffer::new(30, [1, 1, 1], 0.0, BufferInit::Uniform, Some(3), None, 0).unwrap();
    assert_eq!((buffer.len(), buffer.classes()), (30, Some(3)));
    // Mark each slot with its class.
    let slots: Vec<usize> = (0..30).collect();
    let marks: Vec<f32> = slots.iter().map(|&s| (s / 10) as f32).collect();
    buffer.write_back(
        &slots,
        Tensor::from_data(TensorData::new(marks, [30, 1, 1, 1]), &device),
    );
    let labels = [2, 0, 1, 1, 2, 0, 0, 2];
    let draw = buffer.draw_for(&labels, None, 4, &device).unwrap();
    let values: Vec<f32> = draw.images.into_data().try_to_vec().unwrap();
    let expected: Vec<f32> = labels.iter().map(|&y| y as f32).collect();
    assert_eq!(values, expected);
    assert!(draw.slots.iter().zip(&labels).all(|(&s, &y)| s / 10 == y));
    assert!(buffer.draw_for(&[3], None, 4, &device).is_err());
    let plain = ReplayBuffer::new(30, [1, 1, 1], 0.0, BufferInit::Uniform, None, None, 0).unwrap();
    assert!(plain.draw_for(&[0], None, 4, &device).is_err());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("buffer.safetensors");
    buffer.save(&path).unwrap();
    assert_eq!(ReplayBuffer::load(&path).unwrap(), buffer);
}

/// A linear energy `E(x) = -Σ c_p x_p` with one slope per pixel of a 1×1×4 image.
struct Slopes([f32; 4]);

impl Classifier for Slopes {
    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, ..] = images.dims();
        let slopes =
            Tensor::<1>::from_floats(self.0.as_slice(), &images.device()).reshape([1, 1, 1, 4]);
        (images * slopes).reshape([batch as i64, -1]).sum_dim(1)
    }

    fn num_classes(&self) -> usize {
        1
    }
}

/// JEM++'s proximal step, written in its own [-1, 1] units: `x' ← clamp(x' + clamp(∂f/∂x',
/// -1, 1), -1, 1)` with `f = -E`; in [0, 1] units the chain must land on the same points, the
/// steep pixels moved by the bound and the gentle ones by the gradient step.
#[test]
fn the_jempp_chain_takes_its_clamped_step_in_its_units() {
    let slopes = [0.4f32, 1.0, 4.0, 8.0];
    let start = 0.2f64;
    let device = jeat_core::testing::device();
    let end: Vec<f32> = SgldConfig::jempp(1)
        .run(
            &Slopes(slopes),
            Tensor::<4>::full([2, 1, 1, 4], start, &device),
            Energy::Marginal,
            None,
            0,
        )
        .unwrap()
        .into_data()
        .try_to_vec()
        .unwrap();
    for (p, &slope) in slopes.iter().enumerate() {
        // x' = 2x - 1, so ∂f/∂x' = slope / 2.
        let x = 2.0 * start - 1.0;
        let x = (x + (f64::from(slope) / 2.0).clamp(-1.0, 1.0)).clamp(-1.0, 1.0);
        let expected = (x + 1.0) / 2.0;
        for row in 0..2 {
            let ours = f64::from(end[4 * row + p]);
            assert!(
                (ours - expected).abs() < 1e-6,
                "pixel {p}: {ours} vs {expected}"
            );
        }
    }
    assert!(
        SgldConfig {
            max_step: Some(0.0),
            ..SgldConfig::jempp(1)
        }
        .validate()
        .is_err()
    );
}
