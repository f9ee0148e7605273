//! The CIFAR-10 and CIFAR-100 binary formats (`cifar-10-binary.tar.gz`, `cifar-100-binary.tar.gz`).
//!
//! A file is a sequence of records. CIFAR-10: one label byte, then 3072 pixel bytes (the 1024
//! red, 1024 green and 1024 blue values of a 32×32 image, row-major). CIFAR-100: a coarse label
//! byte (20 superclasses), a fine label byte (100 classes), then the same 3072 bytes.

use crate::error::{DataError, Result};
use crate::image_set::{ImageSet, ImageShape};
use std::io::Write;
use std::path::Path;

/// The shape of every CIFAR image.
pub const CIFAR_SHAPE: ImageShape = ImageShape::new(3, 32, 32);

/// Which of the two binary layouts, and which label to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CifarLayout {
    /// CIFAR-10: `[label, 3072 pixels]`, 10 classes.
    Cifar10,
    /// CIFAR-100 keeping the fine label (100 classes).
    Cifar100Fine,
    /// CIFAR-100 keeping the coarse label (20 superclasses).
    Cifar100Coarse,
}

impl CifarLayout {
    /// Bytes before the pixels of each record.
    pub const fn label_bytes(self) -> usize {
        match self {
            Self::Cifar10 => 1,
            Self::Cifar100Fine | Self::Cifar100Coarse => 2,
        }
    }

    /// Bytes per record.
    pub const fn record_bytes(self) -> usize {
        self.label_bytes() + CIFAR_SHAPE.num_pixels()
    }

    /// The number of classes of the kept label.
    pub const fn num_classes(self) -> usize {
        match self {
            Self::Cifar10 => 10,
            Self::Cifar100Fine => 100,
            Self::Cifar100Coarse => 20,
        }
    }

    /// Offset of the kept label within a record.
    const fn label_offset(self) -> usize {
        match self {
            Self::Cifar10 | Self::Cifar100Coarse => 0,
            Self::Cifar100Fine => 1,
        }
    }
}

/// Reads one binary batch file. With `expected_records`, a file of any other length is an error
/// (truncated or oversized); without it, any whole number of records is accepted.
pub fn read_cifar_file(
    path: &Path,
    layout: CifarLayout,
    expected_records: Option<usize>,
) -> Result<ImageSet> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let record = layout.record_bytes();
    if let Some(n) = expected_records
        && bytes.len() != n * record
    {
        let kind = if bytes.len() < n * record {
            "truncated"
        } else {
            "oversized"
        };
        return Err(DataError::format(
            path,
            format!(
                "{kind}: expected {n} records of {record} bytes ({} bytes), found {} bytes",
                n * record,
                bytes.len()
            ),
        ));
    }
    if bytes.is_empty() || bytes.len() % record != 0 {
        return Err(DataError::format(
            path,
            format!(
                "expected a whole number of {record}-byte CIFAR records, found {} bytes",
                bytes.len()
            ),
        ));
    }
    let count = bytes.len() / record;
    let mut pixels = Vec::with_capacity(count * CIFAR_SHAPE.num_pixels());
    let mut labels = Vec::with_capacity(count);
    for (index, chunk) in bytes.chunks_exact(record).enumerate() {
        let label = chunk[layout.label_offset()];
        if usize::from(label) >= layout.num_classes() {
            return Err(DataError::format(
                path,
                format!(
                    "record {index}: label {label} is outside 0..{} (is this the right CIFAR variant?)",
                    layout.num_classes()
                ),
            ));
        }
        labels.push(u16::from(label));
        pixels.extend_from_slice(&chunk[layout.label_bytes()..]);
    }
    let name = path.display().to_string();
    ImageSet::new(name, CIFAR_SHAPE, layout.num_classes(), pixels, labels)
}

/// Reads several batch files (e.g. `data_batch_1.bin` … `data_batch_5.bin`) into one set.
pub fn read_cifar_files(
    name: &str,
    paths: &[&Path],
    layout: CifarLayout,
    records_per_file: Option<usize>,
) -> Result<ImageSet> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let part = read_cifar_file(path, layout, records_per_file)?;
        pixels.extend_from_slice(part.pixels());
        labels.extend_from_slice(part.labels());
    }
    ImageSet::new(name, CIFAR_SHAPE, layout.num_classes(), pixels, labels)
}

/// Writes `records` in the binary layout (one `(labels, pixels)` pair per image; `labels` holds
/// one byte for CIFAR-10, `[coarse, fine]` for CIFAR-100). Used to make fixtures.
pub fn write_cifar_file<'a>(
    path: &Path,
    records: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| DataError::io(path, e))?;
    let mut out = std::io::BufWriter::new(file);
    for (labels, pixels) in records {
        if pixels.len() != CIFAR_SHAPE.num_pixels() || !(1..=2).contains(&labels.len()) {
            return Err(DataError::Invalid(format!(
                "{}: a CIFAR record needs 1 or 2 label bytes and 3072 pixel bytes, got {} and {}",
                path.display(),
                labels.len(),
                pixels.len()
            )));
        }
        out.write_all(labels)
            .and_then(|()| out.write_all(pixels))
            .map_err(|e| DataError::io(path, e))?;
    }
    out.flush().map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixels(seed: u8) -> Vec<u8> {
        (0..3072u32).map(|i| (i as u8).wrapping_mul(seed)).collect()
    }

    #[test]
    fn cifar10_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.bin");
        let (a, b) = (pixels(3), pixels(5));
        write_cifar_file(&path, [(&[7u8][..], &a[..]), (&[2u8][..], &b[..])]).unwrap();
        let set = read_cifar_file(&path, CifarLayout::Cifar10, Some(2)).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!((set.label(0), set.label(1)), (7, 2));
        assert_eq!(set.image(1), &b[..]);
        assert_eq!(set.shape(), CIFAR_SHAPE);
    }

    #[test]
    fn cifar100_keeps_the_requested_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.bin");
        let p = pixels(1);
        write_cifar_file(&path, [(&[19u8, 99][..], &p[..])]).unwrap();
        let fine = read_cifar_file(&path, CifarLayout::Cifar100Fine, None).unwrap();
        let coarse = read_cifar_file(&path, CifarLayout::Cifar100Coarse, None).unwrap();
        assert_eq!((fine.label(0), coarse.label(0)), (99, 19));
        assert_eq!(fine.num_classes(), 100);
        assert_eq!(fine.image(0), &p[..]);
    }

    #[test]
    fn truncated_oversized_and_wrong_variant_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.bin");
        let p = pixels(1);
        write_cifar_file(&path, [(&[1u8][..], &p[..]), (&[1u8][..], &p[..])]).unwrap();
        let err = read_cifar_file(&path, CifarLayout::Cifar10, Some(3))
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated") && err.contains("b.bin"), "{err}");
        let err = read_cifar_file(&path, CifarLayout::Cifar10, Some(1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("oversized"), "{err}");
        assert!(!err.contains('\n'));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        let err = read_cifar_file(&path, CifarLayout::Cifar10, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("whole number of 3073-byte"), "{err}");
        write_cifar_file(&path, [(&[12u8][..], &p[..])]).unwrap();
        let err = read_cifar_file(&path, CifarLayout::Cifar10, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("label 12 is outside 0..10"), "{err}");
    }
}
