//! `--set key=value`: overriding any key of a configuration without editing its TOML, for
//! sweeps. `key` is a dotted path (`schedule.lr`, `objective.attack.steps`); `value` is read as
//! TOML (`0.05`, `true`, `[75, 90]`, `"adam"`), or as a string when it is not TOML.

use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::method::TrainingMethod;
use crate::objective_config::ObjectiveConfig;
use toml::Value;

/// `config` with every `key=value` of `sets` applied in order; the result is checked as a
/// config from a file is. A key that is not a key of the configuration is refused with the
/// valid keys nearest to it.
pub fn apply_overrides(config: &TrainConfig, sets: &[String]) -> Result<TrainConfig, TrainError> {
    if sets.is_empty() {
        return Ok(config.clone());
    }
    let mut tree: Value = toml::from_str(&config.to_toml()).expect("a config is TOML");
    let known = leaf_paths(&tree, "");
    for set in sets {
        let (key, text) = set.split_once('=').ok_or_else(|| {
            TrainError::Config(format!(
                "--set {set}: write key=value (e.g. schedule.lr=0.05)"
            ))
        })?;
        let key = key.trim();
        let value = toml::from_str::<toml::Table>(&format!("v = {}", text.trim()))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| Value::String(text.trim().to_string()));
        if let Some(owners) = belongs_elsewhere(key, &known, config) {
            return Err(TrainError::Config(format!(
                "--set {key}: a setting of {owners}, not of {} (this configuration's method)",
                config.objective.name()
            )));
        }
        let parts: Vec<&str> = key.split('.').collect();
        let unknown = || {
            TrainError::Config(format!(
                "--set {key}: not a key of this configuration; nearest: {}",
                nearest(key, &known).join(", ")
            ))
        };
        let mut table = tree.as_table_mut().expect("a config is a table");
        for part in &parts[..parts.len() - 1] {
            table = table
                .get_mut(*part)
                .and_then(Value::as_table_mut)
                .ok_or_else(unknown)?;
        }
        table.insert(parts[parts.len() - 1].to_string(), value);
        // A key the configuration does not know shows up when it is read back.
        let text = toml::to_string(&tree).expect("TOML serialises");
        if let Err(e) = TrainConfig::from_toml(&text, "--set") {
            return Err(match e.to_string().contains("unknown field") {
                true => unknown(),
                false => TrainError::Config(format!("--set {set}: {e}")),
            });
        }
    }
    let text = toml::to_string(&tree).expect("TOML serialises");
    let config = TrainConfig::from_toml(&text, "--set")?;
    config.validate()?;
    Ok(config)
}

/// For an `objective.…` key this configuration lacks but another method has (`beta` with
/// pgd-at): the methods it belongs to, comma separated.
fn belongs_elsewhere(key: &str, known: &[String], config: &TrainConfig) -> Option<String> {
    if !key.starts_with("objective.") || known.iter().any(|k| k == key) {
        return None;
    }
    let owners: Vec<&str> = TrainingMethod::ALL
        .into_iter()
        .filter(|method| *method != config.objective.method())
        .filter(|method| {
            let objective = ObjectiveConfig::preset(*method, 0.1, 1, Some("pretrained".into()));
            let tree = Value::try_from(&objective).expect("an objective is TOML");
            leaf_paths(&tree, "objective").iter().any(|k| k == key)
        })
        .map(TrainingMethod::name)
        .collect();
    (!owners.is_empty()).then(|| owners.join(", "))
}

/// Every leaf key of `value`, dotted.
fn leaf_paths(value: &Value, prefix: &str) -> Vec<String> {
    match value.as_table() {
        Some(table) => table
            .iter()
            .flat_map(|(k, v)| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v.is_table() {
                    true => leaf_paths(v, &path),
                    false => vec![path],
                }
            })
            .collect(),
        None => vec![prefix.to_string()],
    }
}

/// The three keys of `known` closest to `key` in edit distance.
fn nearest(key: &str, known: &[String]) -> Vec<String> {
    let mut ranked: Vec<(usize, &String)> = known
        .iter()
        .map(|k| (strsim::levenshtein(key, k), k))
        .collect();
    ranked.sort();
    ranked.into_iter().take(3).map(|(_, k)| k.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::preset;

    #[test]
    fn overrides_change_exactly_their_keys() {
        let base = preset("smoke-pgd-at", None).unwrap();
        let sets = [
            "schedule.lr=0.2".to_string(),
            "objective.attack.steps=5".into(),
        ];
        let changed = apply_overrides(&base, &sets).unwrap();
        assert_eq!(changed.schedule.lr, 0.2);
        assert_eq!(changed.objective.inner_attack().unwrap().0.steps, 5);
        let mut expected = changed.clone();
        expected.schedule.lr = base.schedule.lr;
        expected.objective = base.objective.clone();
        assert_eq!(expected, base, "other keys moved");
        // A key absent from the printed config but known to it (an optional one).
        let subset = apply_overrides(&base, &["data.train_subset=100".into()]).unwrap();
        assert_eq!(subset.data.train_subset, Some(100));
    }

    #[test]
    fn unknown_keys_name_the_nearest_valid_ones_and_bad_values_are_refused() {
        let base = preset("smoke-pgd-at", None).unwrap();
        let err = apply_overrides(&base, &["schedule.lrr=0.2".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("schedule.lrr") && err.contains("schedule.lr"),
            "{err}"
        );
        let err = apply_overrides(&base, &["scheduel.lr=0.2".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("nearest") && err.contains("schedule.lr"),
            "{err}"
        );
        let err = apply_overrides(&base, &["schedule.lr=fast".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("schedule.lr=fast"), "{err}");
        assert!(apply_overrides(&base, &["schedule.lr=-1".into()]).is_err());
        assert!(apply_overrides(&base, &["schedule.lr".into()]).is_err());
    }

    #[test]
    fn another_methods_setting_names_the_method_it_belongs_to() {
        let base = preset("smoke-pgd-at", None).unwrap();
        let err = apply_overrides(&base, &["objective.beta=6".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a setting of trades, weat, not of pgd-at"),
            "{err}"
        );
        let err = apply_overrides(&base, &["objective.lambda=0.5".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("jeat, prejeat"), "{err}");
        let err = apply_overrides(&base, &["objective.sam_rho=0.5".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a setting of sada-jem, not of pgd-at"),
            "{err}"
        );
        // The method's own settings still apply.
        let weat = preset("smoke-weat", None).unwrap();
        let changed = apply_overrides(&weat, &["objective.beta=3".into()]).unwrap();
        assert_eq!(changed.objective.loss().name(), "weat");
    }
}
