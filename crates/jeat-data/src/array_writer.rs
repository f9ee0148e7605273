//! Arrays written for other tools: an `.npz` archive (numpy, AutoAttack, RobustBench users) or a
//! `.safetensors` file, chosen by the file's extension, written atomically.

use crate::error::{DataError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The values of one array, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayValues {
    /// Bytes (`|u1`, `U8`): 8-bit images.
    U8(Vec<u8>),
    /// 32-bit floats (`<f4`, `F32`).
    F32(Vec<f32>),
    /// 64-bit integers (`<i8`, `I64`).
    I64(Vec<i64>),
    /// Booleans (`|b1`, `BOOL`).
    Bool(Vec<bool>),
}

impl ArrayValues {
    fn len(&self) -> usize {
        match self {
            Self::U8(v) => v.len(),
            Self::F32(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::U8(v) => v.clone(),
            Self::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Self::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Self::Bool(v) => v.iter().map(|&x| u8::from(x)).collect(),
        }
    }

    fn numpy_descr(&self) -> &'static str {
        match self {
            Self::U8(_) => "|u1",
            Self::F32(_) => "<f4",
            Self::I64(_) => "<i8",
            Self::Bool(_) => "|b1",
        }
    }

    fn safetensors_dtype(&self) -> safetensors::Dtype {
        match self {
            Self::U8(_) => safetensors::Dtype::U8,
            Self::F32(_) => safetensors::Dtype::F32,
            Self::I64(_) => safetensors::Dtype::I64,
            Self::Bool(_) => safetensors::Dtype::BOOL,
        }
    }
}

/// A named array of a given shape.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedArray {
    /// The name (`x_adv`, `y`, …).
    pub name: String,
    /// The shape; its product is the number of values.
    pub shape: Vec<usize>,
    /// The values.
    pub values: ArrayValues,
}

fn bad(path: &Path, message: impl std::fmt::Display) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// A `.npy` file's bytes (format 1.0, C order).
pub fn npy_bytes(array: &NamedArray) -> Vec<u8> {
    let dims: Vec<String> = array.shape.iter().map(|d| d.to_string()).collect();
    let dims = match dims.len() {
        1 => format!("{},", dims[0]),
        _ => dims.join(", "),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': ({dims}), }}",
        array.values.numpy_descr()
    );
    // Magic (6) + version (2) + header length (2) + header + newline: a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(array.values.bytes());
    bytes
}

fn npz_bytes(path: &Path, arrays: &[NamedArray]) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for array in arrays {
        zip.start_file(format!("{}.npy", array.name), options)
            .map_err(|e| bad(path, e))?;
        zip.write_all(&npy_bytes(array))
            .map_err(|e| DataError::io(path, e))?;
    }
    Ok(zip.finish().map_err(|e| bad(path, e))?.into_inner())
}

fn safetensors_bytes(path: &Path, arrays: &[NamedArray]) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = arrays.iter().map(|a| a.values.bytes()).collect();
    let mut views = Vec::new();
    for (array, data) in arrays.iter().zip(&bytes) {
        let view = safetensors::tensor::TensorView::new(
            array.values.safetensors_dtype(),
            array.shape.clone(),
            data,
        )
        .map_err(|e| bad(path, e))?;
        views.push((array.name.clone(), view));
    }
    safetensors::serialize(views, None).map_err(|e| bad(path, e))
}

/// Writes `arrays` to `path`: an `.npz` or a `.safetensors` file by its extension. Refuses an
/// existing file unless `overwrite`, and writes through a temporary file so that a crash leaves
/// either the old file or the whole new one.
pub fn write_arrays(path: &Path, arrays: &[NamedArray], overwrite: bool) -> Result<()> {
    for array in arrays {
        let expected: usize = array.shape.iter().product();
        if array.values.len() != expected {
            return Err(bad(
                path,
                format!(
                    "{}: {} values for shape {:?}",
                    array.name,
                    array.values.len(),
                    array.shape
                ),
            ));
        }
    }
    if path.exists() && !overwrite {
        return Err(bad(path, "exists already (pass --overwrite to replace it)"));
    }
    let bytes = match path.extension().and_then(|e| e.to_str()) {
        Some("npz") => npz_bytes(path, arrays)?,
        Some("safetensors") => safetensors_bytes(path, arrays)?,
        _ => return Err(bad(path, "expected a .npz or .safetensors file name")),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| DataError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrays() -> Vec<NamedArray> {
        vec![
            NamedArray {
                name: "x_adv".into(),
                shape: vec![2, 1, 2, 2],
                values: ArrayValues::F32((0..8).map(|k| k as f32 / 8.0).collect()),
            },
            NamedArray {
                name: "y".into(),
                shape: vec![2],
                values: ArrayValues::I64(vec![4, 9]),
            },
            NamedArray {
                name: "fooled".into(),
                shape: vec![2],
                values: ArrayValues::Bool(vec![true, false]),
            },
        ]
    }

    #[test]
    fn an_npz_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adv.npz");
        write_arrays(&path, &arrays(), false).unwrap();
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut entry = |name: &str| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut zip.by_name(name).unwrap(), &mut bytes).unwrap();
            bytes
        };
        let x_bytes = entry("x_adv.npy");
        let x = npyz::NpyFile::new(&x_bytes[..]).unwrap();
        assert_eq!(x.shape(), &[2, 1, 2, 2]);
        let values: Vec<f32> = x.into_vec().unwrap();
        assert_eq!(values[3], 3.0 / 8.0);
        let y: Vec<i64> = npyz::NpyFile::new(&entry("y.npy")[..])
            .unwrap()
            .into_vec()
            .unwrap();
        assert_eq!(y, vec![4, 9]);
        let fooled: Vec<bool> = npyz::NpyFile::new(&entry("fooled.npy")[..])
            .unwrap()
            .into_vec()
            .unwrap();
        assert_eq!(fooled, vec![true, false]);
        // The reader of user arrays takes the archive back (x_adv and y are names it knows).
        let set = crate::arrays::read_image_arrays(&path, None).unwrap();
        assert_eq!((set.len(), set.label(1)), (2, 9));
        assert_eq!(set.image(0)[3], (3.0f32 / 8.0 * 255.0).round() as u8);
    }

    #[test]
    fn safetensors_read_back_and_existing_files_and_bad_shapes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adv.safetensors");
        write_arrays(&path, &arrays(), false).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let y = file.tensor("y").unwrap();
        assert_eq!((y.dtype(), y.shape()), (safetensors::Dtype::I64, &[2][..]));
        assert_eq!(&y.data()[8..16], &9i64.to_le_bytes());
        let err = write_arrays(&path, &arrays(), false).unwrap_err();
        assert!(err.to_string().contains("--overwrite"), "{err}");
        write_arrays(&path, &arrays(), true).unwrap();
        let mut wrong = arrays();
        wrong[1].shape = vec![3];
        let err = write_arrays(&dir.path().join("w.npz"), &wrong, false).unwrap_err();
        assert!(err.to_string().contains("values for shape"), "{err}");
        let err = write_arrays(&dir.path().join("w.pt"), &arrays(), false).unwrap_err();
        assert!(err.to_string().contains(".npz or .safetensors"), "{err}");
    }
}
