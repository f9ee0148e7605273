//! `jeat data …`: fetch datasets and describe them.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use jeat_data::download::{FetchOptions, FetchOutcome, fetch_dataset};
use jeat_data::{DatasetName, ImageSet, Split, default_data_root};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download a dataset (checked against pinned checksums), or find an installed copy.
    Fetch {
        /// cifar10, cifar100, mnist or fashion-mnist.
        dataset: DatasetName,
        #[command(flatten)]
        location: Location,
        /// Download into the data directory even if an installed system copy exists.
        #[arg(long)]
        ignore_installed: bool,
    },
    /// Counts, class balance, pixel statistics and location of a dataset.
    Info {
        /// cifar10, cifar100, mnist or fashion-mnist.
        dataset: DatasetName,
        #[command(flatten)]
        location: Location,
        /// Only this split (default: both).
        #[arg(long)]
        split: Option<Split>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct Location {
    /// Data directory (default: $JEAT_DATA, else ./data). System copies such as Debian's
    /// /usr/share/datasets/fashion-mnist are found as well.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl Location {
    fn root(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_root)
    }
}

pub fn run(command: DataCommand) -> Result<()> {
    match command {
        DataCommand::Fetch {
            dataset,
            location,
            ignore_installed,
        } => {
            let options = FetchOptions {
                ignore_installed,
                ..FetchOptions::default()
            };
            match fetch_dataset(dataset, &location.root(), &options)? {
                FetchOutcome::AlreadyPresent(dir) => {
                    println!("{dataset}: verified copy found at {}", dir.display())
                }
                FetchOutcome::Downloaded(dir) => {
                    println!("{dataset}: downloaded and verified into {}", dir.display())
                }
            }
            Ok(())
        }
        DataCommand::Info {
            dataset,
            location,
            split,
            json,
        } => {
            let root = location.root();
            let dir = dataset.locate(&root)?;
            let splits = match split {
                Some(s) => vec![s],
                None => vec![Split::Train, Split::Test],
            };
            let mut reports = Vec::new();
            for split in splits {
                let set = dataset
                    .read_split(&dir, split)
                    .with_context(|| format!("reading {dataset}/{}", split.as_str()))?;
                reports.push(SplitReport::of(split, &set));
            }
            let info = DatasetInfo {
                dataset,
                location: dir.display().to_string(),
                data: "real",
                splits: reports,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print!("{}", info.to_text());
            }
            Ok(())
        }
    }
}

#[derive(Debug, serde::Serialize)]
struct DatasetInfo {
    dataset: DatasetName,
    location: String,
    data: &'static str,
    splits: Vec<SplitReport>,
}

#[derive(Debug, serde::Serialize)]
struct SplitReport {
    split: Split,
    images: usize,
    shape: [usize; 3],
    class_counts: Vec<usize>,
    channel_mean: Vec<f64>,
    channel_std: Vec<f64>,
}

impl SplitReport {
    fn of(split: Split, set: &ImageSet) -> Self {
        let stats = set.channel_stats();
        let shape = set.shape();
        Self {
            split,
            images: set.len(),
            shape: [shape.channels, shape.height, shape.width],
            class_counts: set.class_counts(),
            channel_mean: stats.iter().map(|s| s.0).collect(),
            channel_std: stats.iter().map(|s| s.1).collect(),
        }
    }
}

impl DatasetInfo {
    fn to_text(&self) -> String {
        let mut out = format!("{} (real data) at {}\n", self.dataset, self.location);
        for split in &self.splits {
            let counts = &split.class_counts;
            let (min, max) = (
                counts.iter().min().copied().unwrap_or(0),
                counts.iter().max().copied().unwrap_or(0),
            );
            let fmt = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x:.4}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out += &format!(
                "  {:<5} {:>6} images of {}x{}x{}; {} classes, {} to {} images each\n",
                split.split.as_str(),
                split.images,
                split.shape[0],
                split.shape[1],
                split.shape[2],
                counts.len(),
                min,
                max
            );
            out += &format!("        class counts: {counts:?}\n");
            out += &format!(
                "        pixel mean [{}], std [{}] (per channel, [0,1] units)\n",
                fmt(&split.channel_mean),
                fmt(&split.channel_std)
            );
        }
        out
    }
}
