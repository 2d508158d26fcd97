//! Strategic merge patches as kustomize applies them (`api/filters/patchstrategicmerge`,
//! kyaml `merge2` and `walk`): mappings merge field by field, `null` deletes, `$patch`
//! deletes or replaces, and lists merge by key where the Kubernetes schema says so (patch
//! elements first, then the object's others), otherwise the patch's list replaces.
//!
//! The merge keys come from the Kubernetes v1.21.2 schema of built-in kinds (`schema`);
//! lists without one are replaced, as they are for custom resources. The directives
//! `$setElementOrder/...`, `$retainKeys` and `$deleteFromPrimitiveList/...` are not
//! interpreted: kustomize v5.7.1 (kyaml's merge2) keeps them as ordinary fields, and so do we.

use super::openapi::Keys;
use serde_json::{Map, Value};

/// What a `$patch` directive asks for.
#[derive(PartialEq)]
enum Directive {
    Merge,
    Delete,
    Replace,
}

fn directive(patch: &Map<String, Value>) -> Result<Directive, String> {
    match patch.get("$patch") {
        None => Ok(Directive::Merge),
        Some(Value::String(s)) if s == "merge" => Ok(Directive::Merge),
        Some(Value::String(s)) if s == "delete" => Ok(Directive::Delete),
        Some(Value::String(s)) if s == "replace" => Ok(Directive::Replace),
        Some(other) => Err(format!(
            "unknown patch strategy '{}'",
            super::fieldspec::scalar_text(other).unwrap_or_default()
        )),
    }
}

/// Merges `patch` into `dest` (absent when `None`); `Ok(None)` means the field goes away.
/// `dest` is taken by value and reused: a patch touches a few fields of a large object, and
/// copying the object at every level it descends through was most of a patch's cost.
pub(super) fn merge(
    gvk: (&str, &str),
    path: &mut Vec<String>,
    dest: Option<Value>,
    patch: &Value,
) -> Result<Option<Value>, String> {
    match patch {
        Value::Null => Ok(None),
        Value::Object(p) => {
            // Without a directive the patch is used as it is; with one, a copy without
            // `$patch` (whose removal reorders the keys as `Map::remove` does).
            let without_directive;
            let p = match directive(p)? {
                Directive::Delete => return Ok(None),
                Directive::Replace => {
                    let mut p = p.clone();
                    p.remove("$patch");
                    return Ok(Some(Value::Object(p)));
                }
                Directive::Merge if p.contains_key("$patch") => {
                    let mut copy = p.clone();
                    copy.remove("$patch");
                    without_directive = copy;
                    &without_directive
                }
                Directive::Merge => p,
            };
            // A key the patch file defined twice: merged into an existing mapping, the
            // first value counts (the mark is dropped); copied whole, the mark goes along
            // and `apply_allowing` fails as kyaml does.
            let merging = matches!(dest, Some(Value::Object(_)));
            let mut out = match dest {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(d)) => d,
                Some(_) => {
                    return Err(format!(
                        "wrong node kind at '{}': expected a mapping",
                        path.join(".")
                    ))
                }
            };
            for (key, pv) in p {
                if merging && key == crate::manifest::DUPLICATE_MARK {
                    continue;
                }
                path.push(key.clone());
                // Taken out in place (the key keeps its position) and put back merged.
                let current = out.get_mut(key).map(std::mem::take);
                let merged = merge(gvk, path, current, pv)?;
                path.pop();
                match merged {
                    Some(v) => {
                        out.insert(key.clone(), v);
                    }
                    None => {
                        out.remove(key);
                    }
                }
            }
            Ok(Some(Value::Object(out)))
        }
        Value::Array(items) => match super::openapi::list_keys(gvk.0, gvk.1, path) {
            None => Ok(Some(patch.clone())),
            Some(Keys::Builtin(keys)) => merge_list(gvk, path, dest, items, keys),
            Some(Keys::Custom(keys)) => {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                merge_list(gvk, path, dest, items, &keys)
            }
        },
        scalar => Ok(Some(scalar.clone())),
    }
}

/// The key values of a list element (`""` for a missing key; the element itself for a list
/// of scalars).
pub(super) fn key_values(elem: &Value, keys: &[&str]) -> Vec<String> {
    if keys == [""] {
        return vec![super::fieldspec::scalar_text(elem).unwrap_or_default()];
    }
    keys.iter()
        .map(|k| {
            elem.get(*k)
                .and_then(super::fieldspec::scalar_text)
                .unwrap_or_default()
        })
        .collect()
}

