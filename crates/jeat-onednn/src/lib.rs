//! oneDNN's CPU convolutions, the ones PyTorch runs on CPUs, on plain row-major buffers: the
//! forward pass, the gradient of the input and the gradient of the weights (and bias) of a 2-D
//! convolution in f32, NCHW activations and OIHW weights, as burn and PyTorch keep them.
//!
//! A small C++ shim (`shim/conv.cpp`) makes the calls; it lets oneDNN choose its own layouts
//! (blocked ones on AVX-512 and AMX; a forced plain layout falls to a reference kernel 100× slower),
//! reorders activations into them and back on every call, reorders each weight buffer once
//! (cached under a key the caller gives until it calls [`forget_weights`]), and caches the
//! primitives by shape. It builds against oneDNN 2.x (Debian 12's `libdnnl-dev`, 2.6) and 3.x.
//!
//! This crate knows nothing of burn: `jeat-models` routes flex's convolutions here.
//!
//! oneDNN's OpenMP threads wait for work by spinning unless `OMP_WAIT_POLICY=PASSIVE` is set when
//! the process starts; on a machine with few cores that spinning takes time from the other
//! threads of the process (see docs/performance.md for what it costs and how `jeat` sets it).

use std::ffi::{c_char, c_int};

/// The shape of one convolution: `x [batch, in_channels, in_h, in_w]` convolved with
/// `w [out_channels, in_channels, kernel_h, kernel_w]` (plus `bias [out_channels]`) gives
/// `y [batch, out_channels, out_h, out_w]`. Dilation counts as in burn and PyTorch (1: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvShape {
    /// `N`.
    pub batch: usize,
    /// `C_in`.
    pub in_channels: usize,
    /// `[H, W]` of the input.
    pub input: [usize; 2],
    /// `C_out`.
    pub out_channels: usize,
    /// `[KH, KW]`.
    pub kernel: [usize; 2],
    /// `[OH, OW]` of the output.
    pub output: [usize; 2],
    /// Stride per spatial dimension.
    pub stride: [usize; 2],
    /// Zero padding before the first row and column (`[top, left]`); the padding after the last
    /// ones is what makes the output `output` (the same on both sides where the stride divides
    /// the span).
    pub padding: [usize; 2],
    /// Dilation per spatial dimension (1: none).
    pub dilation: [usize; 2],
    /// Whether a bias is added.
    pub bias: bool,
    /// The precision the convolution reads its inputs in.
    pub precision: Precision,
    /// The forward pass applies a ReLU to its output, fused into the convolution (for
    /// inference: the gradients refuse such a shape).
    pub relu: bool,
}

/// The precision of a convolution's inputs: activations, weights and output gradients are
/// converted to it as they are reordered into oneDNN's layouts; outputs and accumulation stay
/// f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// f32 throughout.
    #[default]
    F32,
    /// bf16 inputs (AMX or AVX-512-bf16 kernels), f32 accumulation and outputs.
    Bf16,
}

impl ConvShape {
    /// Elements of the input.
    pub fn input_len(&self) -> usize {
        self.batch * self.in_channels * self.input[0] * self.input[1]
    }

