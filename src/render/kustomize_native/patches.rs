//! `patches` (JSON 6902 ones; strategic merge patches are refused for now),
//! `patchesJson6902` and `replicas` (`PatchTransformer`, `PatchJson6902Transformer`,
//! `ReplicaCountTransformer`).

use super::error::Error;
use super::fieldspec::{apply, Create, FieldSpec};
use super::kustomization::{Kustomization, Patch, Replica};
use super::resource::{read_patches, Resource};
use super::selector::{select, Selector};
use serde_json::Value;
use std::path::Path;

/// The patch text of an entry, inline or from its file.
fn patch_text(k: &Kustomization, dir: &Path, p: &Patch) -> Result<String, Error> {
    if !p.patch.is_empty() {
        return Ok(p.patch.clone());
    }
    let bytes = super::loader::read_file(k, dir, &format!("{}.path", p.field), &p.path)?;
    String::from_utf8(bytes).map_err(|_| Error::Field {
        file: k.file.clone(),
        field: format!("{}.path", p.field),
        message: format!("'{}' is not UTF-8 text", p.path),
    })
}

/// Parses JSON 6902 operations, written as JSON or YAML.
fn parse_ops(k: &Kustomization, p: &Patch, text: &str) -> Result<Option<Value>, Error> {
    let fail = |message: String| Error::Field {
        file: k.file.clone(),
        field: p.field.clone(),
        message,
    };
    // A key defined twice keeps its last value in JSON 6902 ops (read by sigs.k8s.io/yaml);
    // strategic merge patches are read again by `read_patches`.
    let docs = crate::manifest::parse_rendered(text)
        .map_err(|e| fail(format!("unable to parse the patch: {e}")))?;
    match docs.as_slice() {
        // kustomize reads the ops with YAML 1.1 (`YAMLToJSON`): `on` is true, `0x10` is 16.
        [ops @ Value::Array(items)] if !items.is_empty() => match super::yaml11::read(text) {
            Ok(ops @ Value::Array(_)) => Ok(Some(ops)),
            Err(super::yaml11::Unread::Invalid(e)) => {
                Err(fail(format!("unable to parse the patch: {e}")))
            }
            _ => Ok(Some(ops.clone())),
        },
        [Value::Array(_)] => Err(fail("the JSON patch is empty".into())),
        docs if !docs.is_empty() && docs.iter().all(Value::is_object) => Ok(None),
        _ => Err(fail(
            "unable to parse a strategic merge or JSON patch".into(),
        )),
    }
}

/// Go's `json.Unmarshal` into `interface{}` makes every number a float64; kustomize reads a
/// patched object back that way.
fn numbers_as_float(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().and_then(serde_json::Number::from_f64) {
                *n = f;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(numbers_as_float),
        Value::Object(map) => map.values_mut().for_each(numbers_as_float),
        _ => {}
    }
}

fn apply_ops(
    k: &Kustomization,
    p: &Patch,
    acc: &mut [Resource],
    ops: &Value,
    remember_ids: bool,
) -> Result<(), Error> {
    let Some(target) = &p.target else {
        return Err(Error::Field {
            file: k.file.clone(),
            field: p.field.clone(),
            message: "a JSON patch needs a `target`".into(),
        });
    };
    let chosen = select(acc, target).map_err(|message| Error::Field {
        file: k.file.clone(),
        field: format!("{}.target", p.field),
        message,
    })?;
    for i in chosen {
        let res = &mut acc[i];
        if remember_ids {
            res.store_previous_id();
        }
        let id = res.id();
        // kyaml turns the object into JSON first, which types every untyped scalar.
        res.type_untyped(|_| false);
        super::jsonpatch::apply(&mut res.value, ops).map_err(|message| Error::Transform {
            file: k.file.clone(),
            field: p.field.clone(),
            object: format!("{id} (from {})", res.file.display()),
            message,
        })?;
        numbers_as_float(&mut res.value);
        // kyaml rebuilds the object from JSON: no node is shared any more.
        res.shared.clear();
    }
    Ok(())
}

