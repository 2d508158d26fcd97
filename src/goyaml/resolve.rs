//! go-yaml v2's resolver, seen from the writing side: would a string, written without quotes,
//! read back as something other than a string? Then it must be quoted (`"yes"`, `"1.0"`,
//! `"2001-12-14"`, `"1:20"`). Mirrors `resolve.go` and `isBase60Float` in `encode.go`.

/// Words go-yaml v2 reads as booleans, null, infinities or NaN (YAML 1.1). `<<` is in the
/// upstream table too but is never looked up, because `<` is not a hint character.
const SPECIAL_WORDS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no", "No",
    "NO", "false", "False", "FALSE", "off", "Off", "OFF", "~", "null", "Null", "NULL", ".nan",
    ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
];

/// True when go-yaml v2 may write `s` as a plain scalar: it resolves to a string and is not
/// a YAML 1.1 sexagesimal number.
pub fn plain_is_string(s: &str) -> bool {
    !resolves_to_other(s) && !is_base60_float(s)
}

fn resolves_to_other(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return true; // the empty plain scalar is null
    };
    let hint = match first {
        b'+' | b'-' | b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => return false,
    };
    if SPECIAL_WORDS.contains(&s) {
        return true;
    }
    match hint {
        b'.' => parse_go_float(s).is_some(),
        b'D' => {
            if is_timestamp(s) {
                return true;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if parse_go_int(&plain, 0).is_some() || parse_go_uint(&plain, 0).is_some() {
                return true;
            }
            if is_yaml_style_float(&plain) && parse_go_float(&plain).is_some() {
                return true;
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                return parse_go_int(rest, 2).is_some();
            }
            if let Some(rest) = plain.strip_prefix("-0b") {
                return parse_go_int(&format!("-{rest}"), 2).is_some();
            }
            false
        }
        _ => false,
    }
}