    /// Elements of the weights.
    pub fn weights_len(&self) -> usize {
        self.out_channels * self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// Elements of the output.
    pub fn output_len(&self) -> usize {
        self.batch * self.out_channels * self.output[0] * self.output[1]
    }

    fn ffi(&self) -> ffi::ConvShape {
        let i = |v: usize| v as i64;
        ffi::ConvShape {
            n: i(self.batch),
            ic: i(self.in_channels),
            ih: i(self.input[0]),
            iw: i(self.input[1]),
            oc: i(self.out_channels),
            kh: i(self.kernel[0]),
            kw: i(self.kernel[1]),
            oh: i(self.output[0]),
            ow: i(self.output[1]),
            stride_h: i(self.stride[0]),
            stride_w: i(self.stride[1]),
            pad_h: i(self.padding[0]),
            pad_w: i(self.padding[1]),
            dilation_h: i(self.dilation[0]),
            dilation_w: i(self.dilation[1]),
            has_bias: i32::from(self.bias),
            bf16: i32::from(self.precision == Precision::Bf16),
            relu: i32::from(self.relu),
        }
    }
}

/// What oneDNN refused, in its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// oneDNN's version, as the loaded library reports it: `(major, minor, patch)`; zeros in a
/// build without oneDNN ([`LINKED`]).
pub fn version() -> (u32, u32, u32) {
    let (mut major, mut minor, mut patch) = (0i32, 0i32, 0i32);
    // SAFETY: the shim writes three integers through the pointers it is given.
    unsafe { ffi::jeat_onednn_version(&mut major, &mut minor, &mut patch) };
    (major as u32, minor as u32, patch as u32)
}

fn check(what: &str, len: usize, expected: usize) -> Result<(), Error> {
    match len == expected {
        true => Ok(()),
        false => Err(Error(format!(
            "{what} has {len} elements, the convolution's shape needs {expected}"
        ))),
    }
}

/// Gradients are of the plain convolution: a shape with a fused ReLU has none.
fn no_fused_relu(shape: &ConvShape) -> Result<(), Error> {
    match shape.relu {
        true => Err(Error(
            "a convolution with a fused ReLU is for inference: it has no gradient here".into(),
        )),
        false => Ok(()),
    }
}

/// Runs a shim call with an error buffer, turning a non-zero return into its message.
fn call(body: impl FnOnce(*mut c_char, usize) -> c_int) -> Result<(), Error> {
    let mut message = vec![0u8; 512];
    let status = body(message.as_mut_ptr().cast(), message.len());
    if status == 0 {
        return Ok(());
    }
    let end = message
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(message.len());
    Err(Error(String::from_utf8_lossy(&message[..end]).into_owned()))
}

/// A vector of `len` values that `fill` writes through the pointer it is given, allocated
/// without initialising: oneDNN writes every element of a primitive's or a reorder's output, so
/// only its length is set after `fill` succeeded (zeroing first cost 3 % of a training step).
fn filled(len: usize, fill: impl FnOnce(*mut f32) -> Result<(), Error>) -> Result<Vec<f32>, Error> {
    let mut values = Vec::with_capacity(len);
    fill(values.as_mut_ptr())?;
    // SAFETY: `fill` succeeded, and the shim's call wrote all `len` elements.
    unsafe { values.set_len(len) };
    Ok(values)
}

/// `y = conv(x, w) + bias`, `[batch, out_channels, out_h, out_w]`. `weights_key` names the buffer
/// `w` for the cache of reordered weights (0: do not cache); a caller that reuses a key must
/// [`forget_weights`] it first whenever the buffer's contents may have changed.
pub fn forward(
    shape: &ConvShape,
    x: &[f32],
    w: &[f32],
    weights_key: u64,
    bias: Option<&[f32]>,
) -> Result<Vec<f32>, Error> {
    check("x", x.len(), shape.input_len())?;
    check("w", w.len(), shape.weights_len())?;
    if let Some(b) = bias {
        check("bias", b.len(), shape.out_channels)?;
    }
    if shape.bias != bias.is_some() {
        return Err(Error(
            "the shape's bias flag and the bias given disagree".into(),
        ));
    }
    let s = shape.ffi();
    filled(shape.output_len(), |y| {
        // SAFETY: every input has the length the shape implies (checked above) and outlives the
        // call; `y` has room for the output; the shim writes only into `y` and the error buffer.
        call(|error, len| unsafe {
            ffi::jeat_onednn_conv_forward(
                &s,
                x.as_ptr(),
                w.as_ptr(),
                weights_key,
                bias.map_or(std::ptr::null(), <[f32]>::as_ptr),
                y,
                error,
                len,
            )
        })
    })
}

/// `dx [batch, in_channels, in_h, in_w]`, the gradient of the input, from the gradient of the
/// output `dy` and the weights `w` (cached under `weights_key` as in [`forward`]).
pub fn backward_data(
    shape: &ConvShape,
    dy: &[f32],
    w: &[f32],
    weights_key: u64,
) -> Result<Vec<f32>, Error> {
    check("dy", dy.len(), shape.output_len())?;
    check("w", w.len(), shape.weights_len())?;
    no_fused_relu(shape)?;
    let s = shape.ffi();
    filled(shape.input_len(), |dx| {
        // SAFETY: as in `forward`; the shim writes only into `dx` and the error buffer.
        call(|error, len| unsafe {
            ffi::jeat_onednn_conv_backward_data(
                &s,
                dy.as_ptr(),
                w.as_ptr(),
                weights_key,
                dx,
                error,
                len,
            )
        })
    })
}

/// `dw [out_channels, in_channels, kernel_h, kernel_w]` and, where the shape has a bias,
/// `db [out_channels]`: the gradients of the weights and bias, from the input `x` and the
/// gradient of the output `dy`.
pub fn backward_weights(
    shape: &ConvShape,
    x: &[f32],
    dy: &[f32],
) -> Result<(Vec<f32>, Option<Vec<f32>>), Error> {
    check("x", x.len(), shape.input_len())?;
    check("dy", dy.len(), shape.output_len())?;
    no_fused_relu(shape)?;
    let s = shape.ffi();
    let mut db = shape.bias.then(|| vec![0f32; shape.out_channels]);
    let db_ptr = db
        .as_mut()
        .map_or(std::ptr::null_mut(), |db| db.as_mut_ptr());
    let dw = filled(shape.weights_len(), |dw| {
        // SAFETY: as in `forward`; the shim writes only into `dw`, `db` (as long as the shape
        // says, present exactly when it has a bias) and the error buffer.
        call(|error, len| unsafe {
            ffi::jeat_onednn_conv_backward_weights(
                &s,
                x.as_ptr(),
                dy.as_ptr(),
                dw,
                db_ptr,
                error,
                len,
            )
        })
    })?;
    Ok((dw, db))
}

/// The implementation oneDNN chose for the forward pass of `shape` on this CPU (e.g.
/// `brgconv:avx512_core_amx`; `ref:any` is its slow reference kernel).
pub fn implementation(shape: &ConvShape) -> Result<String, Error> {
    let s = shape.ffi();
    let mut name = vec![0u8; 128];
    // SAFETY: the shim writes at most `name.len()` bytes, NUL-terminated, into `name`.
    call(|error, len| unsafe {
        ffi::jeat_onednn_conv_implementation(&s, name.as_mut_ptr().cast(), name.len(), error, len)
    })?;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok(String::from_utf8_lossy(&name[..end]).into_owned())
}

/// Whether this CPU runs bf16 convolutions with kernels of its own (AMX or AVX-512-bf16), not
/// oneDNN's reference kernel: a 3×3 convolution in bf16 is asked for and the implementation
/// oneDNN picks is looked at.
pub fn bf16_supported() -> bool {
    let probe = ConvShape {
        batch: 2,
        in_channels: 32,
        input: [8, 8],
        out_channels: 32,
        kernel: [3, 3],
        output: [8, 8],
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        bias: false,
        precision: Precision::Bf16,
        relu: false,
    };
    implementation(&probe).is_ok_and(|name| !name.starts_with("ref"))
}

/// Drops the reordered copies of the weights cached under `weights_key`.
pub fn forget_weights(weights_key: u64) {
    // SAFETY: takes a plain integer.
    unsafe { ffi::jeat_onednn_forget_weights(weights_key) }
}

/// Whether this build links oneDNN (the `link` feature; `jeat-models`' `onednn`).
pub const LINKED: bool = cfg!(feature = "link");

mod ffi {
    use std::ffi::{c_char, c_int};

