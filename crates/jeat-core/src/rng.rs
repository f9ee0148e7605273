//! Seeds and seeded noise. Every random draw of a run (epoch order, augmentation, random
//! starts, SGLD noise, buffer draws, restarts) comes from a generator seeded by the run's seed and
//! the draw's position, never from a generator's running state, and random tensors are made on
//! the host from such a seed: runs are reproducible on any backend, and a resumed run draws
//! exactly what an uninterrupted one would have.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// SplitMix64's finaliser: a bijection of `u64` that mixes every bit into every other.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A seed derived from `seed` and a path of counters (epoch, step, restart, purpose, …), well
/// mixed: different paths give unrelated seeds (`derive(s, &[1, 2]) ≠ derive(s, &[2, 1])`).
pub fn derive(seed: u64, path: &[u64]) -> u64 {
    path.iter()
        .fold(mix(seed.wrapping_add(0x9e37_79b9_7f4a_7c15)), |acc, &p| {
            mix(acc ^ mix(p.wrapping_add(0x632b_e59b_d9b4_e019)))
        })
}

/// A generator for `seed`.
pub fn generator(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Uniform values in `[low, high)`.
pub fn uniform<const D: usize>(
    shape: [usize; D],
    low: f64,
    high: f64,
    seed: u64,
    device: &Device,
) -> Tensor<D> {
    let mut rng = generator(seed);
    let n = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(low..high) as f32).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// `std · N(0, 1)` values.
pub fn normal<const D: usize>(
    shape: [usize; D],
    std: f64,
    seed: u64,
    device: &Device,
) -> Tensor<D> {
    let mut rng = generator(seed);
    let n = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            (z * std) as f32
        })
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Values ±1 with equal probability.
pub fn signs<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let mut rng = generator(seed);
    let n = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_depend_on_every_counter_and_its_place() {
        assert_ne!(derive(1, &[2, 3]), derive(1, &[3, 2]));
        assert_ne!(derive(1, &[0]), derive(2, &[0]));
        assert_ne!(derive(1, &[]), derive(1, &[0]));
        assert_eq!(derive(7, &[4, 5]), derive(7, &[4, 5]));
        // The finaliser is SplitMix64's: its published output for the state after one step from 0.
        assert_eq!(mix(0x9e37_79b9_7f4a_7c15), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn draws_depend_only_on_the_seed_and_have_the_right_moments() {
        let device = Device::flex();
        let a: Vec<f32> = normal([10_000], 2.0, 5, &device)
            .into_data()
            .try_to_vec()
            .unwrap();
        let b: Vec<f32> = normal([10_000], 2.0, 5, &device)
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(a, b);
        let mean = a.iter().map(|&v| f64::from(v)).sum::<f64>() / a.len() as f64;
        let var = a
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        assert!(
            mean.abs() < 0.06 && (var.sqrt() - 2.0).abs() < 0.06,
            "{mean} {var}"
        );
        let u: Vec<f32> = uniform([1000], -0.5, 0.5, 1, &device)
            .into_data()
            .try_to_vec()
            .unwrap();
        assert!(u.iter().all(|&v| (-0.5..0.5).contains(&v)));
    }
}
