//! A RobustBench `model_info` entry for an AutoAttack evaluation: the keys and string formats of
//! the leaderboard's `model_info/<dataset>/<threat>/<Name>.json` files (accuracies as strings
//! with two decimals, eps as the user wrote it). What only the author knows (paper link, title,
//! authors, venue, the number the paper reported) is left empty to fill in.

use anyhow::{Result, bail};
use jeat_attacks::runner::Report;
use jeat_attacks::suite::Suite;
use serde_json::{Value, json};

/// RobustBench's name for an architecture id: `wrn-34-10` and `dm-wrn-70-16` →
/// `WideResNet-34-10` and `WideResNet-70-16`, the PreAct-ResNet-18s → `PreActResNet-18`,
/// `resnet-50` → `ResNet-50`; others as they are.
pub fn architecture_name(arch: &str) -> String {
    let wrn = arch
        .strip_prefix("wrn-")
        .or_else(|| arch.strip_prefix("dm-wrn-"))
        .or_else(|| arch.strip_prefix("jem-wrn-"));
    if let Some(rest) = wrn {
        let rest = rest.strip_suffix("-nobn").unwrap_or(rest);
        return format!("WideResNet-{rest}");
    }
    match arch {
        "preact-resnet-18" | "preact-resnet-18-fast" | "dm-preact-resnet-18" => {
            "PreActResNet-18".into()
        }
        "resnet-18" => "ResNet-18".into(),
        "resnet-50" => "ResNet-50".into(),
        other => other.into(),
    }
}

/// Refuses, before any attack runs, a suite that is not AutoAttack's standard version: the
/// leaderboard's `autoattack_acc` means that suite.
pub fn check_suite(suite: &Suite) -> Result<()> {
    if suite.attacks != Suite::autoattack_standard().attacks {
        bail!(
            "--robustbench-info needs --suite aa-standard (RobustBench's autoattack_acc is that suite), got {}",
            suite.name
        );
    }
    Ok(())
}

/// The entry for `report` of a model `arch` on `dataset` (`cifar10`, …) evaluated on `points`
/// of the `full` test points, at `eps` as written (`8/255`).
pub fn model_info(report: &Report, arch: &str, dataset: &str, eps: &str, full: usize) -> Value {
    let mut info = json!({
        "link": "",
        "name": "",
        "authors": "",
        "additional_data": false,
        "number_forward_passes": 1,
        "dataset": dataset,
        "venue": "",
        "architecture": architecture_name(arch),
        "eps": eps,
        "clean_acc": format!("{:.2}", report.clean_accuracy),
        "reported": "",
        "autoattack_acc": format!("{:.2}", report.robust_accuracy),
        "unreliable": false,
    });
    if report.points < full {
        info["footnote"] = json!(format!(
            "Evaluated on the first {} of the {} test points.",
            report.points, full
        ));
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_take_robustbench_names_and_only_aa_standard_is_accepted() {
        assert_eq!(architecture_name("wrn-34-10"), "WideResNet-34-10");
        assert_eq!(architecture_name("wrn-28-10-nobn"), "WideResNet-28-10");
        assert_eq!(architecture_name("preact-resnet-18"), "PreActResNet-18");
        assert_eq!(architecture_name("dm-wrn-70-16"), "WideResNet-70-16");
        assert_eq!(architecture_name("dm-preact-resnet-18"), "PreActResNet-18");
        assert_eq!(architecture_name("resnet-50"), "ResNet-50");
        assert!(check_suite(&Suite::parse("aa-standard").unwrap()).is_ok());
        let err = check_suite(&Suite::parse("apgd-ce,apgd-t").unwrap()).unwrap_err();
        assert!(err.to_string().contains("aa-standard"), "{err}");
    }
}