    #[repr(C)]
    pub struct ConvShape {
        pub n: i64,
        pub ic: i64,
        pub ih: i64,
        pub iw: i64,
        pub oc: i64,
        pub kh: i64,
        pub kw: i64,
        pub oh: i64,
        pub ow: i64,
        pub stride_h: i64,
        pub stride_w: i64,
        pub pad_h: i64,
        pub pad_w: i64,
        pub dilation_h: i64,
        pub dilation_w: i64,
        pub has_bias: i32,
        pub bf16: i32,
        pub relu: i32,
    }

    #[cfg(feature = "link")]
    unsafe extern "C" {
        pub fn jeat_onednn_version(major: *mut i32, minor: *mut i32, patch: *mut i32);
        #[allow(clippy::too_many_arguments)]
        pub fn jeat_onednn_conv_forward(
            shape: *const ConvShape,
            x: *const f32,
            w: *const f32,
            w_key: u64,
            b: *const f32,
            y: *mut f32,
            error: *mut c_char,
            error_len: usize,
        ) -> c_int;
        pub fn jeat_onednn_conv_backward_data(
            shape: *const ConvShape,
            dy: *const f32,
            w: *const f32,
            w_key: u64,
            dx: *mut f32,
            error: *mut c_char,
            error_len: usize,
        ) -> c_int;
        pub fn jeat_onednn_conv_backward_weights(
            shape: *const ConvShape,
            x: *const f32,
            dy: *const f32,
            dw: *mut f32,
            db: *mut f32,
            error: *mut c_char,
            error_len: usize,
        ) -> c_int;
        pub fn jeat_onednn_forget_weights(w_key: u64);
        pub fn jeat_onednn_conv_implementation(
            shape: *const ConvShape,
            name: *mut c_char,
            name_len: usize,
            error: *mut c_char,
            error_len: usize,
        ) -> c_int;
    }