/// Whether two key tuples name the same element: equal wherever both are set.
fn same_element(a: &[String], b: &[String]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| x == y || x.is_empty() || y.is_empty())
        && a.iter().zip(b).any(|(x, y)| x == y && !x.is_empty())
}

fn merge_list(
    gvk: (&str, &str),
    path: &mut Vec<String>,
    dest: Option<Value>,
    patch: &[Value],
    keys: &[&str],
) -> Result<Option<Value>, String> {
    // A `{$patch: ...}` element applies to the whole list.
    let mut patch: Vec<Value> = patch.to_vec();
    if let Some(i) = patch.iter().position(|e| {
        e.as_object()
            .is_some_and(|m| m.len() == 1 && m.contains_key("$patch"))
    }) {
        let m = patch.remove(i);
        match directive(m.as_object().unwrap_or(&Map::new()))? {
            Directive::Delete => return Ok(None),
            Directive::Replace => return Ok(Some(Value::Array(patch))),
            Directive::Merge => {}
        }
    }
    let mut dest: Vec<Value> = match dest {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(d)) => d,
        Some(_) => {
            return Err(format!(
                "wrong node kind at '{}': expected a list",
                path.join(".")
            ))
        }
    };
    if keys.len() > 1 {
        let valid = super::smp_keys::valid_keys(&dest, &patch, keys);
        if valid.len() > 1 {
            return super::smp_keys::merge_by_keys(gvk, path, dest, patch, &valid).map(Some);
        }
    }
    let dest_keys: Vec<Vec<String>> = dest.iter().map(|e| key_values(e, keys)).collect();
    let mut used = vec![false; dest.len()];
    let mut out = Vec::new();
    // Each patch element's key values and counterpart in the object; a counterpart that more
    // than one element names is copied for each, otherwise it is taken from the object.
    let found: Vec<(Vec<String>, Option<usize>)> = patch
        .iter()
        .map(|p| {
            let pk = key_values(p, keys);
            let found = if pk.iter().all(String::is_empty) {
                None
            } else {
                dest_keys.iter().position(|dk| same_element(dk, &pk))
            };
            (pk, found)
        })
        .collect();
    let mut hits = vec![0usize; dest.len()];
    for i in found.iter().filter_map(|(_, f)| *f) {
        hits[i] += 1;
    }
    // Patch elements first, in patch order, merged with their counterpart in the object.
    for (p, (pk, found)) in patch.into_iter().zip(found) {
        if pk.iter().all(String::is_empty) {
            out.push(p);
            continue;
        }
        if keys == [""] {
            if let Some(i) = found {
                used[i] = true;
            }
            out.push(p);
            continue;
        }
        let counterpart = found.map(|i| {
            if hits[i] > 1 {
                dest[i].clone()
            } else {
                std::mem::take(&mut dest[i])
            }
        });
        let merged = merge(gvk, path, counterpart, &p)?;
        if let Some(i) = found {
            used[i] = true;
        }
        match merged {
            Some(Value::Object(m)) if !m.is_empty() => {
                let mut m = m;
                for (k, v) in keys.iter().zip(&pk) {
                    if !v.is_empty() && !m.contains_key(*k) {
                        m.insert(k.to_string(), Value::String(v.clone()));
                    }
                }
                out.push(Value::Object(m));
            }
            Some(other @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => out.push(other),
            // Deleted (or emptied) elements leave the list.
            _ => {}
        }
    }
    // Then the object's elements the patch did not mention, in their order.
    for (i, d) in dest.into_iter().enumerate() {
        if !used[i] {
            out.push(d);
        }
    }
    Ok(Some(Value::Array(out)))
}

/// The key a [`crate::manifest::DUPLICATE_MARK`] inside `v` names, if there is one.
fn duplicate_mark(v: &Value) -> Option<&str> {
    match v {
        Value::Object(m) => m
            .get(crate::manifest::DUPLICATE_MARK)
            .and_then(Value::as_object)
            .and_then(|d| d.keys().next().map(String::as_str))
            .or_else(|| m.values().find_map(duplicate_mark)),
        Value::Array(items) => items.iter().find_map(duplicate_mark),
        _ => None,
    }
}

