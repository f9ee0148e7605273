//! The datasets jeat knows by name: their files, official sources, pinned checksums, where an
//! installed copy is looked for, and how to read a split.

use crate::cifar::{CifarLayout, read_cifar_files};
use crate::error::{DataError, Result};
use crate::idx::read_idx_pair;
use crate::image_set::ImageSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A dataset known by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// CIFAR-10: 50,000 train and 10,000 test 32×32 RGB images, 10 classes.
    Cifar10,
    /// CIFAR-100: 50,000 train and 10,000 test 32×32 RGB images, 100 fine classes.
    Cifar100,
    /// MNIST: 60,000 train and 10,000 test 28×28 grayscale digits.
    Mnist,
    /// Fashion-MNIST: 60,000 train and 10,000 test 28×28 grayscale garments.
    FashionMnist,
}

/// The split of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// The official training split.
    Train,
    /// The official test split.
    Test,
}

impl Split {
    /// `train` or `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Test => "test",
        }
    }
}

impl FromStr for Split {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "train" => Ok(Self::Train),
            "test" => Ok(Self::Test),
            _ => Err(DataError::Invalid(format!(
                "unknown split '{s}'; valid splits: train, test"
            ))),
        }
    }
}

/// A published file with its pinned checksums.
#[derive(Debug, Clone, Copy)]
pub struct RemoteFile {
    /// The file's name, at every source and inside the dataset's directory.
    pub file_name: &'static str,
    /// The publisher's MD5 of the file as downloaded.
    pub md5: &'static str,
    /// MD5 of the decompressed bytes of a gzip file, so that a recompressed copy of the same
    /// data (Debian's, for instance) is recognised.
    pub content_md5: Option<&'static str>,
}

/// How a dataset is published: base addresses to try in order, and its files.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// Base addresses; a file's address is the base followed by its name.
    pub base_urls: &'static [&'static str],
    /// The files to fetch.
    pub files: &'static [RemoteFile],
    /// For an archive: the directory it unpacks to, which holds the split files.
    pub unpacks_to: Option<&'static str>,
}