/// `strconv.ParseUint(s, base, 64)` succeeds; base 0 means Go literal prefixes (`0x`, `0o`,
/// `0b`, a leading `0` for octal). Underscores have been removed by the caller.
fn parse_go_uint(s: &str, base: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (digits, radix) = if base == 0 {
        let b = s.as_bytes();
        if b[0] == b'0' {
            match b.get(1).map(u8::to_ascii_lowercase) {
                Some(b'b') if b.len() >= 3 => (&s[2..], 2),
                Some(b'o') if b.len() >= 3 => (&s[2..], 8),
                Some(b'x') if b.len() >= 3 => (&s[2..], 16),
                _ => (&s[1..], 8),
            }
        } else {
            (s, 10)
        }
    } else {
        (s, base)
    };
    let mut n: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        n = n.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// `strconv.ParseInt(s, base, 64)` succeeds: an optional sign, then [`parse_go_uint`] within
/// the int64 range.
fn parse_go_int(s: &str, base: u32) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_go_uint(rest, base)?;
    if negative {
        if u <= 1u64 << 63 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// `strconv.ParseFloat(s, 64)` succeeds for a decimal literal: overflow is an error in Go, so
/// `1e400` stays a string. Hexadecimal and `inf`/`nan` spellings cannot reach here: callers
/// only pass text that starts with `.` or matches [`is_yaml_style_float`].
fn parse_go_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscores_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let body = clean.strip_prefix(['+', '-']).unwrap_or(&clean);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_ok = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !digits_ok(int_part) || !digits_ok(frac_part) {
        return None;
    }
    if let Some(e) = exponent {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e.is_empty() || !digits_ok(e) {
            return None;
        }
    }
    let f: f64 = clean.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Go's rule for `_` in number literals: only between digits (or after a base prefix).
fn underscores_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut saw = b'^';
    for b in s.bytes() {
        if b.is_ascii_digit() {
            saw = b'0';
        } else if b == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`: YAML 1.1 base-60 numbers such as
/// `1:20`, which go-yaml v2 quotes for other parsers' sake.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if !(first == b'+' || first == b'-' || first.is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    let mut i = usize::from(first == b'+' || first == b'-');
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        // `[0-5]?[0-9]`: one digit, or two with the first 0-5.
        let d1 = b.get(i).copied().filter(u8::is_ascii_digit);
        let d2 = b.get(i + 1).copied().filter(u8::is_ascii_digit);
        match (d1, d2) {
            (Some(a), Some(_)) if a <= b'5' => i += 2,
            (Some(_), _) => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// A timestamp as go-yaml reads it from a plain scalar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    /// Hour, minute, second and the fraction's digits.
    pub time: Option<(u32, u32, u32, String)>,
    /// Offset east of UTC in minutes; `None` means UTC.
    pub offset: Option<i32>,
}

impl Timestamp {
    /// Go's `time.Time` in RFC 3339 with nanoseconds, as `encoding/json` writes it: trailing
    /// fraction zeros dropped, `Z` for UTC.
    pub fn rfc3339(&self) -> String {
        let (h, m, sec, frac) = self.time.clone().unwrap_or((0, 0, 0, String::new()));
        let mut frac: String = frac.chars().take(9).collect();
        while frac.ends_with('0') {
            frac.pop();
        }
        let frac = if frac.is_empty() {
            String::new()
        } else {
            format!(".{frac}")
        };
        let zone = match self.offset {
            None | Some(0) => "Z".to_string(),
            Some(o) => format!(
                "{}{:02}:{:02}",
                if o < 0 { '-' } else { '+' },
                o.abs() / 60,
                o.abs() % 60
            ),
        };
        format!(
            "{:04}-{:02}-{:02}T{h:02}:{m:02}:{sec:02}{frac}{zone}",
            self.year, self.month, self.day
        )
    }
}

fn is_timestamp(s: &str) -> bool {
    parse_timestamp(s).is_some()
}

/// go-yaml's `parseTimestamp`: `time.Parse` with the layouts `2006-1-2T15:4:5.999999999Z07:00`
/// (also with a lower-case `t`), `2006-1-2 15:4:5.999999999` and `2006-1-2`.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut p = Cursor { b, i: 5 };
    let year: u32 = s[..4].parse().unwrap_or(0);
    let month = p.num(1, 12)?;
    if !p.eat(b'-') {
        return None;
    }
    let day = p.num(1, 31)?;
    if day > days_in_month(year, month) {
        return None;
    }
    let mut ts = Timestamp {
        year,
        month,
        day,
        time: None,
        offset: None,
    };
    if p.done() {
        return Some(ts);
    }
    let with_zone = match p.next() {
        Some(b'T' | b't') => true,
        Some(b' ') => false,
        _ => return None,
    };
    let hour = p.num(0, 23)?;
    if !p.eat(b':') {
        return None;
    }
    let minute = p.num(0, 59)?;
    if !p.eat(b':') {
        return None;
    }
    let second = p.num(0, 59)?;
    // Fractional seconds: a `.` or `,` followed by at least one digit.
    let mut frac = String::new();
    if matches!(p.peek(), Some(b'.' | b',')) && p.b.get(p.i + 1).is_some_and(u8::is_ascii_digit) {
        p.i += 1;
        while let Some(c) = p.peek().filter(u8::is_ascii_digit) {
            frac.push(c as char);
            p.i += 1;
        }
    }
    ts.time = Some((hour, minute, second, frac));
    if with_zone {
        match p.next() {
            Some(b'Z') => {}
            Some(sign @ (b'+' | b'-')) => {
                let hh = p.fixed2();
                let colon = p.eat(b':');
                let mm = p.fixed2();
                match (hh, colon, mm) {
                    (Some(h), true, Some(m)) if h <= 24 && m <= 60 => {
                        let o = (h * 60 + m) as i32;
                        ts.offset = Some(if sign == b'-' { -o } else { o });
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    p.done().then_some(ts)
}

/// The number go-yaml makes of a plain scalar that starts like one (underscores dropped, Go
/// literal prefixes, a leading `0` for octal, then a float), or `None` when it stays text.
pub fn plain_number(s: &str) -> Option<serde_json::Number> {
    if !s.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-' || c == '.') {
        return None;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = parse_go_int(&plain, 0) {
        return Some(i.into());
    }
    if let Some(u) = parse_go_uint(&plain, 0) {
        return Some(u.into());
    }
    if is_yaml_style_float(&plain) {
        return parse_go_float(&plain).and_then(serde_json::Number::from_f64);
    }
    None
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += 1;
        c
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
    /// One or two digits, as Go's `getnum` reads a non-padded field, within a range.
    fn num(&mut self, min: u32, max: u32) -> Option<u32> {
        let d1 = self.peek().filter(u8::is_ascii_digit)?;
        self.i += 1;
        let mut n = u32::from(d1 - b'0');
        if let Some(d2) = self.peek().filter(u8::is_ascii_digit) {
            self.i += 1;
            n = n * 10 + u32::from(d2 - b'0');
        }
        (min..=max).contains(&n).then_some(n)
    }
    /// Exactly two digits.
    fn fixed2(&mut self) -> Option<u32> {
        let d1 = self.peek().filter(u8::is_ascii_digit)?;
        let d2 = self.b.get(self.i + 1).copied().filter(u8::is_ascii_digit)?;
        self.i += 2;
        Some(u32::from(d1 - b'0') * 10 + u32::from(d2 - b'0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_words_numbers_and_dates_need_quotes() {
        for s in [
            "",
            "yes",
            "Yes",
            "NO",
            "on",
            "Off",
            "y",
            "N",
            "~",
            "null",
            "true",
            "FALSE",
            "1",
            "-1",
            "+1",
            "1.0",
            "1e3",
            "0x1f",
            "0o17",
            "017",
            "08",
            "1_000",
            ".5",
            ".inf",
            "-.Inf",
            "1:20",
            "-1:20:30.5",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
            "2024-02-29",
            "12345678901234567890",
            "0b101",
            "0b-1",
            "1.",
            "+.5e-3",
        ] {
            assert!(!plain_is_string(s), "{s:?} must be quoted");
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for s in [
            "abc",
            "<<",
            "yEs",
            "nO",
            "1e400",
            "1.2.3",
            "0x",
            "1:60",
            "2001-12-14T",
            "2023-02-29",
            "1a",
            "-",
            "+",
            ".",
            "._5",
            "v1",
            "0b",
            "2001-12-14 21:59",
            "10Gi",
            "http://x",
            "a:b",
        ] {
            assert!(plain_is_string(s), "{s:?} can stay plain");
        }
    }
}
