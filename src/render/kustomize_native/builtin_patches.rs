//! The builtin patch plugins given as `transformers:` configurations: `PatchTransformer`
//! (one `patches` entry), `PatchJson6902Transformer` (one `patchesJson6902` entry, its ops
//! under `jsonOp`) and `PatchStrategicMergeTransformer` (`paths` and inline `patches`, as
//! the `patchesStrategicMerge` field). Each is turned into the kustomization field it mirrors
//! and run by the `patches` module, so both spellings behave alike.

use super::error::Error;
use super::fields::Reader;
use super::kustomization::Kustomization;
use super::resource::Resource;
use serde_json::{Map, Value};
use std::path::Path;

fn config_error(cfg: &Resource, message: &str) -> Error {
    Error::Resource {
        file: cfg.file.clone(),
        message: format!("plugin {} fails configuration: {message}", cfg.gvk().kind),
    }
}

/// The configuration without its object header: the entry it stands for.
fn body(cfg: &Resource) -> Result<Map<String, Value>, Error> {
    let Value::Object(m) = &cfg.value else {
        return Err(config_error(cfg, "expected a mapping"));
    };
    let mut entry = m.clone();
    for key in ["apiVersion", "kind", "metadata"] {
        entry.remove(key);
    }
    Ok(entry)
}

fn dir_of(k: &Kustomization) -> &Path {
    k.file.parent().unwrap_or(Path::new(""))
}

/// Reads `entry` as one item of the kustomization list `field`, from the config's file.
fn read_entry(
    cfg: &Resource,
    field: &str,
    entry: Map<String, Value>,
) -> Result<Vec<super::kustomization::Patch>, Error> {
    let mut map = Map::new();
    map.insert(field.into(), Value::Array(vec![Value::Object(entry)]));
    let reader = Reader {
        file: &cfg.file,
        map: &map,
    };
    reader.patches(field)
}

/// `PatchTransformer`: its path read relative to the kustomization, as the field's is.
pub fn patch(k: &Kustomization, cfg: &Resource, acc: &mut Vec<Resource>) -> Result<(), Error> {
    let mut one = k.clone();
    one.patches = read_entry(cfg, "patches", body(cfg)?)?;
    super::patches::apply_patches(&one, dir_of(k), acc)
}

/// `PatchJson6902Transformer`: a target with a name, and ops inline (`jsonOp`) or in a file.
pub fn json6902(k: &Kustomization, cfg: &Resource, acc: &mut [Resource]) -> Result<(), Error> {
    let mut entry = body(cfg)?;
    let text = |e: &Map<String, Value>, f: &str| {
        e.get(f)
            .and_then(super::fieldspec::scalar_text)
            .unwrap_or_default()
    };
    let (path, op) = (text(&entry, "path"), text(&entry, "jsonOp"));
    if entry
        .get("target")
        .and_then(|t| t.get("name"))
        .and_then(super::fieldspec::scalar_text)
        .unwrap_or_default()
        .is_empty()
    {
        return Err(config_error(cfg, "must specify the target name"));
    }
    match (path.is_empty(), op.is_empty()) {
        (true, true) => return Err(config_error(cfg, "empty file path and empty jsonOp")),
        (false, false) => {
            return Err(config_error(
                cfg,
                "must specify a file path or jsonOp, not both",
            ))
        }
        _ => {}
    }
    if let Some(op) = entry.remove("jsonOp") {
        entry.insert("patch".into(), op);
    }
    let mut one = k.clone();
    one.patches_json6902 = read_entry(cfg, "patchesJson6902", entry)?;
    super::patches::apply_json6902(&one, dir_of(k), acc)
}

/// `PatchStrategicMergeTransformer`: `paths` (each a file, or patch text for legacy
/// reasons) and then the documents of `patches`.
pub fn strategic_merge(
    k: &Kustomization,
    cfg: &Resource,
    acc: &mut Vec<Resource>,
) -> Result<(), Error> {
    let entry = body(cfg)?;
    let mut list = Vec::new();
    match entry.get("paths") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match super::fieldspec::scalar_text(item) {
                    Some(p) => list.push(p),
                    None => return Err(config_error(cfg, "`paths` must be a list of strings")),
                }
            }
        }
        Some(_) => return Err(config_error(cfg, "`paths` must be a list of strings")),
    }
    let inline = entry
        .get("patches")
        .and_then(super::fieldspec::scalar_text)
        .unwrap_or_default();
    if list.is_empty() && inline.is_empty() {
        return Err(config_error(cfg, "empty file path and empty patch content"));
    }
    if !inline.is_empty() {
        list.push(inline);
    }
    let mut one = k.clone();
    one.patches_strategic_merge = list;
    super::patches::apply_strategic_merge_field(&one, dir_of(k), acc)
}
