//! Refuses PyTorch checkpoints whose pickle references anything but tensors and plain
//! containers. The pickle is only scanned, never executed: each opcode is decoded far enough
//! to find the Python globals (`GLOBAL`, `STACK_GLOBAL`, `INST`) it would import.

/// Globals a state dict needs, as `(module, name)`; `*Storage` types of `torch` too.
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

/// Scans a sequence of pickles (the legacy format holds several back to back) in `bytes`,
/// stopping after `max_pickles` STOP opcodes or at the end. Returns the first global that is
/// not allowed, as `module.name`, or an error message if the bytes are not a pickle.
pub fn first_forbidden_global(bytes: &[u8], max_pickles: usize) -> Result<Option<String>, String> {
    let mut pos = 0usize;
    let mut stops = 0usize;
    // Strings recently pushed (for STACK_GLOBAL) and the string memo (for BINGET of a name).
    let mut strings: Vec<Option<String>> = Vec::new();
    let mut memo: std::collections::HashMap<u64, Option<String>> = Default::default();
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], String> {
        let end = pos
            .checked_add(n)
            .filter(|&e| e <= bytes.len())
            .ok_or("truncated pickle")?;
        let slice = &bytes[*pos..end];
        *pos = end;
        Ok(slice)
    };
    let uint = |b: &[u8]| {
        b.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
    };
    let line = |pos: &mut usize| -> Result<String, String> {
        let rest = &bytes[*pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated pickle line")?;
        *pos += end + 1;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    while pos < bytes.len() && stops < max_pickles {
        let op = bytes[pos];
        pos += 1;
        let mut pushed: Option<Option<String>> = None;
        match op {
            b'.' => stops += 1,
            // Opcodes without an argument.
            b'(' | b'0' | b'1' | b'2' | b'N' | b'R' | b'a' | b'b' | b'd' | b'}' | b'e' | b'l'
            | b']' | b'o' | b's' | b't' | b')' | b'u' | b'Q' | 0x81 | 0x85 | 0x86 | 0x87 | 0x88
            | 0x89 | 0x8f | 0x90 | 0x91 | 0x92 | 0x97 | 0x98 => {
                // Whatever these leave on top of the stack is not a name.
                if !matches!(
                    op,
                    b'(' | b'0' | b'1' | b'a' | b'b' | b'e' | b's' | b'u' | 0x90
                ) {
                    pushed = Some(None);
                }
            }
            0x94 => {
                let top = strings.last().cloned().flatten();
                memo.insert(memo.len() as u64, top);
            }
            b'c' | b'i' => {
                let (module, name) = (line(&mut pos)?, line(&mut pos)?);
                if !allowed(&module, &name) {
                    return Ok(Some(format!("{module}.{name}")));
                }
                pushed = Some(None);
            }
            0x93 => {
                let name = strings.pop().flatten();
                let module = strings.pop().flatten();
                match (module, name) {
                    (Some(m), Some(n)) if allowed(&m, &n) => {}
                    (Some(m), Some(n)) => return Ok(Some(format!("{m}.{n}"))),
                    _ => return Ok(Some("<a computed global>".to_string())),
                }
                pushed = Some(None);
            }
            b'I' | b'L' | b'F' | b'P' | b'S' | b'V' => {
                let text = line(&mut pos)?;
                pushed = Some(
                    (op == b'V' || op == b'S').then(|| text.trim_matches(['\'', '"']).to_string()),
                );
            }
            b'p' => {
                let index = line(&mut pos)?.parse::<u64>().map_err(|e| e.to_string())?;
                memo.insert(index, strings.last().cloned().flatten());
            }
            b'g' => {
                let index = line(&mut pos)?.parse::<u64>().map_err(|e| e.to_string())?;
                pushed = Some(memo.get(&index).cloned().flatten());
            }
            0x80 => {
                take(&mut pos, 1)?;
            }
            b'K' | 0x82 => {
                take(&mut pos, 1)?;
                pushed = Some(None);
            }
            b'M' | 0x83 => {
                take(&mut pos, 2)?;
                pushed = Some(None);
            }
            b'J' | 0x84 => {
                take(&mut pos, 4)?;
                pushed = Some(None);
            }
            b'G' => {
                take(&mut pos, 8)?;
                pushed = Some(None);
            }
            0x95 => {
                take(&mut pos, 8)?;
            }
            b'h' | b'j' => {
                let width = if op == b'h' { 1 } else { 4 };
                let index = uint(take(&mut pos, width)?);
                pushed = Some(memo.get(&index).cloned().flatten());
            }
            b'q' | b'r' => {
                let width = if op == b'q' { 1 } else { 4 };
                let index = uint(take(&mut pos, width)?);
                memo.insert(index, strings.last().cloned().flatten());
            }
            // Length-prefixed data: (length width, is a text string).
            0x8a | b'U' | 0x8c | b'C' | b'T' | b'X' | b'B' | 0x8b | 0x8d | 0x8e | 0x96 => {
                let (width, text) = match op {
                    0x8a | b'C' => (1, false),
                    b'U' | 0x8c => (1, true),
                    b'B' | 0x8b => (4, false),
                    b'T' | b'X' => (4, true),
                    0x8d => (8, true),
                    _ => (8, false),
                };
                let n = uint(take(&mut pos, width)?) as usize;
                let data = take(&mut pos, n)?;
                pushed = Some(text.then(|| String::from_utf8_lossy(data).into_owned()));
            }
            other => {
                return Err(format!(
                    "not a pickle: unknown opcode 0x{other:02x} at byte {}",
                    pos - 1
                ));
            }
        }
        if let Some(value) = pushed {
            strings.push(value);
        }
    }
    Ok(None)
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
