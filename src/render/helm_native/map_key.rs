//! go-yaml v2's refusal of a mapping or sequence used as a mapping key, in its words: helm
//! reads each rendered manifest into `interface{}`, and the decoder fails with
//! `invalid map key: <the key as Go's %#v prints it>` on the first such key in document order.

use serde_yaml_ng::Value;

/// The first mapping or sequence key in `v` (a key's own content is decoded, and checked,
/// before the key), as go-yaml v2 words the failure.
pub fn invalid_map_key(v: &Value) -> Option<String> {
    match v {
        Value::Mapping(m) => m.iter().find_map(|(k, v)| {
            if matches!(untag(k), Value::Mapping(_) | Value::Sequence(_)) {
                return Some(
                    invalid_map_key(k).unwrap_or_else(|| format!("invalid map key: {}", go_v(k))),
                );
            }
            invalid_map_key(v)
        }),
        Value::Sequence(s) => s.iter().find_map(invalid_map_key),
        Value::Tagged(t) => invalid_map_key(&t.value),
        _ => None,
    }
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        v => v,
    }
}

/// Go's `%#v` of what go-yaml v2 decodes into `interface{}`: `map[interface {}]interface {}`
/// with its keys sorted, `[]interface {}`, quoted strings, ints, floats as `%g`, bools and
/// `interface {}(nil)`.
fn go_v(v: &Value) -> String {
    match untag(v) {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            // Go prints a uint64 in hex under %#v.
            (None, Some(u), _) => format!("0x{u:x}"),
            (_, _, Some(f)) => gotmpl::gofmt::format_v(&gotmpl::Value::Float(f)),
            _ => n.to_string(),
        },
        Value::String(s) => gotmpl::quote::quote(s),
        Value::Sequence(items) => format!(
            "[]interface {{}}{{{}}}",
            items.iter().map(go_v).collect::<Vec<_>>().join(", ")
        ),
        Value::Mapping(m) => {
            let mut entries: Vec<(SortKey, String)> = m
                .iter()
                .map(|(k, v)| (sort_key(k), format!("{}:{}", go_v(k), go_v(v))))
                .collect();
            entries.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
            let entries: Vec<String> = entries.into_iter().map(|(_, e)| e).collect();
            format!(
                "map[interface {{}}]interface {{}}{{{}}}",
                entries.join(", ")
            )
        }
        Value::Tagged(_) => unreachable!("untagged above"),
    }
}

/// fmt's map key order for keys of one type (bools false first, numbers by value, strings
/// by bytes); keys of different types are grouped by type.
#[derive(PartialEq, PartialOrd)]
enum SortKey {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Other(String),
}

fn sort_key(v: &Value) -> SortKey {
    match untag(v) {
        Value::Null => SortKey::Nil,
        Value::Bool(b) => SortKey::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SortKey::Int(i),
            None => SortKey::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => SortKey::Str(s.clone()),
        other => SortKey::Other(go_v(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(doc: &str) -> Option<String> {
        invalid_map_key(&serde_yaml_ng::from_str(doc).expect("yaml"))
    }

    #[test]
    fn words_the_first_complex_key_as_go_yaml() {
        assert_eq!(
            first("a: 1\nb:\n  {z: 1, a: [x, 2.5, null]}: v\n").as_deref(),
            Some("invalid map key: map[interface {}]interface {}{\"a\":[]interface {}{\"x\", 2.5, interface {}(nil)}, \"z\":1}")
        );
        assert_eq!(
            first("? [a, {b: c}]\n: 1\n").as_deref(),
            Some("invalid map key: []interface {}{\"a\", map[interface {}]interface {}{\"b\":\"c\"}}")
        );
        assert_eq!(first("a: {b: [1, 2]}\n"), None);
    }
}
