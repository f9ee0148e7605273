//! The reproduction, method by method: train (resumable run directories), attack each column,
//! generate, score, analyse; every cell cached under the output directory with the key that
//! produced it, so an interrupted run resumes and a rerun redoes only what changed. One function
//! per stage, each in the file of its concept; this file only strings them together.

use crate::cache::Cache;
use crate::cell::Reproduction;
use crate::error::{ReproduceError, Result};
use crate::options::Options;
use crate::summary::{MethodResult, Summary};
use crate::{analysis, attack_cell, samples, scores, training};
use jeat_analysis::figures::LandscapeRow;
use jeat_attacks::{Norm, ThreatModel};
use jeat_data::Split;
use jeat_train::TrainingMethod;

/// Runs the profile; `say` receives one line per step.
pub fn run(options: &Options, say: &mut dyn FnMut(String)) -> Result<Summary> {
    let started = std::time::Instant::now();
    let plan = &options.plan;
    std::fs::create_dir_all(&options.out).map_err(|e| ReproduceError::io(&options.out, e))?;
    let data = plan.profile.config(TrainingMethod::Standard, None)?.data;
    let run = Reproduction {
        options,
        cache: Cache::default(),
        test: data.load(Split::Test)?,
        training_set: data.load(Split::Train)?,
        threat: ThreatModel::parse(Norm::Linf, plan.eps())
            .map_err(jeat_attacks::AttackError::from)?,
        seeds: Default::default(),
        inception: Default::default(),
    };
    let dataset = data.named()?;
    let real_data = dataset.is_some();
    say(format!(
        "data: {} ({} test images){}",
        run.test.name(),
        run.test.len(),
        if real_data { "" } else { " — SYNTHETIC data" }
    ));
    let mut rows: Vec<MethodResult> = Vec::new();
    let mut replicates: Vec<MethodResult> = Vec::new();
    let mut failures = Vec::new();
    for replicate in 0..plan.seeds.max(1) {
        let mut done: Vec<MethodResult> = Vec::new();
        for &method in &plan.methods {
            match row(&run, method, replicate, &done, say) {
                Ok(result) => done.push(result),
                Err(error) => {
                    say(format!(
                        "{}: FAILED: {error}",
                        training::row_name(method, replicate)
                    ));
                    failures.push((method, error.to_string()));
                }
            }
        }
        match replicate {
            0 => rows = done,
            _ => replicates.extend(done),
        }
    }
    let landscapes: Vec<LandscapeRow> = rows
        .iter()
        .map(|r| LandscapeRow {
            name: r.method.to_string(),
            near: r.analysis.landscape.clone(),
            wide: r.analysis.wide_landscape.clone(),
            attack: r.analysis.attack_slice.clone(),
            random: r.analysis.random_slice.clone(),
        })
        .collect();
    jeat_analysis::figures::landscape_figure(
        &options.out.join("landscape.png"),
        &format!(
            "E(x + a d1 + b d2, y) around test image 0 of {} (d1, d2: random signs of Linf eps)",
            run.test.name()
        ),
        &landscapes,
    )?;
    Ok(Summary {
        plan: plan.clone(),
        data: run.test.name().to_string(),
        dataset,
        real_data,
        backend: options.backend.clone(),
        methods: rows,
        replicates,
        failures,
        cells: (run.cache.hits(), run.cache.misses()),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One method's row for training seed `replicate`: train, attack, generate, score, analyse.
/// `done` holds the rows of the same seed made so far (a method that fine-tunes another starts
/// from that seed's checkpoint of it).
fn row(
    run: &Reproduction,
    method: TrainingMethod,
    replicate: usize,
    done: &[MethodResult],
    say: &mut dyn FnMut(String),
) -> Result<MethodResult> {
    let pretrained = match method.starts_from() {
        Some(parent) => Some(
            done.iter()
                .find(|r| r.method == parent)
                .map(|r| r.checkpoint.clone())
                .ok_or_else(|| {
                    ReproduceError::Plan(format!(
                        "{method} starts from the {parent} checkpoint: keep {parent} before {method}"
                    ))
                })?,
        ),
        None => None,
    };
    let cell = training::train(run, method, replicate, pretrained, say)?;
    let columns = attack_cell::columns(run, &cell, say)?;
    let (samples, samples_key) = samples::generate(run, &cell, say)?;
    let scores = scores::score(run, &cell, &samples_key, say)?;
    let analysis = analysis::analyse(run, &cell, &samples, say)?;
    Ok(MethodResult {
        method,
        clean_accuracy: columns.first().map_or(0.0, |c| c.report.clean_accuracy),
        checkpoint: cell.checkpoint,
        model: cell.spec,
        training_seconds: cell.training_seconds,
        columns,
        samples,
        scores,
        analysis,
        replicate,
    })
}
