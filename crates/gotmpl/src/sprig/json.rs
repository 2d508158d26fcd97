//! Go's encoding/json output for template values (Sprig's toJson family): map keys sorted,
//! `<`, `>`, `&`, U+2028 and U+2029 escaped unless raw, floats as Go writes them.

use crate::value::Value;

const MAX_DEPTH: usize = 1000;

pub struct Options {
    pub escape_html: bool,
    /// MarshalIndent's indent ("" for compact output).
    pub indent: &'static str,
}

/// The JSON text, or Go's error for values JSON cannot hold.
pub fn encode(v: &Value, opts: &Options) -> Result<String, String> {
    let mut out = String::new();
    write(&mut out, v, opts, 0)?;
    Ok(out)
}

/// Go's float encoding: shortest digits, exponent form below 1e-6 and from 1e21, with the
/// exponent's leading zero dropped (`1e-07` is written `1e-7`).
pub fn float(f: f64) -> Result<String, String> {
    if f.is_nan() || f.is_infinite() {
        return Err(format!(
            "json: unsupported value: {}",
            crate::gofmt::format_float(f, 'g', None)
        ));
    }
    let abs = f.abs();
    let fmt = if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        'e'
    } else {
        'f'
    };
    let mut s = crate::gofmt::format_float(f, fmt, None);
    if fmt == 'e' {
        let n = s.len();
        let b = s.as_bytes();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            s.remove(n - 2);
        }
    }
    Ok(s)
}

pub fn string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn newline(out: &mut String, opts: &Options, depth: usize) {
    if !opts.indent.is_empty() {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(opts.indent);
        }
    }
}

fn write(out: &mut String, v: &Value, opts: &Options, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    match v {
        Value::Invalid | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Uint8(b) => out.push_str(&b.to_string()),
        Value::Float(f) => out.push_str(&float(*f)?),
        Value::Complex(..) => return Err("json: unsupported type: complex128".into()),
        Value::String(s) => string(out, s, opts.escape_html),
        Value::List(_, items) => {
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, opts, depth + 1);
                write(out, it, opts, depth + 1)?;
            }
            newline(out, opts, depth);
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, it)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, opts, depth + 1);
                string(out, k, opts.escape_html);
                out.push(':');
                if !opts.indent.is_empty() {
                    out.push(' ');
                }
                write(out, it, opts, depth + 1)?;
            }
            newline(out, opts, depth);
            out.push('}');
        }
        Value::Object(o) => match o.json_value() {
            Some(v) => write(out, &v, opts, depth)?,
            None => out.push_str("{}"),
        },
    }
    Ok(())
}

/// Go's `encoding/json` words for a document that does not parse, from serde's error and the
/// input: the end of input, or a first character that starts no value. Errors further in
/// (Go's "after object key" and the like) keep serde's words.
pub fn go_error(input: &str, e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "unexpected end of JSON input".into();
    }
    let line_start: usize = input
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let at = line_start + e.column().saturating_sub(1);
    match input.get(at..).and_then(|r| r.chars().next()) {
        Some(c) if literal_at(input, at).is_some() => {
            let (lit, want) = literal_at(input, at).unwrap_or_default();
            format!(
                "invalid character {} in literal {lit} (expecting {})",
                go_char(c),
                go_char(want)
            )
        }
        Some(c) if input[..at].trim().is_empty() => {
            format!(
                "invalid character {} looking for beginning of value",
                go_char(c)
            )
        }
        _ => e.to_string(),
    }
}

/// The literal (`null`, `true`, `false`) a bad character at `at` breaks, and the character
/// the literal wanted there.
fn literal_at(input: &str, at: usize) -> Option<(&'static str, char)> {
    let start = input[..at]
        .rfind(|c: char| !c.is_ascii_lowercase())
        .map_or(0, |i| i + 1);
    let lit = match input[start..].chars().next()? {
        'n' => "null",
        't' => "true",
        'f' => "false",
        _ => return None,
    };
    let i = at - start;
    if i == 0 || lit.get(..i) != input.get(start..at) {
        return None;
    }
    lit[i..].chars().next().map(|c| (lit, c))
}

/// Go's `quoteChar`: `'x'`, with `'\''` and `'"'` as Go writes them.
fn go_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c => format!("'{c}'"),
    }
}
