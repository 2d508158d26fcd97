//! `namePrefix` and `nameSuffix` (`PrefixTransformer`, `SuffixTransformer`): every name but
//! those of CustomResourceDefinitions, APIServices and Namespaces.

use super::fieldspec::{apply, Create, FieldSpec};
use super::resource::Resource;
use serde_json::Value;

fn skipped(res: &Resource) -> bool {
    let gvk = res.gvk();
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.kind == "APIService" && gvk.group == "apiregistration.k8s.io")
}

/// The name fields `namePrefix` and `nameSuffix` reach by default.
pub fn default_field_specs() -> Vec<FieldSpec> {
    vec![FieldSpec::new("", "", "", "metadata/name", false)]
}

/// The prefix transformer, then the suffix transformer, each over its table of field specs
/// (by default `metadata/name` of every kind; `configurations` add others). A spec on
/// `metadata/name` renames the object, remembering the id it replaces (kustomize's
/// `AddNamePrefix`/`StorePreviousId`); any other puts the affix on the field's scalar text.
pub fn apply_affixes(
    resources: &mut [Resource],
    (prefix, prefix_specs): (&str, &[FieldSpec]),
    (suffix, suffix_specs): (&str, &[FieldSpec]),
) -> Result<(), (usize, String)> {
    if !prefix.is_empty() {
        affix_all(
            resources,
            prefix_specs,
            &|name| format!("{prefix}{name}"),
            &|res| res.track.prefixes.push(prefix.to_string()),
        )?;
    }
    if !suffix.is_empty() {
        affix_all(
            resources,
            suffix_specs,
            &|name| format!("{name}{suffix}"),
            &|res| res.track.suffixes.push(suffix.to_string()),
        )?;
    }
    Ok(())
}

/// One affix transformer over every object but the skipped kinds.
fn affix_all(
    resources: &mut [Resource],
    specs: &[FieldSpec],
    affix: &dyn Fn(&str) -> String,
    track: &dyn Fn(&mut Resource),
) -> Result<(), (usize, String)> {
    for (i, res) in resources.iter_mut().enumerate() {
        if !skipped(res) {
            affix_fields(res, specs, affix, track).map_err(|e| (i, e))?;
        }
    }
    Ok(())
}

fn affix_fields(
    res: &mut Resource,
    specs: &[FieldSpec],
    affix: &dyn Fn(&str) -> String,
    track: &dyn Fn(&mut Resource),
) -> Result<(), String> {
    for spec in specs {
        if spec.path == "metadata/name" {
            let gvk = res.gvk();
            if spec.selects(&gvk.group, &gvk.version, &gvk.kind) {
                track(res);
                res.store_previous_id();
                rename(res, affix);
            }
            continue;
        }
        let mut set = |v: &mut Value, _: &str| {
            let text = super::fieldspec::scalar_text(v).unwrap_or_default();
            *v = Value::String(affix(&text));
            Ok(())
        };
        apply(spec, &mut res.value, Create::Scalar, &mut set)?;
    }
    Ok(())
}

fn rename(res: &mut Resource, f: impl Fn(&str) -> String) {
    if let Some(Value::Object(meta)) = res.value.get_mut("metadata") {
        let name = meta
            .get("name")
            .and_then(super::fieldspec::scalar_text)
            .unwrap_or_default();
        meta.insert("name".into(), Value::String(f(&name)));
    }
}
