//! Resources as kustomize holds them: one object each, read from a file (with `List` kinds
//! expanded), identified by group, version, kind, namespace and name.

use super::error::Error;
use super::scope::is_cluster_scoped;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// Group, version and kind, split from `apiVersion` as kustomize does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// kustomize's `Gvk.IsSelected`: the selector's non-empty parts must match.
    pub fn selected_by(&self, group: &str, version: &str, kind: &str) -> bool {
        (group.is_empty() || group == self.group)
            && (version.is_empty() || version == self.version)
            && (kind.is_empty() || kind == self.kind)
    }

    pub fn of(value: &Value) -> Gvk {
        let api_version = value["apiVersion"].as_str().unwrap_or("");
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Gvk {
            group,
            version,
            kind: value["kind"].as_str().unwrap_or("").to_string(),
        }
    }

    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped(&self.group, &self.version, &self.kind)
    }
}

/// kustomize's `TotallyNotANamespace`, the effective namespace of cluster-scoped objects.
pub const NOT_A_NAMESPACE: &str = "_non_namespaceable_";

/// A resource's current identity (kustomize's `CurId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResId {
    pub gvk: Gvk,
    pub namespace: String,
    pub name: String,
}

impl ResId {
    /// The namespace used when comparing ids: none for cluster-scoped kinds, and an empty
    /// namespace counts as `default`.
    pub fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            NOT_A_NAMESPACE
        } else if self.namespace.is_empty() || self.namespace == "default" {
            "default"
        } else {
            &self.namespace
        }
    }

    /// Equal keys for equal ids in kustomize's sense (`ResId.Equals`).
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.gvk.group,
            self.gvk.version,
            self.gvk.kind,
            self.name,
            self.effective_namespace()
        )
    }
}

impl fmt::Display for ResId {
    /// kustomize's `ResId.String()`: `Kind.version.group/name.namespace`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        let ns = or(&self.namespace, "[noNs]");
        write!(
            f,
            "{}.{}.{}/{}.{}",
            or(&self.gvk.kind, "[noKind]"),
            or(&self.gvk.version, "[noVer]"),
            or(&self.gvk.group, "[noGrp]"),
            self.name,
            ns
        )
    }
}

/// One object and the file it was read from (for error messages).
#[derive(Debug, Clone)]
pub struct Resource {
    pub value: Value,
    pub file: PathBuf,
    /// Label and annotation values that are one node in kustomize's memory: a transformer
    /// that creates the same key at several places (say `metadata/labels` and the pod
    /// template's) creates them as one shared node, and a later transformer that sets the key
    /// at one place changes it at all of them. Each group lists JSON pointers.
    pub shared: Vec<Vec<String>>,
    /// Build bookkeeping kustomize keeps in `internal.config.kubernetes.io/*` annotations:
    /// the name prefixes and suffixes applied, oldest first, and earlier ids.
    pub track: Track,
    /// Scalars a replacement created (`options.create`), as (JSON pointer, text): kyaml gives
    /// the new node the source's text and no tag, so later steps see that text and it is typed
    /// only when kyaml turns the object into JSON (a JSON 6902 patch, the output). Held as
    /// strings until then (`type_untyped`).
    pub untyped: Vec<(String, String)>,
}

/// What kustomize remembers about a resource's renames, for name references.
#[derive(Debug, Clone, Default)]
pub struct Track {
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// (effective namespace, name, kind) before each rename, oldest first.
    pub previous: Vec<(String, String, String)>,
    /// A generated object whose name gets the content hash appended at the end.
    pub needs_hash: bool,
    /// Names of the `vars` that read a field of this object.
    pub ref_vars: Vec<String>,
}

