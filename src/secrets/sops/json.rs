//! JSON in and out the way sops' JSON store does it: one document, key order kept, written
//! with tab indentation and Go's `encoding/json` escaping.

use super::tree::{Branch, Item, Value};
use super::yaml::scalar::format_float_json;
use super::SopsError;

/// Parses a JSON object.
///
/// # Errors
/// Syntax errors with their line, or a document that is not an object.
pub fn parse(text: &str) -> Result<Branch, SopsError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| SopsError::Parse {
        format: "JSON",
        line: Some(e.line()),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    })?;
    match Value::from_json(&value) {
        Value::Map(b) => Ok(b),
        _ => Err(SopsError::Parse {
            format: "JSON",
            line: None,
            message: "the document must be an object".into(),
        }),
    }
}

/// Go's `json.Marshal` for a string: `<`, `>`, `&`, U+2028 and U+2029 escaped too.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push('\t');
    }
}

fn value(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null | Value::Comment(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float_json(*f)),
        Value::Str(s) | Value::Time(s) => string(out, s),
        Value::Bytes(b) => {
            use base64::Engine;
            string(out, &base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::Map(b) => map(out, b, depth),
        Value::List(items) => {
            let items: Vec<&Value> = items
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .collect();
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                value(out, item, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
    }
}

fn map(out: &mut String, branch: &Branch, depth: usize) {
    let entries: Vec<(&String, &Value)> = branch
        .iter()
        .filter_map(|i| {
            if let Item::Entry(k, v) = i {
                Some((k, v))
            } else {
                None
            }
        })
        .collect();
    if entries.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push('{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, depth + 1);
        string(out, k);
        out.push_str(": ");
        value(out, v, depth + 1);
    }
    newline(out, depth);
    out.push('}');
}

/// Writes one document followed by a newline.
pub fn emit(branch: &Branch) -> String {
    let mut out = String::new();
    map(&mut out, branch, 0);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_like_sops() {
        let b = parse(
            r#"{"a": "x<y", "n": 1, "f": 3.0, "l": [1, {"k": "v"}, []], "m": {}, "z": null}"#,
        )
        .expect("parses");
        assert_eq!(
            emit(&b),
            "{\n\t\"a\": \"x\\u003cy\",\n\t\"n\": 1,\n\t\"f\": 3,\n\t\"l\": [\n\t\t1,\n\t\t{\n\t\t\t\"k\": \"v\"\n\t\t},\n\t\t[]\n\t],\n\t\"m\": {},\n\t\"z\": null\n}\n"
        );
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(parse("[1]").is_err());
        assert!(parse("{").is_err());
    }
}
