//! A training run killed with SIGKILL mid-epoch and resumed ends with exactly the weights of an
//! uninterrupted run with the same seed (bit for bit on the CPU backend).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn jeat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jeat"))
}

fn tensors(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect();
    out.sort();
    out
}

fn position(run: &Path) -> Option<(usize, usize)> {
    let text = std::fs::read_to_string(run.join("checkpoints/last/state.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some((
        state["epoch"].as_u64()? as usize,
        state["global_step"].as_u64()? as usize,
    ))
}

#[test]
fn a_run_killed_mid_epoch_resumes_to_the_uninterrupted_weights() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let status = jeat()
        .args(["train", "--preset", "smoke-pgd-at", "--out"])
        .arg(&whole)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let killed = dir.path().join("killed");
    let mut child = jeat()
        .args(["train", "--preset", "smoke-pgd-at", "--out"])
        .arg(&killed)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for a checkpoint inside the first epoch (36 steps per epoch, one every 8), then kill.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some((epoch, step)) = position(&killed)
            && epoch == 0
            && step >= 16
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no mid-epoch checkpoint appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(
        !killed.join("final.safetensors").exists(),
        "killed too late"
    );

    let status = jeat()
        .args(["train", "--resume"])
        .arg(&killed)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        tensors(&killed.join("final.safetensors")),
        tensors(&whole.join("final.safetensors"))
    );
}
