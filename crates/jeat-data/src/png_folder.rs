//! Folders of PNG images named `<dataset>_<index>_<label>.png` (for example the CIFAR test
//! images `cifar10_07_6.png`), read in index order.

use crate::error::{DataError, Result};
use crate::image_set::{ImageSet, ImageShape};
use std::path::{Path, PathBuf};

/// One file name split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PngName {
    /// The dataset prefix, e.g. `cifar10`.
    pub dataset: String,
    /// The index within the original split.
    pub index: usize,
    /// The class label.
    pub label: usize,
}

/// Splits `cifar10_07_6.png` into `("cifar10", 7, 6)`; `None` if the name does not fit.
pub fn parse_png_name(file_name: &str) -> Option<PngName> {
    let stem = file_name.strip_suffix(".png")?;
    let mut parts = stem.rsplitn(3, '_');
    let label = parts.next()?.parse().ok()?;
    let index = parts.next()?.parse().ok()?;
    let dataset = parts.next()?.to_string();
    Some(PngName {
        dataset,
        index,
        label,
    })
}

/// Reads every `<dataset>_<index>_<label>.png` of `dir` whose prefix is `dataset`, sorted by
/// index. All images must share one size and colour type (grayscale or RGB).
pub fn read_png_folder(dir: &Path, dataset: &str, num_classes: usize) -> Result<ImageSet> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut files: Vec<(PngName, PathBuf)> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(parsed) = parse_png_name(name)
            && parsed.dataset == dataset
        {
            files.push((parsed, path));
        }
    }
    if files.is_empty() {
        return Err(DataError::NotFound {
            dataset: dataset.to_string(),
            searched: dir.display().to_string(),
            hint: format!("expected files named {dataset}_<index>_<label>.png"),
        });
    }
    files.sort_by_key(|(name, _)| name.index);
    let labelled: Vec<(usize, PathBuf)> = files
        .into_iter()
        .map(|(name, path)| (name.label, path))
        .collect();
    read_files(
        &labelled,
        format!("{}:{dataset}", dir.display()),
        num_classes,
    )
}

/// Reads every image (`.png`, `.jpg`, `.jpeg`) of `dir`, in file-name order (by index for
/// `<prefix>_<index>_<label>.png` names, whose labels are kept; other files get label 0). All
/// images must share one size; unreadable files and size mismatches are errors naming the file.
pub fn read_image_folder(dir: &Path) -> Result<ImageSet> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut files: Vec<(Option<PngName>, String, PathBuf)> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let lower = name.to_ascii_lowercase();
        if [".png", ".jpg", ".jpeg"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            files.push((parse_png_name(&name), name, path));
        }
    }
    if files.is_empty() {
        return Err(DataError::NotFound {
            dataset: "images".to_string(),
            searched: dir.display().to_string(),
            hint: "expected .png or .jpg files".to_string(),
        });
    }
    files.sort_by(|a, b| match (&a.0, &b.0) {
        (Some(x), Some(y)) => (&x.dataset, x.index).cmp(&(&y.dataset, y.index)),
        _ => a.1.cmp(&b.1),
    });
    let labelled: Vec<(usize, PathBuf)> = files
        .into_iter()
        .map(|(parsed, _, path)| (parsed.map_or(0, |p| p.label), path))
        .collect();
    let classes = labelled.iter().map(|(l, _)| l + 1).max().unwrap_or(1);
    read_files(&labelled, dir.display().to_string(), classes)
}

/// Decodes labelled files into one set.
fn read_files(files: &[(usize, PathBuf)], name: String, num_classes: usize) -> Result<ImageSet> {
    let mut shape: Option<(ImageShape, PathBuf)> = None;
    let mut pixels = Vec::new();
    let mut labels = Vec::with_capacity(files.len());
    for (label, path) in files {
        let (image_shape, planar) = decode_png(path)?;
        match &shape {
            None => shape = Some((image_shape, path.clone())),
            Some((first, first_path)) if *first != image_shape => {
                return Err(DataError::format(
                    path,
                    format!(
                        "image is {image_shape} but {} is {first}; a folder must hold one image size",
                        first_path.display()
                    ),
                ));
            }
            Some(_) => {}
        }
        if *label >= num_classes {
            return Err(DataError::format(
                path,
                format!("label {label} is outside 0..{num_classes}"),
            ));
        }
        pixels.extend_from_slice(&planar);
        labels.push(*label as u16);
    }
    let (shape, _) = shape.expect("at least one file");
    ImageSet::new(name, shape, num_classes, pixels, labels)
}

