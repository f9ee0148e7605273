//! The committed real CIFAR test images (datasets/fixtures/, see datasets/README.md): they load,
//! with the labels of the official test batch, and survive a trip through the binary format.

use jeat_data::cifar::{CifarLayout, read_cifar_file, write_cifar_file};
use jeat_data::png_folder::read_png_folder;
use std::path::PathBuf;

fn fixtures(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/fixtures")
        .join(name)
}

/// Labels of CIFAR-10 test images 0–19, as the official test batch has them.
const CIFAR10_TEST_LABELS: [usize; 20] =
    [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6];

#[test]
fn cifar10_fixtures_have_the_official_labels() {
    let set = read_png_folder(&fixtures("cifar10"), "cifar10", 10).unwrap();
    assert_eq!(set.len(), 20);
    assert_eq!(set.shape(), jeat_data::cifar::CIFAR_SHAPE);
    let labels: Vec<usize> = (0..20).map(|i| set.label(i)).collect();
    assert_eq!(labels, CIFAR10_TEST_LABELS);
    // Real photographs: every image uses a wide range of values in every channel.
    for i in 0..set.len() {
        for channel in set.image(i).chunks_exact(1024) {
            let (lo, hi) = (channel.iter().min().unwrap(), channel.iter().max().unwrap());
            assert!(hi - lo > 60, "image {i}: channel range {lo}..{hi}");
        }
    }
}

#[test]
fn cifar100_fixtures_load_with_fine_labels() {
    let set = read_png_folder(&fixtures("cifar100"), "cifar100", 100).unwrap();
    assert_eq!(set.len(), 20);
    // Fine labels of CIFAR-100 test images 0–19, read from the file names.
    let labels: Vec<usize> = (0..20).map(|i| set.label(i)).collect();
    assert_eq!(
        labels,
        [
            49, 33, 72, 51, 71, 92, 15, 14, 23, 0, 71, 75, 81, 69, 40, 43, 92, 97, 70, 53
        ]
    );
}

#[test]
fn fixtures_round_trip_through_the_cifar_binary_format() {
    let set = read_png_folder(&fixtures("cifar10"), "cifar10", 10).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test_batch.bin");
    let labels: Vec<[u8; 1]> = (0..set.len()).map(|i| [set.label(i) as u8]).collect();
    write_cifar_file(
        &path,
        (0..set.len()).map(|i| (&labels[i][..], set.image(i))),
    )
    .unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 20 * 3073);
    let back = read_cifar_file(&path, CifarLayout::Cifar10, Some(20)).unwrap();
    assert_eq!(back.pixels(), set.pixels());
    assert_eq!(back.labels(), set.labels());
}
