//! The one scoring API that the CLI and the reproduction pipeline share: FID, IS and KID of a set
//! of features against a reference, with their protocol ids made in one place, and one cache of
//! reference features (pool3 as `.npy`, so that both FID and KID can reuse them).

use crate::error::MetricsError;
use crate::extract::Features;
use crate::fid::{Accumulator, Statistics, frechet_distance};
use crate::inception::{LOGIT_CLASSES, POOL3_DIM};
use crate::inception_score::{IsSplits, inception_score};
use crate::kid::{KidSubsets, kernel_inception_distance, kid_standard_error};
use std::path::{Path, PathBuf};

/// How the scores are computed; [`Default`] is torch-fidelity's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Protocol {
    /// The Inception Score's splits.
    pub is: IsSplits,
    /// KID's subsets.
    pub kid: KidSubsets,
}

/// A score with its protocol id.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scored {
    /// The value (the mean over splits or subsets for IS and KID).
    pub value: f64,
    /// The standard deviation over splits or subsets (IS, KID).
    pub std: Option<f64>,
    /// The value's standard error, where it has one (KID: [`kid_standard_error`]).
    #[serde(default)]
    pub standard_error: Option<f64>,
    /// E.g. `fid-tf2015:1000-vs-10000`, `is-tf2015:50000:10splits-shuffled2020`.
    pub protocol: String,
}

/// The reference a score compares with: its pool3 features, or only their statistics (a
/// pytorch-fid `.npz` file, enough for FID).
#[derive(Debug, Clone)]
pub enum ScoreReference {
    /// `rows × 2048` pool3 features.
    Features(Vec<f32>),
    /// Mean and covariance.
    Statistics(Statistics),
}

impl ScoreReference {
    /// Images behind the reference.
    pub fn count(&self) -> usize {
        match self {
            Self::Features(pool3) => pool3.len() / POOL3_DIM,
            Self::Statistics(stats) => stats.count,
        }
    }

    /// Mean and covariance.
    pub fn statistics(&self) -> Result<Statistics, MetricsError> {
        match self {
            Self::Features(pool3) => statistics(pool3),
            Self::Statistics(stats) => Ok(stats.clone()),
        }
    }
}

/// Mean and covariance of `rows × 2048` pool3 features.
pub fn statistics(pool3: &[f32]) -> Result<Statistics, MetricsError> {
    let mut accumulator = Accumulator::new(POOL3_DIM);
    accumulator.add(pool3);
    accumulator.finish()
}

/// Whether `count` images give a singular 2048 × 2048 covariance.
pub fn singular(count: usize) -> bool {
    count <= POOL3_DIM
}

/// FID of `ours` against `reference`.
pub fn fid(ours: &Statistics, reference: &Statistics) -> Result<Scored, MetricsError> {
    let note = if singular(ours.count) || singular(reference.count) {
        ":singular"
    } else {
        ""
    };
    Ok(Scored {
        value: frechet_distance(ours, reference)?,
        std: None,
        standard_error: None,
        protocol: format!("fid-tf2015:{}-vs-{}{note}", ours.count, reference.count),
    })
}

/// Inception Score of `features` (which must carry the 1008-way logits).
pub fn inception(features: &Features, protocol: &Protocol) -> Result<Scored, MetricsError> {
    if features.logits.len() != features.rows * LOGIT_CLASSES {
        return Err(MetricsError::Invalid(
            "the Inception Score needs the 1008-way logits (pytorch-fid's weights)".into(),
        ));
    }
    let score = inception_score(&features.logits, LOGIT_CLASSES, protocol.is)?;
    Ok(Scored {
        value: score.mean,
        std: Some(score.std),
        standard_error: None,
        protocol: format!("is-tf2015:{}:{}", features.rows, protocol.is.id()),
    })
}

/// KID of pool3 features `ours` against `reference` (both `rows × 2048`).
pub fn kid(ours: &[f32], reference: &[f32], protocol: &Protocol) -> Result<Scored, MetricsError> {
    let (a, b) = (ours.len() / POOL3_DIM, reference.len() / POOL3_DIM);
    let score = kernel_inception_distance(ours, reference, POOL3_DIM, protocol.kid)?;
    Ok(Scored {
        value: score.mean,
        std: Some(score.std),
        standard_error: Some(kid_standard_error(
            ours,
            reference,
            POOL3_DIM,
            protocol.kid,
        )?),
        protocol: format!(
            "kid-tf2015:{a}-vs-{b}:{}x{}-seed{}",
            protocol.kid.subsets,
            protocol.kid.size_for(a, b),
            protocol.kid.seed
        ),
    })
}

