//! Batches per second of loading + augmentation + conversion to a flex tensor, batch 128:
//! CIFAR-shaped images with crop+flip, and the real Fashion-MNIST (when installed) without.
#![allow(missing_docs)] // criterion's macros define undocumented public functions

use criterion::{Criterion, criterion_group, criterion_main};
use jeat_data::{Augmentation, DatasetName, ImageSet, ImageShape, Split, batch_at, epoch_order};
use std::hint::black_box;

const BATCH: usize = 128;

fn bench_set(c: &mut Criterion, label: &str, set: &ImageSet, augmentation: Augmentation) {
    let device = jeat_core::testing::device();
    let order = epoch_order(set.len(), 0, 0);
    let mut start = 0;
    c.bench_function(label, |b| {
        b.iter(|| {
            if start + BATCH > order.len() {
                start = 0;
            }
            let batch = batch_at(
                set,
                &order[start..start + BATCH],
                augmentation,
                0,
                0,
                &device,
            );
            start += BATCH;
            black_box(batch.images.into_data());
        })
    });
}

fn loading(c: &mut Criterion) {
    jeat_core::allocator::keep_freed_memory();
    // Synthetic pixels of the CIFAR shape: the cost does not depend on the values.
    let shape = ImageShape::new(3, 32, 32);
    let n = 4096;
    let pixels = (0..n * shape.num_pixels())
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let labels = (0..n).map(|i| (i % 10) as u16).collect();
    let cifar_like = ImageSet::new("synthetic-cifar-shape", shape, 10, pixels, labels).unwrap();
    bench_set(
        c,
        "batch128_cifar_shape_crop_flip",
        &cifar_like,
        Augmentation::CIFAR,
    );
    bench_set(
        c,
        "batch128_cifar_shape_no_aug",
        &cifar_like,
        Augmentation::NONE,
    );

    let root = jeat_data::default_data_root();
    match DatasetName::FashionMnist.load(&root, Split::Test) {
        Ok(set) => bench_set(c, "batch128_fashion_mnist_real", &set, Augmentation::NONE),
        Err(e) => eprintln!("skipping the Fashion-MNIST benchmark: {e}"),
    }
}

criterion_group!(benches, loading);
criterion_main!(benches);
