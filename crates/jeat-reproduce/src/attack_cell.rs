//! The attack columns of one model, every column on the same test points. Each column's attacks
//! keep a resume state next to the cached result, so a killed run resumes mid-column. A state left
//! by an earlier checkpoint of the same method (it was retrained, so the cell's cache key changed)
//! describes another model's points: it is discarded, with a line saying so, instead of stopping
//! the whole table.

use crate::cell::{MethodCell, Reproduction};
use crate::error::{ReproduceError, Result};
use jeat_attacks::AttackError;
use jeat_attacks::runner::{Evaluation, Report, evaluate};
use jeat_attacks::suite::Suite;
use jeat_core::PointSource;
use jeat_data::SetSource;
use jeat_models::Classifier;

/// An attack column's result.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Column {
    /// Column name (`PGD-20`).
    pub name: String,
    /// Robust accuracy (%) and the report it comes from.
    pub report: Report,
    /// Seconds it took.
    pub seconds: f64,
}

/// Every attack column of `cell`'s model, on the plan's first `attack_points` test points.
pub fn columns(
    run: &Reproduction,
    cell: &MethodCell,
    say: &mut dyn FnMut(String),
) -> Result<Vec<Column>> {
    let plan = &run.options.plan;
    let method = &cell.name;
    let set = run.test.take(plan.attack_points);
    let source = SetSource {
        set: &set,
        device: run.options.device.clone(),
    };
    let mut columns = Vec::new();
    for (name, suite) in &plan.columns {
        let key = serde_json::json!({"model": cell.hash, "suite": suite, "eps": plan.eps(), "points": set.len(), "data": run.test.name(), "attacks": jeat_attacks::REVISION});
        let file = cell.dir.join(format!("attack-{suite}.json"));
        let (report, seconds) = run.cache.cached(&file, &key, || {
            say(format!("{method}: {name} on {} points", set.len()));
            let evaluation = Evaluation {
                suite: Suite::parse(suite)?,
                threat: run.threat.clone(),
                batch_size: plan.batch_size,
                seed: 0,
                identity: format!(
                    "{method} {} on {}[:{}], attacks revision {}",
                    &cell.hash[..16],
                    run.test.name(),
                    set.len(),
                    jeat_attacks::REVISION
                ),
                state_path: Some(cell.dir.join(format!("attack-{suite}.state.json"))),
                keep_adversarial: false,
            };
            std::fs::create_dir_all(&cell.dir).map_err(|e| ReproduceError::io(&cell.dir, e))?;
            evaluate_cell(&evaluation, &cell.model, &source, say)
        })?;
        say(format!(
            "{method}: {name} {:.2} % (clean {:.2} %)",
            report.robust_accuracy, report.clean_accuracy
        ));
        columns.push(Column {
            name: name.clone(),
            report,
            seconds,
        });
    }
    Ok(columns)
}

/// Runs `evaluation` (whose `state_path` is the cell's resume state) on `source`, replacing a
/// stale state of another model or configuration.
pub fn evaluate_cell(
    evaluation: &Evaluation,
    model: &dyn Classifier,
    source: &dyn PointSource,
    say: &mut dyn FnMut(String),
) -> Result<Report> {
    match evaluate(evaluation, model, source, &mut |_| {}) {
        Err(AttackError::StateMismatch { path, found, .. }) => {
            say(format!(
                "discarding {path}: a partial attack of another model ({found})"
            ));
            std::fs::remove_file(&path).map_err(|e| ReproduceError::io(path.as_ref(), e))?;
            Ok(evaluate(evaluation, model, source, &mut |_| {})?)
        }
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::*;
    use burn::tensor::TensorData;
    use jeat_attacks::suite::Suite;
    use jeat_attacks::{Norm, ThreatModel};

    /// Two classes, logits `[0, x̄ − 0.5]` of the mean pixel.
    struct MeanThreshold;

    impl Classifier for MeanThreshold {
        fn logits(&self, images: Tensor<4>) -> Tensor<2> {
            let [batch, ..] = images.dims();
            let score = images.reshape([batch as i64, -1]).mean_dim(1) - 0.5;
            Tensor::cat(vec![score.zeros_like(), score], 1)
        }

        fn num_classes(&self) -> usize {
            2
        }
    }

    /// Four 2x2 images of constant brightness 0.1, 0.3, 0.7, 0.9, labelled by the threshold.
    struct Points;

    impl PointSource for Points {
        fn len(&self) -> usize {
            4
        }

        fn load(&self, indices: &[usize]) -> (Tensor<4>, Tensor<1, Int>) {
            let levels = [0.1f32, 0.3, 0.7, 0.9];
            let pixels: Vec<f32> = indices.iter().flat_map(|&i| [levels[i]; 4]).collect();
            let labels: Vec<i64> = indices.iter().map(|&i| (i >= 2) as i64).collect();
            let device = jeat_core::testing::device();
            (
                Tensor::from_data(TensorData::new(pixels, [indices.len(), 1, 2, 2]), &device),
                Tensor::from_data(TensorData::new(labels, [indices.len()]), &device),
            )
        }
    }

    fn evaluation(identity: &str, state: &std::path::Path) -> Evaluation {
        Evaluation {
            suite: Suite::parse("fgsm").unwrap(),
            threat: ThreatModel::parse(Norm::Linf, "0.25").unwrap(),
            batch_size: 2,
            seed: 0,
            identity: identity.into(),
            state_path: Some(state.to_path_buf()),
            keep_adversarial: false,
        }
    }

    #[test]
    fn a_state_of_another_model_is_replaced_and_the_column_is_computed() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("attack-fgsm.state.json");
        let old = evaluation("old checkpoint", &state);
        let first = evaluate(&old, &MeanThreshold, &Points, &mut |_| {}).unwrap();

        let mut lines = Vec::new();
        let new = evaluation("retrained checkpoint", &state);
        let second =
            evaluate_cell(&new, &MeanThreshold, &Points, &mut |line| lines.push(line)).unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("discarding"), "{lines:?}");
        // Brightness 0.3 and 0.7 cross the threshold within 0.25; 0.1 and 0.9 do not.
        assert_eq!(second.robust_accuracy, 50.0);
        assert_eq!(second.robust_accuracy, first.robust_accuracy);
        // The state on disk is now the new model's: the old identity is the stale one.
        assert!(matches!(
            evaluate(&old, &MeanThreshold, &Points, &mut |_| {}),
            Err(AttackError::StateMismatch { .. })
        ));
        // And the same model resumes from it without a word.
        lines.clear();
        evaluate_cell(&new, &MeanThreshold, &Points, &mut |line| lines.push(line)).unwrap();
        assert!(lines.is_empty(), "{lines:?}");
    }
}
