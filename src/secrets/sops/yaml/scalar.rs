//! Scalars: how an unquoted YAML scalar resolves (go-yaml v3's rules), and how go-yaml v3
//! chooses plain, quoted or literal style when it writes a string.

use crate::secrets::sops::tree::Value;
use std::sync::LazyLock;

static FLOAT: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
        .expect("valid regex")
});
static TIMESTAMP: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?$")
        .expect("valid regex")
});
static BASE60: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").expect("valid regex")
});

/// What an unquoted, untagged scalar means.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Value::Str(s.to_string());
    }
    if TIMESTAMP.is_match(s) {
        if let Some(t) = normalize_timestamp(s) {
            return Value::Time(t);
        }
    }
    let plain = s.replace('_', "");
    if let Some(i) = parse_int(&plain) {
        return Value::Int(i);
    }
    if FLOAT.is_match(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(s.to_string())
}

/// A YAML timestamp in the forms go-yaml parses, as Go's `time.Time.MarshalText` writes it
/// (RFC 3339 with nanoseconds trimmed, `Z` for UTC); `None` for anything Go would not parse.
pub fn normalize_timestamp(s: &str) -> Option<String> {
    static PARTS: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:([Tt])|[ \t]+)([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.([0-9]{1,9}))?(Z|[-+][0-9]{2}:[0-9]{2})?)?$",
        )
        .expect("valid regex")
    });
    let c = PARTS.captures(s)?;
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let (y, mo, d) = (num(1)?, num(2)?, num(3)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d == 0 || d > days[(mo - 1) as usize] {
        return None;
    }
    let Some(h) = num(5) else {
        return Some(format!("{y:04}-{mo:02}-{d:02}T00:00:00Z"));
    };
    let (mi, se) = (num(6)?, num(7)?);
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    // With `T` Go requires a zone; with blanks it takes none.
    let zone = match (c.get(4).is_some(), c.get(9).map(|m| m.as_str())) {
        (true, Some("Z")) | (false, None) => "Z".to_string(),
        (true, Some(z)) if z == "+00:00" || z == "-00:00" => "Z".to_string(),
        (true, Some(z)) => z.to_string(),
        _ => return None,
    };
    let frac = c
        .get(8)
        .map(|m| m.as_str().trim_end_matches('0'))
        .unwrap_or("");
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    Some(format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}{frac}{zone}"
    ))
}

/// Go's `strconv.ParseInt(s, 0, 64)` plus YAML's `0o` octals.
fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) =
        if let Some(d) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, d)
        } else if let Some(d) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, d)
        } else if let Some(d) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, d)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    i64::try_from(if neg { -magnitude } else { magnitude }).ok()
}

/// Whether go-yaml would read this string back as something else when written unquoted.
fn needs_type_quotes(s: &str) -> bool {
    !matches!(resolve_plain(s), Value::Str(_))
        || s == "<<"
        || BASE60.is_match(s)
        || matches!(
            s,
            "y" | "Y"
                | "yes"
                | "Yes"
                | "YES"
                | "n"
                | "N"
                | "no"
                | "No"
                | "NO"
                | "on"
                | "On"
                | "ON"
                | "off"
                | "Off"
                | "OFF"
        )
}

/// libyaml's `is_printable` for one character.
/// go-yaml's version: NEL and everything past the Basic Multilingual Plane count as
/// non-printable, so such strings are double-quoted with escapes.
fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

fn blank(c: Option<char>) -> bool {
    matches!(c, None | Some(' ' | '\t' | '\n' | '\r'))
}

/// The style go-yaml v3 writes a string in.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    block_plain: bool,
    single: bool,
    block: bool,
}

