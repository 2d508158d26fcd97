//! `replacements` and the `ReplacementTransformer` config (`api/filters/replacement`): copy
//! one field of one object (or a fixed value) into fields of the selected objects, whole or
//! as one part of a delimited string, creating the fields when asked.

mod model;
mod path;

pub use model::Replacement;

use super::error::Error;
use super::fieldspec::scalar_text;
use super::kustomization::Kustomization;
use super::resource::{ResId, Resource};
use super::selector::Selector;
use model::{Options, Source, Target};
use path::Create;
use serde_json::Value;
use std::path::Path;

/// Reads a list of `replacements` entries (the kustomization field, or a config's), loading
/// `path` entries from files under `dir`.
pub fn load(
    k: &Kustomization,
    dir: &Path,
    file: &Path,
    entries: &[Value],
    field: &str,
) -> Result<Vec<Replacement>, Error> {
    let mut out = Vec::new();
    for (i, v) in entries.iter().enumerate() {
        let at = format!("{field}[{i}]");
        match model::entry(file, &at, v)? {
            model::Entry::Inline(r) => out.push(*r),
            model::Entry::Path(p) => {
                let bytes = super::loader::read_file(k, dir, &format!("{at}.path"), &p)?;
                let full = dir.join(&p);
                let text = String::from_utf8(bytes).map_err(|_| Error::Parse {
                    file: full.clone(),
                    message: "not UTF-8 text".into(),
                })?;
                out.extend(model::from_file(&full, &text)?);
            }
        }
    }
    Ok(out)
}

/// Applies `replacements` in order over `acc`.
pub fn apply(replacements: &[Replacement], acc: &mut [Resource]) -> Result<(), Error> {
    for r in replacements {
        let fail = |object: String, message: String| Error::Transform {
            file: r.file.clone(),
            field: r.field.clone(),
            object,
            message,
        };
        let (value, source) = source_value(&r.source, acc).map_err(|message| Error::Transform {
            file: r.file.clone(),
            field: format!("{}.source", r.field),
            object: String::new(),
            message,
        })?;
        let mut value = value;
        for (t, target) in r.targets.iter().enumerate() {
            apply_target(target, &mut value, source.as_ref(), acc).map_err(|(i, m)| {
                let object = acc.get(i).map(|o| o.id().to_string()).unwrap_or_default();
                fail(object, format!("targets[{t}]: {m}"))
            })?;
        }
    }
    Ok(())
}

/// kustomize's `MakeResIds`: the current id (namespace as written) and the earlier ones.
fn ids(res: &Resource) -> Vec<ResId> {
    let mut out = vec![res.id()];
    out.extend(res.previous_ids());
    out
}

/// kyaml's `ResId.IsSelectedBy` (kustomize v5.7.1 selects replacement sources and targets
/// this way, not by regex): given fields equal, namespaces compared as effective namespaces.
/// The ids replacements build (`MakeResIds`) and their selectors never know a kind as
/// cluster-scoped, so a ClusterRole's stray `metadata.namespace` counts, and no namespace is
/// `default` for every kind.
fn selected_by(
    group: &str,
    version: &str,
    kind: &str,
    name: &str,
    namespace: &str,
    id: &ResId,
) -> bool {
    let eq = |want: &str, have: &str| want.is_empty() || want == have;
    let effective = |ns: &str| if ns.is_empty() { "default" } else { ns }.to_string();
    eq(group, &id.gvk.group)
        && eq(version, &id.gvk.version)
        && eq(kind, &id.gvk.kind)
        && eq(name, &id.name)
        && (namespace.is_empty() || effective(namespace) == effective(&id.namespace))
}

fn source_selects(s: &Source, id: &ResId) -> bool {
    selected_by(&s.group, &s.version, &s.kind, &s.name, &s.namespace, id)
}

fn target_selects(s: &Selector, id: &ResId) -> bool {
    selected_by(&s.group, &s.version, &s.kind, &s.name, &s.namespace, id)
}

fn has_id_fields(s: &Selector) -> bool {
    [&s.group, &s.version, &s.kind, &s.name, &s.namespace]
        .iter()
        .any(|f| !f.is_empty())
}

/// A value to copy, and whether it is untyped text (a field a replacement created).
type Copied = (Value, bool);

