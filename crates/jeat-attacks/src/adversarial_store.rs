//! The adversarial examples of a run, kept beside its state file (`<state>.adv`) as they are
//! found, so that a killed and resumed run still has every one of them.
//!
//! Layout: the magic `JEATADV1`, the values per image as a little-endian u32, then records of a
//! u32 point index followed by that many f32 values (the image `[C, H, W]` in [0, 1]). Records are
//! appended before the state file records the batch, so the state never counts a fooled point
//! whose example is missing; a record cut short by a crash is ignored, and a later record of the
//! same point replaces an earlier one.

use crate::error::AttackError;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"JEATADV1";

/// The store of the run whose state is at `state_path`.
pub fn store_path(state_path: &Path) -> PathBuf {
    let mut path = state_path.as_os_str().to_owned();
    path.push(".adv");
    PathBuf::from(path)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> AttackError + '_ {
    move |e| AttackError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Starts an empty store at `path` (replacing any old one) for images of `values` values.
pub fn create(path: &Path, values: usize) -> Result<(), AttackError> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend((values as u32).to_le_bytes());
    std::fs::write(path, bytes).map_err(io(path))
}

/// Appends the images `images` (`indices.len()` rows of the store's size, row-major) of the
/// points `indices`, and flushes them to disk.
pub fn append(path: &Path, indices: &[usize], images: &[f32]) -> Result<(), AttackError> {
    if indices.is_empty() {
        return Ok(());
    }
    let values = images.len() / indices.len();
    let mut bytes = Vec::with_capacity(indices.len() * (4 + 4 * values));
    for (k, &index) in indices.iter().enumerate() {
        bytes.extend((index as u32).to_le_bytes());
        for v in &images[k * values..(k + 1) * values] {
            bytes.extend(v.to_le_bytes());
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io(path))?;
    file.write_all(&bytes).map_err(io(path))?;
    file.sync_data().map_err(io(path))
}

/// Every point's latest image, by point index, and the values per image.
pub fn read(path: &Path) -> Result<(usize, BTreeMap<usize, Vec<f32>>), AttackError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(AttackError::Io {
            path: path.display().to_string(),
            message: "not a jeat adversarial-example store".into(),
        });
    }
    let values = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let record = 4 + 4 * values;
    let mut images = BTreeMap::new();
    for chunk in bytes[12..].chunks_exact(record) {
        let index = u32::from_le_bytes(chunk[..4].try_into().expect("4 bytes")) as usize;
        let image = chunk[4..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        images.insert(index, image);
    }
    Ok((values, images))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_records_replace_earlier_ones_and_a_torn_record_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json.adv");
        create(&path, 2).unwrap();
        append(&path, &[3, 5], &[0.1, 0.2, 0.3, 0.4]).unwrap();
        append(&path, &[3], &[0.9, 1.0]).unwrap();
        // A crash in the middle of a record.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(7u32.to_le_bytes());
        bytes.extend(0.5f32.to_le_bytes());
        std::fs::write(&path, bytes).unwrap();
        let (values, images) = read(&path).unwrap();
        assert_eq!(values, 2);
        assert_eq!(images.len(), 2);
        assert_eq!(images[&3], vec![0.9, 1.0]);
        assert_eq!(images[&5], vec![0.3, 0.4]);
        std::fs::write(&path, b"not a store").unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("not a jeat"));
    }
}
