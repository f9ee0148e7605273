//! FID statistics files in pytorch-fid's `.npz` layout: `mu` (float64 `[d]`) and `sigma`
//! (float64 `[d, d]`), readable by `pytorch_fid` and by `numpy.load`. Written atomically.

use crate::error::MetricsError;
use crate::fid::Statistics;
use npyz::{NpyFile, WriterBuilder, npz};
use std::io::{Read, Write};
use std::path::Path;

/// Writes `stats` to `path` (`mu`, `sigma`); `count` is kept as a third array, `n`.
pub fn write(path: &Path, stats: &Statistics) -> Result<(), MetricsError> {
    let io = |e: &dyn std::fmt::Display| MetricsError::io(path, e);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let file = std::fs::File::create(&tmp).map_err(|e| io(&e))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let d = stats.dim() as u64;
    let arrays: [(&str, Vec<u64>, &[f64]); 3] = [
        ("mu", vec![d], &stats.mu),
        ("sigma", vec![d, d], &stats.sigma),
        ("n", vec![1], &[stats.count as f64]),
    ];
    for (name, shape, values) in arrays {
        zip.start_file(
            npz::file_name_from_array_name(name),
            zip::write::SimpleFileOptions::default(),
        )
        .map_err(|e| io(&e))?;
        let mut buffer = Vec::new();
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut buffer)
            .begin_nd()
            .map_err(|e| io(&e))?;
        writer.extend(values.iter().copied()).map_err(|e| io(&e))?;
        writer.finish().map_err(|e| io(&e))?;
        zip.write_all(&buffer).map_err(|e| io(&e))?;
    }
    zip.finish()
        .map_err(|e| io(&e))?
        .flush()
        .map_err(|e| io(&e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(&e))
}

/// Reads `mu` and `sigma` from a pytorch-fid `.npz` (any float dtype).
pub fn read(path: &Path) -> Result<Statistics, MetricsError> {
    let file = std::fs::File::open(path).map_err(|e| MetricsError::io(path, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| MetricsError::io(path, format!("not an .npz file: {e}")))?;
    let mut array = |name: &str| -> Result<(Vec<u64>, Vec<f64>), MetricsError> {
        let mut entry = zip
            .by_name(&npz::file_name_from_array_name(name))
            .map_err(|_| {
                MetricsError::io(
                    path,
                    format!("no array '{name}' (expected pytorch-fid's mu and sigma)"),
                )
            })?;
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| MetricsError::io(path, e))?;
        let npy = NpyFile::new(&bytes[..])
            .map_err(|e| MetricsError::io(path, format!("array '{name}': {e}")))?;
        let shape = npy.shape().to_vec();
        let values = match npy.dtype().descr().as_str() {
            "<f4" => npy
                .into_vec::<f32>()
                .map(|v| v.into_iter().map(f64::from).collect()),
            _ => npy.into_vec::<f64>(),
        }
        .map_err(|e| MetricsError::io(path, format!("array '{name}': {e}")))?;
        Ok((shape, values))
    };
    let (mu_shape, mu) = array("mu")?;
    let (sigma_shape, sigma) = array("sigma")?;
    let d = mu.len() as u64;
    if mu_shape.len() != 1 || sigma_shape != [d, d] {
        return Err(MetricsError::io(
            path,
            format!("mu {mu_shape:?} and sigma {sigma_shape:?} do not fit together"),
        ));
    }
    let count = array("n")
        .map(|(_, n)| n.first().copied().unwrap_or(0.0) as usize)
        .unwrap_or(0);
    Ok(Statistics { count, mu, sigma })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_round_trip_and_bad_files_are_named() {
        let stats = Statistics {
            count: 7,
            mu: vec![0.5, -1.25],
            sigma: vec![1.0, 0.1, 0.1, 2.0],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.npz");
        write(&path, &stats).unwrap();
        assert_eq!(read(&path).unwrap(), stats);
        std::fs::write(&path, b"nope").unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("stats.npz"));
    }
}
