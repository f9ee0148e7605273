//! The state file of a robust-accuracy run: per-point results and each attack's progress,
//! written atomically after every batch, so that a killed run resumes exactly.

use super::{Evaluation, PointResult};
use crate::error::AttackError;
use crate::sanity::SanityFlag;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct AttackState {
    pub(super) name: String,
    /// Points robust when the attack started: its batches are chunks of these.
    pub(super) targets: Vec<usize>,
    pub(super) batches_done: usize,
    pub(super) seconds: f64,
    pub(super) non_finite_points: usize,
    #[serde(default)]
    pub(super) zero_gradient_points: usize,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct State {
    pub(super) identity: String,
    pub(super) protocol: String,
    pub(super) seed: u64,
    pub(super) batch_size: usize,
    /// How many points the source has.
    pub(super) size: usize,
    pub(super) points: Vec<PointResult>,
    pub(super) flags: Vec<SanityFlag>,
    pub(super) attacks: Vec<AttackState>,
}

impl State {
    pub(super) fn signature(&self) -> String {
        format!(
            "{} / {} / seed {} / batch {} / {} points",
            self.identity, self.protocol, self.seed, self.batch_size, self.size
        )
    }

    pub(super) fn load(path: &Path) -> Result<Option<Self>, AttackError> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| AttackError::Io {
                    path: path.display().to_string(),
                    message: format!("not a readable attack state: {e}"),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AttackError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    pub(super) fn save(&self, path: &Path) -> Result<(), AttackError> {
        let io = |e: std::io::Error| AttackError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let text = serde_json::to_string(self).expect("state serialises");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

impl State {
    /// The run's saved state where `evaluation` has a state file with one (refused where it was
    /// made by another run), else a fresh one; and whether it was resumed.
    pub(super) fn resume_or_start(
        evaluation: &Evaluation,
        protocol: &str,
        batch_size: usize,
        size: usize,
    ) -> Result<(Self, bool), AttackError> {
        let fresh = State {
            identity: evaluation.identity.clone(),
            protocol: protocol.to_string(),
            seed: evaluation.seed,
            batch_size,
            size,
            points: Vec::new(),
            flags: Vec::new(),
            attacks: Vec::new(),
        };
        let Some(path) = &evaluation.state_path else {
            return Ok((fresh, false));
        };
        match State::load(path)? {
            Some(saved) if saved.signature() != fresh.signature() => {
                Err(AttackError::StateMismatch {
                    path: path.display().to_string(),
                    expected: fresh.signature(),
                    found: saved.signature(),
                })
            }
            Some(saved) => Ok((saved, true)),
            None => Ok((fresh, false)),
        }
    }
}
