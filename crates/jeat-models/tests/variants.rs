//! Which architecture a checkpoint holds, read back from the names and shapes jeat writes for
//! each family (the names are the authors', as zoo_parity checks against their code).

use jeat_models::ModelSpec;
use jeat_models::checkpoint::{save_safetensors, tensor_shapes};
use jeat_models::variant::{Shapes, looks_like};

/// The names and shapes of a model of `arch`, in PyTorch naming, as jeat writes them.
fn shapes_of(arch: &str) -> Shapes {
    let device = jeat_core::testing::device();
    let model = ModelSpec::new(arch, 10, [3, 32, 32])
        .build(&device)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    save_safetensors(&model, &path).unwrap();
    tensor_shapes(&path).unwrap()
}

#[test]
fn each_family_is_recognised_with_its_depth_width_and_batch_norm() {
    for arch in [
        "wrn-16-2",
        "wrn-22-1-nobn",
        "dm-wrn-16-2",
        "jem-wrn-16-1",
        "jem-wrn-10-2-nobn",
        "preact-resnet-18",
        "preact-resnet-18-fast",
        "dm-preact-resnet-18",
        "resnet-18",
        "resnet-50",
    ] {
        assert_eq!(looks_like(&shapes_of(arch)).as_deref(), Some(arch));
    }
    assert_eq!(looks_like(&Shapes::new()), None);
}
