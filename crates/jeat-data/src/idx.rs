//! The IDX format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//!
//! Header: two zero bytes, a type byte (`0x08` = unsigned byte), the number of dimensions, then
//! each dimension as a big-endian `u32`; then the data, row-major. Images are 3-d
//! (`[N, rows, cols]`, magic 2051), labels 1-d (`[N]`, magic 2049).

use crate::error::{DataError, Result};
use crate::image_set::{ImageSet, ImageShape};
use flate2::read::GzDecoder;
use std::io::{Read, Write};
use std::path::Path;

/// The decoded contents of one IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions from the header.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads the raw bytes of a file, decompressing it if it starts with the gzip magic number.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::format(path, format!("corrupt gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses an IDX file of unsigned bytes with `expected_dims` dimensions.
pub fn read_idx(path: &Path, expected_dims: usize) -> Result<IdxArray> {
    let bytes = read_maybe_gzip(path)?;
    parse_idx(&bytes, expected_dims).map_err(|message| DataError::format(path, message))
}

fn parse_idx(bytes: &[u8], expected_dims: usize) -> std::result::Result<IdxArray, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "truncated: {} bytes is shorter than an IDX header",
            bytes.len()
        ));
    }
    let (zeros, kind, ndims) = (&bytes[..2], bytes[2], usize::from(bytes[3]));
    if zeros != [0, 0] || kind != 0x08 || ndims != expected_dims {
        let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let wanted = 0x0800 + expected_dims as u32;
        return Err(format!(
            "wrong magic number: expected {wanted} (unsigned bytes, {expected_dims} dimensions), found {magic}"
        ));
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(format!(
            "truncated: {} bytes is shorter than the {header}-byte header",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize)
        .collect();
    let expected = header + dims.iter().product::<usize>();
    if bytes.len() != expected {
        let kind = if bytes.len() < expected {
            "truncated"
        } else {
            "oversized"
        };
        return Err(format!(
            "{kind}: dimensions {dims:?} need {expected} bytes, found {}",
            bytes.len()
        ));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads a pair of IDX files (images `[N, H, W]`, labels `[N]`) into a grayscale set.
pub fn read_idx_pair(
    name: &str,
    images: &Path,
    labels: &Path,
    num_classes: usize,
) -> Result<ImageSet> {
    let image_array = read_idx(images, 3)?;
    let label_array = read_idx(labels, 1)?;
    if image_array.dims[0] != label_array.dims[0] {
        return Err(DataError::format(
            labels,
            format!(
                "holds {} labels but {} holds {} images",
                label_array.dims[0],
                images.display(),
                image_array.dims[0]
            ),
        ));
    }
    if let Some((index, label)) = label_array
        .data
        .iter()
        .enumerate()
        .find(|(_, l)| usize::from(**l) >= num_classes)
    {
        return Err(DataError::format(
            labels,
            format!("label {label} of image {index} is outside 0..{num_classes}"),
        ));
    }
    let shape = ImageShape::new(1, image_array.dims[1], image_array.dims[2]);
    let labels = label_array.data.iter().map(|&l| u16::from(l)).collect();
    ImageSet::new(name, shape, num_classes, image_array.data, labels)
}

/// Writes an IDX file of unsigned bytes, gzip-compressed when `path` ends in `.gz`.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<()> {
    if dims.iter().product::<usize>() != data.len() {
        return Err(DataError::Invalid(format!(
            "{}: dimensions {dims:?} do not fit {} bytes",
            path.display(),
            data.len()
        )));
    }
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(data);
    let file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    let result = if path.extension().is_some_and(|e| e == "gz") {
        let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        encoder
            .write_all(&bytes)
            .and_then(|()| encoder.finish().map(drop))
    } else {
        let mut file = file;
        file.write_all(&bytes)
    };
    result.map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_and_plain_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        for name in ["a-idx3-ubyte", "a-idx3-ubyte.gz"] {
            let path = dir.path().join(name);
            write_idx(&path, &[2, 3, 4], &data).unwrap();
            let array = read_idx(&path, 3).unwrap();
            assert_eq!(array.dims, vec![2, 3, 4]);
            assert_eq!(array.data, data);
        }
    }

    #[test]
    fn pair_reads_images_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let (images, labels) = (dir.path().join("i.gz"), dir.path().join("l.gz"));
        write_idx(&images, &[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        write_idx(&labels, &[2], &[9, 4]).unwrap();
        let set = read_idx_pair("t", &images, &labels, 10).unwrap();
        assert_eq!(set.shape(), ImageShape::new(1, 2, 2));
        assert_eq!((set.label(0), set.label(1)), (9, 4));
        assert_eq!(set.image(1), &[4, 5, 6, 7]);
    }

    #[test]
    fn bad_files_give_one_line_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x-idx3-ubyte");
        write_idx(&path, &[1, 2, 2], &[0; 4]).unwrap();
        let err = read_idx(&path, 1).unwrap_err().to_string();
        assert!(
            err.contains("wrong magic number: expected 2049") && err.contains("found 2051"),
            "{err}"
        );
        assert!(err.contains("x-idx3-ubyte"), "{err}");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        let err = read_idx(&path, 3).unwrap_err().to_string();
        assert!(
            err.contains("truncated: dimensions [1, 2, 2] need 20 bytes, found 19"),
            "{err}"
        );
        bytes.extend_from_slice(&[0, 0]);
        std::fs::write(&path, &bytes).unwrap();
        assert!(
            read_idx(&path, 3)
                .unwrap_err()
                .to_string()
                .contains("oversized")
        );
        std::fs::write(&path, [0x1f, 0x8b, 1, 2, 3]).unwrap();
        assert!(
            read_idx(&path, 3)
                .unwrap_err()
                .to_string()
                .contains("corrupt gzip")
        );
        let labels = dir.path().join("l");
        write_idx(&path, &[1, 2, 2], &[0; 4]).unwrap();
        write_idx(&labels, &[2], &[0, 1]).unwrap();
        let err = read_idx_pair("t", &path, &labels, 10)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("holds 2 labels but") && err.contains("holds 1 images"),
            "{err}"
        );
    }
}
