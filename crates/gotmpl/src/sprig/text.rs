//! Sprig's text shaping: `abbrev`/`abbrevboth` and `wrap`/`wrapWith` (Masterminds/goutils
//! v1.1.1, which count bytes, not characters), the case conversions of huandu/xstrings v1.5.0
//! (`snakecase`, `kebabcase`, `camelcase`), `seq` and `hello`.

use super::{Reg, STR};
use crate::func::Type::Int;
use crate::value::Value;

/// Go's `s[a:b]` on bytes; a cut inside a character keeps its bytes (lossily shown).
fn bytes(s: &str, a: usize, b: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[a.min(s.len())..b.min(s.len())]).into_owned()
}

/// goutils' `AbbreviateFull`: `None` where it returns an error (Sprig then prints "").
fn abbreviate(s: &str, offset: i64, width: i64) -> Option<String> {
    if s.is_empty() {
        return Some(String::new());
    }
    if width < 4 {
        return None;
    }
    let len = s.len() as i64;
    if len <= width {
        return Some(s.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    if offset <= 4 {
        return Some(format!("{}...", bytes(s, 0, (width - 3) as usize)));
    }
    if width < 7 {
        return None;
    }
    if offset + width - 3 < len {
        let tail = abbreviate(&bytes(s, offset as usize, s.len()), 0, width - 3)?;
        return Some(format!("...{tail}"));
    }
    Some(format!(
        "...{}",
        bytes(s, (len - (width - 3)) as usize, s.len())
    ))
}

/// goutils' `WrapCustom`: wraps at spaces; long words wrap only with `long_words`.
fn wrap(s: &str, width: i64, newline: &str, long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = width.max(1) as usize;
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let mut offset = 0usize;
    while b.len() - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        let space = b[offset..end].iter().rposition(|&c| c == b' ');
        if let Some(sp) = space.map(|i| i + offset) {
            out.extend_from_slice(&b[offset..sp]);
            out.extend_from_slice(newline.as_bytes());
            offset = sp + 1;
        } else if long_words {
            out.extend_from_slice(&b[offset..width + offset]);
            out.extend_from_slice(newline.as_bytes());
            offset += width;
        } else {
            let end = width + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = b.len();
                }
                Some(i) => {
                    out.extend_from_slice(&b[offset..end + i]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = end + i + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    String::from_utf8_lossy(&out).into_owned()
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// Go's `unicode.IsPunct` (category P): exact for ASCII, where charts live.
fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c)
    } else {
        matches!(
            c,
            '¡' | '§' | '«' | '¶' | '·' | '»' | '¿' | '\u{2010}'..='\u{2027}' | '\u{3001}'..='\u{3003}'
        )
    }
}

/// xstrings' `isAlphabet`: a letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    c.is_alphabetic()
        && !matches!(c, '\u{4E00}'..='\u{9FCC}' | '\u{3400}'..='\u{4DB5}' | '\u{20000}'..='\u{2A6D6}')
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    None,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// xstrings' `nextWord`: the kind of the first word of `s`, its length in bytes.
fn next_word(s: &str) -> (Word, usize) {
    let mut it = s.char_indices().peekable();
    let Some((_, r)) = it.next() else {
        return (Word::None, 0);
    };
    let end_while = |pred: &dyn Fn(char) -> bool, from: usize| -> usize {
        s[from..]
            .char_indices()
            .find(|&(_, c)| !pred(c))
            .map_or(s.len(), |(i, _)| from + i)
    };
    let first = r.len_utf8();
    if is_connector(r) {
        return (Word::Connector, end_while(&is_connector, first));
    }
    if is_punct(r) {
        return (Word::Punct, end_while(&is_punct, first));
    }
    if r.is_uppercase() {
        let Some(r2) = s[first..].chars().next() else {
            return (Word::Upper, first);
        };
        if r2.is_uppercase() {
            // A run of capitals; the last one starts the next word when a letter follows.
            let mut last = first;
            let mut end = first;
            let mut next = None;
            for (i, c) in s[first..].char_indices() {
                if !c.is_uppercase() {
                    next = Some(c);
                    break;
                }
                last = first + i;
                end = first + i + c.len_utf8();
            }
            if next.is_some_and(is_alphabet) {
                end = last;
            }
            return (Word::Upper, end);
        }
        if is_alphabet(r2) {
            return (
                Word::Upper,
                end_while(&|c| is_alphabet(c) && !c.is_uppercase(), first),
            );
        }
        return (Word::Upper, first);
    }
    if is_alphabet(r) {
        return (
            Word::Alphabet,
            end_while(&|c| is_alphabet(c) && !c.is_uppercase(), first),
        );
    }
    if r.is_numeric() {
        return (Word::Number, end_while(&char::is_numeric, first));
    }
    (
        Word::Other,
        end_while(
            &|c| !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c)),
            first,
        ),
    )
}