/// Labels and annotations of a `patchesStrategicMerge` or targeted patch: kustomize reads
/// them into a Go map and back, so a key defined twice keeps its last value there.
pub fn settle_metadata_duplicates(patch: &mut Value) {
    for field in ["labels", "annotations"] {
        let Some(Value::Object(m)) = patch.get_mut("metadata").and_then(|m| m.get_mut(field))
        else {
            continue;
        };
        if let Some(Value::Object(last)) = m.remove(crate::manifest::DUPLICATE_MARK) {
            m.extend(last);
        }
    }
}

/// [`apply_allowing`] with no `options`.
#[cfg(test)]
pub fn apply(object: &mut Value, patch: &Value) -> Result<bool, String> {
    apply_allowing(object, patch, (false, false))
}

/// Applies one strategic merge patch to `object` in place; `Ok(false)` when the patch deleted
/// the object. Name, namespace and kind stay the object's own, as in kustomize, unless
/// `patches[].options` let the patch's name (`allowNameChange`) or kind (`allowKindChange`)
/// replace the object's; the namespace always stays.
pub fn apply_allowing(
    object: &mut Value,
    patch: &Value,
    (allow_name, allow_kind): (bool, bool),
) -> Result<bool, String> {
    let kind = object["kind"].as_str().unwrap_or("").to_string();
    let api_version = object["apiVersion"].as_str().unwrap_or("").to_string();
    let name = object["metadata"]["name"].clone();
    let namespace = object["metadata"]["namespace"].clone();
    // The object is merged in place of a copy; an error ends the build, so what is left of it
    // then does not matter.
    let merged = merge(
        (&api_version, &kind),
        &mut Vec::new(),
        Some(std::mem::take(object)),
        patch,
    )?;
    let Some(mut merged) = merged.filter(|m| m.as_object().is_some_and(|m| !m.is_empty())) else {
        return Ok(false);
    };
    if duplicate_mark(patch).is_some() {
        if let Some(key) = duplicate_mark(&merged) {
            return Err(format!(
                "yaml: unmarshal errors: mapping key {key:?} already defined (the patch defines it twice in a part the object lacks, which kustomize copies whole; remove one)"
            ));
        }
    }
    if !allow_kind {
        merged["kind"] = Value::String(kind);
    }
    if let Some(Value::Object(meta)) = merged.get_mut("metadata") {
        if !allow_name {
            meta.insert("name".into(), name);
        }
        match namespace {
            Value::String(ns) if !ns.is_empty() => {
                meta.insert("namespace".into(), Value::String(ns));
            }
            _ => {
                meta.remove("namespace");
            }
        }
    }
    *object = merged;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name_with_patch_elements_first() {
        let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 1, "template": {"spec": {
                "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}],
                "volumes": [{"name": "v", "emptyDir": {}}],
                "tolerations": [{"key": "k"}]}}}});
        let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "other"},
            "spec": {"replicas": null, "template": {"spec": {
                "containers": [{"name": "b", "image": "z"}, {"name": "c", "image": "w"}],
                "volumes": [{"name": "v", "emptyDir": null, "hostPath": {"path": "/p"}}],
                "tolerations": [{"key": "t"}]}}}});
        assert!(apply(&mut obj, &patch).expect("applies"));
        assert_eq!(obj["metadata"]["name"], "d");
        assert!(obj["spec"].get("replicas").is_none());
        let spec = &obj["spec"]["template"]["spec"];
        assert_eq!(
            spec["containers"],
            json!([{"name": "b", "image": "z"}, {"name": "c", "image": "w"}, {"name": "a", "image": "x"}])
        );
        assert_eq!(
            spec["volumes"],
            json!([{"name": "v", "hostPath": {"path": "/p"}}])
        );
        assert_eq!(spec["tolerations"], json!([{"key": "t"}]));
    }

    #[test]
    fn patch_directives() {
        let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {
            "containers": [{"name": "a"}, {"name": "b"}]}}}});
        let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {
            "containers": [{"name": "a", "$patch": "delete"}]}}}});
        apply(&mut obj, &patch).expect("applies");
        assert_eq!(
            obj["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b"}])
        );
        let gone = json!({"kind": "Deployment", "metadata": {"name": "d"}, "$patch": "delete"});
        assert!(!apply(&mut obj, &gone).expect("applies"));
    }
}