impl Resource {
    /// Types the untyped scalars as go-yaml v3 types plain text, as kyaml's conversion to JSON
    /// does, except those `keep` names (annotations, which the output rebuilds from text). A
    /// pointer whose field another step has since replaced is left alone.
    pub fn type_untyped(&mut self, keep: impl Fn(&str) -> bool) {
        for (pointer, text) in std::mem::take(&mut self.untyped) {
            if keep(&pointer) {
                self.untyped.push((pointer, text));
                continue;
            }
            if let Some(v) = self.value.pointer_mut(&pointer) {
                if v.as_str() == Some(text.as_str()) {
                    *v = resolve_plain(&text);
                }
            }
        }
    }

    /// Records that the field at `pointer` now holds untyped `text`.
    pub fn mark_untyped(&mut self, pointer: &str, text: &str) {
        self.untyped.retain(|(p, _)| p != pointer);
        self.untyped.push((pointer.to_string(), text.to_string()));
    }

    /// Whether the field at `pointer` holds untyped text.
    pub fn is_untyped(&self, pointer: &str) -> bool {
        self.untyped.iter().any(|(p, text)| {
            p == pointer && self.value.pointer(p).and_then(Value::as_str) == Some(text)
        })
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::of(&self.value)
    }

    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        self.value["metadata"]["namespace"].as_str().unwrap_or("")
    }

    pub fn id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            namespace: self.namespace().to_string(),
            name: self.name().to_string(),
        }
    }

    /// kustomize's `PrevIds`: earlier ids, with today's group and version.
    pub fn previous_ids(&self) -> Vec<ResId> {
        let gvk = self.gvk();
        self.track
            .previous
            .iter()
            .map(|(ns, name, kind)| ResId {
                gvk: Gvk {
                    group: gvk.group.clone(),
                    version: gvk.version.clone(),
                    kind: kind.clone(),
                },
                namespace: ns.clone(),
                name: name.clone(),
            })
            .collect()
    }

    /// kustomize's `OrgId`: the first id the resource had.
    pub fn original_id(&self) -> ResId {
        match self.track.previous.first() {
            Some((ns, name, kind)) => {
                let gvk = self.gvk();
                ResId {
                    gvk: Gvk {
                        group: gvk.group,
                        version: gvk.version,
                        kind: kind.clone(),
                    },
                    namespace: ns.clone(),
                    name: name.clone(),
                }
            }
            None => self.id(),
        }
    }

    /// kustomize's `StorePreviousId`, called before a transformer renames.
    pub fn store_previous_id(&mut self) {
        let id = self.id();
        let ns = id.effective_namespace().to_string();
        self.track.previous.push((ns, id.name, id.gvk.kind));
    }
}

/// The type go-yaml v3 gives `s` written plain.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => crate::goyaml::plain_number(s)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(s.to_string())),
    }
}

/// Whether `pointer` names one annotation (`/metadata/annotations/<key>`).
pub fn is_annotation(pointer: &str) -> bool {
    pointer
        .strip_prefix("/metadata/annotations/")
        .is_some_and(|k| !k.contains('/'))
}

/// What kustomize's final clean-up of its own annotations leaves: `metadata.annotations`
/// rebuilt as strings (each value's scalar text; mappings and lists become ""), and removed
/// when empty. kustomize annotates every object while reading it, so this applies to all.
pub fn normalize_annotations(value: &mut Value) {
    let Some(Value::Object(meta)) = value.get_mut("metadata") else {
        return;
    };
    let Some(annotations) = meta.get("annotations") else {
        return;
    };
    let rebuilt: serde_json::Map<String, Value> = match annotations {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Value::String(super::fieldspec::scalar_text(v).unwrap_or_default()),
                )
            })
            .collect(),
        _ => serde_json::Map::new(),
    };
    if rebuilt.is_empty() {
        meta.remove("annotations");
    } else {
        meta.insert("annotations".into(), Value::Object(rebuilt));
    }
}

/// Whether kustomize drops the object from the output (`config.kubernetes.io/local-config`
/// present with any value but "false"). Expects annotations already normalized to strings.
pub fn is_local_config(value: &Value) -> bool {
    value
        .pointer("/metadata/annotations")
        .and_then(|a| a.get("config.kubernetes.io/local-config"))
        .is_some_and(|v| v.as_str() != Some("false"))
}

