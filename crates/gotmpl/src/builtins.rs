//! Go's builtin template functions (text/template/funcs.go): comparison, index, slice, len,
//! not, the print family and the escapers. `and`, `or` and `call` are evaluated by the
//! executor itself, as in Go.

use crate::func::{Func, FuncMap, FuncResult, Signature, Type};
use crate::gofmt::{format_v, sprint, sprintf, sprintln};
use crate::value::Value;
use std::rc::Rc;

/// Names the executor handles itself (lazy arguments or a function value).
pub const SPECIAL: [&str; 3] = ["and", "or", "call"];

pub fn builtins() -> FuncMap {
    let mut m = FuncMap::new();
    let r = Type::Reflect;
    let any = Type::Any;
    let mut add = |name: &str, sig: Signature, f: fn(Vec<Value>) -> FuncResult| {
        m.insert(name, Func::pure(sig, f));
    };
    // Placeholders with Go's signatures; the executor evaluates these three itself.
    add("and", Signature::variadic(&[r], r), |_| Ok(Value::Invalid));
    add("or", Signature::variadic(&[r], r), |_| Ok(Value::Invalid));
    add("call", Signature::variadic(&[r], r), |_| Ok(Value::Invalid));
    add("html", Signature::variadic(&[], any), |a| {
        Ok(Value::str(&html_escape(&eval_args(&a))))
    });
    add("js", Signature::variadic(&[], any), |a| {
        Ok(Value::str(&js_escape(&eval_args(&a))))
    });
    add("urlquery", Signature::variadic(&[], any), |a| {
        Ok(Value::str(&query_escape(&eval_args(&a))))
    });
    add("index", Signature::variadic(&[r], r), |a| index(&a));
    add("slice", Signature::variadic(&[r], r), |a| slice(&a, &[]));
    add("len", Signature::fixed(&[r]), |a| length(&a[0]));
    add("not", Signature::fixed(&[r]), |a| {
        Ok(Value::Bool(!truth(&a[0])))
    });
    add("print", Signature::variadic(&[], any), |a| {
        Ok(Value::str(&sprint(&a)))
    });
    add("println", Signature::variadic(&[], any), |a| {
        Ok(Value::str(&sprintln(&a)))
    });
    add("printf", Signature::variadic(&[Type::String], any), |a| {
        let f = a[0].as_str().unwrap_or("").to_string();
        Ok(Value::str(&sprintf(&f, &a[1..])))
    });
    add("eq", Signature::variadic(&[r], r), |a| {
        eq(&a[0], &a[1..]).map(Value::Bool)
    });
    add("ne", Signature::fixed(&[r, r]), |a| {
        eq(&a[0], &a[1..2]).map(|b| Value::Bool(!b))
    });
    add("lt", Signature::fixed(&[r, r]), |a| {
        lt(&a[0], &a[1]).map(Value::Bool)
    });
    add("le", Signature::fixed(&[r, r]), |a| {
        le(&a[0], &a[1]).map(Value::Bool)
    });
    add("gt", Signature::fixed(&[r, r]), |a| {
        le(&a[0], &a[1]).map(|b| Value::Bool(!b))
    });
    add("ge", Signature::fixed(&[r, r]), |a| {
        lt(&a[0], &a[1]).map(|b| Value::Bool(!b))
    });
    m
}

/// Go's indirectInterface: a nil interface is no value.
fn indirect_iface(v: &Value) -> Value {
    match v {
        Value::Nil => Value::Invalid,
        v => v.clone(),
    }
}

pub fn truth(v: &Value) -> bool {
    v.truth()
}

