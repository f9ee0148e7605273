//! Cells of the table are cached as JSON next to the key (configuration, model hash) that
//! produced them; a rerun recomputes a cell only when its key changed or it is missing. The
//! cache counts its hits and misses, so a caller (and a test) can tell what a run recomputed.

use crate::error::{ReproduceError, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::Cell as Counter;
use std::path::Path;

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry<T> {
    key: serde_json::Value,
    seconds: f64,
    value: T,
}

/// Hits and misses of the cells of one run.
#[derive(Debug, Default)]
pub struct Cache {
    hits: Counter<usize>,
    misses: Counter<usize>,
}

impl Cache {
    /// The value cached at `path` for `key`, or `compute()`'s, cached there (atomically).
    /// Returns the value and the seconds it took (when it was computed, whenever that was).
    pub fn cached<T: Serialize + DeserializeOwned>(
        &self,
        path: &Path,
        key: &serde_json::Value,
        compute: impl FnOnce() -> Result<T>,
    ) -> Result<(T, f64)> {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(entry) = serde_json::from_str::<Entry<T>>(&text)
            && &entry.key == key
        {
            self.hits.set(self.hits.get() + 1);
            return Ok((entry.value, entry.seconds));
        }
        self.misses.set(self.misses.get() + 1);
        let started = std::time::Instant::now();
        let value = compute()?;
        let seconds = started.elapsed().as_secs_f64();
        let entry = Entry {
            key: key.clone(),
            seconds,
            value,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ReproduceError::io(parent, e))?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(&entry).map_err(|e| ReproduceError::io(path, e))?;
        std::fs::write(&tmp, text).map_err(|e| ReproduceError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| ReproduceError::io(path, e))?;
        Ok((entry.value, seconds))
    }

    /// Cells found in the cache.
    pub fn hits(&self) -> usize {
        self.hits.get()
    }

    /// Cells computed.
    pub fn misses(&self) -> usize {
        self.misses.get()
    }
}

/// The SHA-256 of a file, as a cache key.
pub fn file_hash(path: &Path) -> Result<String> {
    jeat_data::checksum::sha256_file(path).map_err(|e| ReproduceError::io(path, e))
}
