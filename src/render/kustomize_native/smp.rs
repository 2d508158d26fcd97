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
            // kyaml walks the object's fields the patch leaves out as well.
            if merging {
                for (key, v) in out.iter_mut() {
                    if !p.contains_key(key) && (v.is_object() || v.is_array()) {
                        path.push(key.clone());
                        settle(gvk, path, v)?;
                        path.pop();
                    }
                }
            }
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

/// What kyaml's walk does to a part of the object no patch field reaches: its lists merged
/// by key are merged with nothing, which collapses elements sharing key values, removes
/// keyed elements beside keyless ones and keeps each value of a merged list of scalars once.
pub(super) fn settle(
    gvk: (&str, &str),
    path: &mut Vec<String>,
    value: &mut Value,
) -> Result<(), String> {
    match value {
        Value::Object(m) => {
            for (key, v) in m.iter_mut() {
                if v.is_object() || v.is_array() {
                    path.push(key.clone());
                    settle(gvk, path, v)?;
                    path.pop();
                }
            }
        }
        Value::Array(items) => {
            let keys: Vec<String> = match super::openapi::list_keys(gvk.0, gvk.1, path) {
                None => return Ok(()),
                Some(Keys::Builtin(keys)) => keys.iter().map(|k| k.to_string()).collect(),
                Some(Keys::Custom(keys)) => keys,
            };
            let list = std::mem::take(items);
            *value = if keys == [""] {
                Value::Array(merge_scalars(Some(list), Vec::new()))
            } else {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                super::smp_assoc::merge_by_keys(gvk, path, Some(list), Vec::new(), &keys)?
            };
        }
        _ => {}
    }
    Ok(())
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
    // kyaml merges a list the object lacks (or has as null) from the patch into itself.
    let dest: Option<Vec<Value>> = match dest {
        None | Some(Value::Null) => None,
        Some(Value::Array(d)) => Some(d),
        Some(_) => {
            return Err(format!(
                "wrong node kind at '{}': expected a list",
                path.join(".")
            ))
        }
    };
    if keys != [""] {
        return super::smp_assoc::merge_by_keys(gvk, path, dest, patch, keys).map(Some);
    }
    Ok(Some(Value::Array(merge_scalars(dest, patch))))
}

/// A merged list of scalars as kyaml walks it: each value once, the patch's first, then
/// the object's others; a value the object has keeps the object's spelling (`"1"` for `1`).
fn merge_scalars(dest: Option<Vec<Value>>, patch: Vec<Value>) -> Vec<Value> {
    let text = |v: &Value| super::fieldspec::scalar_text(v).unwrap_or_default();
    let dest = dest.unwrap_or_else(|| patch.clone());
    let mut out: Vec<Value> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for p in patch {
        let t = text(&p);
        if !texts.contains(&t) {
            texts.push(t);
            out.push(p);
        }
    }
    for d in dest {
        match texts.iter().position(|t| *t == text(&d)) {
            Some(i) => out[i] = d,
            None => {
                texts.push(text(&d));
                out.push(d);
            }
        }
    }
    out
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
    // kyaml's walker takes the schema of the first of object and patch whose type the schema
    // in effect knows: a patch of another kind (a Deployment patch on a StatefulSet target)
    // brings its own type's merge keys when a schema file leaves the object's type out.
    let text = |v: &Value, f: &str| v[f].as_str().unwrap_or("").to_string();
    let (patch_api, patch_kind) = (text(patch, "apiVersion"), text(patch, "kind"));
    let gvk = if !super::openapi::knows_type(&api_version, &kind)
        && super::openapi::knows_type(&patch_api, &patch_kind)
    {
        (patch_api.as_str(), patch_kind.as_str())
    } else {
        (api_version.as_str(), kind.as_str())
    };
    // The object is merged in place of a copy; an error ends the build, so what is left of it
    // then does not matter.
    let merged = merge(gvk, &mut Vec::new(), Some(std::mem::take(object)), patch)?;
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