    /// The shim's entry points in a build without oneDNN: every call fails, saying why.
    #[cfg(not(feature = "link"))]
    mod absent {
        use super::{ConvShape, c_char, c_int};

        fn refuse(error: *mut c_char, error_len: usize) -> c_int {
            let message = b"this jeat was built without oneDNN (the `onednn` feature)\0";
            let len = message.len().min(error_len);
            // SAFETY: the callers pass a buffer of `error_len` bytes.
            unsafe { std::ptr::copy_nonoverlapping(message.as_ptr().cast(), error, len) };
            1
        }

        pub unsafe fn jeat_onednn_version(major: *mut i32, minor: *mut i32, patch: *mut i32) {
            // SAFETY: the caller passes three valid pointers.
            unsafe { (*major, *minor, *patch) = (0, 0, 0) };
        }

        #[allow(clippy::too_many_arguments)]
        pub unsafe fn jeat_onednn_conv_forward(
            _: *const ConvShape,
            _: *const f32,
            _: *const f32,
            _: u64,
            _: *const f32,
            _: *mut f32,
            error: *mut c_char,
            error_len: usize,
        ) -> c_int {
            refuse(error, error_len)
        }

        pub unsafe fn jeat_onednn_conv_backward_data(
            _: *const ConvShape,
            _: *const f32,
            _: *const f32,
            _: u64,
            _: *mut f32,
            error: *mut c_char,
            error_len: usize,
        ) -> c_int {
            refuse(error, error_len)
        }

        pub unsafe fn jeat_onednn_conv_backward_weights(
            _: *const ConvShape,
            _: *const f32,
            _: *const f32,
            _: *mut f32,
            _: *mut f32,
            error: *mut c_char,
            error_len: usize,
        ) -> c_int {
            refuse(error, error_len)
        }

        pub unsafe fn jeat_onednn_forget_weights(_: u64) {}

        pub unsafe fn jeat_onednn_conv_implementation(
            _: *const ConvShape,
            _: *mut c_char,
            _: usize,
            error: *mut c_char,
            error_len: usize,
        ) -> c_int {
            refuse(error, error_len)
        }
    }

    #[cfg(not(feature = "link"))]
    pub use absent::*;
}

#[cfg(all(test, feature = "link"))]
mod tests {
    use super::*;

