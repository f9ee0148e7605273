//! The score cells: FID, KID and (with pytorch-fid's weights) IS of a method's samples against
//! the profile's reference images, through jeat-metrics' scoring API; the reference features are
//! computed once per output directory.

use crate::cache::file_hash;
use crate::cell::{MethodCell, Reproduction};
use crate::error::Result;
use jeat_data::Split;
use jeat_data::png_folder::read_image_folder;
use jeat_metrics::extract::features_of;
use jeat_metrics::scoring::{self, FeatureCache, Protocol, Scored};

/// Images per Inception batch.
const BATCH: usize = 50;

/// Bumped when a score cell holds more (older cells are recomputed): 1 adds KID's standard
/// error.
const SCORES_REVISION: u32 = 1;

/// IS, FID and KID of a method's samples, or why they are missing.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Scores {
    /// FID.
    pub fid: Option<Scored>,
    /// KID (mean and std over subsets).
    pub kid: Option<Scored>,
    /// IS (mean and std over splits).
    pub is: Option<Scored>,
    /// Why a score is missing.
    pub notes: Vec<String>,
}

/// FID, KID and IS of `cell`'s samples (named by `samples_key`) against the plan's reference
/// images.
pub fn score(
    run: &Reproduction,
    cell: &MethodCell,
    samples_key: &serde_json::Value,
    say: &mut dyn FnMut(String),
) -> Result<Scores> {
    let options = run.options;
    let profile = &options.plan;
    let (loaded, test) = (&run.inception, &run.test);
    let samples_dir = cell.dir.join("samples");
    let data_root = jeat_data::default_data_root();
    let Some(weights) = options
        .inception
        .clone()
        .or_else(|| jeat_metrics::weights::locate(&data_root))
    else {
        return Ok(Scores {
            notes: vec![jeat_metrics::weights::FETCH_HINT.to_string()],
            ..Scores::default()
        });
    };
    let protocol = Protocol::default();
    let key = serde_json::json!({"samples": samples_key, "weights": file_hash(&weights)?, "reference": profile.score_reference, "protocol": protocol, "revision": SCORES_REVISION});
    let (scores, _) = run.cache.cached(&cell.dir.join("scores.json"), &key, || {
        if loaded.get().is_none() {
            let _ = loaded.set(jeat_metrics::weights::load(&weights, &options.device)?);
        }
        let inception = loaded.get().expect("set above");
        let (split, n) = profile.score_reference;
        let set = match split {
            Split::Test => test,
            Split::Train => &run.training_set,
        };
        let reference = set.take(n.unwrap_or(set.len()));
        say(format!(
            "scoring {} samples against {} reference images",
            samples_dir.display(),
            reference.len()
        ));
        let reference_key = serde_json::json!({"weights": inception.sha256, "reference": reference.name(), "n": reference.len()});
        let reference_features = FeatureCache::new(options.out.join("cells")).features(
            "reference",
            &reference_key,
            || {
                Ok(features_of(
                    &inception.model,
                    &reference,
                    BATCH,
                    false,
                    &options.device,
                    &mut |_| {},
                )
                .pool3)
            },
        )?;
        let generated = read_image_folder(&samples_dir.join("images"))?;
        let features = features_of(
            &inception.model,
            &generated,
            BATCH,
            inception.has_logits,
            &options.device,
            &mut |_| {},
        );
        let mut scores = Scores {
            fid: Some(scoring::fid(
                &scoring::statistics(&features.pool3)?,
                &scoring::statistics(&reference_features)?,
            )?),
            kid: Some(scoring::kid(
                &features.pool3,
                &reference_features,
                &protocol,
            )?),
            is: None,
            notes: Vec::new(),
        };
        if inception.has_logits {
            scores.is = Some(scoring::inception(&features, &protocol)?);
        } else {
            scores.notes.push(format!("IS needs the 1008-way layer of pytorch-fid's weights; {} has none (cargo xtask fetch-inception)", weights.display()));
        }
        Ok(scores)
    })?;
    Ok(scores)
}