/// The `patches` field, entry by entry: JSON 6902 operations or strategic merge patches.
pub fn apply_patches(k: &Kustomization, dir: &Path, acc: &mut Vec<Resource>) -> Result<(), Error> {
    for p in &k.patches {
        let text = patch_text(k, dir, p)?;
        match parse_ops(k, p, &text)? {
            Some(ops) => apply_ops(k, p, acc, &ops, true)?,
            None => {
                let source = if p.path.is_empty() {
                    k.file.clone()
                } else {
                    dir.join(&p.path)
                };
                let patches = read_patches(&source, &text)?;
                apply_strategic(k, &p.field, acc, &patches, p.target.as_ref(), p.allow)?;
            }
        }
    }
    Ok(())
}

/// The deprecated `patchesStrategicMerge` field: files or inline patches, each applied to the
/// object it names.
pub fn apply_strategic_merge_field(
    k: &Kustomization,
    dir: &Path,
    acc: &mut Vec<Resource>,
) -> Result<(), Error> {
    for (i, entry) in k.patches_strategic_merge.iter().enumerate() {
        let field = format!("patchesStrategicMerge[{i}]");
        let inline = crate::manifest::parse_rendered(entry)
            .ok()
            .filter(|docs| !docs.is_empty() && docs.iter().all(|d| d.get("kind").is_some()));
        let patches = if inline.is_some() {
            read_patches(&k.file, entry)?
        } else {
            let bytes = super::loader::read_file(k, dir, &field, entry)?;
            let text = String::from_utf8(bytes).map_err(|_| Error::Field {
                file: k.file.clone(),
                field: field.clone(),
                message: format!("'{entry}' is not UTF-8 text"),
            })?;
            read_patches(&dir.join(entry), &text)?
        };
        let mut patches = patches;
        for p in &mut patches {
            super::smp::settle_metadata_duplicates(&mut p.value);
        }
        apply_strategic(k, &field, acc, &patches, None, (false, false))?;
    }
    Ok(())
}

/// Strategic merge patches: with a target, one patch for every selected object; without,
/// each patch for the one object with its own id.
fn apply_strategic(
    k: &Kustomization,
    field: &str,
    acc: &mut Vec<Resource>,
    patches: &[Resource],
    target: Option<&Selector>,
    allow: (bool, bool),
) -> Result<(), Error> {
    let fail = |message: String| Error::Field {
        file: k.file.clone(),
        field: field.to_string(),
        message,
    };
    let run = |res: &mut Resource, patch: &Value| -> Result<bool, Error> {
        let id = res.id();
        if allow.0 || allow.1 {
            res.store_previous_id();
        }
        super::smp::apply_allowing(&mut res.value, patch, allow).map_err(|message| {
            Error::Transform {
                file: k.file.clone(),
                field: field.to_string(),
                object: format!("{id} (from {})", res.file.display()),
                message,
            }
        })
    };
    match target {
        Some(target) => {
            let [patch] = patches else {
                return Err(fail(
                    "a `target` takes exactly one strategic merge patch".into(),
                ));
            };
            let chosen = select(acc, target).map_err(&fail)?;
            let mut keep = vec![true; acc.len()];
            for i in chosen {
                // kustomize patches with a copy whose labels and annotations went through
                // text and whose apiVersion is the target's.
                let mut p = patch.value.clone();
                super::smp::settle_metadata_duplicates(&mut p);
                for f in ["labels", "annotations"] {
                    if let Some(Value::Object(m)) = p.get_mut("metadata").and_then(|m| m.get_mut(f))
                    {
                        for v in m.values_mut() {
                            *v =
                                Value::String(super::fieldspec::scalar_text(v).unwrap_or_default());
                        }
                    }
                }
                p["apiVersion"] = acc[i].value["apiVersion"].clone();
                keep[i] = run(&mut acc[i], &p)?;
            }
            let mut n = 0;
            acc.retain(|_| {
                n += 1;
                keep[n - 1]
            });
            if allow.0 || allow.1 {
                // A renamed object may now share an id: kustomize's resource map refuses it.
                let mut seen = std::collections::HashSet::new();
                if let Some(r) = acc.iter().find(|r| !seen.insert(r.id().key())) {
                    return Err(fail(format!(
                        "may not add resource with an already registered id: {}",
                        r.id()
                    )));
                }
            }
        }
        None => {
            for patch in patches {
                let key = patch.id().key();
                let matches: Vec<usize> = acc
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        r.previous_ids()
                            .iter()
                            .chain(std::iter::once(&r.id()))
                            .any(|id| id.key() == key)
                    })
                    .map(|(i, _)| i)
                    .collect();
                let i = match matches.as_slice() {
                    [i] => *i,
                    [] => {
                        return Err(fail(format!(
                            "no resource matches strategic merge patch {}",
                            patch.id()
                        )))
                    }
                    _ => {
                        return Err(fail(format!(
                            "multiple resources match strategic merge patch {}",
                            patch.id()
                        )))
                    }
                };
                if !run(&mut acc[i], &patch.value)? {
                    acc.remove(i);
                }
            }
        }
    }
    Ok(())
}

