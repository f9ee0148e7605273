//! The score cells: FID, KID and (with pytorch-fid's weights) IS of a method's samples against
//! the profile's reference images, whose features are computed once per output directory.

use crate::cache::{cached, file_hash};
use crate::pipeline::{Options, Scores};
use anyhow::Result;
use jeat_data::png_folder::read_image_folder;
use jeat_data::{ImageSet, Split};
use jeat_metrics::extract::features_of;
use jeat_metrics::score::softmax_rows;
use jeat_metrics::weights::LoadedInception;
use jeat_metrics::{Accumulator, frechet_distance, inception_score, kernel_inception_distance};
use jeat_train::presets::preset;
use std::cell::OnceCell;
use std::path::Path;

/// FID, KID and IS of the samples in `samples_dir` against the profile's reference images.
pub(crate) fn score(
    options: &Options,
    loaded: &OnceCell<LoadedInception>,
    cells: &Path,
    samples_dir: &Path,
    samples_key: &serde_json::Value,
    test: &ImageSet,
    say: &mut dyn FnMut(String),
) -> Result<Scores> {
    let profile = &options.profile;
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
    let key = serde_json::json!({"samples": samples_key, "weights": file_hash(&weights)?, "reference": profile.score_reference});
    let (scores, _) = cached(&cells.join("scores.json"), &key, || {
        if loaded.get().is_none() {
            let _ = loaded.set(jeat_metrics::weights::load(&weights, &options.device)?);
        }
        let inception = loaded.get().expect("set above");
        let reference = match &profile.score_reference {
            (split, n) if split == "test" => test.take(n.unwrap_or(test.len())),
            (_, n) => {
                let config = preset(&format!("{}-standard", profile.name), None)?;
                let train = config.data.load(Split::Train)?;
                train.take(n.unwrap_or(train.len()))
            }
        };
        say(format!(
            "scoring {} samples against {} reference images",
            samples_dir.display(),
            reference.len()
        ));
        let reference_features = reference_features(inception, &reference, options, &key)?;
        let generated = read_image_folder(&samples_dir.join("images"))?;
        let features = features_of(
            &inception.model,
            &generated,
            50,
            inception.has_logits,
            &options.device,
            &mut |_| {},
        );
        let stats = |pool3: &[f32]| -> Result<jeat_metrics::Statistics> {
            let mut a = Accumulator::new(2048);
            a.add(pool3);
            Ok(a.finish()?)
        };
        let singular = if features.rows <= 2048 || reference.len() <= 2048 {
            " (fewer images than features: singular covariances, biased upwards)"
        } else {
            ""
        };
        let fid = frechet_distance(&stats(&features.pool3)?, &stats(&reference_features)?)?;
        let kid =
            kernel_inception_distance(&features.pool3, &reference_features, 2048, 50, 1000, 0)?;
        let mut scores = Scores {
            fid: Some((
                fid,
                format!(
                    "fid-tf2015:{}-vs-{}{singular}",
                    features.rows,
                    reference.name()
                ),
            )),
            kid: Some((
                kid.mean,
                kid.std,
                format!("kid-tf2015:{}-vs-{}", features.rows, reference.len()),
            )),
            is: None,
            notes: Vec::new(),
        };
        if inception.has_logits {
            let is = inception_score(&softmax_rows(&features.logits, 1008), 1008, 10)?;
            scores.is = Some((
                is.mean,
                is.std,
                format!("is-tf2015:{}x10splits", features.rows),
            ));
        } else {
            scores.notes.push(format!("IS needs the 1008-way layer of pytorch-fid's weights; {} has none (cargo xtask fetch-inception)", weights.display()));
        }
        Ok(scores)
    })?;
    Ok(scores)
}

/// Pool3 features of the reference images, cached in the output directory.
fn reference_features(
    inception: &jeat_metrics::weights::LoadedInception,
    reference: &ImageSet,
    options: &Options,
    key: &serde_json::Value,
) -> Result<Vec<f32>> {
    let path = options.out.join("cells").join("reference-pool3.f32");
    let key_path = path.with_extension("key.json");
    let key = serde_json::json!({"weights": key["weights"], "reference": reference.name(), "n": reference.len()});
    if std::fs::read_to_string(&key_path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        == Some(key.clone())
        && let Ok(bytes) = std::fs::read(&path)
        && bytes.len() == reference.len() * 2048 * 4
    {
        return Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect());
    }
    let features = features_of(
        &inception.model,
        reference,
        50,
        false,
        &options.device,
        &mut |_| {},
    );
    std::fs::create_dir_all(path.parent().expect("has a parent"))?;
    std::fs::write(
        &path,
        features
            .pool3
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )?;
    std::fs::write(&key_path, key.to_string())?;
    Ok(features.pool3)
}
