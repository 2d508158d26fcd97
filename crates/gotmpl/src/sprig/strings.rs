//! Sprig's string functions (strings.go, regex.go and the strings package calls of
//! functions.go).

use super::conv::strval;
use super::Reg;
use super::STR;
use crate::func::Type::{self, Any, Int};
use crate::gofmt::sprintf;
use crate::limits;
use crate::quote::quote;
use crate::value::{Elem, Map, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

#[cfg(test)]
#[test]
fn go_classes_read_as_go() {
    let re = regex(r"^[\w-\.]+$").unwrap();
    assert!(re.is_match("my-master.1"));
    assert!(!re.is_match("a b"));
    assert!(regex("[[:alpha:]-]+").unwrap().is_match("ab-c"));
    assert!(regex("[a&&b]").unwrap().is_match("&"));
}

fn ok_str(x: impl AsRef<str>) -> crate::func::FuncResult {
    Ok(Value::str(x.as_ref()))
}

/// Go's unicode.ToUpper/ToLower map one rune to one rune; Rust's full mappings may not.
fn upper_rune(c: char) -> char {
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn lower_rune(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Go's strings.Title separator rule.
fn is_separator(r: char) -> bool {
    if r.is_ascii() {
        return !(r.is_ascii_alphanumeric() || r == '_');
    }
    if r.is_alphabetic() || r.is_numeric() {
        return false;
    }
    r.is_whitespace()
}

pub fn title(v: &str) -> String {
    let mut prev = ' ';
    v.chars()
        .map(|r| {
            let out = if is_separator(prev) { upper_rune(r) } else { r };
            prev = r;
            out
        })
        .collect()
}

/// Go's strings.Split (an empty separator splits into runes).
pub fn go_split<'a>(s: &'a str, sep: &str, n: i64) -> Vec<&'a str> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let mut out: Vec<&str> = Vec::new();
        let mut idx: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
        idx.push(s.len());
        for w in idx.windows(2) {
            if n > 0 && out.len() as i64 == n - 1 {
                out.push(&s[w[0]..]);
                return out;
            }
            out.push(&s[w[0]..w[1]]);
        }
        return out;
    }
    if n < 0 {
        s.split(sep).collect()
    } else {
        s.splitn(n as usize, sep).collect()
    }
}

fn string_map(parts: Vec<&str>) -> Value {
    let entries: BTreeMap<String, Value> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::str(p)))
        .collect();
    Value::Map(Rc::new(RefCell::new(Map {
        elem: Elem::String,
        entries,
    })))
}

fn string_list(parts: impl IntoIterator<Item = String>) -> Value {
    Value::List(
        Elem::String,
        Rc::new(parts.into_iter().map(|p| Value::str(&p)).collect()),
    )
}

/// Sprig's strslice (toStrings, join): list elements as strings, nils dropped.
pub fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(_, items) => items
            .iter()
            .filter(|i| !matches!(i, Value::Nil | Value::Invalid))
            .map(strval)
            .collect(),
        Value::Nil | Value::Invalid => Vec::new(),
        v => vec![strval(v)],
    }
}

/// Go's slicing of a string by byte offsets, with its panic texts.
fn byte_slice(v: &str, lo: i64, hi: i64) -> Result<String, String> {
    let len = v.len() as i64;
    if hi < 0 || hi > len {
        return Err(format!(
            "runtime error: slice bounds out of range [:{hi}] with length {len}"
        ));
    }
    if lo < 0 || lo > hi {
        return Err(format!(
            "runtime error: slice bounds out of range [{lo}:{hi}]"
        ));
    }
    Ok(String::from_utf8_lossy(&v.as_bytes()[lo as usize..hi as usize]).into_owned())
}

