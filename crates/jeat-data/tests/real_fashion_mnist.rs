//! Tests on the real Fashion-MNIST files. They fail, saying how to get the data, when the files
//! are missing, unless JEAT_SKIP_REAL_DATA is set. `cargo xtask test` installs Debian's copy.

use jeat_data::download::{FetchOptions, FetchOutcome, fetch_dataset, verify_dataset_dir};
use jeat_data::{DatasetName, Split};
use std::path::PathBuf;

/// The directory of the real files, or `None` when the user opted out.
fn real_fashion_mnist() -> Option<PathBuf> {
    jeat_core::testing::real_data(
        DatasetName::FashionMnist.locate(&jeat_core::testing::data_root()),
        "the real Fashion-MNIST",
    )
}

#[test]
fn both_splits_have_the_official_counts_and_balance() {
    let Some(dir) = real_fashion_mnist() else {
        return;
    };
    let train = DatasetName::FashionMnist
        .read_split(&dir, Split::Train)
        .unwrap();
    let test = DatasetName::FashionMnist
        .read_split(&dir, Split::Test)
        .unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(train.class_counts(), vec![6_000; 10]);
    assert_eq!(test.class_counts(), vec![1_000; 10]);
    // Published statistics of the training images: mean 0.2860, std 0.3530.
    let (mean, std) = train.channel_stats()[0];
    assert!(
        (mean - 0.2860).abs() < 5e-4 && (std - 0.3530).abs() < 5e-4,
        "{mean} {std}"
    );
}

#[test]
fn installed_copy_verifies_against_the_pinned_checksums() {
    let Some(dir) = real_fashion_mnist() else {
        return;
    };
    verify_dataset_dir(DatasetName::FashionMnist, &dir).unwrap();
    let outcome = fetch_dataset(
        DatasetName::FashionMnist,
        &jeat_core::testing::data_root(),
        &FetchOptions {
            progress: false,
            ..FetchOptions::default()
        },
    )
    .unwrap();
    assert_eq!(outcome, FetchOutcome::AlreadyPresent(dir));
}
