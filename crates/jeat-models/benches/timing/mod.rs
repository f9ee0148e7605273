//! Timing shared by the benches that print their own tables (conv_lowering, conv_paths).

use std::time::Instant;

/// The median of five timed runs of `run`, after one untimed warm-up.
pub fn median_seconds(mut run: impl FnMut()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[2]
}