fn b64_decode(input: &str) -> Result<Vec<u8>, usize> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let bytes: Vec<(usize, u8)> = input
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b != b'\n' && *b != b'\r')
        .collect();
    let mut i = 0;
    while i < bytes.len() {
        let mut quad = [0u8; 4];
        let mut n = 0;
        let start = bytes[i].0;
        while n < 4 {
            let Some(&(pos, c)) = bytes.get(i) else {
                if n == 0 {
                    return Ok(out);
                }
                // A quantum cut short without padding is corrupt from its start.
                return Err(start);
            };
            if c == b'=' {
                if n < 2 {
                    return Err(pos);
                }
                // Padding must complete the quantum and end the input.
                let need = 4 - n;
                for k in 0..need {
                    match bytes.get(i + k) {
                        Some(&(_, b'=')) => {}
                        Some(&(p, _)) => return Err(p),
                        None => return Err(bytes.last().map(|l| l.0 + 1).unwrap_or(0)),
                    }
                }
                if let Some(&(p, _)) = bytes.get(i + need) {
                    return Err(p);
                }
                break;
            }
            let Some(d) = ALPHA.iter().position(|&a| a == c) else {
                return Err(pos);
            };
            quad[n] = d as u8;
            n += 1;
            i += 1;
        }
        let v = (quad[0] as u32) << 18
            | (quad[1] as u32) << 12
            | (quad[2] as u32) << 6
            | quad[3] as u32;
        out.push((v >> 16) as u8);
        if n > 2 {
            out.push((v >> 8) as u8);
        }
        if n > 3 {
            out.push(v as u8);
        }
        if n < 4 {
            return Ok(out);
        }
    }
    Ok(out)
}

/// Compiled patterns by their Go spelling. Charts call `regexMatch` and friends with the same
/// few patterns over and over, and building a Rust regex costs far more than Go's
/// `regexp.MustCompile`; a compiled regex is a pure function of its pattern.
const REGEX_CACHE_MAX: usize = 512;

thread_local! {
    static REGEXES: std::cell::RefCell<std::collections::HashMap<std::string::String, regex::Regex>> =
        std::cell::RefCell::default();
}

pub(crate) fn regex(pattern: &str) -> Result<regex::Regex, String> {
    if let Some(re) = REGEXES.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(re);
    }
    let re =
        regex::Regex::new(&go_regex(pattern)).map_err(|e| format!("error parsing regexp: {e}"))?;
    REGEXES.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= REGEX_CACHE_MAX {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    });
    Ok(re)
}

/// A Go (RE2) pattern spelled for Rust's regex: inside a bracket class Go reads `[`, `&`, `~`
/// and a `-` right after a class escape (`[\w-.]`) as literal characters, where Rust would
/// see a nested class, a set operation or a bad range.
pub(crate) fn go_regex(p: &str) -> std::string::String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = std::string::String::with_capacity(p.len());
    let (mut in_class, mut class_start, mut after_escape_class) = (false, false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let e = chars[i + 1];
            out.push(c);
            out.push(e);
            after_escape_class = in_class && "wdsWDS".contains(e);
            class_start = false;
            i += 2;
            continue;
        }
        if !in_class {
            out.push(c);
            i += 1;
            if c == '[' {
                in_class = true;
                class_start = true;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            continue;
        }
        if c == '[' && chars.get(i + 1) == Some(&':') {
            // A POSIX class like `[:alpha:]`, copied through its end.
            let rest: std::string::String = chars[i..].iter().collect();
            let end = rest.find(":]").map_or(rest.len(), |e| e + 2);
            out.push_str(&rest[..end]);
            i += rest[..end].chars().count();
            after_escape_class = true;
            class_start = false;
            continue;
        }
        if c == ']' && !class_start {
            in_class = false;
            out.push(c);
        } else if (c == '-' && after_escape_class) || matches!(c, '[' | '&' | '~') {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
        after_escape_class = false;
        class_start = false;
        i += 1;
    }
    out
}

