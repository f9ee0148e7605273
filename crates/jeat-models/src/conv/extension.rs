//! The CPU convolution as a burn backend extension: implemented for flex (oneDNN where it is
//! usable, else flex's own forward pass and input gradient with jeat's weight gradient) and for
//! autodiff over flex, whose backward step computes the input gradient only when the input is
//! tracked and the weight (and bias) gradient only when the weight (or bias) is.

use super::Geometry;
use super::weight_gradient::weight_gradient;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::ops::ConvOptions;

/// A 2-D convolution with one group and its two gradients (the bias gradient is burn's).
#[backend_extension(Flex, Autodiff)]
pub trait CpuConv: Backend {
    /// `conv(x, weight)`: `x [N, C_in, H, W]`, `weight [C_out, C_in, KH, KW]` →
    /// `[N, C_out, OH, OW]`.
    fn cpu_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// `conv(x, weight) + bias`, `bias [C_out]`.
    fn cpu_conv2d_biased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// `relu(conv(x, weight) + bias)` in one fused convolution, for inference (no gradient).
    fn cpu_conv2d_relu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let _ = (x, weight, bias, options);
        unreachable!("called on tensors without autodiff only")
    }

    /// The gradient of the input `[N, C_in, H, W]` from the output's `[N, C_out, OH, OW]`.
    fn cpu_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let _ = (x, weight, output_grad, options);
        unreachable!("called by the autodiff node on the inner backend only")
    }

    /// The gradient of the weights `[C_out, C_in, KH, KW]` from the input and the output's
    /// gradient.
    fn cpu_conv2d_weight_backward(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        weight_shape: [usize; 4],
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let _ = (x, output_grad, weight_shape, options);
        unreachable!("called by the autodiff node on the inner backend only")
    }
}

/// The geometry of `x [N, C_in, H, W]` convolved with weights of `weight_shape` under `options`.
pub fn geometry(x: &[usize], weight_shape: [usize; 4], options: &ConvOptions<2>) -> Geometry {
    let [oc, ic, kh, kw] = weight_shape;
    let out = |size: usize, k: usize, d: usize| {
        let (before, after) = options.padding[d];
        (size + before + after - options.dilation[d] * (k - 1) - 1) / options.stride[d] + 1
    };
    Geometry {
        batch: x[0],
        in_channels: ic,
        input: [x[2], x[3]],
        out_channels: oc,
        kernel: [kh, kw],
        output: [out(x[2], kh, 0), out(x[3], kw, 1)],
        stride: options.stride,
        padding: [options.padding[0].0, options.padding[1].0],
        dilation: options.dilation,
    }
}

fn dims(t: &FlexTensor) -> Vec<usize> {
    t.layout().shape().to_vec()
}

fn flex_tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

impl CpuConv for Flex {
    fn cpu_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        flex_forward(x, weight, None, options)
    }

    fn cpu_conv2d_biased(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        flex_forward(x, weight, Some(bias), options)
    }

    fn cpu_conv2d_relu(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        #[cfg(feature = "onednn")]
        if super::onednn::available().is_ok()
            && let Some(y) = super::onednn::forward(&x, &weight, Some(&bias), &options, true)
        {
            return y;
        }
        let y = <Flex as ModuleOps<Flex>>::conv2d(x, weight, Some(bias), options);
        <Flex as burn::backend::ops::ActivationOps<Flex>>::relu(y)
    }

    fn cpu_conv2d_x_backward(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        #[cfg(feature = "onednn")]
        if super::onednn::available().is_ok()
            && let Some(dx) = super::onednn::backward_data(&x, &weight, &output_grad, &options)
        {
            return dx;
        }
        <Flex as ModuleOps<Flex>>::conv2d_x_backward(x, weight, output_grad, options)
    }

    fn cpu_conv2d_weight_backward(
        x: FlexTensor,
        output_grad: FlexTensor,
        weight_shape: [usize; 4],
        options: ConvOptions<2>,
    ) -> FlexTensor {
        #[cfg(feature = "onednn")]
        if super::onednn::available().is_ok()
            && let Some(dw) =
                super::onednn::backward_weights(&x, &output_grad, weight_shape, &options)
        {
            return dw;
        }
        let g = geometry(&dims(&x), weight_shape, &options);
        let (x, output_grad) = (x.to_contiguous(), output_grad.to_contiguous());
        let dw = weight_gradient(&g, x.storage::<f32>(), output_grad.storage::<f32>());
        flex_tensor(dw, weight_shape.to_vec())
    }
}

