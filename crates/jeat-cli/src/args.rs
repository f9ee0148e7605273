//! Arguments several commands share: which model, which images, progress bars.

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use jeat_data::{DatasetName, ImageSet, Split, default_data_root};
use jeat_models::checkpoint::{LoadReport, load_model_ignoring};
use jeat_models::zoo;
use jeat_models::{Model, ModelSpec, NormalizationSpec};
use std::path::{Path, PathBuf};

/// Which architecture: by name, or by a published model's name (which also sets the
/// normalisation and what of the file to ignore).
#[derive(Debug, Args, Clone)]
pub struct ArchArgs {
    /// Architecture, for files that do not say: wrn-34-10, wrn-28-10, wrn-28-10-nobn, wrn-16-4,
    /// wrn-16-1, dm-wrn-28-10, dm-wrn-70-16, jem-wrn-28-10, jem-wrn-28-10-nobn,
    /// preact-resnet-18, preact-resnet-18-fast, dm-preact-resnet-18, resnet-18, resnet-50,
    /// mnist-cnn (or any [dm-|jem-]wrn-<6n+4>-<k>, -nobn for wrn- and jem-wrn-).
    #[arg(long, conflicts_with_all = ["robustbench", "published"])]
    pub arch: Option<String>,
    /// A RobustBench CIFAR-10 Linf entry (e.g. Gowal2020Uncovering_70_16): its architecture and
    /// input normalisation; --checkpoint is the entry's .pt as RobustBench downloads it.
    #[arg(long, conflicts_with = "published")]
    pub robustbench: Option<String>,
    /// A released JEM-family checkpoint (CIFAR-10, images in [-1, 1], the class_output head):
    /// jem, jem++, sada-jem, eb-jdat-jem, eb-jdat-jem++, eb-jdat-sada-jem.
    #[arg(long)]
    pub published: Option<String>,
    /// Number of classes (with --arch).
    #[arg(long, default_value_t = 10)]
    pub num_classes: usize,
    /// Input shape CxHxW (with --arch).
    #[arg(long, default_value = "3x32x32", value_parser = parse_shape)]
    pub input_shape: [usize; 3],
    /// Normalise inputs with the CIFAR-10 statistics inside the model (with --arch).
    #[arg(long)]
    pub cifar_normalization: bool,
}

/// An architecture chosen on the command line, and the checkpoint entries to ignore.
pub struct ChosenArch {
    /// The model to build.
    pub spec: ModelSpec,
    /// Checkpoint entries (by prefix) the published model's own loader drops.
    pub ignored_prefixes: &'static [&'static str],
}

impl ArchArgs {
    /// The architecture given on the command line, if any.
    pub fn chosen(&self) -> Result<Option<ChosenArch>> {
        let published = |table, name: &str| -> Result<ChosenArch> {
            let entry = zoo::lookup(table, name).map_err(anyhow::Error::msg)?;
            Ok(ChosenArch {
                spec: entry.spec(),
                ignored_prefixes: entry.ignored_prefixes,
            })
        };
        if let Some(name) = &self.robustbench {
            return published(zoo::ROBUSTBENCH_CIFAR10_LINF, name).map(Some);
        }
        if let Some(name) = &self.published {
            return published(zoo::JEM_FAMILY, name).map(Some);
        }
        Ok(self.arch.as_ref().map(|arch| {
            let mut spec = ModelSpec::new(arch.clone(), self.num_classes, self.input_shape);
            if self.cifar_normalization {
                spec.normalization = NormalizationSpec::Cifar10;
            }
            ChosenArch {
                spec,
                ignored_prefixes: &[],
            }
        }))
    }

    /// Loads `checkpoint` into the chosen architecture (or the one its metadata names).
    pub fn load(
        &self,
        checkpoint: &Path,
        device: &Device,
    ) -> Result<(Model, ModelSpec, LoadReport)> {
        let chosen = self.chosen()?;
        let (spec, ignored) = match &chosen {
            Some(c) => (Some(&c.spec), c.ignored_prefixes),
            None => (None, &[][..]),
        };
        Ok(load_model_ignoring(checkpoint, spec, ignored, device)?)
    }
}

/// A checkpoint and, for files that do not describe their model, the architecture.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// Checkpoint: jeat's own .safetensors (describes its model), PyTorch .pt/.pth, safetensors.
    #[arg(long)]
    pub checkpoint: PathBuf,
    #[command(flatten)]
    pub arch: ArchArgs,
}

impl ModelArgs {
    /// The model in inference mode, and its spec.
    pub fn load(&self, device: &Device) -> Result<(Model, ModelSpec)> {
        let (model, spec, _) = self.arch.load(&self.checkpoint, device)?;
        Ok((model.valid(), spec))
    }
}

/// `3x32x32` → `[3, 32, 32]`.
pub fn parse_shape(text: &str) -> Result<[usize; 3], String> {
    let parts: Vec<usize> = text
        .split('x')
        .map(|p| p.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("expected CxHxW such as 3x32x32, got '{text}'"))?;
    <[usize; 3]>::try_from(parts)
        .map_err(|_| format!("expected CxHxW such as 3x32x32, got '{text}'"))
}

/// Images of a named dataset, or of the user's own arrays.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// cifar10, cifar100, mnist or fashion-mnist.
    #[arg(long, required_unless_present = "images", conflicts_with = "images")]
    pub dataset: Option<DatasetName>,
    /// Images as numpy arrays: a .npy ([N, C, H, W] or [N, H, W, C], uint8 or floats in [0, 1])
    /// or an .npz holding `x` (and `y`).
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// Labels for --images: a .npy of N integers (default: `y` of the --images .npz).
    #[arg(long, requires = "images")]
    pub labels: Option<PathBuf>,
    /// train or test.
    #[arg(long, default_value = "test")]
    pub split: Split,
    /// Use only the first N images.
    #[arg(long)]
    pub n: Option<usize>,
    /// Data directory (default: $JEAT_DATA, else ./data; installed copies are found too).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl DataArgs {
    /// The images, and how many the whole set has (before `--n`).
    pub fn load_with_size(&self) -> Result<(ImageSet, usize)> {
        let set = match (&self.images, self.dataset) {
            (Some(images), _) => {
                jeat_data::arrays::read_image_arrays(images, self.labels.as_deref())?
            }
            (None, Some(dataset)) => {
                let root = self.data_dir.clone().unwrap_or_else(default_data_root);
                dataset.load(&root, self.split)?
            }
            (None, None) => bail!("give --dataset NAME or --images FILE"),
        };
        let size = set.len();
        Ok(match self.n {
            Some(0) => bail!("--n must be ≥ 1"),
            Some(n) => (set.take(n), size),
            None => (set, size),
        })
    }

    /// `fashion-mnist/test[:1000]`, for identities and reports.
    pub fn describe(&self) -> String {
        let n = self.n.map(|n| format!("[:{n}]")).unwrap_or_default();
        match (&self.images, self.dataset) {
            (Some(images), _) => format!("{}{n}", images.display()),
            (None, Some(dataset)) => format!("{dataset}/{}{n}", self.split.as_str()),
            (None, None) => "no data".into(),
        }
    }
}

/// A progress bar with an ETA.
pub fn progress(total: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}

/// The SHA-256 of a file (identities of runs).
pub fn sha256(path: &Path) -> Result<String> {
    jeat_data::checksum::sha256_file(path).with_context(|| format!("hashing {}", path.display()))
}