/// Decodes one PNG into its shape and planar `[C, H, W]` bytes (grayscale stays 1 channel,
/// anything else becomes RGB; alpha is dropped).
pub fn decode_png(path: &Path) -> Result<(ImageShape, Vec<u8>)> {
    let image =
        image::open(path).map_err(|e| DataError::format(path, format!("unreadable image: {e}")))?;
    let (width, height) = (image.width() as usize, image.height() as usize);
    let grayscale = matches!(
        image.color(),
        image::ColorType::L8
            | image::ColorType::L16
            | image::ColorType::La8
            | image::ColorType::La16
    );
    if grayscale {
        let gray = image.into_luma8().into_raw();
        return Ok((ImageShape::new(1, height, width), gray));
    }
    let rgb = image.into_rgb8().into_raw();
    let plane = width * height;
    let mut planar = vec![0u8; 3 * plane];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for c in 0..3 {
            planar[c * plane + i] = px[c];
        }
    }
    Ok((ImageShape::new(3, height, width), planar))
}

/// Writes planar `[C, H, W]` bytes (1 or 3 channels) as a PNG.
pub fn encode_png(path: &Path, shape: ImageShape, planar: &[u8]) -> Result<()> {
    let plane = shape.height * shape.width;
    let (w, h) = (shape.width as u32, shape.height as u32);
    let result = match shape.channels {
        1 => image::GrayImage::from_raw(w, h, planar.to_vec()).map(|img| img.save(path)),
        3 => {
            let interleaved = (0..plane)
                .flat_map(|i| [planar[i], planar[plane + i], planar[2 * plane + i]])
                .collect();
            image::RgbImage::from_raw(w, h, interleaved).map(|img| img.save(path))
        }
        _ => None,
    };
    match result {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(DataError::format(path, format!("cannot write PNG: {e}"))),
        None => Err(DataError::Invalid(format!(
            "{}: cannot write a {shape} image from {} bytes as PNG",
            path.display(),
            planar.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_underscores_in_the_prefix() {
        assert_eq!(
            parse_png_name("cifar10_07_6.png"),
            Some(PngName {
                dataset: "cifar10".into(),
                index: 7,
                label: 6
            })
        );
        assert_eq!(
            parse_png_name("fashion_mnist_12_3.png").unwrap().dataset,
            "fashion_mnist"
        );
        assert_eq!(parse_png_name("cifar10_x_6.png"), None);
        assert_eq!(parse_png_name("notes.txt"), None);
    }

    #[test]
    fn folder_round_trip_in_index_order_and_mixed_sizes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let shape = ImageShape::new(3, 2, 3);
        let a: Vec<u8> = (0..18).collect();
        let b: Vec<u8> = (100..118).collect();
        encode_png(&dir.path().join("toy_10_1.png"), shape, &b).unwrap();
        encode_png(&dir.path().join("toy_2_0.png"), shape, &a).unwrap();
        encode_png(&dir.path().join("other_0_0.png"), shape, &a).unwrap();
        let set = read_png_folder(dir.path(), "toy", 2).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!((set.label(0), set.label(1)), (0, 1));
        assert_eq!(set.image(0), &a[..]);
        assert_eq!(set.image(1), &b[..]);

        encode_png(
            &dir.path().join("toy_11_1.png"),
            ImageShape::new(1, 2, 3),
            &a[..6],
        )
        .unwrap();
        let err = read_png_folder(dir.path(), "toy", 2)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("toy_11_1.png") && err.contains("one image size"),
            "{err}"
        );

        std::fs::write(dir.path().join("toy_12_1.png"), b"not a png").unwrap();
        std::fs::remove_file(dir.path().join("toy_11_1.png")).unwrap();
        let err = read_png_folder(dir.path(), "toy", 2)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("toy_12_1.png") && err.contains("unreadable"),
            "{err}"
        );
    }

    #[test]
    fn any_image_folder_reads_in_name_order_and_names_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let shape = ImageShape::new(1, 2, 2);
        encode_png(&dir.path().join("b.png"), shape, &[1, 2, 3, 4]).unwrap();
        encode_png(&dir.path().join("a.png"), shape, &[5, 6, 7, 8]).unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
        let set = read_image_folder(dir.path()).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.image(0), &[5, 6, 7, 8]);
        encode_png(&dir.path().join("c.png"), ImageShape::new(1, 3, 2), &[0; 6]).unwrap();
        let err = read_image_folder(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("c.png") && err.contains("one image size"),
            "{err}"
        );
        std::fs::remove_file(dir.path().join("c.png")).unwrap();
        std::fs::write(dir.path().join("d.png"), b"truncated").unwrap();
        let err = read_image_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains("d.png") && err.contains("unreadable"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        assert!(read_image_folder(empty.path()).is_err());
    }
}
