//! Weights in and out: PyTorch `.pt`/`.pth` (zip and legacy formats, plain or wrapped state
//! dicts, `module.` prefixes), safetensors in PyTorch naming, and burn's own burnpack.
//!
//! Names follow the reference PyTorch code (`conv1`, `block1.layer.0.bn1.weight`, `fc.weight`,
//! …); batch-norm and linear layouts are converted by burn-store's PyTorch adapters. Everything
//! that does not fit is reported: the first shape mismatch, or the missing and unexpected keys.

use crate::error::ModelError;
use crate::pickle_guard::first_forbidden_global;
use crate::registry::{Model, ModelSpec};
use burn::module::Module;
use burn::store::{
    BurnToPyTorchAdapter, BurnpackStore, KeyRemapper, ModuleSnapshot, PyTorchToBurnAdapter,
    PytorchStore, SafetensorsStore,
};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A checkpoint file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointFormat {
    /// `torch.save` output: zip (PyTorch ≥ 1.6) or the older legacy pickle stream.
    Pytorch,
    /// safetensors, tensors named as in PyTorch.
    Safetensors,
    /// burn's burnpack (training state: parameter ids kept).
    Burnpack,
}

impl CheckpointFormat {
    /// The format of `path`, by extension, else by its first bytes.
    pub fn detect(path: &Path) -> Result<Self, ModelError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("pt" | "pth" | "pkl" | "bin") => return Ok(Self::Pytorch),
            Some("safetensors") => return Ok(Self::Safetensors),
            Some("bpk" | "burnpack") => return Ok(Self::Burnpack),
            _ => {}
        }
        let mut head = [0u8; 9];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|e| unreadable(path, e))?;
        match &head[..n] {
            [b'P', b'K', ..] | [0x80, ..] => Ok(Self::Pytorch),
            [_, _, _, _, _, _, _, _, b'{'] => Ok(Self::Safetensors),
            _ => Err(unreadable(
                path,
                "neither a PyTorch, a safetensors nor a burnpack file",
            )),
        }
    }
}

fn unreadable(path: &Path, message: impl ToString) -> ModelError {
    ModelError::Unreadable {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// How checkpoint names map onto the models' field names.
fn pytorch_to_jeat() -> KeyRemapper {
    KeyRemapper::new()
        .add_pattern(r"^module\.", "")
        .expect("valid pattern")
        .add_pattern(r"^model\.", "")
        .expect("valid pattern")
        .add_pattern(r"\.convShortcut\.", ".conv_shortcut.")
        .expect("valid pattern")
}

fn jeat_to_pytorch() -> KeyRemapper {
    KeyRemapper::new()
        .add_pattern(r"\.conv_shortcut\.", ".convShortcut.")
        .expect("valid pattern")
}

/// Checkpoint entries that carry no weights the model needs.
fn ignorable(key: &str) -> bool {
    key.ends_with("num_batches_tracked") || key.contains("sub_block1.")
}

/// What [`load_weights`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// The detected format.
    pub format: CheckpointFormat,
    /// Tensors loaded.
    pub applied: usize,
    /// Checkpoint entries deliberately ignored (`num_batches_tracked`, the unused `sub_block1`).
    pub ignored: Vec<String>,
    /// The key the state dict was wrapped in, if any (`state_dict`, `model_state_dict`, …).
    pub top_level_key: Option<String>,
    /// Parameters the file lacked that the caller allowed to be missing.
    pub missing: Vec<String>,
}

const WRAPPER_KEYS: [&str; 6] = [
    "state_dict",
    "model_state_dict",
    "model",
    "net",
    "state",
    "last",
];

/// The key a PyTorch file wraps its state dict in (`{"state_dict": …}`), if every entry is
/// under one of [`WRAPPER_KEYS`].
fn wrapper_key(keys: &[String]) -> Option<&'static str> {
    WRAPPER_KEYS
        .into_iter()
        .find(|w| !keys.is_empty() && keys.iter().all(|k| k.starts_with(&format!("{w}."))))
}

