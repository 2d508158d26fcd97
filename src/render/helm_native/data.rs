//! Helm's TOML and pretty YAML functions: `toToml` (BurntSushi/toml v1.6's encoder, written
//! anew here: no Rust TOML writer prints the same bytes), `fromToml` (read with the `toml`
//! crate into the values Go's decoder gives: int64, float64, string, bool, lists, maps) and
//! `toYamlPretty` (go-yaml v3 with indent 2, through ferry's Go YAML output layer).

use gotmpl::{Func, FuncMap, Signature, Type, Value};

const INDENT: &str = "  ";

/// BurntSushi/toml's classification of a value: tables and arrays of tables go after the
/// plain keys of a table.
#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Nil,
    Table,
    ArrayOfTables,
    Other,
}

fn kind(v: &Value) -> Result<Kind, String> {
    Ok(match v {
        Value::Nil | Value::Invalid => Kind::Nil,
        Value::Map(_) => Kind::Table,
        Value::Object(o) if super::crypto::struct_fields(o.as_ref()).is_some() => Kind::Table,
        Value::List(_, items) if !items.is_empty() => {
            let mut tables = true;
            for item in items.iter() {
                match kind(item)? {
                    Kind::Nil => return Err("toml: cannot encode array with nil element".into()),
                    Kind::Table => {}
                    _ => tables = false,
                }
            }
            if tables {
                Kind::ArrayOfTables
            } else {
                Kind::Other
            }
        }
        _ => Kind::Other,
    })
}

/// The encoder's string escaping (`dblQuotedReplacer`).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn bare(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn key_part(k: &str) -> String {
    if bare(k) {
        k.to_string()
    } else {
        quoted(k)
    }
}

fn dotted(key: &[String]) -> String {
    key.iter()
        .map(|k| key_part(k))
        .collect::<Vec<_>>()
        .join(".")
}

#[derive(Default)]
struct Encoder {
    out: String,
    written: bool,
}

