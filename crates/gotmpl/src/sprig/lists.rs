//! Sprig's list functions (list.go). Errors carry Sprig's texts; Sprig's non-`must`
//! variants panic with the same error, which Go's template reports the same way.

use super::conv::{deep_equal, empty, strval, to_int64};
use super::Reg;
use crate::func::{FuncResult, Type::Any};
use crate::value::{Elem, Value};
use std::rc::Rc;

/// `reflect.TypeOf(nil).Kind()`: what Go's runtime says when a function gets no list at all.
const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

fn items<'a>(v: &'a Value, what: &str) -> Result<&'a [Value], String> {
    match v {
        Value::List(_, l) => Ok(l),
        Value::Nil | Value::Invalid => Err(NIL_DEREF.into()),
        v => Err(format!("Cannot {what} type {}", v.kind_name())),
    }
}

fn any_list(v: Vec<Value>) -> Value {
    Value::List(Elem::Any, Rc::new(v))
}

fn reg_both(
    r: &mut Reg,
    name: &str,
    params: &[crate::func::Type],
    f: fn(Vec<Value>) -> FuncResult,
) {
    r.fixed(name, params, f);
    let mut must = String::from("must");
    let mut c = name.chars();
    if let Some(first) = c.next() {
        must.push(first.to_ascii_uppercase());
        must.push_str(c.as_str());
    }
    r.fixed(&must, params, f);
}

/// Sprig's `chunk`: lists of `size` items, the last one shorter.
fn chunk(a: Vec<Value>) -> FuncResult {
    let size = a[0].as_int().unwrap_or(0);
    let l = items(&a[1], "chunk")?;
    if l.is_empty() {
        return Ok(any_list(Vec::new()));
    }
    if size <= 0 {
        // Go divides by a non-positive size into a huge or negative count and panics.
        return Err("runtime error: makeslice: len out of range".into());
    }
    Ok(any_list(
        l.chunks(size as usize)
            .map(|c| any_list(c.to_vec()))
            .collect(),
    ))
}

pub fn register(r: &mut Reg) {
    reg_both(r, "chunk", &[crate::func::Type::Int, Any], chunk);
    r.variadic("list", &[], Any, |a| Ok(any_list(a)));
    r.variadic("tuple", &[], Any, |a| Ok(any_list(a)));
    for name in ["append", "push", "mustAppend", "mustPush"] {
        r.fixed(name, &[Any, Any], |a| {
            let mut v = items(&a[0], "push on")?.to_vec();
            v.push(a[1].clone());
            Ok(any_list(v))
        });
    }
    reg_both(r, "prepend", &[Any, Any], |a| {
        let mut v = vec![a[1].clone()];
        v.extend_from_slice(items(&a[0], "prepend on")?);
        Ok(any_list(v))
    });
    reg_both(r, "first", &[Any], |a| {
        Ok(items(&a[0], "find first on")?
            .first()
            .cloned()
            .unwrap_or(Value::Nil))
    });
    reg_both(r, "last", &[Any], |a| {
        Ok(items(&a[0], "find last on")?
            .last()
            .cloned()
            .unwrap_or(Value::Nil))
    });
    reg_both(r, "rest", &[Any], |a| {
        let l = items(&a[0], "find rest on")?;
        if l.is_empty() {
            return Ok(Value::List(Elem::Any, Rc::new(Vec::new())));
        }
        Ok(any_list(l[1..].to_vec()))
    });
    reg_both(r, "initial", &[Any], |a| {
        let l = items(&a[0], "find initial on")?;
        if l.is_empty() {
            return Ok(Value::List(Elem::Any, Rc::new(Vec::new())));
        }
        Ok(any_list(l[..l.len() - 1].to_vec()))
    });
    reg_both(r, "reverse", &[Any], |a| {
        let mut v = items(&a[0], "find reverse on")?.to_vec();
        v.reverse();
        Ok(any_list(v))
    });
    reg_both(r, "uniq", &[Any], |a| {
        let mut out: Vec<Value> = Vec::new();
        for it in items(&a[0], "find uniq on")? {
            if !out.iter().any(|o| deep_equal(it, o)) {
                out.push(it.clone());
            }
        }
        Ok(any_list(out))
    });
    reg_both(r, "compact", &[Any], |a| {
        Ok(any_list(
            items(&a[0], "compact on")?
                .iter()
                .filter(|v| !empty(v))
                .cloned()
                .collect(),
        ))
    });
    for name in ["without", "mustWithout"] {
        r.variadic(name, &[Any], Any, |a| {
            let omit = &a[1..];
            Ok(any_list(
                items(&a[0], "find without on")?
                    .iter()
                    .filter(|v| !omit.iter().any(|o| deep_equal(v, o)))
                    .cloned()
                    .collect(),
            ))
        });
    }
    reg_both(r, "has", &[Any, Any], |a| {
        if matches!(a[1], Value::Nil | Value::Invalid) {
            return Ok(Value::Bool(false));
        }
        let l = items(&a[1], "find has on")?;
        Ok(Value::Bool(l.iter().any(|v| deep_equal(&a[0], v))))
    });
    r.variadic("concat", &[], Any, |a| {
        let mut out = Vec::new();
        for l in &a {
            match l {
                Value::List(_, l) => out.extend(l.iter().cloned()),
                Value::Nil | Value::Invalid => return Err(NIL_DEREF.into()),
                v => return Err(format!("Cannot concat type {} as list", v.kind_name())),
            }
        }
        if out.is_empty() {
            return Ok(Value::Nil);
        }
        Ok(any_list(out))
    });
    r.fixed("sortAlpha", &[Any], |a| {
        let mut v: Vec<String> = match &a[0] {
            Value::List(..) => super::strings::strslice(&a[0]),
            v => vec![strval(v)],
        };
        v.sort();
        Ok(Value::List(
            Elem::String,
            Rc::new(v.into_iter().map(|s| Value::str(&s)).collect()),
        ))
    });
    for name in ["slice", "mustSlice"] {
        r.variadic(name, &[Any], Any, |a| {
            let (e, l) = match &a[0] {
                Value::List(e, l) => (*e, l),
                Value::Nil | Value::Invalid => return Err(NIL_DEREF.into()),
                v => {
                    return Err(format!(
                        "list should be type of slice or array but {}",
                        v.kind_name()
                    ))
                }
            };
            if l.is_empty() {
                return Ok(Value::Nil);
            }
            let start = a.get(1).map(to_int64).unwrap_or(0);
            let end = a.get(2).map(to_int64).unwrap_or(l.len() as i64);
            let cap = l.capacity() as i64;
            if start < 0 || end < start || end > cap {
                return Err("reflect.Value.Slice: slice index out of bounds".into());
            }
            let v: Vec<Value> = (start..end)
                .map(|i| l.get(i as usize).cloned().unwrap_or_else(|| e.zero()))
                .collect();
            Ok(Value::List(e, Rc::new(v)))
        });
    }
}