pub fn register(r: &mut Reg) {
    let str1 = |r: &mut Reg, name: &str, f: fn(&str) -> String| {
        r.fixed(name, &[STR], move |a| ok_str(f(s(&a[0]))));
    };
    str1(r, "trim", |v| v.trim().to_string());
    str1(r, "upper", |v| v.chars().map(upper_rune).collect());
    str1(r, "lower", |v| v.chars().map(lower_rune).collect());
    str1(r, "title", title);
    // goutils.Uncapitalize: the first letter of every whitespace-separated word.
    str1(r, "untitle", |v| {
        let mut prev_space = true;
        v.chars()
            .map(|c| {
                let out = if prev_space { lower_rune(c) } else { c };
                prev_space = c.is_whitespace();
                out
            })
            .collect()
    });
    str1(r, "nospace", |v| {
        v.chars().filter(|c| !c.is_whitespace()).collect()
    });
    str1(r, "b64enc", |v| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(v)
    });
    str1(r, "b64dec", |v| match b64_decode(v) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(at) => format!("illegal base64 data at input byte {at}"),
    });
    str1(r, "sha256sum", |v| {
        use sha2::Digest;
        sha2::Sha256::digest(v.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    });
    str1(r, "adler32sum", |v| {
        let (mut a, mut b) = (1u32, 0u32);
        for &x in v.as_bytes() {
            a = (a + x as u32) % 65521;
            b = (b + a) % 65521;
        }
        ((b << 16) | a).to_string()
    });
    let pair = |r: &mut Reg, name: &str, f: fn(&str, &str) -> Value| {
        r.fixed(name, &[STR, STR], move |a| Ok(f(s(&a[0]), s(&a[1]))));
    };
    pair(r, "trimAll", |a, b| {
        Value::str(b.trim_matches(|c| a.contains(c)))
    });
    pair(r, "trimall", |a, b| {
        Value::str(b.trim_matches(|c| a.contains(c)))
    });
    pair(r, "trimSuffix", |a, b| {
        Value::str(b.strip_suffix(a).unwrap_or(b))
    });
    pair(r, "trimPrefix", |a, b| {
        Value::str(b.strip_prefix(a).unwrap_or(b))
    });
    pair(r, "contains", |a, b| Value::Bool(b.contains(a)));
    pair(r, "hasPrefix", |a, b| Value::Bool(b.starts_with(a)));
    pair(r, "hasSuffix", |a, b| Value::Bool(b.ends_with(a)));
    pair(r, "split", |sep, v| string_map(go_split(v, sep, -1)));
    pair(r, "splitList", |sep, v| {
        string_list(go_split(v, sep, -1).into_iter().map(String::from))
    });
    r.fixed("splitn", &[STR, Int, STR], |a| {
        Ok(string_map(go_split(
            s(&a[2]),
            s(&a[0]),
            a[1].as_int().unwrap_or(0),
        )))
    });
    r.fixed("toStrings", &[Any], |a| Ok(string_list(strslice(&a[0]))));
    r.fixed("join", &[STR, Any], |a| {
        ok_str(strslice(&a[1]).join(s(&a[0])))
    });
    r.fixed("replace", &[STR, STR, STR], |a| {
        ok_str(s(&a[2]).replace(s(&a[0]), s(&a[1])))
    });
    r.fixed("repeat", &[Int, STR], |a| {
        let n = a[0].as_int().unwrap_or(0);
        if n < 0 {
            return Err("strings: negative Repeat count".into());
        }
        let text = s(&a[1]);
        limits::check_string(text.len().saturating_mul(n as usize))?;
        ok_str(text.repeat(n as usize))
    });
    r.fixed("indent", &[Int, STR], |a| ok_str(indent(&a[0], s(&a[1]))?));
    r.fixed("nindent", &[Int, STR], |a| {
        ok_str(format!("\n{}", indent(&a[0], s(&a[1]))?))
    });
    r.fixed("plural", &[STR, STR, Int], |a| {
        Ok(if a[2].as_int() == Some(1) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    r.fixed("trunc", &[Int, STR], |a| {
        let c = a[0].as_int().unwrap_or(0);
        let v = s(&a[1]);
        let len = v.len() as i64;
        ok_str(if c < 0 && len + c > 0 {
            byte_slice(v, len + c, len)?
        } else if c >= 0 && len > c {
            byte_slice(v, 0, c)?
        } else {
            v.to_string()
        })
    });
    r.fixed("substr", &[Int, Int, STR], |a| {
        let (start, end) = (a[0].as_int().unwrap_or(0), a[1].as_int().unwrap_or(0));
        let v = s(&a[2]);
        let len = v.len() as i64;
        ok_str(if start < 0 {
            byte_slice(v, 0, end)?
        } else if end < 0 || end > len {
            if start > len {
                return Err(format!(
                    "runtime error: slice bounds out of range [{start}:{len}]"
                ));
            }
            byte_slice(v, start, len)?
        } else {
            byte_slice(v, start, end)?
        })
    });
    r.variadic("quote", &[], Any, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil | Value::Invalid))
            .map(|v| quote(&strval(v)))
            .collect();
        ok_str(parts.join(" "))
    });
    r.variadic("squote", &[], Any, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !matches!(v, Value::Nil | Value::Invalid))
            .map(|v| format!("'{}'", crate::gofmt::format_v(v)))
            .collect();
        ok_str(parts.join(" "))
    });
    r.variadic("cat", &[], Any, |a| {
        let vals: Vec<Value> = a
            .into_iter()
            .filter(|v| !matches!(v, Value::Nil | Value::Invalid))
            .collect();
        let format = "%v ".repeat(vals.len());
        ok_str(sprintf(format.trim(), &vals))
    });
    r.fixed("toString", &[Any], |a| ok_str(strval(&a[0])));
    register_regex(r);
}

