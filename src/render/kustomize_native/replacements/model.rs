//! Reading `replacements` entries (`types.Replacement`, `ReplacementField`): inline
//! `source` and `targets`, or `path` naming a file that holds one replacement
//! or a list. Unknown keys are errors, as in kustomize's strict decoding.

use super::super::error::Error;
use super::super::fieldspec::scalar_text;
use super::super::resource::kind_name;
use super::super::selector::Selector;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub delimiter: String,
    pub index: i64,
    pub create: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Source {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub field_path: String,
    pub options: Options,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]"),
            self.name,
            or(&self.namespace, "[noNs]")
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct Target {
    pub select: Selector,
    pub reject: Vec<Selector>,
    pub field_paths: Vec<String>,
    pub options: Options,
}

/// One replacement, with where it was written for errors.
#[derive(Debug, Clone)]
pub struct Replacement {
    pub file: PathBuf,
    /// `replacements[0]` and the like.
    pub field: String,
    pub source: Source,
    pub targets: Vec<Target>,
}

/// Field access with errors naming file and field path.
struct At<'a> {
    file: &'a Path,
    field: String,
}

impl At<'_> {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::Field {
            file: self.file.to_path_buf(),
            field: self.field.clone(),
            message: message.into(),
        }
    }

    fn child(&self, key: &str) -> At<'_> {
        At {
            file: self.file,
            field: format!("{}.{key}", self.field),
        }
    }

    fn map<'v>(&self, v: &'v Value, known: &[&str]) -> Result<&'v Map<String, Value>, Error> {
        let Value::Object(map) = v else {
            return Err(self.error(format!("expected a mapping, found {}", kind_name(v))));
        };
        if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(self.error(format!("unknown field '{k}' (known: {})", known.join(", "))));
        }
        Ok(map)
    }

    fn string(&self, map: &Map<String, Value>, key: &str) -> Result<String, Error> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                Ok(scalar_text(v).unwrap_or_default())
            }
            Some(v) => Err(self
                .child(key)
                .error(format!("expected a string, found {}", kind_name(v)))),
        }
    }
}

const SELECTOR_KEYS: &[&str] = &[
    "group",
    "version",
    "kind",
    "name",
    "namespace",
    "labelSelector",
    "annotationSelector",
];

fn selector(at: &At<'_>, v: &Value) -> Result<Selector, Error> {
    let m = at.map(v, SELECTOR_KEYS)?;
    Ok(Selector {
        group: at.string(m, "group")?,
        version: at.string(m, "version")?,
        kind: at.string(m, "kind")?,
        name: at.string(m, "name")?,
        namespace: at.string(m, "namespace")?,
        label_selector: at.string(m, "labelSelector")?,
        annotation_selector: at.string(m, "annotationSelector")?,
    })
}

fn options(at: &At<'_>, v: Option<&Value>) -> Result<Options, Error> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Options::default());
    };
    let m = at.map(v, &["delimiter", "index", "create", "encoding"])?;
    let index = match m.get("index") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| at.child("index").error("expected an integer"))?,
        Some(v) => {
            return Err(at
                .child("index")
                .error(format!("expected an integer, found {}", kind_name(v))))
        }
    };
    let create = match m.get("create") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(at
                .child("create")
                .error(format!("expected true or false, found {}", kind_name(v))))
        }
    };
    Ok(Options {
        delimiter: at.string(m, "delimiter")?,
        index,
        create,
    })
}

