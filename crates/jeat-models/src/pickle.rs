//! A pickle reader that builds values and never runs code: every Python global a pickle names is
//! kept as a name (and may be refused by a policy), every call as an object with its arguments.
//! It serves two purposes: refusing PyTorch checkpoints that reference anything but tensors and
//! plain containers, and reading the parameters of TorchScript archives, which burn's reader
//! does not support.

use std::collections::HashMap;

/// A value of a pickle.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A list.
    List(Vec<Value>),
    /// A dict, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A global `module.name`, never imported.
    Global(String, String),
    /// A call or instantiation `class(args)`, with the state `BUILD` gave it.
    Object {
        /// What was called.
        class: Box<Value>,
        /// Its arguments.
        args: Box<Value>,
        /// Its state.
        state: Option<Box<Value>>,
    },
    /// A persistent id (PyTorch storages).
    Persistent(Box<Value>),
}

impl Value {
    /// The entry `key` of a dict.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

enum Item {
    Mark,
    Value(Value),
}

/// Reads up to `max_pickles` pickles back to back from `bytes`, calling `policy(module, name)` on
/// every global: an `Err` from it stops the reading. Returns the last pickle's value.
pub fn read(
    bytes: &[u8],
    max_pickles: usize,
    policy: &mut dyn FnMut(&str, &str) -> Result<(), String>,
) -> Result<Value, String> {
    let mut pos = 0usize;
    let mut last = Value::None;
    for _ in 0..max_pickles {
        if pos >= bytes.len() {
            break;
        }
        let (value, end) = read_one(bytes, pos, policy)?;
        last = value;
        pos = end;
    }
    Ok(last)
}

fn read_one(
    bytes: &[u8],
    mut pos: usize,
    policy: &mut dyn FnMut(&str, &str) -> Result<(), String>,
) -> Result<(Value, usize), String> {
    let mut stack: Vec<Item> = Vec::new();
    let mut memo: HashMap<u64, Value> = HashMap::new();
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
    fn pop(stack: &mut Vec<Item>) -> Result<Value, String> {
        match stack.pop() {
            Some(Item::Value(v)) => Ok(v),
            _ => Err("malformed pickle: stack underflow".into()),
        }
    }
    fn pop_mark(stack: &mut Vec<Item>) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        loop {
            match stack.pop() {
                Some(Item::Mark) => break,
                Some(Item::Value(v)) => items.push(v),
                None => return Err("malformed pickle: missing mark".into()),
            }
        }
        items.reverse();
        Ok(items)
    }
    fn top(stack: &mut [Item]) -> Result<&mut Value, String> {
        match stack.last_mut() {
            Some(Item::Value(v)) => Ok(v),
            _ => Err("malformed pickle: no value on the stack".into()),
        }
    }
    fn extend(target: &mut Value, items: Vec<Value>) -> Result<(), String> {
        match target {
            Value::List(list) => list.extend(items),
            Value::Object { state, .. } => {
                // list subclasses (rare): keep the items as state.
                *state = Some(Box::new(Value::List(items)));
            }
            _ => return Err("malformed pickle: append to a non-list".into()),
        }
        Ok(())
    }
    fn set_items(target: &mut Value, items: Vec<Value>) -> Result<(), String> {
        let pairs = items
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0].clone(), c[1].clone()));
        match target {
            Value::Dict(entries) => entries.extend(pairs),
            Value::Object { state, .. } => {
                // OrderedDict and other dict subclasses: their items become the state.
                let mut entries = match state.take().map(|b| *b) {
                    Some(Value::Dict(e)) => e,
                    _ => Vec::new(),
                };
                entries.extend(pairs);
                *state = Some(Box::new(Value::Dict(entries)));
            }
            _ => return Err("malformed pickle: setitem on a non-dict".into()),
        }
        Ok(())
    }
    while pos < bytes.len() {
        let op = bytes[pos];
        pos += 1;
        let value = match op {
            b'.' => {
                let value = pop(&mut stack)?;
                return Ok((value, pos));
            }
            0x80 => {
                take(&mut pos, 1)?;
                continue;
            }
            0x95 => {
                take(&mut pos, 8)?;
                continue;
            }
            b'(' => {
                stack.push(Item::Mark);
                continue;
            }
            b'0' => {
                pop(&mut stack)?;
                continue;
            }
            b'1' => {
                pop_mark(&mut stack)?;
                continue;
            }
            b'2' => {
                let v = pop(&mut stack)?;
                stack.push(Item::Value(v.clone()));
                v
            }
            b'N' => Value::None,
            0x88 => Value::Bool(true),
            0x89 => Value::Bool(false),
            b'J' => Value::Int(i64::from(i32::from_le_bytes(
                take(&mut pos, 4)?.try_into().expect("4 bytes"),
            ))),
            b'K' => Value::Int(uint(take(&mut pos, 1)?) as i64),
            b'M' => Value::Int(uint(take(&mut pos, 2)?) as i64),
            0x8a | 0x8b => {
                let width = if op == 0x8a { 1 } else { 4 };
                let n = uint(take(&mut pos, width)?) as usize;
                let data = take(&mut pos, n)?;
                let mut v: i64 = 0;
                for (i, &b) in data.iter().enumerate().take(8) {
                    v |= i64::from(b) << (8 * i);
                }
                if n > 0 && n < 8 && data[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                Value::Int(v)
            }
            b'G' => Value::Float(f64::from_be_bytes(
                take(&mut pos, 8)?.try_into().expect("8 bytes"),
            )),
            b'I' | b'L' => {
                let text = line(&mut pos)?;
                match text.trim_end_matches('L') {
                    "00" => Value::Bool(false),
                    "01" => Value::Bool(true),
                    t => Value::Int(t.parse().map_err(|_| format!("bad integer '{t}'"))?),
                }
            }
            b'F' => Value::Float(line(&mut pos)?.parse().map_err(|_| "bad float")?),
            b'S' | b'V' => Value::Str(line(&mut pos)?.trim_matches(['\'', '"']).to_string()),
            b'X' | 0x8c | 0x8d | b'T' | b'U' | b'C' | b'B' | 0x8e | 0x96 => {
                let (width, text) = match op {
                    0x8c | b'U' => (1, true),
                    b'X' | b'T' => (4, true),
                    0x8d => (8, true),
                    b'C' => (1, false),
                    b'B' => (4, false),
                    _ => (8, false),
                };
                let n = uint(take(&mut pos, width)?) as usize;
                let data = take(&mut pos, n)?;
                if text {
                    Value::Str(String::from_utf8_lossy(data).into_owned())
                } else {
                    Value::Bytes(data.to_vec())
                }
            }
            b')' => Value::Tuple(Vec::new()),
            b't' => Value::Tuple(pop_mark(&mut stack)?),
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let mut items = (0..n)
                    .map(|_| pop(&mut stack))
                    .collect::<Result<Vec<_>, _>>()?;
                items.reverse();
                Value::Tuple(items)
            }
            b']' => Value::List(Vec::new()),
            b'l' => Value::List(pop_mark(&mut stack)?),
            b'}' => Value::Dict(Vec::new()),
            b'd' => {
                let items = pop_mark(&mut stack)?;
                Value::Dict(
                    items
                        .chunks(2)
                        .filter(|c| c.len() == 2)
                        .map(|c| (c[0].clone(), c[1].clone()))
                        .collect(),
                )
            }
            0x8f => Value::List(Vec::new()), // EMPTY_SET
            0x90 => {
                // ADDITEMS
                let items = pop_mark(&mut stack)?;
                extend(top(&mut stack)?, items)?;
                continue;
            }
            0x91 => Value::Tuple(pop_mark(&mut stack)?), // FROZENSET
            b'a' => {
                let v = pop(&mut stack)?;
                extend(top(&mut stack)?, vec![v])?;
                continue;
            }
            b'e' => {
                let items = pop_mark(&mut stack)?;
                extend(top(&mut stack)?, items)?;
                continue;
            }
            b's' => {
                let v = pop(&mut stack)?;
                let k = pop(&mut stack)?;
                set_items(top(&mut stack)?, vec![k, v])?;
                continue;
            }
            b'u' => {
                let items = pop_mark(&mut stack)?;
                set_items(top(&mut stack)?, items)?;
                continue;
            }
            b'c' | b'i' => {
                let (module, name) = (line(&mut pos)?, line(&mut pos)?);
                policy(&module, &name)?;
                let global = Value::Global(module, name);
                if op == b'i' {
                    let args = pop_mark(&mut stack)?;
                    Value::Object {
                        class: Box::new(global),
                        args: Box::new(Value::Tuple(args)),
                        state: None,
                    }
                } else {
                    global
                }
            }
            0x93 => {
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                match (module, name) {
                    (Value::Str(module), Value::Str(name)) => {
                        policy(&module, &name)?;
                        Value::Global(module, name)
                    }
                    _ => {
                        policy("<computed>", "<global>")?;
                        Value::Global("<computed>".into(), "<global>".into())
                    }
                }
            }
            b'R' | 0x81 => {
                let args = pop(&mut stack)?;
                let class = pop(&mut stack)?;
                Value::Object {
                    class: Box::new(class),
                    args: Box::new(args),
                    state: None,
                }
            }
            0x92 => {
                // NEWOBJ_EX: cls, args, kwargs
                let _kwargs = pop(&mut stack)?;
                let args = pop(&mut stack)?;
                let class = pop(&mut stack)?;
                Value::Object {
                    class: Box::new(class),
                    args: Box::new(args),
                    state: None,
                }
            }
            b'o' => {
                let mut items = pop_mark(&mut stack)?;
                if items.is_empty() {
                    return Err("malformed pickle: OBJ without a class".into());
                }
                let class = items.remove(0);
                Value::Object {
                    class: Box::new(class),
                    args: Box::new(Value::Tuple(items)),
                    state: None,
                }
            }
            b'b' => {
                let new_state = pop(&mut stack)?;
                match top(&mut stack)? {
                    Value::Object { state, .. } => *state = Some(Box::new(new_state)),
                    other => {
                        return Err(format!("malformed pickle: BUILD on {other:?}"));
                    }
                }
                continue;
            }
            b'Q' => Value::Persistent(Box::new(pop(&mut stack)?)),
            b'P' => Value::Persistent(Box::new(Value::Str(line(&mut pos)?))),
            b'p' => {
                let index = line(&mut pos)?.parse::<u64>().map_err(|e| e.to_string())?;
                memo.insert(index, top(&mut stack)?.clone());
                continue;
            }
            b'q' | b'r' => {
                let width = if op == b'q' { 1 } else { 4 };
                let index = uint(take(&mut pos, width)?);
                memo.insert(index, top(&mut stack)?.clone());
                continue;
            }
            0x94 => {
                let index = memo.len() as u64;
                memo.insert(index, top(&mut stack)?.clone());
                continue;
            }
            b'g' => {
                let index = line(&mut pos)?.parse::<u64>().map_err(|e| e.to_string())?;
                memo.get(&index)
                    .cloned()
                    .ok_or("malformed pickle: unknown memo entry")?
            }
            b'h' | b'j' => {
                let width = if op == b'h' { 1 } else { 4 };
                let index = uint(take(&mut pos, width)?);
                memo.get(&index)
                    .cloned()
                    .ok_or("malformed pickle: unknown memo entry")?
            }
            other => {
                return Err(format!(
                    "not a pickle: unknown opcode 0x{other:02x} at byte {}",
                    pos - 1
                ));
            }
        };
        stack.push(Item::Value(value));
    }
    Err("truncated pickle: no STOP".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(_: &str, _: &str) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn builds_containers_objects_and_memo_references() {
        // {'a': [1, 2], 'b': ('x', None)} with a memoised string, protocol 2.
        let bytes = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01K\x02eX\x01\x00\x00\x00bq\x03h\x01N\x86q\x04u.";
        let value = read(bytes, 1, &mut accept).unwrap();
        assert_eq!(
            value.get("a"),
            Some(&Value::List(vec![Value::Int(1), Value::Int(2)]))
        );
        assert_eq!(
            value.get("b"),
            Some(&Value::Tuple(vec![Value::Str("a".into()), Value::None]))
        );
        // GLOBAL + EMPTY_TUPLE + NEWOBJ + BUILD.
        let object = b"\x80\x02cpkg\nThing\nq\x00)\x81}q\x01X\x01\x00\x00\x00kK\x07sb.";
        match read(object, 1, &mut accept).unwrap() {
            Value::Object { class, state, .. } => {
                assert_eq!(*class, Value::Global("pkg".into(), "Thing".into()));
                assert_eq!(state.unwrap().get("k"), Some(&Value::Int(7)));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            read(b"\x80\x02K\x01", 1, &mut accept)
                .unwrap_err()
                .contains("truncated")
        );
    }
}
