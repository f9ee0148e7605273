//! Which architecture a checkpoint holds, read from its tensor names and shapes: what an error
//! names when a file does not fit the model it was meant for (a WRN-34-10 given as a
//! WRN-28-10, a JEM model without batch norm given as JEM++'s).

use std::collections::BTreeMap;

/// Tensor names (after jeat's key mapping: no `module.` prefix) and their shapes.
pub type Shapes = BTreeMap<String, Vec<usize>>;

/// Blocks `prefix{i}.` for i = 0, 1, … present as `prefix{i}.{probe}`.
fn count_blocks(shapes: &Shapes, prefix: &str, probe: &str) -> usize {
    (0..)
        .take_while(|i| shapes.contains_key(&format!("{prefix}{i}.{probe}")))
        .count()
}

/// Output channels of `name`.
fn out_channels(shapes: &Shapes, name: &str) -> Option<usize> {
    shapes.get(name).and_then(|s| s.first().copied())
}

/// `wrn-34-10`-style depth and width from blocks per stage and the first stage's width.
fn wrn(blocks: usize, first_width: usize) -> Option<String> {
    (blocks > 0 && first_width.is_multiple_of(16))
        .then(|| format!("{}-{}", 6 * blocks + 4, first_width / 16))
}

/// The architecture name (as [`crate::registry::PRESETS`] spells it) the tensors look like, if
/// any family of jeat's recognises them.
pub fn looks_like(shapes: &Shapes) -> Option<String> {
    let has = |name: &str| shapes.contains_key(name);
    if has("layer.0.block.0.conv_0.weight") {
        let blocks = count_blocks(shapes, "layer.0.block.", "conv_0.weight");
        let width = out_channels(shapes, "layer.0.block.0.conv_0.weight")?;
        return wrn(blocks, width).map(|w| format!("dm-wrn-{w}"));
    }
    if has("layer_0.0.conv_2d_1.weight") {
        return Some("dm-preact-resnet-18".into());
    }
    if has("f.layer1.0.conv1.weight") {
        let blocks = count_blocks(shapes, "f.layer1.", "conv1.weight");
        let width = out_channels(shapes, "f.layer1.0.conv1.weight")?;
        let bn = if has("f.bn1.weight") { "" } else { "-nobn" };
        return wrn(blocks, width).map(|w| format!("jem-wrn-{w}{bn}"));
    }
    if has("block1.layer.0.conv1.weight") {
        let blocks = count_blocks(shapes, "block1.layer.", "conv1.weight");
        let width = out_channels(shapes, "block1.layer.0.conv1.weight")?;
        let bn = if has("bn1.weight") { "" } else { "-nobn" };
        return wrn(blocks, width).map(|w| format!("wrn-{w}{bn}"));
    }
    if has("layer1.0.conv3.weight") {
        return Some("resnet-50".into());
    }
    if has("layer1.0.conv1.weight") {
        return Some(
            match (has("bn1.weight"), has("bn.weight")) {
                (true, _) => "resnet-18",
                (false, true) => "preact-resnet-18",
                (false, false) => "preact-resnet-18-fast",
            }
            .into(),
        );
    }
    if has("conv1.weight") && has("linear1.weight") {
        return Some("mnist-cnn".into());
    }
    None
}
