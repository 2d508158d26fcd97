//! `vars` (`ResAccumulator.MergeVars`/`ResolveVars`, `api/filters/refvar`): each level ties
//! its vars to the one object they name; once the whole tree is built, `$(NAME)` in the known
//! places (container commands, args, env values, ... of kustomize's `varReference` table) is
//! replaced by the named field's value.

use super::error::Error;
use super::fieldspec::{apply, Create, FieldSpec};
use super::kustomization::{Kustomization, Var};
use super::resource::{Gvk, ResId, Resource};
use serde_json::Value;
use std::collections::BTreeMap;

/// kustomize's built-in `varReference` field specs (`builtinpluginconsts/varreference.go`):
/// (group, version, kind, path).
const VAR_REFERENCES: &[(&str, &str, &str, &str)] = &[
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/args",
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/command",
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/env/value",
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/volumeMounts/mountPath",
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/args",
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/command",
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/env/value",
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    (
        "",
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/volumes/nfs/server",
    ),
    ("", "", "DaemonSet", "spec/template/spec/containers/args"),
    ("", "", "DaemonSet", "spec/template/spec/containers/command"),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/containers/env/value",
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/args",
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/command",
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/env/value",
    ),
    (
        "",
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("", "", "DaemonSet", "spec/template/spec/volumes/nfs/server"),
    ("", "", "Deployment", "spec/template/spec/containers/args"),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/containers/command",
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/containers/env/value",
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/initContainers/args",
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/initContainers/command",
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/initContainers/env/value",
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    (
        "",
        "",
        "Deployment",
        "spec/template/spec/volumes/nfs/server",
    ),
    ("", "", "Deployment", "spec/template/metadata/annotations"),
    ("", "", "Ingress", "spec/rules/host"),
    ("", "", "Ingress", "spec/tls/hosts"),
    ("", "", "Ingress", "spec/tls/secretName"),
    ("", "", "Job", "spec/template/spec/containers/args"),
    ("", "", "Job", "spec/template/spec/containers/command"),
    ("", "", "Job", "spec/template/spec/containers/env/value"),
    (
        "",
        "",
        "Job",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("", "", "Job", "spec/template/spec/initContainers/args"),
    ("", "", "Job", "spec/template/spec/initContainers/command"),
    ("", "", "Job", "spec/template/spec/initContainers/env/value"),
    (
        "",
        "",
        "Job",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("", "", "Job", "spec/template/spec/volumes/nfs/server"),
    ("", "", "Pod", "spec/containers/args"),
    ("", "", "Pod", "spec/containers/command"),
    ("", "", "Pod", "spec/containers/env/value"),
    ("", "", "Pod", "spec/containers/volumeMounts/mountPath"),
    ("", "", "Pod", "spec/initContainers/args"),
    ("", "", "Pod", "spec/initContainers/command"),
    ("", "", "Pod", "spec/initContainers/env/value"),
    ("", "", "Pod", "spec/initContainers/volumeMounts/mountPath"),
    ("", "", "Pod", "spec/volumes/nfs/server"),
    ("", "", "ReplicaSet", "spec/template/spec/containers/args"),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/containers/command",
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/containers/env/value",
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/args",
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/command",
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/env/value",
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    (
        "",
        "",
        "ReplicaSet",
        "spec/template/spec/volumes/nfs/server",
    ),
    ("", "", "Service", "spec/ports/port"),
    ("", "", "Service", "spec/ports/targetPort"),
    ("", "", "StatefulSet", "spec/template/spec/containers/args"),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/containers/command",
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/containers/env/value",
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/args",
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/command",
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/env/value",
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    (
        "",
        "",
        "StatefulSet",
        "spec/volumeClaimTemplates/spec/nfs/server",
    ),
    ("", "", "PersistentVolume", "spec/nfs/server"),
    ("", "", "", "metadata/labels"),
    ("", "", "", "metadata/annotations"),
];

/// `MergeVars` for one level: each var is tied to the single object it names (by current or
/// earlier id); a name defined twice differently is an error.
pub fn merge(k: &Kustomization, acc: &mut [Resource], vars: &mut Vec<Var>) -> Result<(), Error> {
    for (i, v) in k.vars.iter().enumerate() {
        let fail = |message: String| Error::Field {
            file: k.file.clone(),
            field: format!("vars[{i}]"),
            message,
        };
        let target = ResId {
            gvk: Gvk {
                group: v.group.clone(),
                version: v.version.clone(),
                kind: v.kind.clone(),
            },
            namespace: v.namespace.clone(),
            name: v.object.clone(),
        };
        let exact_namespace = !target.namespace.is_empty() || target.gvk.is_cluster_scoped();
        let matches = |id: &ResId| {
            if exact_namespace {
                id.key() == target.key()
            } else {
                id.gvk == target.gvk && id.name == target.name
            }
        };
        let matched: Vec<usize> = acc
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.previous_ids()
                    .iter()
                    .chain(std::iter::once(&r.id()))
                    .any(&matches)
            })
            .map(|(i, _)| i)
            .collect();
        match matched.as_slice() {
            [] => {}
            [one] => acc[*one].track.ref_vars.push(v.name.clone()),
            many => {
                return Err(fail(format!(
                    "found {} objects for var {} (unable to disambiguate)",
                    many.len(),
                    v.name
                )))
            }
        }
        match vars.iter().find(|known| known.name == v.name) {
            None => vars.push(v.clone()),
            Some(known) if known == v => {}
            Some(_) => return Err(fail(format!("var '{}' already encountered", v.name))),
        }
    }
    Ok(())
}

