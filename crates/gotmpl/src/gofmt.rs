//! Go's fmt for template values: Sprint, Sprintln, Sprintf with its verbs, flags, width and
//! precision, `%v` of float64 (`1e+06`), maps (`map[a:1]`), slices (`[a b]`) and nil (`<nil>`),
//! and the `%!verb(type=value)` error forms.

use crate::limits::MAX_STRING;
use crate::quote::{quote, quote_ascii, quote_rune};
use crate::value::Value;

/// How deep `%v` follows nested (possibly self-referencing) maps and lists.
const MAX_DEPTH: usize = 100;

/// Go's `fmt.Sprint`: spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        if out.len() > MAX_STRING {
            break;
        }
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        print_arg(&mut out, a, 'v', &Flags::default(), 0);
        prev_string = is_string;
    }
    out
}

/// Go's `fmt.Sprintln`: always spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if out.len() > MAX_STRING {
            break;
        }
        if i > 0 {
            out.push(' ');
        }
        print_arg(&mut out, a, 'v', &Flags::default(), 0);
    }
    out.push('\n');
    out
}

/// `%v` of one value.
pub fn format_v(v: &Value) -> String {
    let mut out = String::new();
    print_arg(&mut out, v, 'v', &Flags::default(), 0);
    out
}

#[derive(Default, Clone)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's fmt refuses widths and precisions beyond this (its `tooLarge`).
const GO_MAX_NUM: usize = 1_000_000;

enum Num {
    Absent,
    Value(usize),
    TooLarge,
}

/// Go's `parsenum`: digits while the number so far is not too large.
fn parse_num(chars: &mut std::iter::Peekable<std::str::CharIndices>) -> Num {
    let mut n: Option<usize> = None;
    while let Some(&(_, d @ '0'..='9')) = chars.peek() {
        let so_far = n.unwrap_or(0);
        if so_far > GO_MAX_NUM {
            chars.for_each(drop);
            return Num::TooLarge;
        }
        n = Some(so_far * 10 + (d as usize - '0' as usize));
        chars.next();
    }
    n.map_or(Num::Absent, Num::Value)
}

