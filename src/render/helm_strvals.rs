//! Helm's `--set` family (`pkg/strvals`), for the native renderer: `key.path[0]=value` pairs
//! parsed into the values map as helm parses them, so that `ferry render helm --set ...` means
//! what `helm template --set ...` means whichever renderer runs.
//!
//! `--set` types `true`/`false`/`null`/integers (helm makes the integers int64: they stay integer
//! numbers here, where every number read from YAML or JSON is a float, [`as_float64`]), `--set-string`
//! keeps strings, `--set-file` reads the named file, `--set-json` decodes JSON, and
//! `--set-literal` takes the rest of the argument verbatim.

use serde_json::{Map, Value};

/// helm's `MaxNestedNameLevel` and `MaxIndex`.
const MAX_NESTED: usize = 30;
const MAX_INDEX: usize = 65536;

/// How the values of one flag are read.
pub enum Kind<'a> {
    Typed,
    String,
    Json,
    /// Reads a file for `--set-file`.
    File(&'a dyn Fn(&str) -> Result<String, String>),
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    kind: Kind<'a>,
}

/// The end of the input, as Go's `io.EOF`.
const EOF: &str = "EOF";

/// Parses one `--set`, `--set-string`, `--set-json` or `--set-file` argument into `data`.
pub fn parse_into(s: &str, data: &mut Map<String, Value>, kind: Kind<'_>) -> Result<(), String> {
    let mut p = Parser {
        chars: s.chars().collect(),
        pos: 0,
        kind,
    };
    loop {
        match p.key(data, 0) {
            Ok(()) => continue,
            Err(e) if e == EOF => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

impl Parser<'_> {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Go's `runesUntil`: a backslash escapes the next character; `None` at the end.
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.next() {
                None => return (v, None),
                Some('\\') => {
                    if let Some(c) = self.next() {
                        v.push(c);
                    }
                }
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some(c) => v.push(c),
            }
        }
    }

    fn key(&mut self, data: &mut Map<String, Value>, level: usize) -> Result<(), String> {
        let (k, last) = self.until(&['=', '[', ',', '.']);
        match last {
            None if k.is_empty() => Err(EOF.into()),
            None => Err(format!("key {k:?} has no value")),
            Some('[') => {
                let i = self
                    .index()
                    .map_err(|e| format!("error parsing index: {e}"))?;
                let list = match data.remove(&k) {
                    Some(Value::Array(l)) => l,
                    _ => Vec::new(),
                };
                let (list, result) = self.list_item(list, i, level);
                set(data, &k, Value::Array(list));
                result
            }
            Some('=') => {
                if matches!(self.kind, Kind::Json) {
                    if self.empty_val() {
                        set(data, &k, Value::Null);
                        return Ok(());
                    }
                    let v = self.json()?;
                    set(data, &k, v);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(Some(list)) => {
                        set(data, &k, Value::Array(list));
                        Ok(())
                    }
                    Err(e) if e == EOF => {
                        set(data, &k, Value::String(String::new()));
                        Err(e)
                    }
                    Err(e) => Err(e),
                    Ok(None) => {
                        let (rs, _) = self.until(&[',']);
                        let v = self.read(&rs)?;
                        set(data, &k, v);
                        // The end, if here, is found by the next key.
                        Ok(())
                    }
                }
            }
            Some(',') => {
                set(data, &k, Value::String(String::new()));
                Err(format!("key {k:?} has no value (cannot end with ,)"))
            }
            Some(_) => {
                let level = level + 1;
                if level > MAX_NESTED {
                    return Err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED}"
                    ));
                }
                let mut inner = match data.remove(&k) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let e = self.key(&mut inner, level);
                if e.is_ok() && inner.is_empty() {
                    return Err(format!("key map {k:?} has no value"));
                }
                if !inner.is_empty() {
                    set(data, &k, Value::Object(inner));
                }
                e
            }
        }
    }

    fn index(&mut self) -> Result<usize, String> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err(EOF.into());
        }
        v.parse::<i64>()
            .map_err(|_| format!("strconv.Atoi: parsing {v:?}: invalid syntax"))
            .and_then(|i| usize::try_from(i).map_err(|_| format!("negative {i} index not allowed")))
    }

    /// The value for list element `i` after its `]`. Returns the list in every case, as Go
    /// stores it before returning the error.
    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: usize,
        level: usize,
    ) -> (Vec<Value>, Result<(), String>) {
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                Err(format!("unexpected data at end of array index: {k:?}")),
            );
        }
        let value = match last {
            None => return (list, Err(EOF.into())),
            Some('=') => {
                if matches!(self.kind, Kind::Json) {
                    if self.empty_val() {
                        Ok(Value::Null)
                    } else {
                        let v = self.json();
                        if v.is_ok() {
                            self.empty_val();
                        }
                        v
                    }
                } else {
                    match self.val_list() {
                        Ok(Some(l)) => Ok(Value::Array(l)),
                        Err(e) if e == EOF => Ok(Value::String(String::new())),
                        Err(e) => Err(e),
                        Ok(None) => {
                            let (rs, _) = self.until(&[',']);
                            self.read(&rs)
                        }
                    }
                }
            }
            Some('[') => match self.index() {
                Err(e) => Err(format!("error parsing index: {e}")),
                Ok(next) => {
                    let current = match list.get_mut(i).map(std::mem::take) {
                        Some(Value::Array(l)) => l,
                        _ => Vec::new(),
                    };
                    let (inner, r) = self.list_item(current, next, level);
                    r.map(|()| Value::Array(inner))
                }
            },
            Some(_) => {
                let mut inner = match list.get_mut(i).map(std::mem::take) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                self.key(&mut inner, level).map(|()| Value::Object(inner))
            }
        };
        match value {
            Ok(v) => match set_index(&mut list, i, v) {
                Ok(()) => (list, Ok(())),
                Err(e) => (list, Err(e)),
            },
            Err(e) => (list, Err(e)),
        }
    }

    /// `{a,b}`: `Ok(None)` when the value is not a list.
    fn val_list(&mut self) -> Result<Option<Vec<Value>>, String> {
        match self.chars.get(self.pos) {
            None => return Err(EOF.into()),
            Some('{') => self.pos += 1,
            Some(_) => return Ok(None),
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.until(&[',', '}']);
            match last {
                None => return Err("list must terminate with '}'".into()),
                Some('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    list.push(self.read(&rs)?);
                    return Ok(Some(list));
                }
                Some(_) => list.push(self.read(&rs)?),
            }
        }
    }

    /// Go's `emptyVal`: skips blanks; true at the end or after a comma.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.next() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.pos -= 1;
                    return false;
                }
            }
        }
    }

    /// One JSON value from here on (numbers as float64, as Go decodes them).
    fn json(&mut self) -> Result<Value, String> {
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
        let v = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("unexpected end of JSON input".into()),
        };
        let used = rest[..stream.byte_offset()].chars().count();
        self.pos += used;
        Ok(as_float64(v))
    }

    fn read(&mut self, rs: &str) -> Result<Value, String> {
        match &self.kind {
            Kind::String => Ok(Value::String(rs.to_string())),
            Kind::File(read) => read(rs).map(Value::String),
            Kind::Json | Kind::Typed => Ok(typed(rs)),
        }
    }
}