/// The source's value and, when it is the source field itself (no delimiter), where that field
/// is (object index, JSON pointer): kyaml reads the live node, so a target that is the source
/// field changes the value the following targets get.
fn source_value(
    source: &Source,
    acc: &[Resource],
) -> Result<(Copied, Option<(usize, String)>), String> {
    let mut found = acc
        .iter()
        .enumerate()
        .filter(|(_, r)| ids(r).iter().any(|id| source_selects(source, id)));
    let (index, res) = found.next().ok_or_else(|| {
        format!("nothing selected by {source}: check the source's kind, name and namespace")
    })?;
    if found.next().is_some() {
        return Err(format!(
            "multiple matches for selector {source}: narrow the source with group, version or namespace"
        ));
    }
    let field_path = if source.field_path.is_empty() {
        "metadata.name"
    } else {
        &source.field_path
    };
    let mut object = res.value.clone();
    let pointers =
        path::find(&mut object, &path::split(field_path), Create::None).map_err(|e| {
            format!("error looking up replacement source: fieldPath `{field_path}`: {e}")
        })?;
    let pointer = pointers.first().cloned();
    let value = pointer
        .as_ref()
        .and_then(|p| object.pointer(p))
        .filter(|v| !is_nil_or_empty(v))
        .cloned()
        .ok_or_else(|| {
            format!(
                "fieldPath `{field_path}` is missing for replacement source {}",
                res.id()
            )
        })?;
    let untyped = pointer.as_deref().is_some_and(|p| res.is_untyped(p));
    let live = source.options.delimiter.is_empty();
    let at = pointer.filter(|_| live).map(|p| (index, p));
    Ok(((refine(&source.options, value)?, untyped), at))
}

fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// A source's `options.delimiter`/`index`: one part of the scalar.
fn refine(options: &Options, value: Value) -> Result<Value, String> {
    if options.delimiter.is_empty() {
        return Ok(value);
    }
    let text = scalar_text(&value).ok_or("delimiter option can only be used with scalar nodes")?;
    let parts: Vec<&str> = text.split(options.delimiter.as_str()).collect();
    let part = usize::try_from(options.index)
        .ok()
        .and_then(|i| parts.get(i))
        .ok_or_else(|| {
            format!(
                "options.index {} is out of bounds for value {text}",
                options.index
            )
        })?;
    // The part keeps the source node's type, as kyaml copies the node and changes its text.
    Ok(match value {
        Value::String(_) => Value::String((*part).to_string()),
        _ => super::resource::resolve_plain(part),
    })
}

