//! MD5 checks of published files, with a fallback on the decompressed bytes of gzip files.

use crate::error::{DataError, Result};
use crate::idx::read_maybe_gzip;
use md5::{Digest, Md5};
use std::io::Read;
use std::path::Path;

/// The checksums pinned for one file.
#[derive(Debug, Clone, Copy)]
pub struct Checksums {
    /// MD5 of the file's bytes as published.
    pub md5: &'static str,
    /// MD5 of its decompressed bytes (gzip files), accepted when `md5` differs.
    pub content_md5: Option<&'static str>,
}

/// The lowercase hex digest of a file under `D`, read in chunks.
fn digest_file<D: Digest>(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = D::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The lowercase hex MD5 of a file, read in chunks.
pub fn md5_file(path: &Path) -> Result<String> {
    digest_file::<Md5>(path)
}

/// The lowercase hex SHA-256 of a file, read in chunks.
pub fn sha256_file(path: &Path) -> Result<String> {
    digest_file::<sha2::Sha256>(path)
}

/// Checks that the SHA-256 of `path` starts with `prefix` (a full digest is a prefix too).
pub fn verify_sha256_prefix(path: &Path, prefix: &str) -> Result<()> {
    let found = sha256_file(path)?;
    if found.starts_with(&prefix.to_ascii_lowercase()) {
        return Ok(());
    }
    Err(DataError::Checksum {
        path: path.to_path_buf(),
        algorithm: "sha256",
        expected: prefix.to_string(),
        found,
    })
}

/// Checks `path` against `expected`: its MD5, or else the MD5 of its decompressed bytes.
pub fn verify_file(path: &Path, expected: &Checksums) -> Result<()> {
    let found = md5_file(path)?;
    if found == expected.md5 {
        return Ok(());
    }
    if let Some(content) = expected.content_md5
        && let Ok(bytes) = read_maybe_gzip(path)
        && hex::encode(Md5::digest(&bytes)) == content
    {
        return Ok(());
    }
    Err(DataError::Checksum {
        path: path.to_path_buf(),
        algorithm: "md5",
        expected: expected.md5.to_string(),
        found,
    })
}
