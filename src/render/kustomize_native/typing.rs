//! go-yaml v3 typing for the few plain scalars the foundation's YAML reader keeps as text:
//! leading-zero numbers (`0755` is octal 493), numbers with `_`, and timestamps (a Go
//! `time.Time`, printed back in RFC 3339). kustomize reads resources with go-yaml v3, so these
//! change the output.
//!
//! The reader does not report whether a scalar was quoted, so this looks at the source text:
//! a value is retyped only when it appears there unquoted in value position and never quoted.
//! A reader that keeps scalar styles would make this exact; until then it is a close
//! approximation that errs towards leaving text alone.

use crate::goyaml::{parse_timestamp, plain_number};
use serde_json::Value;

/// What go-yaml v3 makes of `s` written plain, when that is not the string itself.
fn v3_value(s: &str) -> Option<Value> {
    if let Some(ts) = parse_timestamp(s) {
        return Some(Value::String(ts.rfc3339()));
    }
    let digits = s.trim_start_matches(['+', '-']);
    let leading_zero =
        digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit();
    if leading_zero || s.contains('_') {
        return plain_number(s).map(Value::Number);
    }
    None
}

/// Whether `s` occurs in `source` as a plain scalar in value position, and nowhere quoted.
fn appears_plain(source: &str, s: &str) -> bool {
    let mut plain = false;
    for (i, _) in source.match_indices(s) {
        let before = &source[..i];
        let after = &source[i + s.len()..];
        let prev = before.chars().next_back();
        let next = after.chars().next();
        if matches!(prev, Some('"' | '\'')) && prev == next {
            return false;
        }
        let line_before = before.rsplit('\n').next().unwrap_or("");
        let line_after = after.split('\n').next().unwrap_or("");
        let lead = line_before.trim_end();
        let value_position = line_before.ends_with(' ')
            && (lead.ends_with(':') || lead.ends_with('-'))
            || lead.ends_with('[')
            || lead.ends_with(',');
        let rest = line_after.trim_start();
        let ends = rest.is_empty()
            || (rest.starts_with('#') && line_after.starts_with(' '))
            || rest.starts_with([',', ']', '}']);
        if value_position && ends {
            plain = true;
        }
    }
    plain
}

/// Retypes, in place, the strings of `value` that go-yaml v3 would have typed.
pub fn retype(value: &mut Value, source: &str) {
    match value {
        Value::String(s) => {
            if let Some(typed) = v3_value(s) {
                if appears_plain(source, s) {
                    *value = typed;
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| retype(v, source)),
        Value::Object(map) => map.values_mut().for_each(|v| retype(v, source)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn octal_underscores_and_dates_when_plain() {
        let src = "a: 0755\nb: \"0644\"\nc: 1_000\nd: 2001-12-14\ne: '2002-01-01'\nf: [09.5]\n";
        let mut v = json!({"a": "0755", "b": "0644", "c": "1_000", "d": "2001-12-14", "e": "2002-01-01", "f": ["09.5"]});
        retype(&mut v, src);
        assert_eq!(
            v,
            json!({"a": 493, "b": "0644", "c": 1000, "d": "2001-12-14T00:00:00Z", "e": "2002-01-01", "f": [9.5]})
        );
    }
}
