//! Go's strconv quoting rules: Quote (for `%q` and error texts), Unquote (string, raw-string and
//! character literals) and `%#U`.

/// Go's unicode.IsPrint, approximated without Unicode tables: ASCII exactly; beyond ASCII,
/// everything but controls, separators and the usual invisible format characters.
pub fn is_print(r: char) -> bool {
    if r.is_ascii() {
        return (' '..='~').contains(&r);
    }
    !(r.is_control()
        || r.is_whitespace()
        || matches!(r, '\u{00ad}' | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
        || ('\u{e000}'..='\u{f8ff}').contains(&r)
        || ('\u{f0000}'..='\u{10ffff}').contains(&r))
}

/// strconv.Quote of the first `max` runes of `s` (Go's `%.Nq`).
pub fn quote_trunc(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for (i, r) in s.chars().enumerate() {
        if i >= max {
            break;
        }
        push_escaped(&mut out, r, '"');
    }
    out.push('"');
    out
}

pub fn quote(s: &str) -> String {
    quote_trunc(s, usize::MAX)
}

/// strconv.QuoteRune (`%q` of an integer).
pub fn quote_rune(r: char) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, r, '\'');
    out.push('\'');
    out
}

/// strconv.QuoteToASCII (`%+q`).
pub fn quote_ascii(s: &str) -> String {
    let mut out = String::from("\"");
    for r in s.chars() {
        if r.is_ascii() {
            push_escaped(&mut out, r, '"');
        } else if (r as u32) < 0x10000 {
            out.push_str(&format!("\\u{:04x}", r as u32));
        } else {
            out.push_str(&format!("\\U{:08x}", r as u32));
        }
    }
    out.push('"');
    out
}

fn push_escaped(out: &mut String, r: char, q: char) {
    if r == q || r == '\\' {
        out.push('\\');
        out.push(r);
        return;
    }
    if is_print(r) {
        out.push(r);
        return;
    }
    match r {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        _ if (r as u32) < 0x20 || r == '\x7f' => out.push_str(&format!("\\x{:02x}", r as u32)),
        _ if (r as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", r as u32)),
        _ => out.push_str(&format!("\\U{:08x}", r as u32)),
    }
}

/// Go's `%#U`: `U+0041 'A'`, or just `U+0007` when not printable.
pub fn unicode_plus(r: char) -> String {
    if is_print(r) {
        format!("U+{:04X} '{}'", r as u32, r)
    } else {
        format!("U+{:04X}", r as u32)
    }
}

/// strconv.Unquote for the three literal forms a template can hold. Strings are UTF-8 here: a
/// `\x` or octal escape that makes invalid UTF-8 becomes U+FFFD (a documented gap).
pub fn unquote(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 2 {
        return None;
    }
    let q = b[0];
    if b[b.len() - 1] != q {
        return None;
    }
    let body = &s[1..s.len() - 1];
    match q {
        b'`' => {
            if body.contains('`') {
                return None;
            }
            Some(body.replace('\r', ""))
        }
        b'"' | b'\'' => {
            if body.contains('\n') {
                return None;
            }
            let mut bytes = Vec::with_capacity(body.len());
            let mut rest = body;
            let mut runes = 0;
            while !rest.is_empty() {
                if q == b'\'' && rest.starts_with('\'') {
                    return None;
                }
                let (unit, tail) = unquote_char(rest, q as char)?;
                match unit {
                    Unit::Char(c) => {
                        let mut buf = [0; 4];
                        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    Unit::Byte(x) => bytes.push(x),
                }
                runes += 1;
                rest = tail;
            }
            if q == b'\'' && runes != 1 {
                return None;
            }
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => None,
    }
}

pub enum Unit {
    Char(char),
    Byte(u8),
}

/// strconv.UnquoteChar: one (possibly escaped) character of a quoted literal and the rest.
pub fn unquote_char(s: &str, quote: char) -> Option<(Unit, &str)> {
    let mut it = s.chars();
    let c = it.next()?;
    if c == quote && (quote == '\'' || quote == '"') {
        return None;
    }
    if c != '\\' {
        return Some((Unit::Char(c), it.as_str()));
    }
    let e = it.next()?;
    let rest = it.as_str();
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return None;
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Some((Unit::Char(c), rest));
    }
    match e {
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let digits = rest.get(..n)?;
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let v = u32::from_str_radix(digits, 16).ok()?;
            if e == 'x' {
                // A single byte, whatever it is.
                return Some((Unit::Byte(v as u8), &rest[n..]));
            }
            let c = char::from_u32(v)?;
            Some((Unit::Char(c), &rest[n..]))
        }
        '0'..='7' => {
            let digits = s.get(1..4)?;
            if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return None;
            }
            let v = u32::from_str_radix(digits, 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((Unit::Byte(v as u8), &s[4..]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_go() {
        assert_eq!(quote("a\"b\\\n\x01é"), r#""a\"b\\\n\x01é""#);
        assert_eq!(quote_trunc("abcdefghijkl", 10), r#""abcdefghij""#);
        assert_eq!(quote_rune('\''), r"'\''");
        assert_eq!(unicode_plus('A'), "U+0041 'A'");
    }

    #[test]
    fn unquotes_as_go() {
        assert_eq!(unquote(r#""a\tb\u00e9\101""#), Some("a\tbéA".into()));
        assert_eq!(unquote("`a\\n`"), Some("a\\n".into()));
        assert!(unquote(r#""\'""#).is_none());
        assert!(unquote(r#""\q""#).is_none());
        assert!(unquote("'ab'").is_none());
    }
}
