//! numpy's legacy `RandomState` permutations, bit for bit: torch-fidelity shuffles images before
//! the Inception Score's splits and draws KID's subsets with `np.random.RandomState(2020)`, so
//! reproducing its numbers needs the same stream (MT19937 seeded by `init_genrand`, Fisher–Yates
//! from the end with numpy's masked rejection sampling of each swap index).

use rand_mt::Mt;

/// `np.random.RandomState(seed)`, for the draws torch-fidelity makes.
#[derive(Debug, Clone)]
pub struct LegacyRandomState {
    mt: Mt,
}

impl LegacyRandomState {
    /// `np.random.RandomState(seed)` for an integer seed.
    pub fn new(seed: u32) -> Self {
        Self { mt: Mt::new(seed) }
    }

    /// A uniform integer in `0..=max` (numpy's `random_interval`).
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        loop {
            let value = if max <= u64::from(u32::MAX) {
                u64::from(self.mt.next_u32()) & mask
            } else {
                self.mt.next_u64() & mask
            };
            if value <= max {
                return value;
            }
        }
    }

    /// `permutation(n)`: `0..n` shuffled.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.interval(i as u64) as usize;
            order.swap(i, j);
        }
        order
    }

    /// `choice(n, m, replace=False)`: the first `m` of a permutation of `0..n`.
    pub fn choice_without_replacement(&mut self, n: usize, m: usize) -> Vec<usize> {
        let mut order = self.permutation(n);
        order.truncate(m);
        order
    }
}