fn set(data: &mut Map<String, Value>, k: &str, v: Value) {
    if !k.is_empty() {
        data.insert(k.to_string(), v);
    }
}

fn set_index(list: &mut Vec<Value>, i: usize, v: Value) -> Result<(), String> {
    if i > MAX_INDEX {
        return Err(format!(
            "index of {i} is greater than maximum supported index of {MAX_INDEX}"
        ));
    }
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = v;
    Ok(())
}

/// helm's `typedVal`: booleans and null in any case, integers not starting with 0 (and 0).
pub fn typed(v: &str) -> Value {
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if v == "0" {
        return Value::from(0i64);
    }
    if !v.is_empty() && !v.starts_with('0') {
        if let Ok(i) = parse_go_int(v) {
            return Value::from(i);
        }
    }
    Value::String(v.to_string())
}

/// `strconv.ParseInt(v, 10, 64)`: an optional sign and decimal digits.
fn parse_go_int(v: &str) -> Result<i64, ()> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    v.trim_start_matches('+').parse::<i64>().map_err(|_| ())
}

/// JSON numbers as Go's `encoding/json` decodes them into `interface{}`: float64.
pub(super) fn as_float64(v: Value) -> Value {
    match v {
        Value::Number(n) if !n.is_f64() => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        Value::Array(a) => Value::Array(a.into_iter().map(as_float64).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, as_float64(v))).collect()),
        v => v,
    }
}