/// The deprecated `patchesJson6902` field.
pub fn apply_json6902(k: &Kustomization, dir: &Path, acc: &mut [Resource]) -> Result<(), Error> {
    for p in &k.patches_json6902 {
        if p.target.as_ref().is_none_or(|t| t.name.is_empty()) {
            return Err(Error::Field {
                file: k.file.clone(),
                field: format!("{}.target", p.field),
                message: "must specify the target name".into(),
            });
        }
        let text = patch_text(k, dir, p)?;
        match parse_ops(k, p, &text)? {
            Some(ops) => apply_ops(k, p, acc, &ops, false)?,
            None => {
                return Err(Error::Field {
                    file: k.file.clone(),
                    field: p.field.clone(),
                    message: "expected a list of JSON patch operations".into(),
                })
            }
        }
    }
    Ok(())
}

/// The `replicas` field: `spec/replicas` of the Deployments, ReplicationControllers,
/// ReplicaSets and StatefulSets with that name (now or before a rename).
/// The fields `replicas` sets by default; `configurations` add others.
pub fn replica_field_specs() -> Vec<FieldSpec> {
    [
        "Deployment",
        "ReplicationController",
        "ReplicaSet",
        "StatefulSet",
    ]
    .iter()
    .map(|kind| FieldSpec::new("", "", kind, "spec/replicas", true))
    .collect()
}

/// `replicas`, over `specs` (the default table with any `configurations` specs): each spec
/// sets the count on the objects of its kind that have, or had, the name.
pub fn apply_replicas(
    k: &Kustomization,
    acc: &mut [Resource],
    specs: &[FieldSpec],
) -> Result<(), Error> {
    for (n, r) in k.replicas.iter().enumerate() {
        set_replicas(&k.file, &format!("replicas[{n}]"), r, acc, specs)?;
    }
    Ok(())
}

/// kustomize's `ReplicaCountTransformer`: fails when no spec reaches an object of that name.
pub fn set_replicas(
    file: &std::path::Path,
    field: &str,
    r: &Replica,
    acc: &mut [Resource],
    specs: &[FieldSpec],
) -> Result<(), Error> {
    let mut found = false;
    for spec in specs {
        for res in acc.iter_mut() {
            let ids: Vec<_> = res
                .previous_ids()
                .into_iter()
                .chain(std::iter::once(res.id()))
                .collect();
            if !ids.iter().any(|id| {
                id.name == r.name && id.gvk.selected_by(&spec.group, &spec.version, &spec.kind)
            }) {
                continue;
            }
            found = true;
            let count = Value::Number(r.count.clone());
            let mut set = |node: &mut Value, _: &str| {
                *node = count.clone();
                Ok(())
            };
            let id = res.id();
            apply(spec, &mut res.value, Create::Scalar, &mut set).map_err(|message| {
                Error::Transform {
                    file: file.to_path_buf(),
                    field: field.to_string(),
                    object: id.to_string(),
                    message,
                }
            })?;
        }
    }
    if !found {
        let kinds: Vec<&str> = specs.iter().map(|s| s.kind.as_str()).collect();
        return Err(Error::Field {
            file: file.to_path_buf(),
            field: field.to_string(),
            message: format!(
                "resource with name {} does not match a config with the following kinds [{}]",
                r.name,
                kinds.join(" ")
            ),
        });
    }
    Ok(())
}
