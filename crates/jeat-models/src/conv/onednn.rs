//! The oneDNN path of the CPU convolution: flex tensors to `jeat-onednn`'s slices and back, and
//! the weights oneDNN has reordered, kept under their buffer's address for as long as flex keeps
//! the buffer (a clone of the tensor pins it, and copy-on-write keeps its contents) and forgotten
//! once only that clone is left.

use super::extension::geometry;
use burn::backend::flex::FlexTensor;
use burn::tensor::TensorData;
use burn::tensor::ops::ConvOptions;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Whether oneDNN runs the convolutions of this process, or why not: this build links it, and
/// `JEAT_CONV` is unset or `onednn` (`JEAT_CONV=flex` takes the pure-Rust path, to compare).
pub fn available() -> Result<(), String> {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    AVAILABLE
        .get_or_init(|| {
            match std::env::var("JEAT_CONV").as_deref() {
                Err(_) | Ok("") | Ok("onednn") => {}
                Ok("flex") => return Err("JEAT_CONV=flex asks for the pure-Rust path".into()),
                Ok(other) => {
                    return Err(format!(
                        "JEAT_CONV={other} is not a convolution path (onednn or flex)"
                    ));
                }
            }
            match jeat_onednn::version() {
                (0, ..) => Err("this build does not link oneDNN".into()),
                _ => Ok(()),
            }
        })
        .clone()
}

/// The weight tensors whose reordered copies oneDNN keeps, by buffer address.
fn pinned() -> &'static Mutex<HashMap<u64, FlexTensor>> {
    static PINNED: OnceLock<Mutex<HashMap<u64, FlexTensor>>> = OnceLock::new();
    PINNED.get_or_init(Default::default)
}

/// The cache key of `weight`'s buffer, pinned until flex drops it; the keys of buffers flex has
/// dropped since are forgotten first.
fn weights_key(weight: &FlexTensor) -> u64 {
    let key = weight.storage::<f32>().as_ptr() as u64;
    let mut pinned = pinned().lock().unwrap_or_else(|e| e.into_inner());
    pinned.retain(|key, tensor| {
        let alive = !tensor.is_unique();
        if !alive {
            jeat_onednn::forget_weights(*key);
        }
        alive
    });
    pinned.entry(key).or_insert_with(|| weight.clone());
    key
}

fn shape_of(
    x: &FlexTensor,
    weight_shape: [usize; 4],
    options: &ConvOptions<2>,
    bias: bool,
) -> jeat_onednn::ConvShape {
    fused(x, weight_shape, options, bias, false)
}

/// [`shape_of`], with the ReLU fused into the forward pass where `relu`.
fn fused(
    x: &FlexTensor,
    weight_shape: [usize; 4],
    options: &ConvOptions<2>,
    bias: bool,
    relu: bool,
) -> jeat_onednn::ConvShape {
    let g = geometry(x.layout().shape(), weight_shape, options);
    jeat_onednn::ConvShape {
        batch: g.batch,
        in_channels: g.in_channels,
        input: g.input,
        out_channels: g.out_channels,
        kernel: g.kernel,
        output: g.output,
        stride: g.stride,
        padding: g.padding,
        dilation: g.dilation,
        bias,
        precision: match super::precision() {
            super::Precision::F32 => jeat_onednn::Precision::F32,
            super::Precision::Bf16 => jeat_onednn::Precision::Bf16,
        },
        relu,
    }
}

fn weight_shape(weight: &FlexTensor) -> [usize; 4] {
    let s = weight.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

fn flex_tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Says once that oneDNN refused a call (that call, and any other it refuses, goes to flex).
fn refused(error: jeat_onednn::Error) -> Option<FlexTensor> {
    static SAID: OnceLock<()> = OnceLock::new();
    SAID.get_or_init(|| eprintln!("oneDNN refused a convolution ({error}); flex computes it"));
    None
}

/// oneDNN's `conv(x, weight) + bias` (then a ReLU where `relu`), or `None` where it refused.
pub fn forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
    options: &ConvOptions<2>,
    relu: bool,
) -> Option<FlexTensor> {
    let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
    let bias = bias.map(FlexTensor::to_contiguous);
    let shape = fused(&x, weight_shape(&weight), options, bias.is_some(), relu);
    let key = weights_key(&weight);
    let b = bias.as_ref().map(|b| b.storage::<f32>());
    match jeat_onednn::forward(&shape, x.storage(), weight.storage(), key, b) {
        Ok(y) => Some(flex_tensor(
            y,
            vec![
                shape.batch,
                shape.out_channels,
                shape.output[0],
                shape.output[1],
            ],
        )),
        Err(e) => refused(e),
    }
}

/// oneDNN's gradient of the input `x` (only its shape is read), or `None` where it refused.
pub fn backward_data(
    x: &FlexTensor,
    weight: &FlexTensor,
    output_grad: &FlexTensor,
    options: &ConvOptions<2>,
) -> Option<FlexTensor> {
    let (weight, output_grad) = (weight.to_contiguous(), output_grad.to_contiguous());
    let shape = shape_of(x, weight_shape(&weight), options, false);
    let key = weights_key(&weight);
    match jeat_onednn::backward_data(&shape, output_grad.storage(), weight.storage(), key) {
        Ok(dx) => Some(flex_tensor(dx, x.layout().shape().to_vec())),
        Err(e) => refused(e),
    }
}

/// oneDNN's gradient of the weights, or `None` where it refused.
pub fn backward_weights(
    x: &FlexTensor,
    output_grad: &FlexTensor,
    weight_shape: [usize; 4],
    options: &ConvOptions<2>,
) -> Option<FlexTensor> {
    let (x, output_grad) = (x.to_contiguous(), output_grad.to_contiguous());
    let shape = shape_of(&x, weight_shape, options, false);
    match jeat_onednn::backward_weights(&shape, x.storage(), output_grad.storage()) {
        Ok((dw, _)) => Some(flex_tensor(dw, weight_shape.to_vec())),
        Err(e) => refused(e),
    }
}
