//! Refuses PyTorch checkpoints whose pickle references anything but tensors and plain
//! containers: the pickle is read by [`crate::pickle`], which never runs code, with a policy
//! that stops at the first global outside the list below.

use crate::pickle;

/// Globals a state dict needs, as `(module, name)`; `*Storage` types and dtypes of `torch` too.
const ALLOWED: [(&str, &str); 12] = [
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch.nn.parameter", "Parameter"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("torch", "Size"),
    ("torch", "device"),
];

fn allowed(module: &str, name: &str) -> bool {
    let module = if module == "__builtin__" {
        "builtins"
    } else {
        module
    };
    ALLOWED.contains(&(module, name))
        || (module == "torch" && (name.ends_with("Storage") || is_dtype(name)))
}

fn is_dtype(name: &str) -> bool {
    matches!(
        name,
        "float16"
            | "float32"
            | "float64"
            | "bfloat16"
            | "half"
            | "float"
            | "double"
            | "int8"
            | "int16"
            | "int32"
            | "int64"
            | "uint8"
            | "bool"
            | "long"
            | "int"
    )
}

const REFUSED: &str = "refused global: ";

/// Reads up to `max_pickles` pickles (the legacy format holds several back to back). Returns the
/// first global that is not allowed, as `module.name`, or an error message if the bytes are not
/// a pickle.
pub fn first_forbidden_global(bytes: &[u8], max_pickles: usize) -> Result<Option<String>, String> {
    let mut policy = |module: &str, name: &str| {
        if allowed(module, name) {
            Ok(())
        } else if module == "<computed>" {
            Err(format!("{REFUSED}<a computed global>"))
        } else {
            Err(format!("{REFUSED}{module}.{name}"))
        }
    };
    match pickle::read(bytes, max_pickles, &mut policy) {
        Ok(_) => Ok(None),
        Err(message) => match message.strip_prefix(REFUSED) {
            Some(global) => Ok(Some(global.to_string())),
            None => Err(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_state_dict_globals_and_refuses_code() {
        // Protocol-2 pickle: GLOBAL 'collections OrderedDict', EMPTY_TUPLE, REDUCE, STOP.
        let ok = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.";
        assert_eq!(first_forbidden_global(ok, 1).unwrap(), None);
        let evil = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.";
        assert_eq!(
            first_forbidden_global(evil, 1).unwrap().as_deref(),
            Some("posix.system")
        );
        // Protocol 4: SHORT_BINUNICODE module, MEMOIZE, SHORT_BINUNICODE name, STACK_GLOBAL.
        let evil4 = b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94.";
        assert_eq!(
            first_forbidden_global(evil4, 1).unwrap().as_deref(),
            Some("builtins.eval")
        );
        let ok4 = b"\x80\x04\x8c\x05torch\x94\x8c\x0cFloatStorage\x94\x93\x94.";
        assert_eq!(first_forbidden_global(ok4, 1).unwrap(), None);
        // A name recalled from the memo with BINGET is still checked.
        let memo = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93.";
        assert_eq!(
            first_forbidden_global(memo, 1).unwrap().as_deref(),
            Some("os.system")
        );
        assert!(first_forbidden_global(b"\xff", 1).is_err());
    }
}