/// Loads the weights in `path` into `module`: all of them, or an error that says what did not
/// fit. PyTorch pickles are scanned first and refused if they reference anything but tensors
/// and plain containers.
pub fn load_weights<M: Module + ModuleSnapshot>(
    module: M,
    path: &Path,
) -> Result<(M, LoadReport), ModelError> {
    load_weights_except(module, path, &[])
}

/// [`load_weights`], accepting that the parameters whose names start with one of
/// `may_be_missing` are absent from the file (they keep their values; the report lists them).
pub fn load_weights_except<M: Module + ModuleSnapshot>(
    module: M,
    path: &Path,
    may_be_missing: &[&str],
) -> Result<(M, LoadReport), ModelError> {
    load_weights_tolerating(module, path, may_be_missing, &[])
}

/// [`load_weights_except`], also ignoring the checkpoint entries whose names start with one of
/// `may_be_unexpected` (the report lists them with the other ignored entries).
pub fn load_weights_tolerating<M: Module + ModuleSnapshot>(
    mut module: M,
    path: &Path,
    may_be_missing: &[&str],
    may_be_unexpected: &[&str],
) -> Result<(M, LoadReport), ModelError> {
    if !path.is_file() {
        return Err(unreadable(path, "no such file"));
    }
    let format = CheckpointFormat::detect(path)?;
    let mut top_level_key = None;
    let result = match format {
        CheckpointFormat::Pytorch => {
            check_pickle(path)?;
            let keys = burn::store::pytorch_reader::PytorchReader::new(path)
                .map_err(|e| unreadable(path, e))?
                .keys();
            top_level_key = wrapper_key(&keys).map(str::to_string);
            let mut store = PytorchStore::from_file(path)
                .remap(pytorch_to_jeat())
                .skip_enum_variants(true)
                .validate(false)
                .allow_partial(true);
            if let Some(key) = &top_level_key {
                store = store.with_top_level_key(key.clone());
            }
            module
                .load_from(&mut store)
                .map_err(|e| unreadable(path, e))?
        }
        CheckpointFormat::Safetensors => {
            let mut store = SafetensorsStore::from_file(path)
                .with_from_adapter(PyTorchToBurnAdapter)
                .remap(pytorch_to_jeat())
                .skip_enum_variants(true)
                .validate(false)
                .allow_partial(true);
            module
                .load_from(&mut store)
                .map_err(|e| unreadable(path, e))?
        }
        CheckpointFormat::Burnpack => {
            let mut store = BurnpackStore::from_file(path)
                .validate(false)
                .allow_partial(true);
            module
                .load_from(&mut store)
                .map_err(|e| unreadable(path, e))?
        }
    };
    // Keys first: with another architecture they say more than the first shape clash.
    let (ignored, unexpected): (Vec<String>, Vec<String>) =
        result.unused.iter().cloned().partition(|k| {
            ignorable(k) || may_be_unexpected.iter().any(|prefix| k.starts_with(prefix))
        });
    let (tolerated, missing): (Vec<String>, Vec<String>) = result
        .missing
        .iter()
        .map(|(k, _)| k.clone())
        .partition(|k| may_be_missing.iter().any(|prefix| k.starts_with(prefix)));
    if !missing.is_empty() || !unexpected.is_empty() {
        return Err(ModelError::KeyMismatch {
            path: path.to_path_buf(),
            missing: missing.join(", "),
            unexpected: unexpected.join(", "),
        });
    }
    if let Some(error) = result.errors.first() {
        return Err(match error {
            burn::store::ApplyError::ShapeMismatch {
                path: tensor,
                expected,
                found,
            } => ModelError::ShapeMismatch {
                path: path.to_path_buf(),
                tensor: tensor.clone(),
                expected: expected.as_slice().to_vec(),
                found: found.as_slice().to_vec(),
            },
            other => unreadable(path, other),
        });
    }
    Ok((
        module,
        LoadReport {
            format,
            applied: result.applied.len(),
            ignored,
            top_level_key,
            missing: tolerated,
        },
    ))
}