fn target(at: &At<'_>, v: &Value) -> Result<Target, Error> {
    let m = at.map(v, &["select", "reject", "fieldPaths", "options"])?;
    let select = match m.get("select") {
        None | Some(Value::Null) => {
            return Err(at.error("target must specify resources to select (add `select:`)"))
        }
        Some(s) => selector(&at.child("select"), s)?,
    };
    let reject = match m.get("reject") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| selector(&at.child(&format!("reject[{i}]")), s))
            .collect::<Result<_, _>>()?,
        Some(v) => {
            return Err(at
                .child("reject")
                .error(format!("expected a list, found {}", kind_name(v))))
        }
    };
    let field_paths = match m.get("fieldPaths") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, p)| match p {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                _ => Err(at
                    .child(&format!("fieldPaths[{i}]"))
                    .error("expected a non-empty field path such as spec.template.metadata.name")),
            })
            .collect::<Result<_, _>>()?,
        Some(v) => {
            return Err(at
                .child("fieldPaths")
                .error(format!("expected a list, found {}", kind_name(v))))
        }
    };
    Ok(Target {
        select,
        reject,
        field_paths,
        options: options(&at.child("options"), m.get("options"))?,
    })
}

/// Reads one inline replacement.
pub fn replacement(file: &Path, field: &str, v: &Value) -> Result<Replacement, Error> {
    let at = At {
        file,
        field: field.to_string(),
    };
    // kustomize v5.7.1 knows no `sourceValue` (later versions do): it is an unknown field.
    let m = at.map(v, &["source", "targets"])?;
    let source = match m.get("source") {
        None | Some(Value::Null) => {
            return Err(at.error(
                "replacements must specify a source and at least one target (add `source:`)",
            ))
        }
        Some(s) => {
            let at = at.child("source");
            let mut keys = SELECTOR_KEYS[..5].to_vec();
            keys.extend(["fieldPath", "options"]);
            let sm = at.map(s, &keys)?;
            Source {
                group: at.string(sm, "group")?,
                version: at.string(sm, "version")?,
                kind: at.string(sm, "kind")?,
                name: at.string(sm, "name")?,
                namespace: at.string(sm, "namespace")?,
                field_path: at.string(sm, "fieldPath")?,
                options: options(&at.child("options"), sm.get("options"))?,
            }
        }
    };
    let targets = match m.get("targets") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, t)| target(&at.child(&format!("targets[{i}]")), t))
            .collect::<Result<_, _>>()?,
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(at.error(
                "replacements must specify a source and at least one target (add `targets:`)",
            ))
        }
        Some(v) => {
            return Err(at
                .child("targets")
                .error(format!("expected a list, found {}", kind_name(v))))
        }
    };
    Ok(Replacement {
        file: file.to_path_buf(),
        field: field.to_string(),
        source,
        targets,
    })
}

/// What one `replacements` entry holds: an inline replacement, or a file path.
pub enum Entry {
    Inline(Box<Replacement>),
    Path(String),
}

pub fn entry(file: &Path, field: &str, v: &Value) -> Result<Entry, Error> {
    if let Value::Object(m) = v {
        if let Some(p) = m.get("path") {
            let at = At {
                file,
                field: format!("{field}.path"),
            };
            if m.keys().any(|k| k != "path") {
                return Err(at.error("cannot specify both path and inline replacement"));
            }
            return match p {
                Value::String(s) if !s.is_empty() => Ok(Entry::Path(s.clone())),
                _ => Err(at.error("expected the path of a file holding replacements")),
            };
        }
    }
    replacement(file, field, v).map(|r| Entry::Inline(Box::new(r)))
}

/// The replacements in a file a `path` entry names: one mapping, or a list of them.
pub fn from_file(file: &Path, text: &str) -> Result<Vec<Replacement>, Error> {
    // kustomize reads the file with sigs.k8s.io/yaml: a key defined twice keeps its last value.
    let docs = crate::manifest::parse_rendered(text).map_err(|e| Error::Parse {
        file: file.to_path_buf(),
        message: format!("invalid replacements file: {e}"),
    })?;
    match docs.as_slice() {
        [Value::Array(items)] => items
            .iter()
            .enumerate()
            .map(|(i, v)| replacement(file, &format!("[{i}]"), v))
            .collect(),
        [v @ Value::Object(_)] => Ok(vec![replacement(file, "(replacement)", v)?]),
        _ => Err(Error::Parse {
            file: file.to_path_buf(),
            message: "a replacements file holds one replacement (a mapping) or a list of them"
                .into(),
        }),
    }
}
