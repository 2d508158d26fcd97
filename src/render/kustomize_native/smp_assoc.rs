//! Lists of mappings merged by key (containers by `name`, ports by `containerPort` and
//! `protocol`, custom keys from a schema file), step by step as kyaml's associative walk
//! does it (`walk/associative_sequence.go` with kustomize's prepend option). A simpler
//! "patch elements first, then the object's others" merge agrees with it while every element
//! sets every key; these steps also give kubectl's results when one does not:
//! - the key tuples of the patch's, then the object's elements are gathered once each (a
//!   missing key counts as `""`); with several keys, tuples agreeing wherever both are set
//!   are completed from each other, and only keys some tuple sets take part;
//! - for each tuple, the first element of the object and of the patch setting exactly the
//!   tuple's values are merged (a keyless element never matches), and the result is set
//!   into a list of merged elements, replacing every element there matching the tuple;
//! - a tuple nothing carries, or whose merge is deleted, removes matching elements from the
//!   object's list, where `""` matches any value: a keyless patch element removes every
//!   element of the object setting the key;
//! - the object's remaining elements then go to the end of the merged list, each replacing
//!   the merged elements matching its values; one lacking a key replaces the whole list.
//!
//! The merge of an element the object had changes that element in place (kyaml merges into
//! the object's node), so its later copy carries the merge, except under `$patch: replace`,
//! which kyaml returns as a new node: the object's unpatched element then wins.

use serde_json::Value;

/// An element's value for the key as kyaml gathers it: `""` when it is missing, null or the
/// element is not a mapping.
fn gathered(elem: &Value, key: &str) -> String {
    match elem.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(v) => raw(v),
    }
}

/// A field's text as the YAML node holds it (a mapping or a list has none).
fn raw(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Object(_) | Value::Array(_) => String::new(),
        scalar => super::fieldspec::scalar_text(scalar).unwrap_or_default(),
    }
}

/// Whether `elem` sets each key to exactly its value (kyaml's element lookup): a keyless
/// element never matches, not even `""`.
fn carries(elem: &Value, keys: &[&str], values: &[String]) -> bool {
    elem.is_object()
        && keys
            .iter()
            .zip(values)
            .all(|(k, v)| elem.get(*k).is_some_and(|f| raw(f) == *v))
}

/// kyaml's element setter on `list`, with `values` for the first keys: elements matching
/// are replaced by `elem` (removed when `None`), or `elem` is appended if none matched. A
/// value matches a field equal to it, `""` any field that is set; keys past the values
/// match as the last one did, and no values match nothing (so nothing but `elem` stays).
/// Null and empty elements leave the list on the way.
fn set(
    list: &mut Vec<Value>,
    keys: &[&str],
    values: &[String],
    elem: Option<&Value>,
    path: &[String],
) -> Result<(), String> {
    let mapping_setter = values.first().is_some_and(|v| !v.is_empty());
    let mut kept = Vec::with_capacity(list.len() + 1);
    let mut found = false;
    for e in std::mem::take(list) {
        if e.is_null() || e.as_object().is_some_and(|m| m.is_empty()) {
            continue;
        }
        let Some(m) = e.as_object() else {
            if mapping_setter {
                kept.push(e);
                continue;
            }
            if values.is_empty() {
                continue;
            }
            return Err(not_a_mapping(path, &e));
        };
        let matched = !values.is_empty()
            && keys
                .iter()
                .zip(values)
                .all(|(k, v)| m.get(*k).is_some_and(|f| v.is_empty() || raw(f) == *v));
        if !matched {
            if !values.is_empty() {
                kept.push(e);
            }
            continue;
        }
        found = true;
        if let Some(elem) = elem {
            kept.push(elem.clone());
        }
    }
    if let (false, Some(elem)) = (found, elem) {
        kept.push(elem.clone());
    }
    *list = kept;
    Ok(())
}

fn not_a_mapping(path: &[String], elem: &Value) -> String {
    format!(
        "wrong node kind at '{}': expected a mapping as list element, got {}",
        path.join("."),
        serde_json::to_string(elem).unwrap_or_default()
    )
}

fn is_replace(patch: &Value) -> bool {
    patch.get("$patch").and_then(Value::as_str) == Some("replace")
}

/// kyaml's `match`: tuples agreeing wherever both are set, with one common value (two
/// unset values count as common).
fn combine(a: &[String], b: &[String]) -> Option<Vec<String>> {
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if x.is_empty() {
            out.push(y.clone());
        } else {
            out.push(x.clone());
        }
    }
    common.then_some(out)
}