/// A cache of pool3 features, one `.npy` file per key with the key beside it (`.key.json`):
/// a file whose key differs (other weights, other images) is recomputed, never reused.
#[derive(Debug, Clone)]
pub struct FeatureCache {
    dir: PathBuf,
}

impl FeatureCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn paths(&self, name: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{name}.pool3.npy")),
            self.dir.join(format!("{name}.key.json")),
        )
    }

    /// The features cached as `name` under `key`, or those `compute` makes (then cached).
    pub fn features(
        &self,
        name: &str,
        key: &serde_json::Value,
        compute: impl FnOnce() -> Result<Vec<f32>, MetricsError>,
    ) -> Result<Vec<f32>, MetricsError> {
        let (data, key_path) = self.paths(name);
        let stored_key = std::fs::read_to_string(&key_path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
        if stored_key.as_ref() == Some(key)
            && let Ok(features) = read_features(&data)
        {
            return Ok(features);
        }
        let features = compute()?;
        std::fs::create_dir_all(&self.dir).map_err(|e| MetricsError::io(&self.dir, e))?;
        write_features(&data, &features)?;
        std::fs::write(&key_path, key.to_string()).map_err(|e| MetricsError::io(&key_path, e))?;
        Ok(features)
    }
}

fn read_features(path: &Path) -> Result<Vec<f32>, MetricsError> {
    let bytes = std::fs::read(path).map_err(|e| MetricsError::io(path, e))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| MetricsError::io(path, e))?;
    if npy.shape().len() != 2 || npy.shape()[1] != POOL3_DIM as u64 {
        return Err(MetricsError::io(path, "not a rows × 2048 feature array"));
    }
    npy.into_vec::<f32>().map_err(|e| MetricsError::io(path, e))
}

fn write_features(path: &Path, features: &[f32]) -> Result<(), MetricsError> {
    use npyz::WriterBuilder;
    let io = |e: &dyn std::fmt::Display| MetricsError::io(path, e);
    let mut buffer = Vec::new();
    let rows = (features.len() / POOL3_DIM) as u64;
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[rows, POOL3_DIM as u64])
        .writer(&mut buffer)
        .begin_nd()
        .map_err(|e| io(&e))?;
    writer
        .extend(features.iter().copied())
        .map_err(|e| io(&e))?;
    writer.finish().map_err(|e| io(&e))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, buffer).map_err(|e| io(&e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_reuses_features_only_under_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FeatureCache::new(dir.path());
        let values: Vec<f32> = (0..2 * POOL3_DIM).map(|i| i as f32 / 7.0).collect();
        let key = serde_json::json!({"weights": "a", "n": 2});
        let computed = std::cell::Cell::new(0);
        let compute = || {
            computed.set(computed.get() + 1);
            Ok(values.clone())
        };
        assert_eq!(cache.features("ref", &key, compute).unwrap(), values);
        assert_eq!(cache.features("ref", &key, compute).unwrap(), values);
        assert_eq!(computed.get(), 1, "the second call did not reuse the cache");
        let other = serde_json::json!({"weights": "b", "n": 2});
        cache.features("ref", &other, compute).unwrap();
        assert_eq!(computed.get(), 2, "features of other weights were reused");
    }

    #[test]
    fn protocol_ids_say_how_each_score_was_made() {
        let protocol = Protocol::default();
        let rows = 12;
        let features = Features {
            pool3: vec![0.0; rows * POOL3_DIM],
            logits: (0..rows * LOGIT_CLASSES).map(|i| (i % 13) as f32).collect(),
            rows,
        };
        let is = inception(&features, &protocol).unwrap();
        assert_eq!(is.protocol, "is-tf2015:12:10splits-shuffled2020");
        let no_logits = Features {
            logits: Vec::new(),
            ..features.clone()
        };
        assert!(inception(&no_logits, &protocol).is_err());
        let pool3: Vec<f32> = (0..rows * POOL3_DIM).map(|i| (i % 17) as f32).collect();
        let kid = kid(&pool3, &pool3, &protocol).unwrap();
        assert_eq!(kid.protocol, "kid-tf2015:12-vs-12:100x12-seed2020");
    }
}