fn analyze(s: &str) -> Analysis {
    let chars: Vec<char> = s.chars().collect();
    let (mut block_ind, mut special, mut tabs, mut line_breaks) = (false, false, false, false);
    let (mut space_break, mut break_space, mut previous_space, mut previous_break) =
        (false, false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    if s.starts_with("---") || s.starts_with("...") {
        block_ind = true;
    }
    let mut preceded_by_ws = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = blank(chars.get(i + 1).copied());
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_ind = true,
                '?' | ':' | '-' if followed_by_ws => block_ind = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_ind = true,
                '#' if preceded_by_ws => block_ind = true,
                _ => {}
            }
        }
        // go-yaml v3 counts tabs apart: they rule out plain and single-quoted style, but a
        // literal block may hold them.
        if c == '\t' {
            tabs = true;
        } else if !printable(c) {
            special = true;
        }
        if c == '\n' {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == chars.len() {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if c == '\n' {
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == chars.len() {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = blank(Some(c));
    }
    let mut a = Analysis {
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || tabs || special {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block = false;
    }
    if line_breaks {
        a.block_plain = false;
    }
    if block_ind {
        a.block_plain = false;
    }
    a
}

/// The style for a string; `key` is true for mapping keys (simple keys are never block scalars).
pub fn style(s: &str, key: bool) -> Style {
    let a = analyze(s);
    let mut style = if s.contains('\n') {
        Style::Literal
    } else if needs_type_quotes(s) {
        Style::Double
    } else {
        Style::Plain
    };
    if style == Style::Literal && (!a.block || key) {
        style = Style::Double;
    }
    if style == Style::Plain && (!a.block_plain || s.is_empty()) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single {
        style = Style::Double;
    }
    style
}

/// A single-quoted scalar.
pub fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A double-quoted scalar with libyaml's escapes.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    // go-yaml checks for a byte-order mark at the start of the string, not at each character:
    // a string that starts with one has every character escaped.
    let all = s.starts_with('\u{feff}');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' if all => out.push_str("\\_"),
            '\u{a0}' => out.push('\u{a0}'),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if all || !printable(c) => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` as go-yaml writes floats.
pub fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// Go's `encoding/json` float formatting.
pub fn format_float_json(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let e = format!("{f:e}");
        let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{}", exp.abs())
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_match_go_yaml() {
        assert_eq!(style("hello", false), Style::Plain);
        assert_eq!(style("true", false), Style::Double);
        assert_eq!(style("", false), Style::Double);
        assert_eq!(style("yes", false), Style::Double);
        assert_eq!(style("2024-01-01", false), Style::Double);
        assert_eq!(style("012", false), Style::Double);
        assert_eq!(style("it's: x", false), Style::Single);
        assert_eq!(style(" x", false), Style::Single);
        assert_eq!(style("a:b", false), Style::Plain);
        assert_eq!(style("a #b", false), Style::Single);
        assert_eq!(style("?x", false), Style::Plain);
        assert_eq!(style("*x", false), Style::Single);
        assert_eq!(style("a\tb", false), Style::Double);
        assert_eq!(style("a \nb", false), Style::Double);
        assert_eq!(style("a\nb", false), Style::Literal);
    }

    #[test]
    fn resolves_like_go_yaml() {
        assert_eq!(resolve_plain("0x1F"), Value::Int(31));
        assert_eq!(resolve_plain("0o17"), Value::Int(15));
        assert_eq!(resolve_plain("1_000"), Value::Int(1000));
        assert_eq!(resolve_plain("1e3"), Value::Float(1000.0));
        assert_eq!(resolve_plain("yes"), Value::Str("yes".into()));
        assert_eq!(resolve_plain("~"), Value::Null);
    }

    #[test]
    fn timestamps_normalise_like_go() {
        assert_eq!(
            resolve_plain("2024-1-2"),
            Value::Time("2024-01-02T00:00:00Z".into())
        );
        assert_eq!(
            normalize_timestamp("2024-01-01t10:00:00.500+00:00").as_deref(),
            Some("2024-01-01T10:00:00.5Z")
        );
        assert_eq!(
            normalize_timestamp("2024-01-01 10:00:00").as_deref(),
            Some("2024-01-01T10:00:00Z")
        );
        assert_eq!(normalize_timestamp("2024-01-01T10:00:00"), None);
        assert_eq!(normalize_timestamp("2024-02-30"), None);
        assert_eq!(style("2024-01-01", false), Style::Double);
        assert_eq!(style("2024-02-30", false), Style::Plain);
    }

    #[test]
    fn floats_format_like_go() {
        assert_eq!(format_float_g(1000.0), "1000");
        assert_eq!(format_float_g(1e6), "1e+06");
        assert_eq!(format_float_g(1.5e-7), "1.5e-07");
        assert_eq!(format_float_g(3.0), "3");
        assert_eq!(format_float_json(1e21), "1e+21");
        assert_eq!(format_float_json(1e-7), "1e-7");
        assert_eq!(format_float_json(3.0), "3");
    }
}
