//! Cells of the table are cached as JSON next to the key (configuration, model hash) that
//! produced them; a rerun recomputes a cell only when its key changed or it is missing.

use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

#[derive(serde::Serialize, serde::Deserialize)]
struct Cell<T> {
    key: serde_json::Value,
    seconds: f64,
    value: T,
}

/// The value cached at `path` for `key`, or `compute()`'s, cached there (atomically). Returns
/// the value and the seconds it took (when it was computed, whenever that was).
pub fn cached<T: Serialize + DeserializeOwned>(
    path: &Path,
    key: &serde_json::Value,
    compute: impl FnOnce() -> Result<T>,
) -> Result<(T, f64)> {
    if let Ok(text) = std::fs::read_to_string(path)
        && let Ok(cell) = serde_json::from_str::<Cell<T>>(&text)
        && &cell.key == key
    {
        return Ok((cell.value, cell.seconds));
    }
    let started = std::time::Instant::now();
    let value = compute()?;
    let seconds = started.elapsed().as_secs_f64();
    let cell = Cell {
        key: key.clone(),
        seconds,
        value,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&cell)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok((cell.value, seconds))
}

/// The SHA-256 of a file, as a cache key.
pub fn file_hash(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}
