//! Go's `encoding/json` `Marshal` for a JSON value: compact, map keys in byte order, HTML
//! characters and U+2028/U+2029 escaped, Go's float format. Kustomize hashes generated
//! objects from this text and Helm's `toJson` prints it.

use super::number::json_number;
use serde_json::Value;

/// `json.Marshal(value)`.
pub fn to_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(n)),
        Value::String(s) => write_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// A JSON string as Go writes it with HTML escaping on (the `json.Marshal` default).
pub fn write_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '<' || c == '>' || c == '&' => {
                let v = c as u32;
                out.push_str("\\u00");
                out.push(HEX[(v >> 4) as usize] as char);
                out.push(HEX[(v & 0xF) as usize] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_compact_and_html_escaped() {
        let v = json!({"b": [1, 2.5, null, true], "a": "<a&b>", "B": {"z": 1e-7, "y": 1e21}});
        assert_eq!(
            to_json(&v),
            r#"{"B":{"y":1e+21,"z":1e-7},"a":"\u003ca\u0026b\u003e","b":[1,2.5,null,true]}"#
        );
    }

    #[test]
    fn control_and_separator_characters() {
        let v = json!("tab\t nl\n cr\r bs\u{8} ff\u{c} nul\u{0} esc\u{1b} del\u{7f} ls\u{2028} ps\u{2029} q\" b\\ é");
        assert_eq!(
            to_json(&v),
            "\"tab\\t nl\\n cr\\r bs\\b ff\\f nul\\u0000 esc\\u001b del\u{7f} ls\\u2028 ps\\u2029 q\\\" b\\\\ é\""
        );
    }
}