    /// A direct convolution from its definition, in f64.
    fn reference(shape: &ConvShape, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f64> {
        let mut y = vec![0f64; shape.output_len()];
        let [ih, iw] = shape.input;
        let [oh, ow] = shape.output;
        let [kh, kw] = shape.kernel;
        for n in 0..shape.batch {
            for o in 0..shape.out_channels {
                for r in 0..oh {
                    for c in 0..ow {
                        let mut sum = b.map_or(0.0, |b| f64::from(b[o]));
                        for i in 0..shape.in_channels {
                            for p in 0..kh {
                                for q in 0..kw {
                                    let row = (r * shape.stride[0] + p * shape.dilation[0]) as i64
                                        - shape.padding[0] as i64;
                                    let col = (c * shape.stride[1] + q * shape.dilation[1]) as i64
                                        - shape.padding[1] as i64;
                                    if row < 0 || col < 0 || row >= ih as i64 || col >= iw as i64 {
                                        continue;
                                    }
                                    let xi = ((n * shape.in_channels + i) * ih + row as usize) * iw
                                        + col as usize;
                                    let wi = ((o * shape.in_channels + i) * kh + p) * kw + q;
                                    sum += f64::from(x[xi]) * f64::from(w[wi]);
                                }
                            }
                        }
                        y[((n * shape.out_channels + o) * oh + r) * ow + c] = sum;
                    }
                }
            }
        }
        y
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let v = (i as u32)
                    .wrapping_mul(2654435761)
                    .wrapping_add(seed.wrapping_mul(97));
                (v % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    fn shape(stride: usize, padding: usize, dilation: usize, bias: bool) -> ConvShape {
        let (input, kernel) = ([9, 7], [3, 3]);
        let out =
            |size: usize, k: usize| (size + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
        ConvShape {
            batch: 2,
            in_channels: 5,
            input,
            out_channels: 6,
            kernel,
            output: [out(input[0], kernel[0]), out(input[1], kernel[1])],
            stride: [stride; 2],
            padding: [padding; 2],
            dilation: [dilation; 2],
            bias,
            precision: Precision::F32,
            relu: false,
        }
    }

    /// The forward pass of strided, padded, dilated convolutions with and without bias is the
    /// definition's, and a cached weight buffer that changed is read again once forgotten.
    #[test]
    fn the_forward_pass_is_the_definition() {
        for (stride, padding, dilation, bias) in [
            (1, 1, 1, false),
            (2, 1, 1, true),
            (2, 0, 2, true),
            (3, 2, 1, false),
        ] {
            let s = shape(stride, padding, dilation, bias);
            let (x, mut w) = (values(s.input_len(), 1), values(s.weights_len(), 2));
            let b = values(s.out_channels, 3);
            let bias = bias.then_some(b.as_slice());
            let y = forward(&s, &x, &w, 7, bias).unwrap();
            let expected = reference(&s, &x, &w, bias);
            for (a, e) in y.iter().zip(&expected) {
                assert!((f64::from(*a) - e).abs() < 1e-4, "{s:?}: {a} vs {e}");
            }
            w.iter_mut().for_each(|v| *v *= -2.0);
            forget_weights(7);
            let y = forward(&s, &x, &w, 7, bias).unwrap();
            let expected = reference(&s, &x, &w, bias);
            for (a, e) in y.iter().zip(&expected) {
                assert!(
                    (f64::from(*a) - e).abs() < 2e-4,
                    "{s:?} after forgetting: {a} vs {e}"
                );
            }
            forget_weights(7);
        }
    }

    /// The gradients are the adjoints of the forward pass: `<dy, conv(dx', w)> = <backward_data
    /// (dy), dx'>` and `<dy, conv(x, dw')> = <backward_weights(x, dy), dw'>`, and the bias
    /// gradient is `dy` summed over everything but the channel.
    #[test]
    fn the_gradients_are_the_adjoints_of_the_forward_pass() {
        for (stride, padding, dilation, bias) in
            [(1, 1, 1, true), (2, 1, 1, false), (2, 0, 2, true)]
        {
            let s = shape(stride, padding, dilation, bias);
            let (x, w, dy) = (
                values(s.input_len(), 4),
                values(s.weights_len(), 5),
                values(s.output_len(), 6),
            );
            let (probe_x, probe_w) = (values(s.input_len(), 8), values(s.weights_len(), 9));
            let dot = |a: &[f32], b: &[f64]| -> f64 {
                a.iter().zip(b).map(|(p, q)| f64::from(*p) * q).sum()
            };
            let dx = backward_data(&s, &dy, &w, 0).unwrap();
            let unbiased = ConvShape { bias: false, ..s };
            let lhs = dot(&dy, &reference(&unbiased, &probe_x, &w, None));
            let rhs: f64 = dx
                .iter()
                .zip(&probe_x)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            assert!(
                (lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0),
                "{s:?}: dx {lhs} vs {rhs}"
            );

            let (dw, db) = backward_weights(&s, &x, &dy).unwrap();
            assert_eq!(db.is_some(), bias);
            let db = db.unwrap_or_default();
            let lhs = dot(&dy, &reference(&unbiased, &x, &probe_w, None));
            let rhs: f64 = dw
                .iter()
                .zip(&probe_w)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            assert!(
                (lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0),
                "{s:?}: dw {lhs} vs {rhs}"
            );
            if bias {
                let plane = s.output[0] * s.output[1];
                for (o, got) in db.iter().enumerate() {
                    let expected: f64 = (0..s.batch)
                        .flat_map(|n| dy[(n * s.out_channels + o) * plane..][..plane].iter())
                        .map(|v| f64::from(*v))
                        .sum();
                    assert!((f64::from(*got) - expected).abs() < 1e-4, "db[{o}]");
                }
            }
        }
    }

    #[test]
    fn buffers_of_the_wrong_length_are_refused() {
        let s = shape(1, 1, 1, false);
        let (x, w) = (values(s.input_len() - 1, 1), values(s.weights_len(), 2));
        let err = forward(&s, &x, &w, 0, None).unwrap_err();
        assert!(err.0.contains("x has"), "{err}");
        let (major, ..) = version();
        assert!(major >= 2, "oneDNN {major}");
    }

    /// In bf16 the forward pass and both gradients are the f32 ones to bf16's precision (an
    /// 8-bit mantissa: relative errors of about 1e-2 on sums of products), where the CPU has
    /// bf16 kernels.
    #[test]
    fn bf16_convolutions_are_f32_ones_to_bf16_precision() {
        if !bf16_supported() {
            eprintln!("this CPU has no bf16 convolution kernels: nothing to compare");
            return;
        }
        let f32_shape = ConvShape {
            batch: 2,
            in_channels: 16,
            input: [8, 8],
            out_channels: 16,
            kernel: [3, 3],
            output: [8, 8],
            stride: [1, 1],
            padding: [1, 1],
            dilation: [1, 1],
            bias: true,
            precision: Precision::F32,
            relu: false,
        };
        let bf16_shape = ConvShape {
            precision: Precision::Bf16,
            ..f32_shape
        };
        assert!(!implementation(&bf16_shape).unwrap().starts_with("ref"));
        let (x, w, b, dy) = (
            values(f32_shape.input_len(), 1),
            values(f32_shape.weights_len(), 2),
            values(16, 3),
            values(f32_shape.output_len(), 4),
        );
        let close = |ours: &[f32], theirs: &[f32], what: &str| {
            let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = ours
                .iter()
                .zip(theirs)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst > 0.0, "{what}: bf16 gave f32's values bit for bit");
            assert!(
                worst < 2e-2 * scale,
                "{what}: off by {worst} (scale {scale})"
            );
        };
        close(
            &forward(&bf16_shape, &x, &w, 0, Some(&b)).unwrap(),
            &forward(&f32_shape, &x, &w, 0, Some(&b)).unwrap(),
            "forward",
        );
        close(
            &backward_data(&bf16_shape, &dy, &w, 0).unwrap(),
            &backward_data(&f32_shape, &dy, &w, 0).unwrap(),
            "input gradient",
        );
        close(
            &backward_weights(&bf16_shape, &x, &dy).unwrap().0,
            &backward_weights(&f32_shape, &x, &dy).unwrap().0,
            "weight gradient",
        );
    }

    /// A fused ReLU is the forward pass with its negative values set to zero, and its
    /// gradients are refused.
    #[test]
    fn a_fused_relu_clamps_the_forward_pass_at_zero() {
        let plain = shape(1, 1, 1, true);
        let fused = ConvShape {
            relu: true,
            ..plain
        };
        let (x, w, b) = (
            values(plain.input_len(), 1),
            values(plain.weights_len(), 2),
            values(plain.out_channels, 3),
        );
        let y = forward(&plain, &x, &w, 0, Some(&b)).unwrap();
        let clamped = forward(&fused, &x, &w, 0, Some(&b)).unwrap();
        assert!(y.iter().any(|v| *v < 0.0), "nothing negative to clamp");
        for (a, c) in y.iter().zip(&clamped) {
            assert!((a.max(0.0) - c).abs() < 1e-6, "{a} → {c}");
        }
        let dy = values(plain.output_len(), 4);
        assert!(backward_data(&fused, &dy, &w, 0).is_err());
        assert!(backward_weights(&fused, &x, &dy).is_err());
    }
}