const FASHION_MNIST_SOURCE: Source = Source {
    base_urls: &[
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
    files: &[
        RemoteFile {
            file_name: "train-images-idx3-ubyte.gz",
            md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            content_md5: Some("f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        },
        RemoteFile {
            file_name: "train-labels-idx1-ubyte.gz",
            md5: "25c81989df183df01b3e8a0aad5dffbe",
            content_md5: Some("9018921c3c673c538a1fc5bad174d6f9"),
        },
        RemoteFile {
            file_name: "t10k-images-idx3-ubyte.gz",
            md5: "bef4ecab320f06d8554ea6380940ec79",
            content_md5: Some("8181f5470baa50b63fa0f6fddb340f0a"),
        },
        RemoteFile {
            file_name: "t10k-labels-idx1-ubyte.gz",
            md5: "bb300cfdad3c16e7a12a480ee83cd310",
            content_md5: Some("15d484375f8d13e6eb1aabb0c3f46965"),
        },
    ],
    unpacks_to: None,
};

const MNIST_SOURCE: Source = Source {
    base_urls: &[
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    files: &[
        RemoteFile {
            file_name: "train-images-idx3-ubyte.gz",
            md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            content_md5: None,
        },
        RemoteFile {
            file_name: "train-labels-idx1-ubyte.gz",
            md5: "d53e105ee54ea40749a09fcbcd1e9432",
            content_md5: None,
        },
        RemoteFile {
            file_name: "t10k-images-idx3-ubyte.gz",
            md5: "9fb629c4189551a2d022fa330f9573f3",
            content_md5: None,
        },
        RemoteFile {
            file_name: "t10k-labels-idx1-ubyte.gz",
            md5: "ec29112dd5afa0611ce80d1b7f02629c",
            content_md5: None,
        },
    ],
    unpacks_to: None,
};

const CIFAR10_SOURCE: Source = Source {
    base_urls: &["https://www.cs.toronto.edu/~kriz/"],
    files: &[RemoteFile {
        file_name: "cifar-10-binary.tar.gz",
        md5: "c32a1d4ab5d03f1284b67883e8d87530",
        content_md5: None,
    }],
    unpacks_to: Some("cifar-10-batches-bin"),
};

const CIFAR100_SOURCE: Source = Source {
    base_urls: &["https://www.cs.toronto.edu/~kriz/"],
    files: &[RemoteFile {
        file_name: "cifar-100-binary.tar.gz",
        md5: "03b5dce01913d631647c71ecec9e9cb8",
        content_md5: None,
    }],
    unpacks_to: Some("cifar-100-binary"),
};

impl DatasetName {
    /// Every known dataset.
    pub const ALL: [Self; 4] = [
        Self::Cifar10,
        Self::Cifar100,
        Self::Mnist,
        Self::FashionMnist,
    ];

    /// The command-line name: `cifar10`, `cifar100`, `mnist`, `fashion-mnist`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cifar10 => "cifar10",
            Self::Cifar100 => "cifar100",
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
        }
    }

    /// The number of classes (fine labels for CIFAR-100).
    pub fn num_classes(self) -> usize {
        match self {
            Self::Cifar100 => 100,
            _ => 10,
        }
    }

    /// Images in each official split.
    pub fn split_len(self, split: Split) -> usize {
        match (self, split) {
            (Self::Cifar10 | Self::Cifar100, Split::Train) => 50_000,
            (Self::Mnist | Self::FashionMnist, Split::Train) => 60_000,
            (_, Split::Test) => 10_000,
        }
    }

    /// Where the data is published, with its checksums.
    pub fn source(self) -> &'static Source {
        match self {
            Self::Cifar10 => &CIFAR10_SOURCE,
            Self::Cifar100 => &CIFAR100_SOURCE,
            Self::Mnist => &MNIST_SOURCE,
            Self::FashionMnist => &FASHION_MNIST_SOURCE,
        }
    }

    /// Directories outside the data root where an installed copy may live, such as the one
    /// Debian's `dataset-fashion-mnist` package installs.
    pub fn system_dirs(self) -> &'static [&'static str] {
        match self {
            Self::FashionMnist => &["/usr/share/datasets/fashion-mnist"],
            _ => &[],
        }
    }

    /// How to get the data when it is found nowhere.
    pub fn install_hint(self) -> String {
        let fetch = format!("run `cargo xtask fetch-data {}`", self.as_str());
        match self {
            Self::FashionMnist => format!(
                "{fetch}, or install Debian's copy with `apt-get install dataset-fashion-mnist`"
            ),
            _ => fetch,
        }
    }

    /// The directory inside `root` that holds this dataset's files.
    pub fn dir_in(self, root: &Path) -> PathBuf {
        root.join(self.as_str())
    }

    /// The files a split is read from, relative to a dataset directory.
    fn split_files(self, split: Split) -> Vec<String> {
        let nested = |files: &[&str]| {
            let dir = self
                .source()
                .unpacks_to
                .expect("archives unpack to a directory");
            files.iter().map(|f| format!("{dir}/{f}")).collect()
        };
        match (self, split) {
            (Self::Cifar10, Split::Train) => nested(&[
                "data_batch_1.bin",
                "data_batch_2.bin",
                "data_batch_3.bin",
                "data_batch_4.bin",
                "data_batch_5.bin",
            ]),
            (Self::Cifar10, Split::Test) => nested(&["test_batch.bin"]),
            (Self::Cifar100, Split::Train) => nested(&["train.bin"]),
            (Self::Cifar100, Split::Test) => nested(&["test.bin"]),
            (Self::Mnist | Self::FashionMnist, Split::Train) => vec![
                "train-images-idx3-ubyte.gz".into(),
                "train-labels-idx1-ubyte.gz".into(),
            ],
            (Self::Mnist | Self::FashionMnist, Split::Test) => vec![
                "t10k-images-idx3-ubyte.gz".into(),
                "t10k-labels-idx1-ubyte.gz".into(),
            ],
        }
    }

    /// The directories searched for this dataset, in order: `<root>/<name>`, then the system
    /// directories.
    pub fn candidate_dirs(self, root: &Path) -> Vec<PathBuf> {
        let mut dirs = vec![self.dir_in(root)];
        dirs.extend(self.system_dirs().iter().map(PathBuf::from));
        dirs
    }

    /// The first candidate directory (see [`candidate_dirs`](Self::candidate_dirs)) that holds
    /// every file of both splits.
    pub fn locate(self, root: &Path) -> Result<PathBuf> {
        self.locate_in(&self.candidate_dirs(root))
    }

    /// The first of `candidates` that holds every file of both splits.
    pub fn locate_in(self, candidates: &[PathBuf]) -> Result<PathBuf> {
        let complete = |dir: &Path| {
            [Split::Train, Split::Test]
                .iter()
                .flat_map(|&s| self.split_files(s))
                .all(|f| dir.join(f).is_file())
        };
        candidates
            .iter()
            .find(|d| complete(d))
            .cloned()
            .ok_or_else(|| DataError::NotFound {
                dataset: self.as_str().to_string(),
                searched: candidates
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                hint: self.install_hint(),
            })
    }

    /// Reads one split from a dataset directory, checking the image count of every file.
    pub fn read_split(self, dir: &Path, split: Split) -> Result<ImageSet> {
        let files: Vec<PathBuf> = self
            .split_files(split)
            .iter()
            .map(|f| dir.join(f))
            .collect();
        let name = format!("{}/{}", self.as_str(), split.as_str());
        let set = match self {
            Self::Cifar10 | Self::Cifar100 => {
                let layout = if self == Self::Cifar10 {
                    CifarLayout::Cifar10
                } else {
                    CifarLayout::Cifar100Fine
                };
                let per_file = self.split_len(split) / files.len();
                let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
                read_cifar_files(&name, &paths, layout, Some(per_file))?
            }
            Self::Mnist | Self::FashionMnist => {
                let set = read_idx_pair(&name, &files[0], &files[1], self.num_classes())?;
                let expected = self.split_len(split);
                if set.len() != expected {
                    return Err(DataError::format(
                        &files[0],
                        format!("expected {expected} images, found {}", set.len()),
                    ));
                }
                set
            }
        };
        Ok(set)
    }

    /// Finds the dataset under `root` (or a system directory) and reads one split.
    pub fn load(self, root: &Path, split: Split) -> Result<ImageSet> {
        let dir = self.locate(root)?;
        self.read_split(&dir, split)
    }
}