fn lower_word(out: &mut String, wt: Word, w: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.push_str(w);
        return;
    }
    for c in w.chars() {
        if is_connector(c) {
            out.push(connector);
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (snake and kebab case).
fn to_lower_case(s: &str, connector: char) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let split = |s: &str| -> (Word, String, String) {
        let (wt, n) = next_word(s);
        (wt, s[..n].to_string(), s[n..].to_string())
    };
    let (mut wt, mut word, mut rest) = split(s);
    while !rest.is_empty() {
        if wt != Word::Connector {
            lower_word(&mut out, wt, &word, connector);
        }
        let prev = wt;
        let last = word.clone();
        (wt, word, rest) = split(&rest);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    lower_word(&mut out, wt, &word, connector);
                    (wt, word, rest) = split(&rest);
                }
                if !matches!(wt, Word::None | Word::Punct | Word::Connector) {
                    out.push(connector);
                }
            }
            Word::Connector => lower_word(&mut out, prev, &last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let last = word.clone();
                (wt, word, rest) = split(&rest);
                if wt != Word::Alphabet {
                    lower_word(&mut out, Word::Number, &last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                lower_word(&mut out, Word::Number, &last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    lower_word(&mut out, wt, &word, connector);
                    (wt, word, rest) = split(&rest);
                }
                if !matches!(wt, Word::None | Word::Connector | Word::Punct) {
                    out.push(connector);
                }
            }
        }
    }
    lower_word(&mut out, wt, &word, connector);
    out
}

/// xstrings' `ToCamelCase`: connectors dropped, the letter after one upper-cased, leading
/// connectors kept, the rest as it was.
fn to_camel_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    let mut r0 = None;
    for c in chars.by_ref() {
        if !is_connector(c) {
            r0 = Some(c.to_uppercase().next().unwrap_or(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else {
        // Only connectors: Go writes the last one once more.
        out.extend(s.chars().last());
        return out;
    };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = r0.to_uppercase().next().unwrap_or(r0);
        } else {
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

/// Sprig's `seq` (GNU seq's argument forms), space-separated.
fn seq(p: &[i64]) -> Result<String, String> {
    let (start, stop, step) = match *p {
        [end] => {
            let inc = if end < 1 { -1 } else { 1 };
            (1, end.saturating_add(inc), inc)
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            (start, end.saturating_add(step), step)
        }
        [start, step, end] => {
            let inc = if end < start { -1 } else { 1 };
            if end < start && step > 0 {
                return Ok(String::new());
            }
            (start, end.saturating_add(inc), step)
        }
        _ => return Ok(String::new()),
    };
    let items = super::numbers::until_step(start, stop, step)?;
    Ok(items
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" "))
}

pub(crate) fn register(r: &mut Reg) {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let int = |v: &Value| v.as_int().unwrap_or(0);
    r.fixed("hello", &[], |_| Ok(Value::str("Hello!")));
    r.fixed("abbrev", &[Int, STR], move |a| {
        let (w, text) = (int(&a[0]), s(&a[1]));
        if w < 4 {
            return Ok(Value::str(&text));
        }
        Ok(Value::str(&abbreviate(&text, 0, w).unwrap_or_default()))
    });
    r.fixed("abbrevboth", &[Int, Int, STR], move |a| {
        let (left, right, text) = (int(&a[0]), int(&a[1]), s(&a[2]));
        if right < 4 || left > 0 && right < 7 {
            return Ok(Value::str(&text));
        }
        Ok(Value::str(
            &abbreviate(&text, left, right).unwrap_or_default(),
        ))
    });
    r.fixed("wrap", &[Int, STR], move |a| {
        Ok(Value::str(&wrap(&s(&a[1]), int(&a[0]), "", false)))
    });
    r.fixed("wrapWith", &[Int, STR, STR], move |a| {
        Ok(Value::str(&wrap(&s(&a[2]), int(&a[0]), &s(&a[1]), true)))
    });
    r.fixed("snakecase", &[STR], move |a| {
        Ok(Value::str(&to_lower_case(&s(&a[0]), '_')))
    });
    r.fixed("kebabcase", &[STR], move |a| {
        Ok(Value::str(&to_lower_case(&s(&a[0]), '-')))
    });
    r.fixed("camelcase", &[STR], move |a| {
        Ok(Value::str(&to_camel_case(&s(&a[0]))))
    });
    r.variadic("seq", &[], Int, move |a| {
        let p: Vec<i64> = a.iter().map(int).collect();
        Ok(Value::str(&seq(&p)?))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(to_lower_case("FirstName", '_'), "first_name");
        assert_eq!(to_lower_case("HTTPServer", '_'), "http_server");
        assert_eq!(to_lower_case("no_https", '-'), "no-https");
        assert_eq!(to_camel_case("http_server"), "HttpServer");
        assert_eq!(to_camel_case("_complex__case_"), "_Complex_Case_");
    }

    #[test]
    fn abbreviations_and_wraps() {
        assert_eq!(abbreviate("hello world", 0, 5).as_deref(), Some("he..."));
        assert_eq!(
            abbreviate("1234 5678 9123", 5, 10).as_deref(),
            Some("...5678...")
        );
        assert_eq!(wrap("hello world", 5, "", false), "hello\nworld");
        assert_eq!(seq(&[3]).as_deref(), Ok("1 2 3"));
        assert_eq!(seq(&[0, 3, 10]).as_deref(), Ok("0 3 6 9"));
        assert_eq!(seq(&[2, -2]).as_deref(), Ok("2 1 0 -1 -2"));
    }
}
