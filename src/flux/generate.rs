//! The `kustomization.yaml` kustomize-controller builds for a Kustomization: the one in `path`
//! (or one it generates listing the directory's manifests when there is none), with the
//! Kustomization's `targetNamespace`, `namePrefix`, `nameSuffix`, `patches`, `components` and
//! `images` written into it, as Flux's generator (`fluxcd/pkg/kustomize`) does.

use super::spec::Kustomization;
use crate::source::{join, EntryKind, Tree};
use serde_json::{json, Map, Value};

/// The names kustomize recognises, in the order it looks for them.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file to write into `dir` (a repository path) and its text.
pub struct Generated {
    /// The file name in `dir` (the existing one's, or `kustomization.yaml`).
    pub file_name: String,
    pub text: String,
    /// True when `dir` had no kustomization file of its own.
    pub created: bool,
}

fn existing(tree: &dyn Tree, dir: &str) -> Option<(String, String)> {
    KUSTOMIZATION_FILES.iter().find_map(|f| {
        let p = join(dir, f)?;
        (tree.entry(&p) == Some(EntryKind::File)).then(|| (f.to_string(), p))
    })
}

/// Lists `dir`'s manifests as Flux does when there is no kustomization: every `.yaml`/`.yml`
/// file, and every subdirectory with a kustomization file of its own instead of its files, in
/// the order Go's `filepath.Walk` visits them.
fn scan(tree: &dyn Tree, dir: &str) -> Result<Vec<String>, String> {
    let files = tree.files_under(dir).map_err(|e| e.to_string())?;
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut entries: Vec<Vec<String>> = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&prefix).unwrap_or(f);
        let parts: Vec<&str> = rel.split('/').collect();
        // The first directory on the way that holds a kustomization stands for all below it.
        let owner = (1..parts.len()).find(|&n| {
            let sub = join(dir, &parts[..n].join("/")).unwrap_or_default();
            existing(tree, &sub).is_some()
        });
        match owner {
            Some(n) => entries.push(parts[..n].iter().map(|s| s.to_string()).collect()),
            None => {
                let ext_ok = rel.ends_with(".yaml") || rel.ends_with(".yml");
                if !ext_ok {
                    continue;
                }
                let text = tree.read(f).map_err(|e| e.to_string())?;
                crate::manifest::parse_rendered(&String::from_utf8_lossy(&text))
                    .map_err(|e| format!("failed to decode Kubernetes YAML from {f}: {e}"))?;
                entries.push(parts.iter().map(|s| s.to_string()).collect());
            }
        }
    }
    entries.sort();
    entries.dedup();
    Ok(entries
        .into_iter()
        .map(|parts| format!("./{}", parts.join("/")))
        .collect())
}

/// Flux's `IsLocalRelativePath`: no scheme, not absolute.
fn local_relative(p: &str) -> bool {
    !p.contains("://") && !p.starts_with('/')
}