/// Go's evalArgs for the escapers: one string as is, else Sprint of printable values.
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil | Value::Invalid => Value::str("<no value>"),
            a => a.clone(),
        })
        .collect();
    sprint(&printable)
}

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{fffd}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c if crate::quote::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's url.QueryEscape.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, String> {
    let x = match index {
        Value::Int(_) | Value::Int64(_) | Value::Uint8(_) => index.as_int().unwrap_or(0),
        Value::Invalid | Value::Nil => return Err("cannot index slice/array with nil".into()),
        v => {
            return Err(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(args: &[Value]) -> FuncResult {
    let mut item = indirect_iface(&args[0]);
    if let Value::Invalid = item {
        return Err("index of untyped nil".into());
    }
    for idx in &args[1..] {
        let idx = indirect_iface(idx);
        item = match &item {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::List(_, l) => {
                let x = index_arg(&idx, l.len())?;
                match l.get(x) {
                    Some(v) => v.clone(),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::String(s) => {
                let x = index_arg(&idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Value::Uint8(*b),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Map(m) => {
                let key = match &idx {
                    Value::String(k) => k.clone(),
                    Value::Invalid | Value::Nil => {
                        return Err("value is nil; should be of type string".into())
                    }
                    v => {
                        return Err(format!(
                            "value has type {}; should be string",
                            v.type_name()
                        ))
                    }
                };
                let m = m.borrow();
                match m.entries.get(&*key) {
                    Some(v) => v.clone(),
                    None => m.elem.zero(),
                }
            }
            Value::Invalid => return Err("index of untyped nil".into()),
            v => return Err(format!("can't index item of type {}", v.type_name())),
        };
    }
    Ok(item)
}

/// Go's slice; `iface[i]` says index `i` is still wrapped in an interface, which Go's slice
/// (unlike index) does not unwrap, so such an index is refused by type.
pub fn slice(args: &[Value], iface: &[bool]) -> FuncResult {
    let item = indirect_iface(&args[0]);
    if let Value::Invalid = item {
        return Err("slice of untyped nil".into());
    }
    let idxs = &args[1..];
    if idxs.len() > 3 {
        return Err(format!("too many slice indexes: {}", idxs.len()));
    }
    let len = match &item {
        Value::String(s) => {
            if idxs.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(_, l) => l.capacity(),
        v => return Err(format!("can't slice item of type {}", v.type_name())),
    };
    let cap = len;
    let len = match &item {
        Value::List(_, l) => l.len(),
        _ => len,
    };
    let mut idx = [0, len, cap];
    for (i, x) in idxs.iter().enumerate() {
        if iface.get(i + 1).copied().unwrap_or(false) || matches!(x, Value::Nil) {
            return Err("cannot index slice/array with type interface {}".into());
        }
        idx[i] = index_arg(x, cap)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if idxs.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item {
        Value::String(s) => Value::str(&String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]])),
        Value::List(e, l) => {
            // Elements past the length (up to the capacity) are the zero values Go's append
            // left there.
            let new_cap = if idxs.len() == 3 { idx[2] } else { cap } - idx[0];
            let mut v = Vec::with_capacity(new_cap.max(idx[1] - idx[0]));
            v.extend((idx[0]..idx[1]).map(|p| l.get(p).cloned().unwrap_or_else(|| e.zero())));
            Value::List(e, Rc::new(v))
        }
        _ => Value::Invalid,
    })
}

fn length(v: &Value) -> FuncResult {
    match v {
        Value::Nil => Err("len of nil pointer".into()),
        Value::Invalid => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::String(s) => Ok(Value::Int(s.len() as i64)),
        Value::List(_, l) => Ok(Value::Int(l.len() as i64)),
        Value::Map(m) => Ok(Value::Int(m.borrow().entries.len() as i64)),
        v => Err(format!("len of type {}", v.type_name())),
    }
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Complex,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) | Value::Uint8(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Complex(..) => Kind::Complex,
        Value::String(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn valid(v: &Value) -> bool {
    !matches!(v, Value::Invalid)
}

/// `%s` of a value, as Go's reflect.Value prints with `%s` in comparison errors.
fn fmt_s(v: &Value) -> String {
    sprintf("%s", std::slice::from_ref(v))
}

fn eq(a1: &Value, rest: &[Value]) -> Result<bool, String> {
    let a1 = indirect_iface(a1);
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(&a1);
    for a in rest {
        let a = indirect_iface(a);
        let k2 = basic_kind(&a);
        let truth = if k1 != k2 {
            if valid(&a1) && valid(&a) {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    a1.type_name(),
                    a.type_name()
                ));
            }
            false
        } else {
            match (&a1, &a) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Complex(r1, i1), Value::Complex(r2, i2)) => r1 == r2 && i1 == i2,
                (Value::Float(x), Value::Float(y)) => x == y,
                (x, y) if x.as_int().is_some() && y.as_int().is_some() => x.as_int() == y.as_int(),
                (Value::String(x), Value::String(y)) => x == y,
                _ => {
                    let same_kind = a1.kind_name() == a.kind_name();
                    if !(same_kind || !valid(&a1) || !valid(&a)) {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            fmt_s(&a1),
                            a1.type_name(),
                            a.type_name(),
                            format_v(&a)
                        ));
                    }
                    if !valid(&a1) || !valid(&a) {
                        !valid(&a1) && !valid(&a)
                    } else {
                        match (&a1, &a) {
                            (Value::Object(x), Value::Object(y)) => Rc::ptr_eq(x, y),
                            _ => {
                                return Err(format!(
                                    "non-comparable type {}: {}",
                                    fmt_s(&a),
                                    a.type_name()
                                ))
                            }
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a1: &Value, a2: &Value) -> Result<bool, String> {
    let a1 = indirect_iface(a1);
    let a2 = indirect_iface(a2);
    let (k1, k2) = (basic_kind(&a1), basic_kind(&a2));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a1.type_name(),
            a2.type_name()
        ));
    }
    Ok(match (&a1, &a2) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (x, y) if x.as_int().is_some() && y.as_int().is_some() => x.as_int() < y.as_int(),
        (Value::String(x), Value::String(y)) => x < y,
        _ => return Err("invalid type for comparison".into()),
    })
}

fn le(a1: &Value, a2: &Value) -> Result<bool, String> {
    if lt(a1, a2)? {
        return Ok(true);
    }
    eq(a1, std::slice::from_ref(a2))
}