/// Go's `intFromArg`: a width or precision from an int argument that is not too large.
fn int_from_arg(a: Option<&Value>) -> Option<i64> {
    match a {
        Some(Value::Int(n) | Value::Int64(n)) if n.unsigned_abs() <= GO_MAX_NUM as u64 => Some(*n),
        Some(Value::Uint8(n)) => Some(i64::from(*n)),
        _ => None,
    }
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut argn = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if out.len() > MAX_STRING {
            // Over the limit: the caller refuses the result (limits.rs).
            break;
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut f = Flags::default();
        // Flags.
        while let Some(&(_, c)) = chars.peek() {
            match c {
                '#' => f.sharp = true,
                '0' => f.zero = !f.minus,
                '+' => f.plus = true,
                '-' => {
                    f.minus = true;
                    f.zero = false;
                }
                ' ' => f.space = true,
                _ => break,
            }
            chars.next();
        }
        // Width.
        if let Some(&(_, '*')) = chars.peek() {
            chars.next();
            match int_from_arg(args.get(argn)) {
                Some(n) => {
                    if n < 0 {
                        f.minus = true;
                        f.zero = false;
                    }
                    f.width = Some(n.unsigned_abs() as usize);
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
            argn += 1;
        } else {
            match parse_num(&mut chars) {
                Num::Absent => {}
                Num::Value(w) => f.width = Some(w),
                // Go gives up on the rest of the format ("crazy long number").
                Num::TooLarge => {
                    out.push_str("%!(NOVERB)");
                    break;
                }
            }
        }
        // Precision.
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            if let Some(&(_, '*')) = chars.peek() {
                chars.next();
                match int_from_arg(args.get(argn)) {
                    Some(n) if n >= 0 => f.prec = Some(n as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                argn += 1;
            } else {
                match parse_num(&mut chars) {
                    Num::Absent => f.prec = Some(0),
                    Num::Value(p) => f.prec = Some(p),
                    Num::TooLarge => {
                        out.push_str("%!(NOVERB)");
                        break;
                    }
                }
            }
        }
        if !f.minus && f.zero {
            // Go keeps zero padding only for numbers; handled per verb.
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(argn) {
            None => {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(MISSING)");
            }
            Some(a) => {
                argn += 1;
                if verb == 'T' {
                    pad(&mut out, &a.type_name(), &f);
                } else if verb == 'v' && f.sharp {
                    let mut s = String::new();
                    go_syntax(&mut s, a, true, 0);
                    pad(&mut out, &s, &f);
                } else {
                    print_arg(&mut out, a, verb, &f, 0);
                }
            }
        }
    }
    if argn < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argn..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match a {
                Value::Nil | Value::Invalid => out.push_str("<nil>"),
                _ => {
                    out.push_str(&a.type_name());
                    out.push('=');
                    print_arg(&mut out, a, 'v', &Flags::default(), 0);
                }
            }
        }
        out.push(')');
    }
    out
}

/// `%#v`: the value as Go syntax.
fn go_syntax(out: &mut String, v: &Value, top: bool, depth: usize) {
    if depth > MAX_DEPTH {
        out.push_str("...");
        return;
    }
    match v {
        Value::Invalid | Value::Nil => {
            out.push_str(if top { "<nil>" } else { "interface {}(nil)" })
        }
        Value::String(s) => out.push_str(&quote(s)),
        Value::Float(x) => out.push_str(&format_float(*x, 'g', None)),
        Value::List(_, items) => {
            out.push_str(&v.type_name());
            out.push('{');
            for (i, it) in items.iter().enumerate() {
                if out.len() > MAX_STRING {
                    // Over the limit already: the caller refuses the result (limits.rs).
                    return;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                go_syntax(out, it, false, depth + 1);
            }
            out.push('}');
        }
        Value::Map(m) => {
            out.push_str(&v.type_name());
            out.push('{');
            for (i, (k, it)) in m.borrow().entries.iter().enumerate() {
                if out.len() > MAX_STRING {
                    // Over the limit already: the caller refuses the result (limits.rs).
                    return;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&quote(k));
                out.push(':');
                go_syntax(out, it, false, depth + 1);
            }
            out.push('}');
        }
        other => out.push_str(&format_v(other)),
    }
}

/// Appends `n` copies of a fill character. Widths and precisions reach millions in real
/// templates' error paths; copying ready-made runs is several times faster than pushing
/// characters one at a time.
fn push_fill(out: &mut String, fill: char, n: usize) {
    const SPACES: &str = "                                                                ";
    const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    let run = match fill {
        ' ' => SPACES,
        '0' => ZEROS,
        other => {
            out.extend(std::iter::repeat_n(other, n));
            return;
        }
    };
    out.reserve(n);
    let mut left = n;
    while left > 0 {
        let k = left.min(run.len());
        out.push_str(&run[..k]);
        left -= k;
    }
}

fn pad(out: &mut String, s: &str, f: &Flags) {
    let n = s.chars().count();
    let w = f.width.unwrap_or(0);
    if n >= w {
        out.push_str(s);
        return;
    }
    let fill = if f.zero && !f.minus { '0' } else { ' ' };
    if f.minus {
        out.push_str(s);
        push_fill(out, ' ', w - n);
    } else {
        push_fill(out, fill, w - n);
        out.push_str(s);
    }
}

/// Pads a signed number: zero padding goes after the sign.
fn pad_number(out: &mut String, s: &str, f: &Flags) {
    let w = f.width.unwrap_or(0);
    if f.zero && !f.minus && s.len() < w {
        let (sign, digits) = match s.as_bytes().first() {
            Some(b'-' | b'+' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        out.push_str(sign);
        push_fill(out, '0', w - s.len());
        out.push_str(digits);
        return;
    }
    let plain = Flags {
        zero: false,
        ..f.clone()
    };
    pad(out, s, &plain)
}

/// Go's badVerb: the value is printed with `%v` under the same flags, width and precision.
fn bad_verb(out: &mut String, v: &Value, verb: char, f: &Flags) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    match v {
        Value::Nil | Value::Invalid => out.push_str("<nil>"),
        _ => {
            out.push_str(&v.type_name());
            out.push('=');
            print_arg(out, v, 'v', f, 1);
        }
    }
    out.push(')');
}

fn print_arg(out: &mut String, v: &Value, verb: char, f: &Flags, depth: usize) {
    match v {
        Value::Invalid | Value::Nil => {
            if depth == 0 && verb != 'v' {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(<nil>)");
            } else {
                pad(out, "<nil>", f);
            }
        }
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, f),
            _ => bad_verb(out, v, verb, f),
        },
        Value::Int(i) | Value::Int64(i) => fmt_int(out, *i, verb, f, v),
        Value::Uint8(b) => fmt_int(out, *b as i64, verb, f, v),
        Value::Float(x) => fmt_float(out, *x, verb, f, v),
        Value::Complex(re, im) => match verb {
            'v' | 'g' | 'G' | 'e' | 'E' | 'f' | 'F' => {
                let mut s = String::from("(");
                let fl = Flags {
                    width: None,
                    ..f.clone()
                };
                fmt_float(&mut s, *re, verb, &fl, v);
                let plus = Flags {
                    plus: true,
                    width: None,
                    ..f.clone()
                };
                fmt_float(&mut s, *im, verb, &plus, v);
                s.push_str("i)");
                pad(out, &s, f);
            }
            _ => bad_verb(out, v, verb, f),
        },
        Value::String(s) => fmt_string(out, s, verb, f, v),
        Value::List(_, items) => {
            if depth > MAX_DEPTH {
                out.push_str("[...]");
                return;
            }
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if out.len() > MAX_STRING {
                    // Over the limit already: the caller refuses the result (limits.rs).
                    return;
                }
                if i > 0 {
                    out.push(' ');
                }
                print_arg(out, it, verb, f, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            if depth > MAX_DEPTH {
                out.push_str("map[...]");
                return;
            }
            out.push_str("map[");
            let m = m.borrow();
            for (i, (k, val)) in m.entries.iter().enumerate() {
                if out.len() > MAX_STRING {
                    // Over the limit already: the caller refuses the result (limits.rs).
                    return;
                }
                if i > 0 {
                    out.push(' ');
                }
                fmt_string(out, k, verb, f, &Value::str(k));
                out.push(':');
                print_arg(out, val, verb, f, depth + 1);
            }
            out.push(']');
        }
        Value::Object(o) => pad(out, &o.display(), f),
    }
}

fn fmt_int(out: &mut String, i: i64, verb: char, f: &Flags, v: &Value) {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let mut digits = match verb {
        'd' | 'v' => u.to_string(),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'o' | 'O' => format!("{u:o}"),
        'b' => format!("{u:b}"),
        'c' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
            return pad(out, &c.to_string(), f);
        }
        'q' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
            return pad(out, &quote_rune(c), f);
        }
        'U' => {
            let s = format!("U+{:04X}", i);
            return pad(out, &s, f);
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 's' | 't' => return bad_verb(out, v, verb, f),
        _ => return bad_verb(out, v, verb, f),
    };
    if let Some(p) = f.prec {
        if p == 0 && u == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    if f.sharp {
        match verb {
            'x' => digits.insert_str(0, "0x"),
            'X' => digits.insert_str(0, "0X"),
            'o' if !digits.starts_with('0') => digits.insert(0, '0'),
            'b' => digits.insert_str(0, "0b"),
            _ => {}
        }
    }
    if verb == 'O' {
        digits.insert_str(0, "0o");
    }
    let sign = if neg {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{digits}");
    if f.prec.is_some() {
        let plain = Flags {
            zero: false,
            ..f.clone()
        };
        pad(out, &s, &plain);
    } else {
        pad_number(out, &s, f);
    }
}

fn fmt_string(out: &mut String, s: &str, verb: char, f: &Flags, v: &Value) {
    let s = match f.prec {
        Some(p) if matches!(verb, 's' | 'v' | 'q') => {
            let end = s.char_indices().nth(p).map(|(i, _)| i).unwrap_or(s.len());
            &s[..end]
        }
        _ => s,
    };
    match verb {
        's' | 'v' => pad(out, s, f),
        'q' => {
            let q = if f.sharp && !s.contains('`') {
                format!("`{s}`")
            } else if f.plus {
                quote_ascii(s)
            } else {
                quote(s)
            };
            pad(out, &q, f)
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (i, b) in s.bytes().enumerate() {
                if f.space && i > 0 {
                    h.push(' ');
                }
                if f.sharp && (f.space || i == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &h, f)
        }
        _ => bad_verb(out, v, verb, f),
    }
}

/// Digits past which a float64's exact decimal expansion is all zeros (767 significant,
/// 1074 after the point), with a margin.
const EXACT_DIGITS: usize = 1100;

/// Decimal digits of a float (no trailing zeros) and the decimal point position, as Go's
/// strconv keeps them: value = 0.DIGITS × 10^dp.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

/// Shortest round-trip digits (prec None) or `prec` significant digits.
fn digits(x: f64, prec: Option<usize>) -> Digits {
    let x = x.abs();
    if x == 0.0 {
        return Digits { d: vec![], dp: 0 };
    }
    let s = match prec {
        None => format!("{x:e}"),
        // A float64 has at most 767 significant decimal digits (and Rust's formatter refuses
        // precisions past u16::MAX): beyond EXACT_DIGITS the rest are zeros, which the
        // callers pad.
        Some(p) => format!("{:.*e}", p.saturating_sub(1).min(EXACT_DIGITS), x),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    if d == [b'0'] {
        d.clear();
    }
    Digits { d, dp: exp + 1 }
}

fn fmt_e(out: &mut String, dg: &Digits, prec: usize, e: char) {
    out.push(*dg.d.first().unwrap_or(&b'0') as char);
    if prec > 0 {
        out.push('.');
        let m = dg.d.len().min(prec + 1);
        for &c in dg.d.get(1..m).unwrap_or(&[]) {
            out.push(c as char);
        }
        for _ in m.max(1)..=prec {
            out.push('0');
        }
    }
    out.push(e);
    let exp = if dg.d.is_empty() { 0 } else { dg.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

fn fmt_f(out: &mut String, dg: &Digits, prec: usize) {
    if dg.dp > 0 {
        let dp = dg.dp as usize;
        for i in 0..dp {
            out.push(*dg.d.get(i).unwrap_or(&b'0') as char);
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as i64 {
            let j = dg.dp as i64 + i - 1;
            let c = if j >= 0 && (j as usize) < dg.d.len() {
                dg.d[j as usize]
            } else {
                b'0'
            };
            out.push(c as char);
        }
    }
}

/// strconv.FormatFloat(x, fmt, prec, 64) for 'e', 'f' and 'g' (prec -1 = shortest).
pub fn format_float(x: f64, fmt: char, prec: Option<usize>) -> String {
    let mut out = String::new();
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    let lower = fmt.to_ascii_lowercase();
    match lower {
        'x' => out.push_str(&hex_float(x.abs(), prec, fmt == 'X')),
        'e' => {
            let dg = match prec {
                None => digits(x, None),
                Some(p) => digits(x, Some(p + 1)),
            };
            let p = prec.unwrap_or(dg.d.len().saturating_sub(1));
            fmt_e(&mut out, &dg, p, if fmt == 'E' { 'E' } else { 'e' });
        }
        'f' => match prec {
            None => {
                let dg = digits(x, None);
                let p = (dg.d.len() as i32 - dg.dp).max(0) as usize;
                fmt_f(&mut out, &dg, p);
            }
            Some(p) => {
                // At most 1074 fractional digits are not zero; the rest are padded.
                out.push_str(&format!("{:.*}", p.min(EXACT_DIGITS), x.abs()));
                push_fill(&mut out, '0', p.saturating_sub(EXACT_DIGITS));
            }
        },
        _ => {
            let shortest = prec.is_none();
            let dg = match prec {
                None => digits(x, None),
                Some(0) => digits(x, Some(1)),
                Some(p) => digits(x, Some(p)),
            };
            let mut prec = match prec {
                None => dg.d.len(),
                Some(0) => 1,
                Some(p) => p,
            };
            let nd = dg.d.len();
            let mut eprec = prec as i32;
            if eprec > nd as i32 && nd as i32 >= dg.dp {
                eprec = nd as i32;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dg.dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > nd {
                    prec = nd;
                }
                fmt_e(
                    &mut out,
                    &dg,
                    prec.saturating_sub(1),
                    if fmt == 'G' { 'E' } else { 'e' },
                );
            } else {
                if prec as i32 > dg.dp {
                    prec = nd;
                }
                fmt_f(&mut out, &dg, (prec as i32 - dg.dp).max(0) as usize);
            }
        }
    }
    out
}

/// strconv's 'x' format: `0x1.8p+00`, mantissa rounded to `prec` hex digits when given.
fn hex_float(x: f64, prec: Option<usize>, upper: bool) -> String {
    let bits = x.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp -= 1023;
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1u64 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if let Some(p) = prec.filter(|&p| p < 15) {
        let shift = (p * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1u64 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1u64 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let digits: &[u8] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::from(if upper { "0X" } else { "0x" });
    out.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4;
    match prec {
        None if mant != 0 => {
            out.push('.');
            while mant != 0 {
                out.push(digits[((mant >> 60) & 15) as usize] as char);
                mant <<= 4;
            }
        }
        Some(p) if p > 0 => {
            out.push('.');
            for _ in 0..p {
                out.push(digits[((mant >> 60) & 15) as usize] as char);
                mant <<= 4;
            }
        }
        _ => {}
    }
    out.push(if upper { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

fn fmt_float(out: &mut String, x: f64, verb: char, f: &Flags, v: &Value) {
    let (fmt, prec) = match verb {
        'x' | 'X' => (verb, f.prec),
        'v' | 'g' | 'G' => (if verb == 'G' { 'G' } else { 'g' }, f.prec),
        'e' | 'E' | 'f' => (verb, Some(f.prec.unwrap_or(6))),
        'F' => ('f', Some(f.prec.unwrap_or(6))),
        _ => return bad_verb(out, v, verb, f),
    };
    let mut num = format_float(x, fmt, prec);
    if !num.starts_with(['-', '+']) {
        num.insert(0, '+');
    }
    if f.space && num.starts_with('+') && !f.plus {
        num.replace_range(0..1, " ");
    }
    if num[1..].starts_with(['I', 'N']) {
        let mut s = num.clone();
        if s[1..].starts_with('N') && !f.space && !f.plus {
            s = s[1..].to_string();
        }
        let plain = Flags {
            zero: false,
            ..f.clone()
        };
        return pad(out, &s, &plain);
    }
    if f.sharp {
        let mut digits: i64 = match verb {
            'v' | 'g' | 'G' => prec.map(|p| p as i64).unwrap_or(6),
            _ => 0,
        };
        let (body, tail) = match num.find(['e', 'E']) {
            Some(i) => (num[..i].to_string(), num[i..].to_string()),
            None => (num.clone(), String::new()),
        };
        let mut body = body;
        let has_point = body.contains('.');
        let mut saw_nonzero = false;
        for c in body[1..].chars() {
            if c == '.' {
                continue;
            }
            if c != '0' {
                saw_nonzero = true;
            }
            if saw_nonzero {
                digits -= 1;
            }
        }
        if !has_point {
            if body.len() == 2 && body.ends_with('0') {
                digits -= 1;
            }
            body.push('.');
        }
        while digits > 0 {
            body.push('0');
            digits -= 1;
        }
        num = body + &tail;
    }
    if f.plus || !num.starts_with('+') {
        pad_number(out, &num, f);
    } else {
        pad_number(out, &num[1..], f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        let v = |x: f64| format_v(&Value::Float(x));
        assert_eq!(v(1e6), "1e+06");
        assert_eq!(v(123456.0), "123456");
        assert_eq!(v(1234567.0), "1.234567e+06");
        assert_eq!(v(0.0001), "0.0001");
        assert_eq!(v(0.00001), "1e-05");
        assert_eq!(v(1.5), "1.5");
        assert_eq!(v(0.0), "0");
        assert_eq!(v(-2.0), "-2");
        assert_eq!(
            sprintf(
                "%.2f|%e|%g|%5.1f|%05d|%-4d|%x",
                &[
                    Value::Float(3.14158),
                    Value::Float(1500.0),
                    Value::Float(1e-7),
                    Value::Float(2.25),
                    Value::Int(-42),
                    Value::Int(7),
                    Value::Int(255),
                ]
            ),
            "3.14|1.500000e+03|1e-07|  2.2|-0042|7   |ff"
        );
    }

    #[test]
    fn composites_and_errors() {
        let l = Value::list(vec![Value::str("a"), Value::Float(1.0), Value::Nil]);
        assert_eq!(format_v(&l), "[a 1 <nil>]");
        assert_eq!(
            sprintf("%d %s", &[Value::str("x")]),
            "%!d(string=x) %!s(MISSING)"
        );
        assert_eq!(
            sprintf("%d", &[Value::Int(1), Value::str("y")]),
            "1%!(EXTRA string=y)"
        );
        assert_eq!(
            sprint(&[Value::Int(1), Value::Int(2), Value::str("a"), Value::Int(3)]),
            "1 2a3"
        );
    }
}