/// The kustomization for `dir` with the Kustomization's settings merged in.
///
/// # Errors
/// An unreadable or malformed kustomization file, a file that is not YAML, a remote component.
pub fn generate(tree: &dyn Tree, dir: &str, spec: &Kustomization) -> Result<Generated, String> {
    let (file_name, mut kus, created) = match existing(tree, dir) {
        Some((name, path)) => {
            let bytes = tree.read(&path).map_err(|e| e.to_string())?;
            let v: Value = serde_yaml_ng::from_slice(&bytes).map_err(|e| format!("{path}: {e}"))?;
            let map = match v {
                Value::Object(m) => m,
                Value::Null => Map::new(),
                _ => return Err(format!("{path}: a kustomization must be a mapping")),
            };
            (name, map, false)
        }
        None => {
            let resources = scan(tree, dir)?;
            let mut m = Map::new();
            m.insert(
                "apiVersion".into(),
                json!("kustomize.config.k8s.io/v1beta1"),
            );
            m.insert("kind".into(), json!("Kustomization"));
            if resources.is_empty() {
                m.insert("namespace".into(), json!("_placeholder"));
            } else {
                m.insert("resources".into(), json!(resources));
            }
            ("kustomization.yaml".to_string(), m, true)
        }
    };
    let no_resources = kus
        .get("resources")
        .and_then(Value::as_array)
        .is_none_or(|r| r.is_empty());
    if !created && no_resources {
        // Flux's generator asks for origin annotations on a kustomization without resources.
        kus.insert("buildMetadata".into(), json!(["originAnnotations"]));
    }
    for (field, value) in [
        ("namespace", &spec.target_namespace),
        ("namePrefix", &spec.name_prefix),
        ("nameSuffix", &spec.name_suffix),
    ] {
        if let Some(v) = value {
            kus.insert(field.into(), json!(v));
        }
    }
    if !spec.patches.is_empty() {
        let list = array_field(&mut kus, "patches");
        for p in &spec.patches {
            let mut entry = Map::new();
            entry.insert("patch".into(), json!(p.patch));
            if let Some(t) = &p.target {
                let keep = [
                    "group",
                    "version",
                    "kind",
                    "name",
                    "namespace",
                    "labelSelector",
                    "annotationSelector",
                ];
                let target: Map<String, Value> = t
                    .iter()
                    .filter(|(k, v)| keep.contains(&k.as_str()) && v.as_str() != Some(""))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                entry.insert("target".into(), Value::Object(target));
            }
            list.push(Value::Object(entry));
        }
    }
    for c in &spec.components {
        if !local_relative(c) {
            return Err(format!(
                "spec.components: component path '{c}' must be local and relative"
            ));
        }
        let exists = join(dir, c).is_some_and(|p| tree.entry(&p).is_some());
        if !exists && spec.ignore_missing_components {
            continue;
        }
        array_field(&mut kus, "components").push(json!(c));
    }
    for image in &spec.images {
        let list = array_field(&mut kus, "images");
        let found = list
            .iter_mut()
            .find(|i| i["name"].as_str() == Some(image.name.as_str()));
        match found {
            Some(Value::Object(i)) => {
                if let Some(n) = image.new_name.as_deref().filter(|n| !n.is_empty()) {
                    i.insert("newName".into(), json!(n));
                }
                let tag = image.new_tag.as_deref().unwrap_or_default();
                let digest = image.digest.as_deref().unwrap_or_default();
                if !tag.is_empty() || !digest.is_empty() {
                    set_or_remove(i, "newTag", tag);
                    set_or_remove(i, "digest", digest);
                }
            }
            _ => {
                let mut i = Map::new();
                i.insert("name".into(), json!(image.name));
                set_or_remove(
                    &mut i,
                    "newName",
                    image.new_name.as_deref().unwrap_or_default(),
                );
                set_or_remove(
                    &mut i,
                    "newTag",
                    image.new_tag.as_deref().unwrap_or_default(),
                );
                set_or_remove(
                    &mut i,
                    "digest",
                    image.digest.as_deref().unwrap_or_default(),
                );
                list.push(Value::Object(i));
            }
        }
    }
    let text = serde_yaml_ng::to_string(&Value::Object(kus)).map_err(|e| e.to_string())?;
    Ok(Generated {
        file_name,
        text,
        created,
    })
}

/// Go leaves empty strings out when it writes the kustomization (`omitempty`).
fn set_or_remove(m: &mut Map<String, Value>, key: &str, value: &str) {
    if value.is_empty() {
        m.remove(key);
    } else {
        m.insert(key.into(), json!(value));
    }
}

fn array_field<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Vec<Value> {
    if !m.get(key).is_some_and(Value::is_array) {
        m.insert(key.into(), Value::Array(Vec::new()));
    }
    match m.get_mut(key) {
        Some(Value::Array(a)) => a,
        _ => unreachable!("inserted above"),
    }
}
