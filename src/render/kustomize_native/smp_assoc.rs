//! Lists of mappings merged by one key, step by step as kyaml's associative walk does it
//! (`walk/associative_sequence.go` with kustomize's prepend option). A simpler "patch
//! elements first, then the object's others" merge agrees with it while every element sets
//! the key; the steps below also give kubectl's results when one does not:
//! - the key values of the patch's, then the object's elements are gathered once each; an
//!   element lacking the key contributes the value `""`;
//! - for each value, the first element of the object and of the patch setting exactly that
//!   value are merged (a keyless element never matches), and the result is set into a list
//!   of merged elements, replacing every element there matching the value;
//! - a value nothing carries, or whose merge is deleted, removes matching elements from the
//!   object's list; for `""` that is every element *setting the key at all*;
//! - the object's remaining elements then go to the end of the merged list, each replacing
//!   the merged elements with its value; one lacking the key replaces the whole list.
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

/// Whether `elem` sets `key` to exactly `value` (kyaml's element lookup): a keyless
/// element never matches, not even `""`.
fn carries(elem: &Value, key: &str, value: &str) -> bool {
    elem.get(key).is_some_and(|v| raw(v) == value)
}

/// kyaml's element setter on `list`: elements matching `value` are replaced by `elem`
/// (removed when `None`), or `elem` is appended if none matched. Matching is looser than
/// [`carries`]: `""` matches every element that has the key at all. Null and empty
/// elements leave the list on the way, and a setter without a value (`None`) keeps nothing
/// but `elem`.
fn set(
    list: &mut Vec<Value>,
    key: &str,
    value: Option<&str>,
    elem: Option<&Value>,
    path: &[String],
) -> Result<(), String> {
    let mut kept = Vec::with_capacity(list.len() + 1);
    let mut found = false;
    for e in std::mem::take(list) {
        if e.is_null() || e.as_object().is_some_and(|m| m.is_empty()) {
            continue;
        }
        let Some(value) = value else { continue };
        let Some(m) = e.as_object() else {
            if value.is_empty() {
                return Err(not_a_mapping(path, &e));
            }
            kept.push(e);
            continue;
        };
        let matched = m
            .get(key)
            .is_some_and(|v| value.is_empty() || raw(v) == value);
        if !matched {
            kept.push(e);
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

/// Merges `patch` into `dest` (the object's list; `None` when the object lacks it, where
/// kyaml merges the patch's list into itself) by `key`.
pub fn merge_by_key(
    gvk: (&str, &str),
    path: &mut Vec<String>,
    dest: Option<Vec<Value>>,
    patch: Vec<Value>,
    key: &str,
) -> Result<Value, String> {
    let mut dest = dest.unwrap_or_else(|| patch.clone());
    let mut values: Vec<String> = Vec::new();
    for e in patch.iter().chain(&dest) {
        let v = gathered(e, key);
        if !values.contains(&v) {
            values.push(v);
        }
    }
    if values.is_empty() {
        return Ok(Value::Array(dest));
    }
    let mut merged: Vec<Value> = Vec::new();
    for v in &values {
        let d = dest.iter().position(|e| carries(e, key, v));
        let p = patch.iter().position(|e| carries(e, key, v));
        let val = match (d, p) {
            (None, None) => None,
            (Some(d), None) => Some(dest[d].clone()),
            (d, Some(p)) => super::smp::merge(gvk, path, d.map(|d| dest[d].clone()), &patch[p])?,
        };
        let mut val = match val {
            Some(Value::Object(m)) if !m.is_empty() => m,
            // Deleted, emptied, or a scalar (which no lookup returns): matching elements
            // leave the object's list.
            _ => {
                set(&mut dest, key, Some(v), None, path)?;
                continue;
            }
        };
        if !v.is_empty() && !val.contains_key(key) {
            val.insert(key.to_string(), Value::String(v.clone()));
        }
        let val = Value::Object(val);
        if let Some(d) = d {
            if !p.is_some_and(|p| is_replace(&patch[p])) {
                dest[d] = val.clone();
            }
        }
        set(&mut merged, key, Some(v), Some(&val), path)?;
    }
    // The object's remaining elements go to the end, in order.
    for e in dest {
        match &e {
            Value::Object(m) if m.contains_key(key) => {
                let v = m.get(key).map(raw).unwrap_or_default();
                set(&mut merged, key, Some(&v), Some(&e), path)?;
            }
            Value::Object(_) | Value::Null => set(&mut merged, key, None, Some(&e), path)?,
            _ => return Err(not_a_mapping(path, &e)),
        }
    }
    Ok(Value::Array(merged))
}