/// The forward pass on flex: oneDNN's where it is usable and accepts the call, flex's own
/// otherwise.
fn flex_forward(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: ConvOptions<2>,
) -> FlexTensor {
    #[cfg(feature = "onednn")]
    if super::onednn::available().is_ok()
        && let Some(y) = super::onednn::forward(&x, &weight, bias.as_ref(), &options, false)
    {
        return y;
    }
    <Flex as ModuleOps<Flex>>::conv2d(x, weight, bias, options)
}

/// What the backward step keeps: the checkpointed input, weights and (where there is one) bias,
/// the options and the weight shape.
type State = (NodeId, NodeId, Option<NodeId>, ConvOptions<2>, [usize; 4]);

/// The gradients of a convolution node whose parents are `x`, `weight` and, when there is a
/// bias, `bias`, from the gradient of its output `grad`: each only where its parent is tracked.
fn backward<B: CpuConv>(
    parents: [Option<NodeId>; 3],
    grad: FloatTensor<B>,
    state: State,
    grads: &mut Gradients,
    checkpointer: &mut Checkpointer,
) {
    let [node_x, node_weight, node_bias] = parents;
    let (x_state, weight_state, bias_state, options, weight_shape) = state;
    let x: FloatTensor<B> = checkpointer.retrieve_node_output(x_state);
    if let (Some(id), Some(bias_state)) = (node_bias, bias_state) {
        let bias: FloatTensor<B> = checkpointer.retrieve_node_output(bias_state);
        let db = B::conv2d_bias_backward(x.clone(), bias, grad.clone());
        grads.register::<B>(id, db);
    }
    if let Some(id) = node_x {
        let weight: FloatTensor<B> = checkpointer.retrieve_node_output(weight_state);
        let dx = B::cpu_conv2d_x_backward(x.clone(), weight, grad.clone(), options.clone());
        grads.register::<B>(id, dx);
    }
    if let Some(id) = node_weight {
        let dw = B::cpu_conv2d_weight_backward(x, grad, weight_shape, options);
        grads.register::<B>(id, dw);
    }
}

#[derive(Debug)]
struct ConvWithBias;

impl<B: CpuConv> Backward<B, 3> for ConvWithBias {
    type State = State;

    fn backward(self, ops: Ops<State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let parents = ops.parents.map(|p| p.map(|node| node.id));
        backward::<B>(parents, grad, ops.state, grads, checkpointer);
    }
}

#[derive(Debug)]
struct ConvNoBias;

impl<B: CpuConv> Backward<B, 2> for ConvNoBias {
    type State = State;

    fn backward(self, ops: Ops<State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let [x, weight] = ops.parents.map(|p| p.map(|node| node.id));
        backward::<B>([x, weight, None], grad, ops.state, grads, checkpointer);
    }
}

fn weight_shape<B: Backend>(weight: &FloatTensor<Autodiff<B>>) -> [usize; 4] {
    use burn::backend::TensorMetadata;
    let shape = weight.primitive().shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

impl<B: CpuConv, C: CheckpointStrategy> CpuConv for Autodiff<B, C> {
    fn cpu_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let shape = weight_shape(&weight);
        match ConvNoBias
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    None,
                    options.clone(),
                    shape,
                );
                let output = B::cpu_conv2d(x.into_primitive(), weight.into_primitive(), options);
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::cpu_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }

    fn cpu_conv2d_biased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let shape = weight_shape(&weight);
        match ConvWithBias
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    Some(prep.checkpoint(&bias)),
                    options.clone(),
                    shape,
                );
                let output = B::cpu_conv2d_biased(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    options,
                );
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::cpu_conv2d_biased(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                options,
            )),
        }
    }
}

/// `conv2d(x, weight, bias, options)` through [`CpuConv`] (the caller checked that it applies).
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    let (x, weight) = (x.into_dispatch(), weight.into_dispatch());
    Tensor::from_dispatch(match bias {
        Some(bias) => {
            <Dispatch as CpuConv>::cpu_conv2d_biased(x, weight, bias.into_dispatch(), options)
        }
        None => <Dispatch as CpuConv>::cpu_conv2d(x, weight, options),
    })
}

/// `relu(conv2d(x, weight, bias, options))` fused, on tensors without autodiff (the caller
/// checked that it applies).
pub fn conv2d_relu(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CpuConv>::cpu_conv2d_relu(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        options,
    ))
}