fn apply_target(
    target: &Target,
    value: &mut Copied,
    source: Option<&(usize, String)>,
    acc: &mut [Resource],
) -> Result<(), (usize, String)> {
    // Only the label and annotation selectors are compiled; ids compare exactly.
    let select = target.select.compile().map_err(|e| (usize::MAX, e))?;
    let rejects = target
        .reject
        .iter()
        .map(|s| s.compile())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (usize::MAX, e))?;
    let default = ["metadata.name".to_string()];
    let field_paths: &[String] = if target.field_paths.is_empty() {
        &default
    } else {
        &target.field_paths
    };
    for (i, res) in acc.iter_mut().enumerate() {
        if !select.matches_meta(&res.value)
            || rejects
                .iter()
                .any(|r| r.has_meta_fields() && r.matches_meta(&res.value))
        {
            continue;
        }
        let ids = ids(res);
        let rejected = target
            .reject
            .iter()
            .filter(|r| has_id_fields(r))
            .any(|r| ids.iter().any(|id| target_selects(r, id)));
        if rejected || !ids.iter().any(|id| target_selects(&target.select, id)) {
            continue;
        }
        for fp in field_paths {
            let written = copy_to(res, fp, value, &target.options).map_err(|e| (i, e))?;
            if let Some((at, p)) = source {
                if *at == i && written.contains(p) {
                    if let Some(v) = res.value.pointer(p) {
                        *value = (v.clone(), res.is_untyped(p));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes `value` into the fields `fp` names of `res`; returns their pointers.
fn copy_to(
    res: &mut Resource,
    fp: &str,
    (value, untyped): &Copied,
    options: &Options,
) -> Result<Vec<String>, String> {
    let object = &mut res.value;
    let create = if options.create {
        Create::of(value)
    } else {
        Create::None
    };
    let what = if options.create {
        "unable to find or create field"
    } else {
        "unable to find field"
    };
    let pointers = path::find(object, &path::split(fp), create)
        .map_err(|e| format!("{what} {fp:?} in replacement target: {e}"))?;
    if pointers.is_empty() {
        let hint = if options.create {
            ""
        } else {
            " (set `options.create: true` to add it)"
        };
        return Err(format!("{what} {fp:?} in replacement target{hint}"));
    }
    for p in &pointers {
        let was_untyped = res.is_untyped(p);
        let field = res
            .value
            .pointer_mut(p)
            .ok_or("field vanished while replacing")?;
        // kustomize rebuilds `metadata.annotations` from each value's text at the end, so an
        // annotation keeps the text written into it ("1.0"), whatever type it resolved to.
        let annotation = super::resource::is_annotation(p);
        // A scalar target keeps its own tag; a mapping or list is replaced by the value's node.
        let flag = if field.is_object() || field.is_array() {
            *untyped
        } else {
            was_untyped
        };
        let untyped = set(field, value, flag, options, annotation)?;
        match field.as_str().filter(|_| untyped).map(str::to_string) {
            Some(text) => res.mark_untyped(p, &text),
            None => res.untyped.retain(|(q, _)| q != p),
        }
    }
    Ok(pointers)
}

/// kyaml's `setFieldValue`: a scalar target keeps its type and takes the value's text, other
/// targets take the value whole. A created field (null here) has no tag: it takes the text and
/// stays untyped, as does a field that was untyped already (`untyped` says so, or that the value
/// put in place of a mapping or list is untyped). Returns whether the field holds untyped text.
fn set(
    target: &mut Value,
    value: &Value,
    untyped: bool,
    options: &Options,
    annotation: bool,
) -> Result<bool, String> {
    let is_scalar = |v: &Value| !matches!(v, Value::Object(_) | Value::Array(_));
    let mut text = scalar_text(value).unwrap_or_default();
    if !options.delimiter.is_empty() {
        if !is_scalar(target) {
            return Err("delimiter option can only be used with scalar nodes".into());
        }
        let current = scalar_text(target).unwrap_or_default();
        let mut parts: Vec<&str> = current.split(options.delimiter.as_str()).collect();
        match usize::try_from(options.index) {
            Err(_) => parts.insert(0, &text),
            Ok(i) if i >= parts.len() => parts.push(&text),
            Ok(i) => parts[i] = &text,
        }
        text = parts.join(&options.delimiter);
    }
    let (new, untyped) = match target {
        Value::Null => (Value::String(text), true),
        Value::Number(_) if annotation => (Value::String(text), false),
        Value::String(_) => (Value::String(text), untyped),
        // The node keeps its number tag and takes the text; Go cannot decode it back then.
        Value::Number(n) => match crate::goyaml::plain_number(&text) {
            Some(n) => (Value::Number(n), false),
            None => {
                let tag = if n.is_f64() { "!!float" } else { "!!int" };
                return Err(format!("cannot decode !!str `{text}` as a {tag}"));
            }
        },
        Value::Bool(_) => match text.as_str() {
            "true" => (Value::Bool(true), false),
            "false" => (Value::Bool(false), false),
            _ => (Value::String(text), false),
        },
        Value::Object(_) | Value::Array(_) => (value.clone(), untyped && value.is_string()),
    };
    *target = new;
    Ok(untyped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn res(v: Value) -> Resource {
        Resource {
            value: v,
            file: PathBuf::from("r.yaml"),
            shared: Vec::new(),
            untyped: Vec::new(),
            track: Default::default(),
        }
    }

    fn parse(v: Value) -> Replacement {
        model::replacement(Path::new("k.yaml"), "replacements[0]", &v).expect("parses")
    }

    #[test]
    fn a_string_into_a_number_field_is_refused_as_kubectl_does() {
        let mut acc = vec![
            res(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}})),
            res(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 2}}),
            ),
        ];
        let r = parse(json!({
            "source": {"kind": "Service"},
            "targets": [{"select": {"kind": "Deployment"}, "fieldPaths": ["spec.replicas"]}]
        }));
        let err = apply(&[r], &mut acc).expect_err("refused").to_string();
        assert!(
            err.contains("cannot decode !!str `svc` as a !!int"),
            "{err}"
        );
    }

    #[test]
    fn copies_a_part_into_a_delimited_created_field() {
        let mut acc = vec![
            res(
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "ns"}}),
            ),
            res(
                json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"}, "spec": {"dnsNames": ["x.y.svc"]}}),
            ),
        ];
        let r = parse(json!({
            "source": {"kind": "Service", "fieldPath": "metadata.namespace"},
            "targets": [{"select": {"kind": "Certificate"}, "fieldPaths": ["spec.dnsNames.0", "metadata.annotations.[a.b/c]"],
                         "options": {"delimiter": ".", "index": 1, "create": true}}]
        }));
        apply(&[r], &mut acc).expect("applies");
        assert_eq!(acc[1].value["spec"]["dnsNames"][0], "x.ns.svc");
        // A created field starts empty, so part 1 is appended after an empty part 0 (as kyaml).
        assert_eq!(acc[1].value["metadata"]["annotations"]["a.b/c"], ".ns");
    }

    #[test]
    fn a_created_field_holds_untyped_text_until_typed() {
        let mut acc = vec![
            res(json!({"kind": "S", "metadata": {"name": "s"}, "data": {"n": "0x1f"}})),
            res(json!({"kind": "D", "metadata": {"name": "d"}})),
        ];
        let create = parse(json!({
            "source": {"kind": "S", "fieldPath": "data.n"},
            "targets": [{"select": {"kind": "D"}, "fieldPaths": ["spec.x", "metadata.annotations.x"],
                         "options": {"create": true}}]
        }));
        let append = parse(json!({
            "source": {"kind": "S"},
            "targets": [{"select": {"kind": "D"}, "fieldPaths": ["metadata.annotations.x"],
                         "options": {"delimiter": "-", "index": 1}}]
        }));
        apply(&[create, append], &mut acc).expect("applies");
        assert_eq!(
            acc[1].value["spec"]["x"], "0x1f",
            "text, not 31, until typed"
        );
        assert!(acc[1].is_untyped("/spec/x") && acc[1].is_untyped("/metadata/annotations/x"));
        acc[1].type_untyped(crate::render::kustomize_native::resource::is_annotation);
        assert_eq!(acc[1].value["spec"]["x"], 31);
        assert_eq!(acc[1].value["metadata"]["annotations"]["x"], "0x1f-s");
    }

    #[test]
    fn scalar_targets_keep_their_type() {
        let mut acc = vec![
            res(
                json!({"kind": "D", "metadata": {"name": "d"}, "spec": {"replicas": 1, "label": "x"}}),
            ),
            res(json!({"kind": "S", "metadata": {"name": "s"}, "data": {"n": "3"}})),
        ];
        let r = parse(json!({
            "source": {"kind": "S", "fieldPath": "data.n"},
            "targets": [{"select": {"kind": "D"}, "fieldPaths": ["spec.replicas", "spec.label"]}]
        }));
        apply(&[r], &mut acc).expect("applies");
        assert_eq!(acc[0].value["spec"], json!({"replicas": 3, "label": "3"}));
    }

    #[test]
    fn reject_and_missing_fields() {
        let mut acc = vec![
            res(json!({"kind": "D", "metadata": {"name": "a"}})),
            res(json!({"kind": "D", "metadata": {"name": "b"}})),
        ];
        let r = parse(json!({
            "source": {"kind": "D", "name": "b"},
            "targets": [{"select": {"kind": "D"}, "reject": [{"name": "b"}], "fieldPaths": ["spec.x"]}]
        }));
        let err = apply(&[r], &mut acc)
            .expect_err("spec.x missing")
            .to_string();
        assert!(err.contains("unable to find field \"spec.x\""), "{err}");
        assert!(err.contains("/a"), "names the object: {err}");
    }

    #[test]
    fn source_must_select_exactly_one() {
        let mut acc = vec![
            res(json!({"kind": "D", "metadata": {"name": "a"}})),
            res(json!({"kind": "D", "metadata": {"name": "b"}})),
        ];
        let many = parse(json!({"source": {"kind": "D"}, "targets": [{"select": {"kind": "D"}}]}));
        let err = apply(&[many], &mut acc)
            .expect_err("two sources")
            .to_string();
        assert!(err.contains("multiple matches"), "{err}");
        let none = parse(json!({"source": {"kind": "E"}, "targets": [{"select": {"kind": "D"}}]}));
        let err = apply(&[none], &mut acc).expect_err("no source").to_string();
        assert!(err.contains("nothing selected"), "{err}");
    }
}
