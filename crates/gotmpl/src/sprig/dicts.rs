//! Sprig's dict functions (dict.go): Go maps are references, so `set`, `unset` and `merge`
//! change the map every holder sees, as charts expect.

use super::conv::{empty, strval};
use super::Reg;
use super::STR;
use crate::func::Type::{self, Any};
use crate::value::{Elem, MapRef, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

const MAP: Type = Type::Map(Elem::Any);

fn map_of(v: &Value) -> Option<&MapRef> {
    match v {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

fn new_map(entries: BTreeMap<String, Value>) -> Value {
    Value::map(entries)
}

/// mergo's Merge (overwrite false) and MergeWithOverwrite for `map[string]interface {}`.
pub fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) {
    if Rc::ptr_eq(dst, src) || depth > 1000 {
        return;
    }
    let src_entries: Vec<(String, Value)> = src
        .borrow()
        .entries
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, sv) in src_entries {
        if matches!(sv, Value::Nil) {
            if overwrite {
                dst.borrow_mut().entries.insert(k, sv);
            }
            continue;
        }
        let dv = dst.borrow().entries.get(&k).cloned();
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv) {
            merge_into(dm, sm, overwrite, depth + 1);
        }
        if let Some(dv) = &dv {
            if !empty(dv)
                && (matches!(sv, Value::List(..))
                    || matches!((&sv, dv), (Value::Map(_), Value::Map(_))))
            {
                if overwrite && matches!(sv, Value::List(..)) {
                    dst.borrow_mut().entries.insert(k, sv);
                }
                continue;
            }
        }
        if overwrite || dv.as_ref().is_none_or(empty) {
            dst.borrow_mut().entries.insert(k, sv);
        }
    }
}

fn deep_copy(v: &Value, depth: usize) -> Value {
    if depth > 1000 {
        return v.clone();
    }
    match v {
        Value::List(e, l) => Value::List(
            *e,
            Rc::new(l.iter().map(|x| deep_copy(x, depth + 1)).collect()),
        ),
        Value::Map(m) => {
            let m = m.borrow();
            Value::Map(Rc::new(std::cell::RefCell::new(crate::value::Map {
                elem: m.elem,
                entries: m
                    .entries
                    .iter()
                    .map(|(k, x)| (k.clone(), deep_copy(x, depth + 1)))
                    .collect(),
            })))
        }
        v => v.clone(),
    }
}

fn interface_conversion(v: &Value, want: &str) -> String {
    match v {
        Value::Nil | Value::Invalid => {
            format!("interface conversion: interface {{}} is nil, not {want}")
        }
        v => format!(
            "interface conversion: interface {{}} is {}, not {want}",
            v.type_name()
        ),
    }
}

pub fn register(r: &mut Reg) {
    r.variadic("dict", &[], Any, |a| {
        let mut m = BTreeMap::new();
        let mut i = 0;
        while i < a.len() {
            let key = strval(&a[i]);
            m.insert(key, a.get(i + 1).cloned().unwrap_or_else(|| Value::str("")));
            i += 2;
        }
        Ok(new_map(m))
    });
    r.fixed("get", &[MAP, STR], |a| {
        let m = map_of(&a[0]).map(|m| m.borrow().entries.get(a[1].as_str().unwrap_or("")).cloned());
        Ok(m.flatten().unwrap_or_else(|| Value::str("")))
    });
    r.fixed("set", &[MAP, STR, Any], |a| {
        if let Some(m) = map_of(&a[0]) {
            m.borrow_mut()
                .entries
                .insert(a[1].as_str().unwrap_or("").to_string(), a[2].clone());
        }
        Ok(a[0].clone())
    });
    r.fixed("unset", &[MAP, STR], |a| {
        if let Some(m) = map_of(&a[0]) {
            m.borrow_mut().entries.remove(a[1].as_str().unwrap_or(""));
        }
        Ok(a[0].clone())
    });
    r.fixed("hasKey", &[MAP, STR], |a| {
        Ok(Value::Bool(map_of(&a[0]).is_some_and(|m| {
            m.borrow().entries.contains_key(a[1].as_str().unwrap_or(""))
        })))
    });
    r.variadic("pluck", &[STR], MAP, |a| {
        let key = a[0].as_str().unwrap_or("");
        Ok(Value::list(
            a[1..]
                .iter()
                .filter_map(|d| map_of(d).and_then(|m| m.borrow().entries.get(key).cloned()))
                .collect(),
        ))
    });
    r.variadic("keys", &[], MAP, |a| {
        let mut out = Vec::new();
        for d in &a {
            if let Some(m) = map_of(d) {
                out.extend(m.borrow().entries.keys().map(|k| Value::str(k)));
            }
        }
        Ok(Value::List(Elem::String, Rc::new(out)))
    });
    r.fixed("values", &[MAP], |a| {
        Ok(Value::list(
            map_of(&a[0])
                .map(|m| m.borrow().entries.values().cloned().collect())
                .unwrap_or_default(),
        ))
    });
    r.variadic("pick", &[MAP], STR, |a| {
        let mut out = BTreeMap::new();
        if let Some(m) = map_of(&a[0]) {
            let m = m.borrow();
            for k in &a[1..] {
                let k = k.as_str().unwrap_or("");
                if let Some(v) = m.entries.get(k) {
                    out.insert(k.to_string(), v.clone());
                }
            }
        }
        Ok(new_map(out))
    });
    r.variadic("omit", &[MAP], STR, |a| {
        let omit: Vec<&str> = a[1..].iter().map(|k| k.as_str().unwrap_or("")).collect();
        let out = map_of(&a[0])
            .map(|m| {
                m.borrow()
                    .entries
                    .iter()
                    .filter(|(k, _)| !omit.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(new_map(out))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        r.variadic(name, &[MAP], MAP, move |a| {
            if let Some(dst) = map_of(&a[0]) {
                for src in &a[1..] {
                    if let Some(src) = map_of(src) {
                        merge_into(dst, src, overwrite, 0);
                    }
                }
            }
            Ok(a[0].clone())
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        r.fixed(name, &[Any], |a| Ok(deep_copy(&a[0], 0)));
    }
    r.variadic("dig", &[], Any, |a| {
        if a.len() < 3 {
            return Err("dig needs at least three arguments".into());
        }
        let last = &a[a.len() - 1];
        let mut dict = map_of(last)
            .cloned()
            .ok_or_else(|| interface_conversion(last, "map[string]interface {}"))?;
        let def = a[a.len() - 2].clone();
        let keys = &a[..a.len() - 2];
        for k in keys {
            if k.as_str().is_none() {
                return Err(interface_conversion(k, "string"));
            }
        }
        for (i, k) in keys.iter().enumerate() {
            let step = dict.borrow().entries.get(k.as_str().unwrap_or("")).cloned();
            let Some(step) = step else {
                return Ok(def);
            };
            if i == keys.len() - 1 {
                return Ok(step);
            }
            dict = map_of(&step)
                .cloned()
                .ok_or_else(|| interface_conversion(&step, "map[string]interface {}"))?;
        }
        Ok(def)
    });
}