fn indent(n: &Value, v: &str) -> Result<String, String> {
    let n = n.as_int().unwrap_or(0).max(0) as usize;
    let lines = v.bytes().filter(|&b| b == b'\n').count() + 1;
    limits::check_string(n.saturating_mul(lines).saturating_add(v.len()))?;
    let pad = " ".repeat(n);
    Ok(format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))))
}

/// Go's regexp.Expand syntax ($1, ${name}) for replacement strings, as Rust's regex reads
/// it: both take the longest name after `$`.
fn register_regex(r: &mut Reg) {
    let t: [Type; 2] = [STR, STR];
    for must in [false, true] {
        let p = if must { "mustRegex" } else { "regex" };
        r.fixed(&format!("{p}Match"), &t, move |a| match regex(s(&a[0])) {
            Ok(re) => Ok(Value::Bool(re.is_match(s(&a[1])))),
            Err(e) if must => Err(e),
            Err(_) => Ok(Value::Bool(false)),
        });
        r.fixed(&format!("{p}Find"), &t, move |a| {
            let re = regex(s(&a[0])).map_err(|e| {
                if must {
                    e
                } else {
                    format!("regexp: Compile({}): {e}", quote(s(&a[0])))
                }
            })?;
            ok_str(re.find(s(&a[1])).map(|m| m.as_str()).unwrap_or(""))
        });
        r.fixed(&format!("{p}FindAll"), &[STR, STR, Int], move |a| {
            let re = regex(s(&a[0])).map_err(|e| {
                if must {
                    e
                } else {
                    format!("regexp: Compile({}): {e}", quote(s(&a[0])))
                }
            })?;
            let n = a[2].as_int().unwrap_or(0);
            let it = re.find_iter(s(&a[1])).map(|m| m.as_str().to_string());
            let found: Vec<std::string::String> = if n < 0 {
                it.collect()
            } else {
                it.take(n as usize).collect()
            };
            Ok(string_list(found))
        });
        r.fixed(&format!("{p}ReplaceAll"), &[STR, STR, STR], move |a| {
            let re = regex(s(&a[0])).map_err(|e| {
                if must {
                    e
                } else {
                    format!("regexp: Compile({}): {e}", quote(s(&a[0])))
                }
            })?;
            ok_str(re.replace_all(s(&a[1]), s(&a[2])))
        });
        r.fixed(
            &format!("{p}ReplaceAllLiteral"),
            &[STR, STR, STR],
            move |a| {
                let re = regex(s(&a[0])).map_err(|e| {
                    if must {
                        e
                    } else {
                        format!("regexp: Compile({}): {e}", quote(s(&a[0])))
                    }
                })?;
                ok_str(re.replace_all(s(&a[1]), regex::NoExpand(s(&a[2]))))
            },
        );
    }
    r.fixed("regexQuoteMeta", &[STR], |a| {
        let mut out = std::string::String::new();
        for c in s(&a[0]).chars() {
            if "\\.+*?()|[]{}^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        ok_str(out)
    });
}
