//! The gradient of a 2-D convolution's weights on the CPU, in pure Rust: per image, the im2col
//! matrix of its input times its output gradient, `dW += dY_n · cols(x_n)ᵀ`, one GEMM per image
//! on the `gemm` crate (the one flex uses), images split over rayon's threads, each with an
//! accumulator of its own, summed at the end.
//!
//! flex (burn 0.22) has no weight-gradient kernel: burn's generic fallback runs it as a
//! convolution over swapped dimensions, many tall products nine columns wide, 4–8× slower than
//! oneDNN on a WideResNet (docs/performance.md). This file takes plain NCHW/OIHW `f32` slices and
//! no burn type, so that it can move into burn-flex as its `conv2d_weight_backward` as it is.

use super::Geometry;
use rayon::prelude::*;

/// `dw [out_channels, in_channels, kh, kw]` of the convolution `geometry` (groups 1) from its
/// input `x [batch, in_channels, h, w]` and output gradient `dy [batch, out_channels, oh, ow]`.
///
/// # Panics
/// When a slice's length is not the one `geometry` implies.
pub fn weight_gradient(geometry: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let g = geometry;
    assert_eq!(x.len(), g.input_len(), "x");
    assert_eq!(dy.len(), g.output_len(), "dy");
    let (rows, plane) = (
        g.in_channels * g.kernel[0] * g.kernel[1],
        g.output[0] * g.output[1],
    );
    let (image_in, image_out) = (g.input_len() / g.batch, g.output_len() / g.batch);
    let threads = rayon::current_num_threads().clamp(1, g.batch.max(1));
    let per_thread = g.batch.div_ceil(threads);
    let partials: Vec<Vec<f32>> = (0..g.batch)
        .collect::<Vec<_>>()
        .par_chunks(per_thread.max(1))
        .map(|images| {
            let mut dw = vec![0f32; g.out_channels * rows];
            let mut cols = vec![0f32; rows * plane];
            for &n in images {
                im2col(g, &x[n * image_in..(n + 1) * image_in], &mut cols);
                let dy_n = &dy[n * image_out..(n + 1) * image_out];
                // dw [oc, rows] += dy_n [oc, plane] · colsᵀ [plane, rows].
                // SAFETY: the three matrices lie inside their slices with the strides given
                // (`dw` oc × rows row-major, `dy_n` oc × plane row-major, `cols` rows × plane
                // read transposed), and `dw` does not alias the others.
                unsafe {
                    gemm::gemm(
                        g.out_channels,
                        rows,
                        plane,
                        dw.as_mut_ptr(),
                        1,
                        rows as isize,
                        true,
                        dy_n.as_ptr(),
                        1,
                        plane as isize,
                        cols.as_ptr(),
                        plane as isize,
                        1,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            }
            dw
        })
        .collect();
    let mut dw = vec![0f32; g.out_channels * rows];
    for partial in partials {
        dw.iter_mut().zip(partial).for_each(|(a, b)| *a += b);
    }
    dw
}

/// The im2col matrix of one image `x [in_channels, h, w]`: row `(i, p, q)`, column `(r, c)`
/// holds `x[i, r·sh + p·dh − top, c·sw + q·dw − left]`, or 0 in the padding.
fn im2col(g: &Geometry, x: &[f32], cols: &mut [f32]) {
    let [h, w] = g.input;
    let [oh, ow] = g.output;
    let [kh, kw] = g.kernel;
    let mut rows = cols.chunks_exact_mut(oh * ow);
    for i in 0..g.in_channels {
        let channel = &x[i * h * w..(i + 1) * h * w];
        for p in 0..kh {
            for q in 0..kw {
                let row = rows.next().expect("rows = in_channels · kh · kw");
                for r in 0..oh {
                    let out = &mut row[r * ow..(r + 1) * ow];
                    let y = (r * g.stride[0] + p * g.dilation[0]) as isize - g.padding[0] as isize;
                    if y < 0 || y >= h as isize {
                        out.fill(0.0);
                        continue;
                    }
                    let line = &channel[y as usize * w..(y as usize + 1) * w];
                    let offset = (q * g.dilation[1]) as isize - g.padding[1] as isize;
                    for (c, value) in out.iter_mut().enumerate() {
                        let x = (c * g.stride[1]) as isize + offset;
                        *value = match x >= 0 && x < w as isize {
                            true => line[x as usize],
                            false => 0.0,
                        };
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weight gradient from its definition, `Σ_n Σ_(r,c) dy[n,o,r,c] · x[n,i,r·s+p·d−pad, …]`,
    /// in f64.
    fn definition(g: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f64> {
        let [h, w] = g.input;
        let [oh, ow] = g.output;
        let [kh, kw] = g.kernel;
        let mut dw = vec![0f64; g.weights_len()];
        for n in 0..g.batch {
            for o in 0..g.out_channels {
                for i in 0..g.in_channels {
                    for p in 0..kh {
                        for q in 0..kw {
                            let mut sum = 0f64;
                            for r in 0..oh {
                                for c in 0..ow {
                                    let y = (r * g.stride[0] + p * g.dilation[0]) as isize
                                        - g.padding[0] as isize;
                                    let xx = (c * g.stride[1] + q * g.dilation[1]) as isize
                                        - g.padding[1] as isize;
                                    if y < 0 || xx < 0 || y >= h as isize || xx >= w as isize {
                                        continue;
                                    }
                                    let xi = ((n * g.in_channels + i) * h + y as usize) * w
                                        + xx as usize;
                                    let yi = ((n * g.out_channels + o) * oh + r) * ow + c;
                                    sum += f64::from(x[xi]) * f64::from(dy[yi]);
                                }
                            }
                            dw[((o * g.in_channels + i) * kh + p) * kw + q] += sum;
                        }
                    }
                }
            }
        }
        dw
    }

    #[test]
    fn the_kernel_is_the_definition() {
        let values = |len: usize, seed: usize| -> Vec<f32> {
            (0..len)
                .map(|i| (((i * 7919 + seed * 104729) % 2001) as f32) / 1000.0 - 1.0)
                .collect()
        };
        // (stride, padding [top, left], dilation, output): padding asymmetric in the last case.
        for (stride, padding, dilation, output) in [
            (1, [1, 1], 1, [9, 8]),
            (2, [1, 1], 1, [5, 4]),
            (1, [0, 0], 2, [5, 4]),
            (2, [2, 0], 1, [6, 3]),
        ] {
            let g = Geometry {
                batch: 3,
                in_channels: 4,
                input: [9, 8],
                out_channels: 5,
                kernel: [3, 3],
                output,
                stride: [stride; 2],
                padding,
                dilation: [dilation; 2],
            };
            let (x, dy) = (values(g.input_len(), 1), values(g.output_len(), 2));
            let ours = weight_gradient(&g, &x, &dy);
            for (a, b) in ours.iter().zip(definition(&g, &x, &dy)) {
                assert!((f64::from(*a) - b).abs() < 1e-4, "{g:?}: {a} vs {b}");
            }
        }
    }
}