/// The keys (and their values in `values`) that some tuple of `all` sets; all of them when
/// none is set (kyaml's `validateKeys`).
fn valid<'a>(
    all: &[Vec<String>],
    values: &[String],
    keys: &[&'a str],
) -> (Vec<&'a str>, Vec<String>) {
    let set: Vec<bool> = (0..keys.len())
        .map(|i| all.iter().any(|t| !t[i].is_empty()))
        .collect();
    if !set.contains(&true) {
        return (keys.to_vec(), values.to_vec());
    }
    let keep = |i: &usize| set[*i];
    (
        (0..keys.len()).filter(keep).map(|i| keys[i]).collect(),
        (0..keys.len())
            .filter(keep)
            .map(|i| values[i].clone())
            .collect(),
    )
}

/// Merges `patch` into `dest` (the object's list; `None` when the object lacks it, where
/// kyaml merges the patch's list into itself) by `keys`.
pub fn merge_by_keys(
    gvk: (&str, &str),
    path: &mut Vec<String>,
    dest: Option<Vec<Value>>,
    patch: Vec<Value>,
    keys: &[&str],
) -> Result<Value, String> {
    let mut dest = dest.unwrap_or_else(|| patch.clone());
    let mut tuples: Vec<Vec<String>> = Vec::new();
    for e in patch.iter().chain(&dest) {
        let t: Vec<String> = keys.iter().map(|k| gathered(e, k)).collect();
        if !tuples.contains(&t) {
            tuples.push(t);
        }
    }
    if tuples.is_empty() {
        return Ok(Value::Array(dest));
    }
    if keys.len() > 1 {
        for i in 0..tuples.len() {
            for j in 0..tuples.len() {
                if let Some(m) = combine(&tuples[i], &tuples[j]) {
                    tuples[i] = m.clone();
                    tuples[j] = m;
                }
            }
        }
    }
    let mut merged: Vec<Value> = Vec::new();
    let mut last_keys: Vec<&str> = keys.to_vec();
    for t in &tuples {
        let (vkeys, vvalues) = valid(&tuples, t, keys);
        // Looked up by the keys this tuple sets (all of them, as `""`, when it sets none).
        let (lkeys, lvalues) = valid(std::slice::from_ref(&vvalues), &vvalues, &vkeys);
        let d = dest.iter().position(|e| carries(e, &lkeys, &lvalues));
        let p = patch.iter().position(|e| carries(e, &lkeys, &lvalues));
        let val = match (d, p) {
            (None, None) => None,
            (Some(d), None) => {
                let mut d = dest[d].clone();
                super::smp::settle(gvk, path, &mut d)?;
                Some(d)
            }
            (d, Some(p)) => super::smp::merge(gvk, path, d.map(|d| dest[d].clone()), &patch[p])?,
        };
        last_keys.clone_from(&vkeys);
        let mut val = match val {
            Some(Value::Object(m)) if !m.is_empty() => m,
            // Deleted, emptied, or a scalar (which no lookup returns): matching elements
            // leave the object's list.
            _ => {
                set(&mut dest, &vkeys, &vvalues, None, path)?;
                continue;
            }
        };
        for (k, v) in vkeys.iter().zip(&vvalues) {
            if !v.is_empty() && !val.contains_key(*k) {
                val.insert(k.to_string(), Value::String(v.clone()));
            }
        }
        let val = Value::Object(val);
        if let Some(d) = d {
            if !p.is_some_and(|p| is_replace(&patch[p])) {
                dest[d] = val.clone();
            }
        }
        set(&mut merged, &vkeys, &vvalues, Some(&val), path)?;
    }
    // The object's remaining elements go to the end, in order, each replacing the merged
    // elements with its values (kyaml's `appendListNode`).
    let keys = last_keys;
    for e in dest {
        let mut values = Vec::new();
        for k in &keys {
            match &e {
                Value::Object(m) => match m.get(*k) {
                    Some(f) => values.push(raw(f)),
                    None => merged.push(e.clone()),
                },
                Value::Null => merged.push(e.clone()),
                _ => return Err(not_a_mapping(path, &e)),
            }
        }
        if keys.len() > 1 {
            set(&mut merged, &keys, &values, None, path)?;
        }
        set(&mut merged, &keys, &values, Some(&e), path)?;
    }
    Ok(Value::Array(merged))
}
