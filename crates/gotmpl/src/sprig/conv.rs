//! Conversions Sprig builds on: `strval` (toString), `empty`, and spf13/cast's ToInt64 /
//! ToFloat64 (lenient: what cannot convert is 0).

use crate::gofmt::format_v;
use crate::value::Value;

/// Sprig's strval: strings as they are, everything else as `%v` prints it.
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Invalid | Value::Nil => "<nil>".into(),
        v => format_v(v),
    }
}

/// Sprig's empty: Go's zero values, empty strings, lists and maps; nil.
pub fn empty(v: &Value) -> bool {
    match v {
        Value::Invalid | Value::Nil => true,
        Value::Object(_) => false,
        v => !v.truth(),
    }
}

/// cast's trimZeroDecimal: "3.00" reads as "3".
fn trim_zero_decimal(s: &str) -> &str {
    match s.find('.') {
        Some(i) if s.len() > i + 1 && s[i + 1..].bytes().all(|b| b == b'0') => &s[..i],
        _ => s,
    }
}

/// spf13/cast ToInt64 (v1.7): integers as they are, floats truncated, bools 1/0, strings
/// parsed with Go's base prefixes, everything else 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint8(b) => *b as i64,
        Value::Float(f) => go_f64_to_i64(*f),
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => crate::number::parse_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// Go's int64(f) on amd64: truncation; out of range (and NaN) gives the minimum.
pub fn go_f64_to_i64(f: f64) -> i64 {
    if f.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// spf13/cast ToFloat64.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint8(b) => *b as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// strconv.ParseFloat(s, 64) including "Inf"/"NaN" spellings.
pub fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity") {
        return Some(if lower.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if body == "nan" {
        return Some(f64::NAN);
    }
    crate::number::parse_float(s)
}

/// Go's `reflect.DeepEqual` on template values.
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Invalid | Value::Nil, Value::Invalid | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Uint8(x), Value::Uint8(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Complex(a1, b1), Value::Complex(a2, b2)) => a1 == a2 && b1 == b2,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(e1, x), Value::List(e2, y)) => {
            e1 == e2 && x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            if std::rc::Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.elem == y.elem
                && x.entries.len() == y.entries.len()
                && x.entries
                    .iter()
                    .all(|(k, v)| y.entries.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => std::rc::Rc::ptr_eq(x, y),
        _ => false,
    }
}
