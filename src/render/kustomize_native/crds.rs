//! `crds`: legacy OpenAPI definition files (a map from Go type name to `{Schema: ...}`)
//! whose vendor extensions add field specs to the transformer tables, as kustomize's
//! `LoadConfigFromCRDs` does: `x-kubernetes-annotation` to commonAnnotations,
//! `x-kubernetes-label-selector` to commonLabels, `x-kubernetes-identity` to namePrefix, and
//! `x-kubernetes-object-ref-api-version` with `-kind` (and `-name-key`, default `name`) to
//! nameReference. A type counts when its properties hold kind, apiVersion and metadata; its
//! kind is the type name's last dot-separated part, and `$ref`s to other named types of the
//! same file are followed, extending the path.

use super::error::Error;
use super::fieldspec::FieldSpec;
use super::kustomization::Kustomization;
use super::tconfig::Config;
use serde_json::{Map, Value};
use std::path::Path;

/// Reads every file `k.crds` names into one set of tables.
pub fn load(k: &Kustomization, dir: &Path) -> Result<Config, Error> {
    let mut config = Config::default();
    for (i, path) in k.crds.iter().enumerate() {
        let field = format!("crds[{i}]");
        let bytes = super::loader::read_file(k, dir, &field, path)?;
        let file = dir.join(path);
        let fail = |message: String| Error::Parse {
            file: file.clone(),
            message: format!("unable to parse open API definition from '{path}': {message}"),
        };
        let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
        let docs = crate::manifest::parse_documents(&text).map_err(|e| fail(e.to_string()))?;
        let defs = match docs.as_slice() {
            [] => Map::new(),
            [Value::Object(m)] => m.clone(),
            _ => {
                return Err(fail(
                    "expected one mapping of type names to definitions".into(),
                ))
            }
        };
        let mut one = Config::default();
        for (name, def) in &defs {
            let Some(props) = properties(def) else {
                continue;
            };
            if !["kind", "apiVersion", "metadata"]
                .iter()
                .all(|p| props.contains_key(*p))
            {
                continue;
            }
            let kind = name.rsplit('.').next().unwrap_or(name);
            walk(&mut one, kind, &defs, name, &mut Vec::new(), 0);
        }
        let one = one.settle(None).map_err(&fail)?;
        config.merge(one).map_err(&fail)?;
    }
    Ok(config)
}

/// A definition's `Schema.properties` (Go's JSON decoding matches `schema` too).
fn properties(def: &Value) -> Option<&Map<String, Value>> {
    let schema = def.get("Schema").or_else(|| def.get("schema"))?;
    schema.get("properties")?.as_object()
}

/// An extension given as text (kustomize reads them with `GetString`: other values do not
/// count).
fn ext<'a>(prop: &'a Value, key: &str) -> Option<&'a str> {
    prop.get(key)?.as_str()
}

fn walk(
    config: &mut Config,
    kind: &str,
    defs: &Map<String, Value>,
    type_name: &str,
    path: &mut Vec<String>,
    depth: usize,
) {
    // A self-referencing type would recurse forever in kustomize; stop well before.
    if depth > 32 {
        return;
    }
    let Some(props) = defs.get(type_name).and_then(properties) else {
        return;
    };
    for (prop_name, prop) in props {
        path.push(prop_name.clone());
        let spec = |path: &[String]| FieldSpec::new("", "", kind, &path.join("/"), false);
        if ext(prop, "x-kubernetes-annotation").is_some() {
            push(&mut config.common_annotations, spec(path));
        }
        if ext(prop, "x-kubernetes-label-selector").is_some() {
            push(&mut config.common_labels, spec(path));
        }
        if ext(prop, "x-kubernetes-identity").is_some() {
            push(&mut config.name_prefix, spec(path));
        }
        if let (Some(version), Some(target)) = (
            ext(prop, "x-kubernetes-object-ref-api-version"),
            ext(prop, "x-kubernetes-object-ref-kind"),
        ) {
            let key = ext(prop, "x-kubernetes-object-ref-name-key").unwrap_or("name");
            path.push(key.to_string());
            let entry = (
                (String::new(), version.to_string(), target.to_string()),
                spec(path),
            );
            path.pop();
            if !config.name_reference.contains(&entry) {
                config.name_reference.push(entry);
            }
        }
        if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
            walk(config, kind, defs, r, path, depth + 1);
        }
        path.pop();
    }
}

fn push(into: &mut Vec<FieldSpec>, spec: FieldSpec) {
    if !into.contains(&spec) {
        into.push(spec);
    }
}