impl FromStr for DatasetName {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                let valid: Vec<&str> = Self::ALL.iter().map(|d| d.as_str()).collect();
                DataError::Invalid(format!(
                    "unknown dataset '{s}'; valid datasets: {}",
                    valid.join(", ")
                ))
            })
    }
}

impl std::fmt::Display for DatasetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The data root: `$JEAT_DATA` if set, else `./data`.
pub fn default_data_root() -> PathBuf {
    std::env::var_os("JEAT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::write_idx;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_valid_ones() {
        for name in DatasetName::ALL {
            assert_eq!(name.as_str().parse::<DatasetName>().unwrap(), name);
        }
        let err = "cifar-10".parse::<DatasetName>().unwrap_err().to_string();
        assert!(
            err.contains("cifar10, cifar100, mnist, fashion-mnist"),
            "{err}"
        );
        assert!("val".parse::<Split>().is_err());
    }

    #[test]
    fn missing_data_says_where_it_looked_and_how_to_get_it() {
        let root = tempfile::tempdir().unwrap();
        let err = DatasetName::FashionMnist.locate(root.path());
        if let Err(err) = err {
            let msg = err.to_string();
            assert!(msg.contains("fetch-data fashion-mnist"), "{msg}");
            assert!(msg.contains("dataset-fashion-mnist"), "{msg}");
            assert!(msg.contains("/usr/share/datasets/fashion-mnist"), "{msg}");
        }
        let msg = DatasetName::Cifar10
            .locate(root.path())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("cifar10 not found") && msg.contains("fetch-data cifar10"),
            "{msg}"
        );
    }

    #[test]
    fn a_short_split_is_reported_with_the_expected_count() {
        let root = tempfile::tempdir().unwrap();
        let dir = DatasetName::Mnist.dir_in(root.path());
        std::fs::create_dir_all(&dir).unwrap();
        for (images, labels) in [
            ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
            ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        ] {
            write_idx(&dir.join(images), &[3, 28, 28], &[0; 3 * 784]).unwrap();
            write_idx(&dir.join(labels), &[3], &[1, 2, 3]).unwrap();
        }
        assert_eq!(DatasetName::Mnist.locate(root.path()).unwrap(), dir);
        let err = DatasetName::Mnist
            .load(root.path(), Split::Test)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected 10000 images, found 3"), "{err}");
    }
}
