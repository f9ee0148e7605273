//! Images and labels from numpy arrays, the form AutoAttack and RobustBench users keep their test
//! sets in: `.npy` files, or arrays of an `.npz` archive. Images `[N, C, H, W]`, `[N, H, W, C]`
//! (C = 1 or 3) or `[N, H, W]`, as `uint8` or as floats in [0, 1] (taken to 8 bits, which is
//! exact for images that were 8-bit, as test sets are); labels `[N]` of any integer type.

use crate::error::{DataError, Result};
use crate::image_set::{ImageSet, ImageShape};
use npyz::{NpyFile, TypeChar};
use std::io::Read;
use std::path::Path;

/// Names an `.npz` archive's image array goes by, in the order they are tried.
pub const IMAGE_KEYS: [&str; 4] = ["x", "images", "x_test", "x_adv"];
/// Names an `.npz` archive's label array goes by.
pub const LABEL_KEYS: [&str; 3] = ["y", "labels", "y_test"];

/// One array read from disk: its values as f64, its shape and its element type.
struct Array {
    values: Vec<f64>,
    shape: Vec<usize>,
    kind: TypeChar,
}

fn bad(path: &Path, message: impl std::fmt::Display) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn read_npy(bytes: &[u8], path: &Path, what: &str) -> Result<Array> {
    let npy =
        NpyFile::new(bytes).map_err(|e| bad(path, format!("{what}: not a .npy array: {e}")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let npyz::DType::Plain(ty) = npy.dtype() else {
        return Err(bad(
            path,
            format!("{what}: a structured array; expected numbers"),
        ));
    };
    let kind = ty.type_char();
    let size = ty.size_field();
    // Every supported element type, read as itself and widened to f64.
    macro_rules! widen {
        ($t:ty) => {
            npy.into_vec::<$t>()
                .map(|v| v.into_iter().map(|x| x as f64).collect())
        };
    }
    let values: Vec<f64> = match (kind, size) {
        (TypeChar::Uint, 1) => widen!(u8),
        (TypeChar::Uint, 2) => widen!(u16),
        (TypeChar::Int, 1) => widen!(i8),
        (TypeChar::Int, 2) => widen!(i16),
        (TypeChar::Int, 4) => widen!(i32),
        (TypeChar::Int, 8) => widen!(i64),
        (TypeChar::Float, 4) => widen!(f32),
        (TypeChar::Float, 8) => npy.into_vec::<f64>(),
        _ => {
            return Err(bad(
                path,
                format!(
                    "{what}: dtype {ty} is not supported; use uint8, an integer or a float type"
                ),
            ));
        }
    }
    .map_err(|e| bad(path, format!("{what}: {e}")))?;
    Ok(Array {
        values,
        shape,
        kind,
    })
}

/// The bytes of `path` (a `.npy`), or of the first of `keys` in it (an `.npz`), and the name
/// used.
fn array_bytes(path: &Path, keys: &[&str]) -> Result<Option<(Vec<u8>, String)>> {
    let io = |e: std::io::Error| DataError::io(path, e);
    let is_npz = path.extension().is_some_and(|e| e == "npz");
    if !is_npz {
        return Ok(Some((
            std::fs::read(path).map_err(io)?,
            path.display().to_string(),
        )));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| bad(path, format!("not an .npz archive: {e}")))?;
    for key in keys {
        if let Ok(mut entry) = zip.by_name(&npyz::npz::file_name_from_array_name(key)) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(io)?;
            return Ok(Some((bytes, format!("{}[{key}]", path.display()))));
        }
    }
    Ok(None)
}

/// The image array of `images` (a `.npy`, or the first of [`IMAGE_KEYS`] in an `.npz`) and the
/// name it goes by.
fn image_array(images: &Path) -> Result<(Array, String)> {
    let (bytes, name) = array_bytes(images, &IMAGE_KEYS)?.ok_or_else(|| {
        bad(
            images,
            format!(
                "no image array in the archive (looked for {})",
                IMAGE_KEYS.join(", ")
            ),
        )
    })?;
    Ok((read_npy(&bytes, images, &name)?, name))
}

/// Images from `images` (a `.npy`, or an `.npz` holding one of [`IMAGE_KEYS`]) and labels from
/// `labels` (a `.npy`), or from the same `.npz` (one of [`LABEL_KEYS`]) when `labels` is `None`.
pub fn read_image_arrays(images: &Path, labels: Option<&Path>) -> Result<ImageSet> {
    if labels.is_none() && images.extension().is_none_or(|e| e != "npz") {
        return Err(bad(
            images,
            "a .npy of images needs its labels: pass --labels y.npy",
        ));
    }
    let (x, image_name) = image_array(images)?;
    let label_path = labels.unwrap_or(images);
    let (bytes, label_name) = array_bytes(label_path, &LABEL_KEYS)?.ok_or_else(|| {
        bad(
            label_path,
            format!(
                "no label array in the archive (looked for {}); pass --labels y.npy",
                LABEL_KEYS.join(", ")
            ),
        )
    })?;
    let y = read_npy(&bytes, label_path, &label_name)?;
    from_arrays(x, &image_name, y, &label_name, images)
}

/// Images alone, for scores that need no labels (FID, KID, IS): a `.npy`, or an `.npz` holding
/// one of [`IMAGE_KEYS`]. Its labels come along when the archive has them; otherwise every image
/// is labelled 0.
pub fn read_images(images: &Path) -> Result<ImageSet> {
    let is_npz = images.extension().is_some_and(|e| e == "npz");
    if is_npz && array_bytes(images, &LABEL_KEYS)?.is_some() {
        return read_image_arrays(images, None);
    }
    let (x, image_name) = image_array(images)?;
    let n = x.shape.first().copied().unwrap_or(0);
    let y = Array {
        values: vec![0.0; n],
        shape: vec![n],
        kind: TypeChar::Int,
    };
    from_arrays(x, &image_name, y, "no labels", images)
}

/// Unlabelled images from planar floats in [0, 1] (`shape` `[N, C, H, W]`, C = 1 or 3), read
/// from `source` (named in errors), e.g. a replay buffer taken from a checkpoint.
pub fn images_from_floats(values: Vec<f32>, shape: Vec<usize>, source: &Path) -> Result<ImageSet> {
    let n = shape.first().copied().unwrap_or(0);
    let x = Array {
        values: values.into_iter().map(f64::from).collect(),
        shape,
        kind: TypeChar::Float,
    };
    let y = Array {
        values: vec![0.0; n],
        shape: vec![n],
        kind: TypeChar::Int,
    };
    from_arrays(x, "images", y, "no labels", source)
}

fn from_arrays(
    x: Array,
    image_name: &str,
    y: Array,
    label_name: &str,
    path: &Path,
) -> Result<ImageSet> {
    let (n, channels, height, width, channels_last) = match x.shape[..] {
        [n, c, h, w] if c == 1 || c == 3 => (n, c, h, w, false),
        [n, h, w, c] if c == 1 || c == 3 => (n, c, h, w, true),
        [n, h, w] => (n, 1, h, w, false),
        _ => {
            return Err(bad(
                path,
                format!(
                    "{image_name}: shape {:?}: expected [N, C, H, W], [N, H, W, C] with C = 1 or 3, or [N, H, W]",
                    x.shape
                ),
            ));
        }
    };
    if !matches!(y.kind, TypeChar::Int | TypeChar::Uint) || y.shape.len() != 1 {
        return Err(bad(
            path,
            format!(
                "{label_name}: labels must be a 1-D integer array, got shape {:?}",
                y.shape
            ),
        ));
    }
    if y.shape[0] != n {
        return Err(bad(
            path,
            format!("{} images but {} labels ({label_name})", n, y.shape[0]),
        ));
    }
    let scale = match x.kind {
        TypeChar::Uint | TypeChar::Int => {
            if x.values.iter().any(|&v| !(0.0..=255.0).contains(&v)) {
                return Err(bad(
                    path,
                    format!("{image_name}: integer pixels must be in 0..=255"),
                ));
            }
            1.0
        }
        _ => {
            let (lo, hi) = x
                .values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            if !(lo >= 0.0 && hi <= 1.0) {
                return Err(bad(
                    path,
                    format!(
                        "{image_name}: float pixels must be in [0, 1], found [{lo}, {hi}] (scale 0..255 images by 1/255)"
                    ),
                ));
            }
            255.0
        }
    };
    let d = channels * height * width;
    let mut pixels = vec![0u8; n * d];
    for p in 0..n {
        for c in 0..channels {
            for h in 0..height {
                for w in 0..width {
                    let source = match channels_last {
                        false => ((p * channels + c) * height + h) * width + w,
                        true => ((p * height + h) * width + w) * channels + c,
                    };
                    pixels[p * d + (c * height + h) * width + w] =
                        (x.values[source] * scale).round() as u8;
                }
            }
        }
    }
    if y.values
        .iter()
        .any(|&v| !(0.0..=f64::from(u16::MAX)).contains(&v))
    {
        return Err(bad(path, format!("{label_name}: labels must be ≥ 0")));
    }
    let labels: Vec<u16> = y.values.iter().map(|&v| v as u16).collect();
    let classes = labels
        .iter()
        .copied()
        .max()
        .map_or(0, |m| usize::from(m) + 1);
    ImageSet::new(
        image_name.to_string(),
        ImageShape::new(channels, height, width),
        classes,
        pixels,
        labels,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use npyz::WriterBuilder;

    fn npy<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
        shape: &[u64],
        values: &[T],
    ) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut bytes)
            .begin_nd()
            .unwrap();
        writer.extend(values.iter().copied()).unwrap();
        writer.finish().unwrap();
        bytes
    }

    #[test]
    fn nchw_and_nhwc_in_uint8_or_float_give_the_same_images() {
        let dir = tempfile::tempdir().unwrap();
        // Two 3×2×2 images, values k.
        let nchw: Vec<u8> = (0..24).map(|k| (k * 10) as u8).collect();
        let mut nhwc = vec![0u8; 24];
        for p in 0..2 {
            for c in 0..3 {
                for i in 0..4 {
                    nhwc[(p * 4 + i) * 3 + c] = nchw[(p * 3 + c) * 4 + i];
                }
            }
        }
        let floats: Vec<f32> = nhwc.iter().map(|&v| f32::from(v) / 255.0).collect();
        let labels = dir.path().join("y.npy");
        std::fs::write(&labels, npy(&[2], &[3i64, 1])).unwrap();
        let mut sets = Vec::new();
        for (name, bytes) in [
            ("nchw.npy", npy(&[2, 3, 2, 2], &nchw)),
            ("nhwc.npy", npy(&[2, 2, 2, 3], &nhwc)),
            ("float.npy", npy(&[2, 2, 2, 3], &floats)),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            sets.push(read_image_arrays(&path, Some(&labels)).unwrap());
        }
        for set in &sets {
            assert_eq!(set.len(), 2);
            assert_eq!((set.label(0), set.label(1)), (3, 1));
            assert_eq!(set.image(0), &nchw[..12]);
            assert_eq!(set.image(1), &nchw[12..]);
        }
    }

    #[test]
    fn bad_arrays_are_refused_saying_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: Vec<u8>| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let labels = write("y.npy", npy(&[2], &[0i64, 1]));
        let cases = [
            (
                write("rank.npy", npy(&[2, 4], &[0u8; 8])),
                "expected [N, C, H, W]",
            ),
            (
                write("range.npy", npy(&[2, 1, 2, 2], &[2.0f32; 8])),
                "in [0, 1]",
            ),
            (
                write("count.npy", npy(&[3, 1, 2, 2], &[0u8; 12])),
                "3 images but 2 labels",
            ),
            (
                write("dtype.npy", npy(&[2, 1, 2, 2], &[true; 8])),
                "not supported",
            ),
        ];
        for (path, expected) in cases {
            let err = read_image_arrays(&path, Some(&labels))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{}: {err}", path.display());
        }
        let float_labels = write("yf.npy", npy(&[2], &[0.0f32, 1.0]));
        let images = write("ok.npy", npy(&[2, 1, 2, 2], &[0u8; 8]));
        let err = read_image_arrays(&images, Some(&float_labels))
            .unwrap_err()
            .to_string();
        assert!(err.contains("integer array"), "{err}");
        let err = read_image_arrays(&images, None).unwrap_err().to_string();
        assert!(err.contains("--labels"), "{err}");
    }

    #[test]
    fn images_without_labels_read_for_scores() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..12).collect();
        let path = dir.path().join("samples.npy");
        std::fs::write(&path, npy(&[3, 2, 2], &pixels)).unwrap();
        let set = read_images(&path).unwrap();
        assert_eq!((set.len(), set.num_classes()), (3, 1));
        assert_eq!(set.image(2), &pixels[8..]);
        let labelled = dir.path().join("set.npz");
        npz(
            &labelled,
            &[
                ("x", npy(&[3, 2, 2], &pixels)),
                ("y", npy(&[3], &[1u8, 0, 2])),
            ],
        );
        assert_eq!(read_images(&labelled).unwrap().label(2), 2);
    }

    fn npz(path: &Path, arrays: &[(&str, Vec<u8>)]) {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        for (name, bytes) in arrays {
            zip.start_file(
                format!("{name}.npy"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            std::io::Write::write_all(&mut zip, bytes).unwrap();
        }
        zip.finish().unwrap();
    }

    #[test]
    fn an_npz_archive_gives_its_images_and_labels_by_their_usual_names() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..8).collect();
        let path = dir.path().join("set.npz");
        npz(
            &path,
            &[
                ("x_test", npy(&[2, 2, 2], &pixels)),
                ("y_test", npy(&[2], &[7u8, 2])),
            ],
        );
        let set = read_image_arrays(&path, None).unwrap();
        assert_eq!((set.len(), set.num_classes()), (2, 8));
        assert_eq!((set.label(0), set.label(1)), (7, 2));
        assert_eq!(set.image(1), &pixels[4..]);
        let unlabelled = dir.path().join("unlabelled.npz");
        npz(&unlabelled, &[("x", npy(&[2, 2, 2], &pixels))]);
        let err = read_image_arrays(&unlabelled, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no label array"), "{err}");
    }
}
