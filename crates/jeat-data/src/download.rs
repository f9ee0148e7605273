//! Checked, resumable, atomic downloads of the datasets in the [catalog](crate::catalog).
//!
//! A file is streamed to `<name>.part` (resuming with an HTTP range request when a partial file
//! is there), verified against its pinned MD5, and only then renamed to its final name: a file
//! under its final name is always complete. Archives are unpacked into a temporary directory
//! that is renamed into place when unpacking finished.

use crate::catalog::{DatasetName, RemoteFile};
use crate::checksum::{Checksums, verify_file};
use crate::error::{DataError, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What [`fetch_dataset`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A verified copy was already in this directory; nothing was downloaded.
    AlreadyPresent(PathBuf),
    /// The data was downloaded into this directory.
    Downloaded(PathBuf),
}

/// Options for [`fetch_dataset`].
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Draw a progress bar on standard error.
    pub progress: bool,
    /// Replace the publisher's base addresses (used by tests and by mirrors).
    pub base_urls: Option<Vec<String>>,
    /// Download into the data root even when an installed system copy exists.
    pub ignore_installed: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            progress: true,
            base_urls: None,
            ignore_installed: false,
        }
    }
}

/// Makes `dataset` available: if a verified copy is found (under `root` or in a system
/// directory such as Debian's), reports it; otherwise downloads it into `<root>/<name>`.
pub fn fetch_dataset(
    dataset: DatasetName,
    root: &Path,
    options: &FetchOptions,
) -> Result<FetchOutcome> {
    let dir = dataset.dir_in(root);
    let found = if options.ignore_installed {
        dataset.locate_in(std::slice::from_ref(&dir))
    } else {
        dataset.locate(root)
    };
    if let Ok(found) = found {
        verify_dataset_dir(dataset, &found)?;
        return Ok(FetchOutcome::AlreadyPresent(found));
    }
    std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
    let source = dataset.source();
    let bases: Vec<String> = match &options.base_urls {
        Some(bases) => bases.clone(),
        None => source.base_urls.iter().map(|b| b.to_string()).collect(),
    };
    for file in source.files {
        let dest = dir.join(file.file_name);
        if dest.is_file() && verify_file(&dest, &checksums(file)).is_ok() {
            continue;
        }
        download_from_any(&bases, file, &dest, options.progress).map_err(|e| {
            if let DataError::Download { url, message } = e {
                DataError::Download {
                    url,
                    message: format!("{message}; offline? {}", dataset.install_hint()),
                }
            } else {
                e
            }
        })?;
        if let Some(unpacked) = source.unpacks_to {
            unpack_tar_gz(&dest, &dir, unpacked)?;
            std::fs::remove_file(&dest).map_err(|e| DataError::io(&dest, e))?;
        }
    }
    dataset.locate_in(std::slice::from_ref(&dir))?;
    Ok(FetchOutcome::Downloaded(dir))
}

fn checksums(file: &RemoteFile) -> Checksums {
    Checksums {
        md5: file.md5,
        content_md5: file.content_md5,
    }
}

/// Checks every published file present in `dir` against its pinned checksums (archives are
/// unpacked, so for CIFAR the per-file record counts checked on reading stand in for them).
pub fn verify_dataset_dir(dataset: DatasetName, dir: &Path) -> Result<()> {
    for file in dataset.source().files {
        let path = dir.join(file.file_name);
        if path.is_file() {
            verify_file(&path, &checksums(file))?;
        }
    }
    Ok(())
}

fn download_from_any(
    bases: &[String],
    file: &RemoteFile,
    dest: &Path,
    progress: bool,
) -> Result<()> {
    let mut last_error = None;
    for base in bases {
        let url = format!("{base}{}", file.file_name);
        match download_file(&url, dest, &checksums(file), progress) {
            Ok(()) => return Ok(()),
            // A wrong checksum is not cured by another mirror of the same file list.
            Err(e @ DataError::Checksum { .. }) => return Err(e),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| DataError::Invalid("no download address given".into())))
}

/// The temporary name a download is streamed to.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// Downloads `url` to `dest`, resuming a `.part` file, verifying `expected` before the rename.
/// On a checksum mismatch the partial file is deleted and nothing is left under `dest`.
pub fn download_file(url: &str, dest: &Path, expected: &Checksums, progress: bool) -> Result<()> {
    download_verified(url, dest, &|part| verify_file(part, expected), progress)
}

/// [`download_file`] with any check of the complete file (`verify` sees the `.part` file).
pub fn download_verified(
    url: &str,
    dest: &Path,
    verify: &dyn Fn(&Path) -> Result<()>,
    progress: bool,
) -> Result<()> {
    let part = part_path(dest);
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let fail = |message: String| DataError::Download {
        url: url.to_string(),
        message,
    };
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", &format!("bytes={have}-"));
    }
    let response = request.call().map_err(|e| fail(e.to_string()))?;
    let status = response.status().as_u16();
    let (append, total) = match status {
        206 => (true, response.body().content_length().map(|n| n + have)),
        200 => (false, response.body().content_length()),
        // The partial file already holds everything the server has.
        416 if have > 0 => (true, Some(have)),
        _ => return Err(fail(format!("HTTP status {status}"))),
    };
    if status != 416 {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&part)
            .map_err(|e| DataError::io(&part, e))?;
        let bar = progress_bar(progress, total, dest);
        bar.set_position(if append { have } else { 0 });
        let mut reader = response.into_body().into_reader();
        let mut writer = std::io::BufWriter::new(file);
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buffer).map_err(|e| fail(e.to_string()))?;
            if n == 0 {
                break;
            }
            writer
                .write_all(&buffer[..n])
                .map_err(|e| DataError::io(&part, e))?;
            bar.inc(n as u64);
        }
        let file = writer
            .into_inner()
            .map_err(|e| DataError::io(&part, e.into_error()))?;
        file.sync_all().map_err(|e| DataError::io(&part, e))?;
        bar.finish_and_clear();
    }
    if let Err(e) = verify(&part) {
        let _ = std::fs::remove_file(&part);
        return Err(e);
    }
    std::fs::rename(&part, dest).map_err(|e| DataError::io(dest, e))
}

fn progress_bar(enabled: bool, total: Option<u64>, dest: &Path) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(
        dest.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    bar
}

/// Unpacks `archive` (tar.gz) into `dir`, expecting it to create `dir/<unpacks_to>`; the
/// contents appear there only once unpacking finished.
pub fn unpack_tar_gz(archive: &Path, dir: &Path, unpacks_to: &str) -> Result<()> {
    let staging = dir.join(format!(".unpacking-{unpacks_to}"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| DataError::io(&staging, e))?;
    }
    let file = std::fs::File::open(archive).map_err(|e| DataError::io(archive, e))?;
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(&staging)
        .map_err(|e| DataError::format(archive, format!("cannot unpack: {e}")))?;
    let inner = staging.join(unpacks_to);
    if !inner.is_dir() {
        return Err(DataError::format(
            archive,
            format!("expected the archive to contain {unpacks_to}/"),
        ));
    }
    let target = dir.join(unpacks_to);
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(|e| DataError::io(&target, e))?;
    }
    std::fs::rename(&inner, &target).map_err(|e| DataError::io(&target, e))?;
    std::fs::remove_dir_all(&staging).map_err(|e| DataError::io(&staging, e))
}