impl Encoder {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.written = true;
    }

    fn newline(&mut self) {
        if self.written {
            self.write("\n");
        }
    }

    fn indent(key: &[String]) -> String {
        INDENT.repeat(key.len().saturating_sub(1))
    }

    fn encode(&mut self, key: &[String], v: &Value) -> Result<(), String> {
        match v {
            Value::Nil | Value::Invalid => Ok(()),
            Value::Map(_) => self.table(key, v),
            Value::Object(o) if super::crypto::struct_fields(o.as_ref()).is_some() => {
                self.table(key, v)
            }
            Value::List(_, items) if kind(v)? == Kind::ArrayOfTables => {
                self.array_of_tables(key, items)
            }
            Value::Complex(..) => Err(format!(
                "unsupported type for key '{}': complex128",
                dotted(key)
            )),
            _ => self.key_value(key, v, false),
        }
    }

    fn key_value(&mut self, key: &[String], v: &Value, inline: bool) -> Result<(), String> {
        let Some(last) = key.last() else {
            return self.element(v);
        };
        let line = format!("{}{} = ", Self::indent(key), key_part(last));
        self.write(&line);
        self.element(v)?;
        if !inline {
            self.newline();
        }
        Ok(())
    }

    fn element(&mut self, v: &Value) -> Result<(), String> {
        match v {
            Value::String(s) => self.write(&quoted(s)),
            Value::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => self.write(&i.to_string()),
            Value::Uint8(b) => self.write(&b.to_string()),
            Value::Float(f) if f.is_nan() => {
                self.write(if f.is_sign_negative() { "-nan" } else { "nan" })
            }
            Value::Float(f) if f.is_infinite() => self.write(if *f < 0.0 { "-inf" } else { "inf" }),
            Value::Float(f) => {
                let s = crate::goyaml::format_g(*f);
                let s = if s.contains(['e', '.']) {
                    s
                } else {
                    format!("{s}.0")
                };
                self.write(&s)
            }
            Value::List(_, items) => {
                self.write("[");
                for (i, item) in items.iter().enumerate() {
                    if matches!(item, Value::Nil | Value::Invalid) {
                        return Err("toml: cannot encode array with nil element".into());
                    }
                    self.element(item)?;
                    if i + 1 != items.len() {
                        self.write(", ");
                    }
                }
                self.write("]");
            }
            Value::Map(_) => self.map(&[], v, true)?,
            Value::Object(o) if super::crypto::struct_fields(o.as_ref()).is_some() => {
                self.map(&[], v, true)?
            }
            Value::Object(o) => self.write(&quoted(&o.display())),
            Value::Nil | Value::Invalid | Value::Complex(..) => {
                return Err(format!("unexpected type: {}", gotmpl::gofmt::format_v(v)))
            }
        }
        Ok(())
    }

    fn array_of_tables(&mut self, key: &[String], items: &[Value]) -> Result<(), String> {
        if key.is_empty() {
            return Err("toml: top-level values must be Go maps or structs".into());
        }
        for item in items {
            self.newline();
            let line = format!("{}[[{}]]", Self::indent(key), dotted(key));
            self.write(&line);
            self.newline();
            self.map(key, item, false)?;
        }
        Ok(())
    }

    fn table(&mut self, key: &[String], v: &Value) -> Result<(), String> {
        if key.len() == 1 {
            self.newline();
        }
        if !key.is_empty() {
            let line = format!("{}[{}]", Self::indent(key), dotted(key));
            self.write(&line);
            self.newline();
        }
        self.map(key, v, false)
    }

    fn map(&mut self, key: &[String], v: &Value, inline: bool) -> Result<(), String> {
        // A struct's fields keep their declaration order; a map's keys are sorted.
        let (entries, sorted): (Vec<(String, Value)>, bool) = match v {
            Value::Map(m) => (
                m.borrow()
                    .entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                true,
            ),
            Value::Object(o) => match super::crypto::struct_fields(o.as_ref()) {
                Some(f) => (
                    f.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                    false,
                ),
                None => return Ok(()),
            },
            _ => return Ok(()),
        };
        let (mut direct, mut sub) = (Vec::new(), Vec::new());
        for (k, val) in entries {
            match kind(&val)? {
                Kind::Table | Kind::ArrayOfTables => sub.push((k, val)),
                _ => direct.push((k, val)),
            }
        }
        if inline {
            self.write("{");
        }
        let trail = !sub.is_empty();
        self.keys(key, direct, trail, inline, sorted)?;
        self.keys(key, sub, false, inline, sorted)?;
        if inline {
            self.write("}");
        }
        Ok(())
    }

    fn keys(
        &mut self,
        key: &[String],
        mut entries: Vec<(String, Value)>,
        trail: bool,
        inline: bool,
        sorted: bool,
    ) -> Result<(), String> {
        if sorted {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let n = entries.len();
        for (i, (k, val)) in entries.iter().enumerate() {
            if matches!(val, Value::Nil | Value::Invalid) {
                continue;
            }
            if inline {
                self.key_value(std::slice::from_ref(k), val, true)?;
                if trail || i + 1 != n {
                    self.write(", ");
                }
            } else {
                let mut sub = key.to_vec();
                sub.push(k.clone());
                self.encode(&sub, val)?;
            }
        }
        Ok(())
    }
}

/// Helm's `toToml`: the document, or the encoder's error text in its place; an error where
/// Go's reflection panics (on nil).
pub fn to_toml(v: &Value) -> Result<String, String> {
    if matches!(v, Value::Nil | Value::Invalid) {
        return Err("reflect: call of reflect.Value.Type on zero Value".into());
    }
    let mut e = Encoder::default();
    Ok(match e.encode(&[], v) {
        Ok(()) => e.out,
        Err(msg) => msg,
    })
}

fn from_toml_value(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::str(s),
        toml::Value::Integer(i) => Value::Int64(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::str(&d.to_string()),
        toml::Value::Array(items) => Value::list(items.iter().map(from_toml_value).collect()),
        toml::Value::Table(t) => Value::map(
            t.iter()
                .map(|(k, v)| (k.clone(), from_toml_value(v)))
                .collect(),
        ),
    }
}