/// Reads the objects in one resource file: documents in order, empty ones skipped, `*List`
/// kinds with `items` replaced by their items.
pub fn read_resources(file: &Path, text: &str) -> Result<Vec<Resource>, Error> {
    read_as(file, text, crate::manifest::parse_documents)
}

/// Strategic merge patches: as [`read_resources`], but a key defined twice keeps its first
/// value and marks its mapping (`crate::manifest::DUPLICATE_MARK`); `smp` fails only where
/// kyaml would have to copy such a mapping whole.
pub fn read_patches(file: &Path, text: &str) -> Result<Vec<Resource>, Error> {
    read_as(file, text, crate::manifest::parse_marking_duplicates)
}

fn read_as(
    file: &Path,
    text: &str,
    parse: fn(&str) -> Result<Vec<Value>, crate::manifest::YamlError>,
) -> Result<Vec<Resource>, Error> {
    let mut docs = parse(text).map_err(|e| Error::Parse {
        file: file.to_path_buf(),
        message: format!("invalid YAML: {e}"),
    })?;
    for doc in &mut docs {
        super::typing::retype(doc, text);
    }
    let bad = |message: String| Error::Resource {
        file: file.to_path_buf(),
        message,
    };
    let mut queue: std::collections::VecDeque<Value> = docs.into_iter().collect();
    let mut out = Vec::new();
    while let Some(doc) = queue.pop_front() {
        let Value::Object(map) = &doc else {
            return Err(bad(format!(
                "a resource must be a mapping, found {}",
                kind_name(&doc)
            )));
        };
        if map.is_empty() {
            continue;
        }
        let kind = match map.get("kind") {
            Some(Value::String(k)) if !k.is_empty() => k.clone(),
            _ => return Err(bad("missing kind in object".into())),
        };
        if kind.ends_with("List") {
            match map.get("items") {
                Some(Value::Array(items)) => {
                    queue.extend(items.iter().cloned());
                    continue;
                }
                Some(Value::Null) => continue,
                Some(other) => {
                    return Err(bad(format!(
                        "expected array in {kind}/items, but found {}",
                        kind_name(other)
                    )))
                }
                None => {}
            }
        } else {
            match doc["metadata"]["name"].as_str() {
                Some(name) if !name.is_empty() => {}
                _ => {
                    return Err(bad(format!(
                        "missing metadata.name in object of kind {kind}"
                    )))
                }
            }
        }
        if let Some(path) = null_list_item(&doc, "") {
            return Err(bad(format!(
                "empty item at {path} in object of kind {kind}"
            )));
        }
        out.push(Resource {
            value: doc,
            file: file.to_path_buf(),
            shared: Vec::new(),
            track: Track::default(),
            untyped: Vec::new(),
        });
    }
    Ok(out)
}

/// The path of the first `null` inside a list, which kustomize refuses. The path is only
/// written out once one is found: most objects have none, and this visits every node.
fn null_list_item(value: &Value, path: &str) -> Option<String> {
    let mut rev = Vec::new();
    if !find_null_list_item(value, &mut rev) {
        return None;
    }
    let mut out = path.to_string();
    for step in rev.iter().rev() {
        match step {
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
        }
    }
    Some(out)
}

/// One step of a path, collected leaf first.
enum Step<'a> {
    Index(usize),
    Key(&'a str),
}

fn find_null_list_item<'a>(value: &'a Value, rev: &mut Vec<Step<'a>>) -> bool {
    match value {
        Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
            let found = item.is_null() || find_null_list_item(item, rev);
            if found {
                rev.push(Step::Index(i));
            }
            found
        }),
        Value::Object(map) => map.iter().any(|(k, v)| {
            let found = find_null_list_item(v, rev);
            if found {
                rev.push(Step::Key(k));
            }
            found
        }),
        _ => false,
    }
}

pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
