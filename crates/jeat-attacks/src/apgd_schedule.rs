//! APGD's step-size schedule, on the host: the checkpoints and the decision at each of them to
//! halve a point's step (Croce & Hein 2020, as fra31/auto-attack computes it).
//!
//! The first checkpoint comes after `⌊0.22·N⌋` iterations (at least 1), later periods shrink by
//! `⌊0.03·N⌋` down to `⌊0.06·N⌋`. At a checkpoint a point's step is halved when its loss rose in
//! at most `rho` of the last `period` steps, or when its best loss did not improve since the
//! last checkpoint and its step was not halved there. As in the reference, the first window's
//! oldest comparison is against a zero (its loss history is a zero-filled array whose last row,
//! read at index −1, is not written yet), not against the starting loss: a negative loss (the
//! targeted DLR loss of a robust point) therefore does not count as a rise there.

/// The per-point bookkeeping of one APGD run.
#[derive(Debug, Clone)]
pub struct StepSchedule {
    iterations: usize,
    rho: f64,
    period: usize,
    min_period: usize,
    decrease: usize,
    since_check: usize,
    /// Losses at the iterates, `history[i][point]`.
    history: Vec<Vec<f32>>,
    loss_best: Vec<f32>,
    best_at_last_check: Vec<f32>,
    halved_at_last_check: Vec<bool>,
}

/// What one iteration's losses changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Points whose best loss this iterate improved (strictly).
    pub improved: Vec<bool>,
    /// At a checkpoint: the points whose step is halved (they restart from their best point).
    pub halve: Option<Vec<bool>>,
}

impl StepSchedule {
    /// The schedule of a run of `iterations` iterations with threshold `rho`, from the losses
    /// at the starting points.
    pub fn new(iterations: usize, rho: f64, start_loss: Vec<f32>) -> Self {
        let n = start_loss.len();
        Self {
            iterations,
            rho,
            period: ((0.22 * iterations as f64) as usize).max(1),
            min_period: ((0.06 * iterations as f64) as usize).max(1),
            decrease: ((0.03 * iterations as f64) as usize).max(1),
            since_check: 0,
            history: Vec::with_capacity(iterations),
            best_at_last_check: start_loss.clone(),
            loss_best: start_loss,
            halved_at_last_check: vec![true; n],
        }
    }

    /// The best loss of each point so far.
    pub fn best(&self) -> &[f32] {
        &self.loss_best
    }

    /// Records the losses of the next iteration's iterates (call once per iteration, in order).
    pub fn record(&mut self, current: Vec<f32>) -> Decision {
        let improved: Vec<bool> = current
            .iter()
            .zip(&self.loss_best)
            .map(|(c, b)| c > b)
            .collect();
        for ((best, &c), &imp) in self.loss_best.iter_mut().zip(&current).zip(&improved) {
            if imp {
                *best = c;
            }
        }
        self.history.push(current);
        self.since_check += 1;
        if self.since_check < self.period {
            return Decision {
                improved,
                halve: None,
            };
        }
        let i = self.history.len() - 1;
        let period = self.period;
        // The reference indexes a `[iterations, n]` array: row −1 is the last row, still zero
        // unless this is the last iteration.
        let last = self.iterations.max(1) - 1;
        let loss_at = |j: isize, p: usize| -> f32 {
            match usize::try_from(j) {
                Ok(j) => self.history[j][p],
                Err(_) if i == last => self.history[last][p],
                Err(_) => 0.0,
            }
        };
        let halve: Vec<bool> = (0..self.loss_best.len())
            .map(|p| {
                let rises = (0..period)
                    .filter(|&back| {
                        let j = i as isize - back as isize;
                        loss_at(j, p) > loss_at(j - 1, p)
                    })
                    .count();
                let oscillating = rises as f64 <= period as f64 * self.rho;
                let stalled = !self.halved_at_last_check[p]
                    && self.best_at_last_check[p] >= self.loss_best[p];
                oscillating || stalled
            })
            .collect();
        self.halved_at_last_check = halve.clone();
        self.best_at_last_check = self.loss_best.clone();
        self.period = self
            .period
            .saturating_sub(self.decrease)
            .max(self.min_period);
        self.since_check = 0;
        Decision {
            improved,
            halve: Some(halve),
        }
    }
}