/// Helm's `fromToml`: a map, with the parse error under `Error` when the text is not TOML.
pub fn from_toml(text: &str) -> Value {
    match toml::from_str::<toml::Value>(text) {
        Ok(v @ toml::Value::Table(_)) => from_toml_value(&v),
        Ok(_) => Value::map(Default::default()),
        Err(e) => {
            let line = e.line_col().map_or(1, |(l, _)| l + 1);
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            Value::map(
                [(
                    "Error".to_string(),
                    Value::str(&format!("toml: line {line}: {msg}")),
                )]
                .into(),
            )
        }
    }
}

/// Helm's `toYamlPretty`: go-yaml v3 with indent 2, without the final newline; empty where
/// the value has no YAML form.
pub fn to_yaml_pretty(v: &Value) -> String {
    let Some(j) = v3_value(v) else {
        return String::new();
    };
    let out = crate::goyaml::to_yaml_v3(&j);
    out.strip_suffix('\n').unwrap_or(&out).to_string()
}

/// The value go-yaml v3 walks: like JSON's, but struct fields go by their lowercased names.
fn v3_value(v: &Value) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match v {
        Value::List(_, items) => J::Array(items.iter().map(v3_value).collect::<Option<_>>()?),
        Value::Map(m) => J::Object(
            m.borrow()
                .entries
                .iter()
                .map(|(k, v)| Some((k.clone(), v3_value(v)?)))
                .collect::<Option<_>>()?,
        ),
        Value::Object(o) => match super::crypto::struct_fields(o.as_ref()) {
            Some(fields) => J::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| Some((k.to_lowercase(), v3_value(&v)?)))
                    .collect::<Option<_>>()?,
            ),
            None => J::Object(Default::default()),
        },
        other => super::funcs::to_json_value(other)?,
    })
}

pub fn register(m: &mut FuncMap) {
    let any = Signature::fixed(&[Type::Any]);
    m.insert(
        "toToml",
        Func::pure(any.clone(), |a| to_toml(&a[0]).map(|s| Value::str(&s))),
    );
    m.insert(
        "fromToml",
        Func::pure(Signature::fixed(&[Type::String]), |a| {
            Ok(from_toml(a[0].as_str().unwrap_or_default()))
        }),
    );
    m.insert(
        "toYamlPretty",
        Func::pure(any, |a| Ok(Value::str(&to_yaml_pretty(&a[0])))),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn toml_puts_plain_keys_before_tables_and_floats_keep_a_point() {
        let v = map(&[
            ("t", map(&[("x", Value::Float(1.0))])),
            ("a b", Value::Int(1)),
            ("l", Value::list(vec![map(&[("k", Value::str("v"))])])),
            ("z", Value::str("q\"\n")),
        ]);
        assert_eq!(
            to_toml(&v).as_deref(),
            Ok("\"a b\" = 1\nz = \"q\\\"\\n\"\n\n[[l]]\n  k = \"v\"\n\n[t]\n  x = 1.0\n")
        );
        assert_eq!(
            to_toml(&Value::list(vec![Value::Int(1), Value::Nil])).as_deref(),
            Ok("toml: cannot encode array with nil element")
        );
        assert!(to_toml(&Value::Nil).is_err());
    }

    #[test]
    fn from_toml_gives_gos_types_and_an_error_entry() {
        let v = from_toml("i = 1\nf = 1.5\n[t]\nb = true\n");
        let Value::Map(m) = &v else { panic!("{v:?}") };
        let m = m.borrow();
        assert!(matches!(m.entries.get("i"), Some(Value::Int64(1))));
        assert!(matches!(m.entries.get("f"), Some(Value::Float(_))));
        let bad = from_toml("a = ");
        let Value::Map(m) = &bad else {
            panic!("{bad:?}")
        };
        assert!(m.borrow().entries.contains_key("Error"));
    }

    #[test]
    fn yaml_pretty_indents_sequences_and_does_not_fold() {
        let long = "word ".repeat(30);
        let v = map(&[
            ("l", Value::list(vec![Value::Float(1e6), Value::str("yes")])),
            ("s", Value::str(long.trim_end())),
        ]);
        assert_eq!(
            to_yaml_pretty(&v),
            format!("l:\n  - 1e+06\n  - \"yes\"\ns: {}", long.trim_end())
        );
    }
}
