//! Parameters of a TorchScript archive (`torch.jit.save`), read without running any of its code:
//! the module tree in `data.pkl` is read by [`crate::pickle`] (class names are kept as names,
//! only PyTorch's tensor and storage globals and TorchScript's own `__torch__` classes are
//! accepted), and tensors are taken from the archive's `data/<key>` storages.

use crate::error::ModelError;
use crate::pickle::{self, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// A float32 tensor of an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveTensor {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<f32>,
}

fn unreadable(path: &Path, message: impl ToString) -> ModelError {
    ModelError::Unreadable {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Every float tensor reachable from the archive's root module, by dotted attribute path
/// (`net.layers.conv.weight`, …).
pub fn read_tensors(path: &Path) -> Result<BTreeMap<String, ArchiveTensor>, ModelError> {
    let file = std::fs::File::open(path).map_err(|e| unreadable(path, e))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| unreadable(path, format!("not a TorchScript archive (zip): {e}")))?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let data_pkl = names
        .iter()
        .find(|n| n.ends_with("/data.pkl") && !n.contains("/code/"))
        .ok_or_else(|| unreadable(path, "no data.pkl in the archive"))?
        .clone();
    let prefix = data_pkl.trim_end_matches("data.pkl").to_string();
    let mut bytes = Vec::new();
    archive
        .by_name(&data_pkl)
        .and_then(|mut f| f.read_to_end(&mut bytes).map_err(Into::into))
        .map_err(|e| unreadable(path, format!("corrupt entry {data_pkl}: {e}")))?;
    let mut policy = |module: &str, name: &str| {
        let ok = module.starts_with("__torch__")
            || (module == "torch" && name.ends_with("Storage"))
            || (module == "torch._utils" && name.starts_with("_rebuild_"))
            || (module == "torch.jit._pickle" && name.starts_with("build_"))
            || (module == "collections" && name == "OrderedDict");
        if ok {
            Ok(())
        } else {
            Err(format!("refused: the archive asks for '{module}.{name}'"))
        }
    };
    let root = pickle::read(&bytes, 1, &mut policy).map_err(|e| unreadable(path, e))?;
    let mut refs = Vec::new();
    collect(&root, String::new(), &mut refs);
    let mut tensors = BTreeMap::new();
    for (name, reference) in refs {
        let entry = format!("{prefix}data/{}", reference.key);
        let mut raw = Vec::new();
        archive
            .by_name(&entry)
            .and_then(|mut f| f.read_to_end(&mut raw).map_err(Into::into))
            .map_err(|e| unreadable(path, format!("missing or corrupt storage {entry}: {e}")))?;
        let count: usize = reference.shape.iter().product();
        let start = reference.offset * 4;
        let end = start + count * 4;
        if end > raw.len() {
            return Err(unreadable(
                path,
                format!(
                    "tensor {name}: storage {entry} is truncated ({} bytes, {end} needed)",
                    raw.len()
                ),
            ));
        }
        let values = raw[start..end]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.insert(
            name,
            ArchiveTensor {
                shape: reference.shape,
                values,
            },
        );
    }
    Ok(tensors)
}

struct TensorRef {
    key: String,
    offset: usize,
    shape: Vec<usize>,
}

fn ints(value: &Value) -> Option<Vec<usize>> {
    match value {
        Value::Tuple(items) | Value::List(items) => items
            .iter()
            .map(|v| match v {
                Value::Int(i) => usize::try_from(*i).ok(),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// A `_rebuild_tensor_v2(storage, offset, size, stride, …)` of a contiguous float storage.
fn tensor_ref(value: &Value) -> Option<TensorRef> {
    let Value::Object { class, args, .. } = value else {
        return None;
    };
    let Value::Global(module, name) = class.as_ref() else {
        return None;
    };
    if module != "torch._utils" || !name.starts_with("_rebuild_tensor") {
        return None;
    }
    let Value::Tuple(args) = args.as_ref() else {
        return None;
    };
    let Value::Persistent(id) = args.first()? else {
        return None;
    };
    let Value::Tuple(id) = id.as_ref() else {
        return None;
    };
    let (Value::Global(_, storage), Value::Str(key)) = (id.get(1)?, id.get(2)?) else {
        return None;
    };
    if storage != "FloatStorage" {
        return None;
    }
    let offset = match args.get(1)? {
        Value::Int(i) => usize::try_from(*i).ok()?,
        _ => return None,
    };
    let shape = ints(args.get(2)?)?;
    let stride = ints(args.get(3)?)?;
    // Only contiguous row-major tensors.
    let mut expected = 1;
    for (dim, s) in shape.iter().zip(&stride).rev() {
        if *dim > 1 && *s != expected {
            return None;
        }
        expected *= dim;
    }
    Some(TensorRef {
        key: key.clone(),
        offset,
        shape,
    })
}

fn collect(value: &Value, path: String, out: &mut Vec<(String, TensorRef)>) {
    if let Some(reference) = tensor_ref(value) {
        out.push((path, reference));
        return;
    }
    let state = match value {
        Value::Object {
            state: Some(state), ..
        } => state.as_ref(),
        Value::Dict(_) => value,
        _ => return,
    };
    if let Value::Dict(entries) = state {
        for (key, child) in entries {
            if let Value::Str(key) = key {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                collect(child, child_path, out);
            }
        }
    }
}