/// A dotted field path (`spec.containers[0].image`) looked up in an object.
fn field_value<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = value;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, Some(rest.trim_end_matches(']'))),
            None => (part, None),
        };
        if !name.is_empty() {
            node = node.get(name)?;
        }
        if let Some(index) = index {
            node = node.get(index.parse::<usize>().ok()?)?;
        }
    }
    Some(node)
}

/// Go's `%v` of a var's value inside a longer string.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => crate::goyaml::format_g(n.as_f64().unwrap_or(0.0)),
        other => other.to_string(),
    }
}

/// `DoReplacements`: `$(NAME)` for known names, `$$` for a literal `$`; a string that is
/// exactly one reference takes the value with its type.
fn replace(input: &str, values: &BTreeMap<String, Value>) -> Value {
    let b = input.as_bytes();
    let mut out = String::new();
    let (mut checkpoint, mut cursor) = (0, 0);
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        match values.get(name) {
                            Some(v) if input.len() == name.len() + 3 => return v.clone(),
                            Some(v) => out.push_str(&as_text(v)),
                            None => out.push_str(&format!("$({name})")),
                        }
                        close + 1
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    let c = rest.chars().next().unwrap_or('$');
                    out.push('$');
                    out.push(c);
                    c.len_utf8()
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint <= input.len() {
        out.push_str(&input[checkpoint.min(input.len())..]);
    }
    Value::String(out)
}

fn substitute(node: &mut Value, values: &BTreeMap<String, Value>) -> Result<(), String> {
    match node {
        Value::String(s) => {
            *node = replace(s, values);
            Ok(())
        }
        Value::Object(map) => {
            for v in map.values_mut() {
                if let Value::String(s) = v {
                    *v = replace(s, values);
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                let Value::String(s) = item else {
                    return Err("invalid value type expect a string".into());
                };
                *item = replace(s, values);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `ResolveVars`: reads every var's value, then replaces references in all objects.
/// The fields `$(VAR)` is replaced in by default; `configurations` add others.
pub fn var_reference_specs() -> Vec<FieldSpec> {
    VAR_REFERENCES
        .iter()
        .map(|(g, ver, kind, path)| FieldSpec::new(g, ver, kind, path, false))
        .collect()
}

/// Replaces `$(VAR)` in the fields `specs` reach (see [`var_reference_specs`]).
pub fn resolve(resources: &mut [Resource], vars: &[Var], specs: &[FieldSpec]) -> Result<(), Error> {
    let mut values = BTreeMap::new();
    for v in vars {
        let holder = resources
            .iter()
            .find(|r| r.track.ref_vars.contains(&v.name))
            .ok_or_else(|| Error::Resource {
                file: resources
                    .first()
                    .map(|r| r.file.clone())
                    .unwrap_or_default(),
                message: format!(
                    "var '{}' cannot be mapped to a field in the set of known resources",
                    v.name
                ),
            })?;
        let value = field_value(&holder.value, &v.field_path).ok_or_else(|| Error::Resource {
            file: holder.file.clone(),
            message: format!(
                "{}: field '{}' of var '{}' not found",
                holder.id(),
                v.field_path,
                v.name
            ),
        })?;
        values.insert(v.name.clone(), value.clone());
    }
    if values.is_empty() {
        return Ok(());
    }
    for res in resources.iter_mut() {
        for spec in specs {
            let mut set = |node: &mut Value, _: &str| substitute(node, &values);
            let id = res.id();
            apply(spec, &mut res.value, Create::Nothing, &mut set).map_err(|message| {
                Error::Resource {
                    file: res.file.clone(),
                    message: format!("{id}: {message}"),
                }
            })?;
        }
    }
    Ok(())
}