/// `--set-literal`: the key as for `--set` (without escapes), the rest of the argument as one
/// string.
pub fn parse_literal(s: &str, data: &mut Map<String, Value>) -> Result<(), String> {
    fn key(rest: &str, data: &mut Map<String, Value>, level: usize) -> Result<(), String> {
        let Some(at) = rest.find(['=', '[', '.']) else {
            return Ok(());
        };
        let (k, sep, tail) = (&rest[..at], &rest[at..at + 1], &rest[at + 1..]);
        match sep {
            "=" => {
                set(data, k, Value::String(tail.to_string()));
                Ok(())
            }
            "." => {
                let level = level + 1;
                if level > MAX_NESTED {
                    return Err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED}"
                    ));
                }
                let mut inner = match data.remove(k) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let e = key(tail, &mut inner, level);
                if e.is_ok() && inner.is_empty() {
                    return Err(format!("key map {k:?} has no value"));
                }
                if !inner.is_empty() {
                    set(data, k, Value::Object(inner));
                }
                e
            }
            _ => {
                let (index, after) = tail
                    .split_once(']')
                    .ok_or_else(|| "error parsing index: EOF".to_string())?;
                let i: usize = index.parse().map_err(|_| {
                    format!("error parsing index: strconv.Atoi: parsing {index:?}: invalid syntax")
                })?;
                let mut list = match data.remove(k) {
                    Some(Value::Array(l)) => l,
                    _ => Vec::new(),
                };
                let r = item(after, &mut list, i, level);
                set(data, k, Value::Array(list));
                r
            }
        }
    }
    fn item(rest: &str, list: &mut Vec<Value>, i: usize, level: usize) -> Result<(), String> {
        let Some(sep) = rest.chars().next() else {
            return Ok(());
        };
        let tail = &rest[1..];
        let v = match sep {
            '=' => Value::String(tail.to_string()),
            '.' => {
                let mut inner = match list.get_mut(i).map(std::mem::take) {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                key(tail, &mut inner, level)?;
                Value::Object(inner)
            }
            '[' => {
                let (index, after) = tail
                    .split_once(']')
                    .ok_or_else(|| "error parsing index: EOF".to_string())?;
                let next: usize = index.parse().map_err(|_| {
                    format!("error parsing index: strconv.Atoi: parsing {index:?}: invalid syntax")
                })?;
                let mut inner = match list.get_mut(i).map(std::mem::take) {
                    Some(Value::Array(l)) => l,
                    _ => Vec::new(),
                };
                item(after, &mut inner, next, level)?;
                Value::Array(inner)
            }
            _ => return Err(format!("unexpected data at end of array index: {rest:?}")),
        };
        set_index(list, i, v)
    }
    key(s, data, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(args: &[&str]) -> Value {
        let mut m = Map::new();
        for a in args {
            parse_into(a, &mut m, Kind::Typed).expect("parses");
        }
        Value::Object(m)
    }

    #[test]
    fn typed_values_lists_and_escapes() {
        assert_eq!(
            set(&[
                "a.b=1,c=true,d=null,e=010,f={x,2}",
                "g\\.h=v\\,w",
                "l[1].n=z"
            ]),
            json!({"a": {"b": 1}, "c": true, "d": null, "e": "010", "f": ["x", 2],
                   "g.h": "v,w", "l": [null, {"n": "z"}]})
        );
    }

    #[test]
    fn errors_are_helms() {
        let mut m = Map::new();
        assert_eq!(
            parse_into("a", &mut m, Kind::Typed).unwrap_err(),
            "key \"a\" has no value"
        );
        assert_eq!(
            parse_into("a,b=1", &mut m, Kind::Typed).unwrap_err(),
            "key \"a\" has no value (cannot end with ,)"
        );
    }

    #[test]
    fn json_and_literal() {
        let mut m = Map::new();
        parse_into("a={\"x\":[1,2]},b=3", &mut m, Kind::Json).expect("json");
        parse_literal("c.d=x,y=z", &mut m).expect("literal");
        assert_eq!(
            Value::Object(m),
            json!({"a": {"x": [1.0, 2.0]}, "b": 3.0, "c": {"d": "x,y=z"}})
        );
    }
}