/// Writes `module`'s weights as safetensors with PyTorch names and layouts, atomically (a
/// temporary file renamed into place), so the file loads into the reference PyTorch code.
pub fn save_safetensors<M: Module + ModuleSnapshot>(
    module: &M,
    path: &Path,
) -> Result<(), ModelError> {
    write_safetensors(module, path, None)
}

/// The safetensors metadata key under which jeat records a model's [`ModelSpec`] (JSON).
pub const SPEC_KEY: &str = "jeat.model";

/// Writes a registry model as safetensors (PyTorch names) with its [`ModelSpec`] in the
/// metadata, so that `jeat` can rebuild it from the file alone.
pub fn save_model(model: &Model, spec: &ModelSpec, path: &Path) -> Result<(), ModelError> {
    let json = serde_json::to_string(spec).expect("a model spec serialises");
    write_safetensors(model, path, Some(json))
}

fn write_safetensors<M: Module + ModuleSnapshot>(
    module: &M,
    path: &Path,
    spec: Option<String>,
) -> Result<(), ModelError> {
    let tmp = temporary_sibling(path);
    let mut store = SafetensorsStore::from_file(&tmp)
        .with_to_adapter(BurnToPyTorchAdapter)
        .remap(jeat_to_pytorch())
        .skip_enum_variants(true)
        .overwrite(true);
    if let Some(spec) = spec {
        store = store.metadata(SPEC_KEY, spec);
    }
    let written = module
        .save_into(&mut store)
        .map_err(|e| unreadable(&tmp, e));
    if let Err(e) =
        written.and_then(|()| std::fs::rename(&tmp, path).map_err(|e| unreadable(path, e)))
    {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// The [`ModelSpec`] recorded in a safetensors file written by [`save_model`], if any.
pub fn read_spec(path: &Path) -> Result<Option<ModelSpec>, ModelError> {
    if CheckpointFormat::detect(path)? != CheckpointFormat::Safetensors {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| unreadable(path, format!("corrupt safetensors header: {e}")))?;
    match header.metadata().as_ref().and_then(|m| m.get(SPEC_KEY)) {
        Some(json) => serde_json::from_str(json)
            .map(Some)
            .map_err(|e| unreadable(path, format!("unreadable {SPEC_KEY} metadata: {e}"))),
        None => Ok(None),
    }
}

/// Builds and loads a model from any supported checkpoint. The architecture comes from `spec`
/// when given, else from the file's metadata (files written by [`save_model`]). A file that
/// does not fit the architecture but looks like another one is reported as that one.
pub fn load_model(
    path: &Path,
    spec: Option<&ModelSpec>,
    device: &burn::tensor::Device,
) -> Result<(Model, ModelSpec, LoadReport), ModelError> {
    load_model_ignoring(path, spec, &[], device)
}

/// [`load_model`], ignoring the checkpoint entries whose names start with one of
/// `ignored_prefixes`.
pub fn load_model_ignoring(
    path: &Path,
    spec: Option<&ModelSpec>,
    ignored_prefixes: &[&str],
    device: &burn::tensor::Device,
) -> Result<(Model, ModelSpec, LoadReport), ModelError> {
    let spec = match spec {
        Some(spec) => spec.clone(),
        None => read_spec(path)?.ok_or_else(|| {
            unreadable(path, "the file does not say which architecture it holds; pass --arch (and --num-classes, --input-shape)")
        })?,
    };
    match load_weights_tolerating(spec.build(device)?, path, &[], ignored_prefixes) {
        Ok((model, report)) => Ok((model, spec, report)),
        Err(error @ (ModelError::KeyMismatch { .. } | ModelError::ShapeMismatch { .. })) => {
            let looks_like = tensor_shapes(path)
                .ok()
                .and_then(|shapes| crate::variant::looks_like(&shapes))
                .filter(|arch| *arch != spec.arch);
            Err(match looks_like {
                Some(looks_like) => ModelError::WrongVariant {
                    path: path.to_path_buf(),
                    expected: spec.arch.clone(),
                    looks_like,
                },
                None => error,
            })
        }
        Err(error) => Err(error),
    }
}

/// The names (in jeat's mapping: no `module.`, `model.` or wrapper prefix) and shapes of the
/// tensors in a PyTorch or safetensors checkpoint, in PyTorch's layout.
pub fn tensor_shapes(path: &Path) -> Result<crate::variant::Shapes, ModelError> {
    let strip = |key: &str| -> String {
        let key = key.strip_prefix("module.").unwrap_or(key);
        key.strip_prefix("model.").unwrap_or(key).to_string()
    };
    match CheckpointFormat::detect(path)? {
        CheckpointFormat::Pytorch => {
            check_pickle(path)?;
            let reader = burn::store::pytorch_reader::PytorchReader::new(path)
                .map_err(|e| unreadable(path, e))?;
            let wrapper = wrapper_key(&reader.keys());
            Ok(reader
                .tensors()
                .iter()
                .map(|(key, tensor)| {
                    let key = match wrapper {
                        Some(w) => &key[w.len() + 1..],
                        None => key.as_str(),
                    };
                    (strip(key), tensor.shape().to_vec())
                })
                .collect())
        }
        CheckpointFormat::Safetensors => {
            let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
            let file = safetensors::SafeTensors::deserialize(&bytes)
                .map_err(|e| unreadable(path, format!("corrupt safetensors: {e}")))?;
            Ok(file
                .tensors()
                .into_iter()
                .map(|(key, view)| (strip(&key), view.shape().to_vec()))
                .collect())
        }
        CheckpointFormat::Burnpack => Ok(Default::default()),
    }
}

/// The tensor `key` of a PyTorch checkpoint (e.g. the `replay_buffer` the JEM family saves
/// beside its weights) as f32 values in row-major order, with its shape. Floats only.
pub fn read_pytorch_tensor(path: &Path, key: &str) -> Result<(Vec<f32>, Vec<usize>), ModelError> {
    use burn::store::pytorch_reader::DType;
    if CheckpointFormat::detect(path)? != CheckpointFormat::Pytorch {
        return Err(unreadable(path, "not a PyTorch .pt/.pth checkpoint"));
    }
    check_pickle(path)?;
    let reader =
        burn::store::pytorch_reader::PytorchReader::new(path).map_err(|e| unreadable(path, e))?;
    let tensor = reader
        .get(key)
        .ok_or_else(|| unreadable(path, format!("no tensor named '{key}' in it")))?;
    let bytes = tensor.read().map_err(|e| unreadable(path, e))?;
    let values = match tensor.dtype() {
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        DType::F64 => bytes
            .chunks_exact(8)
            .map(|b| f64::from_ne_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        other => {
            return Err(unreadable(
                path,
                format!("'{key}' holds {other:?} values, not f32 or f64"),
            ));
        }
    };
    Ok((values, tensor.shape().to_vec()))
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Refuses a PyTorch file whose pickle references anything but tensors and plain containers.
fn check_pickle(path: &Path) -> Result<(), ModelError> {
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
    let (pickle, count) = if bytes.starts_with(b"PK") {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes))
            .map_err(|e| unreadable(path, format!("corrupt zip: {e}")))?;
        let name = archive
            .file_names()
            .filter_map(Result::ok)
            .find(|n| n.ends_with("data.pkl"))
            .map(|n| n.into_owned())
            .ok_or_else(|| unreadable(path, "zip checkpoint without data.pkl"))?;
        let mut data = Vec::new();
        archive
            .by_name(&name)
            .and_then(|mut f| f.read_to_end(&mut data).map_err(Into::into))
            .map_err(|e| unreadable(path, format!("corrupt zip entry {name}: {e}")))?;
        (data, 1)
    } else {
        // Legacy: magic number, protocol, system info, then the object, as separate pickles.
        (bytes, 4)
    };
    match first_forbidden_global(&pickle, count) {
        Ok(None) => Ok(()),
        Ok(Some(global)) => Err(ModelError::UnsafePickle {
            path: path.to_path_buf(),
            global,
        }),
        Err(message) => Err(unreadable(path, message)),
    }
}
