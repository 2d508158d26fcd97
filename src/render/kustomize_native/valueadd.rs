//! The `ValueAddTransformer` builtin (`api/filters/valueadd`): writes one value (by default
//! the name of the kustomization directory that lists the transformer) into a field of the
//! selected objects, optionally as one segment inserted into a file path.

use super::error::Error;
use super::fieldspec::{apply, scalar_text, Create, FieldSpec};
use super::kustomization::Kustomization;
use super::resource::{kind_name, Resource};
use super::selector::{select, Selector};
use serde_json::{Map, Value};
use std::path::Path;

struct Target {
    selector: Option<Selector>,
    field_path: String,
    file_path_position: i64,
}

fn field_error(file: &Path, field: &str, message: impl Into<String>) -> Error {
    Error::Field {
        file: file.to_path_buf(),
        field: field.to_string(),
        message: message.into(),
    }
}

fn text(m: &Map<String, Value>, key: &str) -> String {
    m.get(key).and_then(scalar_text).unwrap_or_default()
}

fn targets(file: &Path, field: &str, v: Option<&Value>) -> Result<Vec<Target>, Error> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(v) => {
            return Err(field_error(
                file,
                field,
                format!("expected a list, found {}", kind_name(v)),
            ))
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Value::Object(m) = item else {
            return Err(field_error(file, &at, "expected a mapping"));
        };
        let selector = match m.get("selector") {
            None | Some(Value::Null) => None,
            Some(Value::Object(s)) => Some(Selector {
                group: text(s, "group"),
                version: text(s, "version"),
                kind: text(s, "kind"),
                name: text(s, "name"),
                namespace: text(s, "namespace"),
                label_selector: text(s, "labelSelector"),
                annotation_selector: text(s, "annotationSelector"),
            }),
            Some(_) => {
                return Err(field_error(
                    file,
                    &format!("{at}.selector"),
                    "expected a mapping",
                ))
            }
        };
        let field_path = text(m, "fieldPath");
        if field_path.is_empty() {
            return Err(field_error(
                file,
                &format!("{at}.fieldPath"),
                "fieldPath cannot be empty",
            ));
        }
        let file_path_position = match m.get("filePathPosition") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n >= 0) => n.as_i64().unwrap_or(0),
            Some(_) => {
                return Err(field_error(
                    file,
                    &format!("{at}.filePathPosition"),
                    "expected a non-negative integer",
                ))
            }
        };
        out.push(Target {
            selector,
            field_path,
            file_path_position,
        });
    }
    Ok(out)
}

/// kyaml's `InsertPathPart`: `part` becomes path segment `pos` (clamped), an absolute path
/// stays absolute.
fn insert_path_part(path: &str, pos: usize, part: &str) -> String {
    if part.is_empty() {
        return path.to_string();
    }
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    parts.insert(pos.min(parts.len()), part);
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Runs one `ValueAddTransformer` configuration over `acc`.
pub fn run(k: &Kustomization, cfg: &Resource, acc: &mut [Resource]) -> Result<(), Error> {
    let file = cfg.file.as_path();
    let Value::Object(m) = &cfg.value else {
        return Err(field_error(file, "transformers", "expected a mapping"));
    };
    let mut value = text(m, "value").trim().to_string();
    if value.is_empty() {
        let root = k.file.parent().unwrap_or(Path::new(""));
        value = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    let mut all = targets(file, "targets", m.get("targets"))?;
    let shared = text(m, "targetFilePath");
    if !shared.is_empty() {
        let dir = k.file.parent().unwrap_or(Path::new(""));
        let bytes = super::loader::read_file(k, dir, "targetFilePath", &shared)?;
        let path = dir.join(&shared);
        let docs =
            crate::manifest::parse_documents(&String::from_utf8_lossy(&bytes)).map_err(|e| {
                Error::Parse {
                    file: path.clone(),
                    message: format!("invalid targets file: {e}"),
                }
            })?;
        if let Some(doc) = docs.first() {
            all.extend(targets(&path, "targets", doc.get("targets"))?);
        }
    }
    if all.is_empty() {
        return Err(field_error(
            file,
            "targets",
            "must specify at least one target",
        ));
    }
    for (t, target) in all.iter().enumerate() {
        let fail = |object: String, message: String| Error::Transform {
            file: file.to_path_buf(),
            field: format!("targets[{t}]"),
            object,
            message,
        };
        let picked: Vec<usize> = match &target.selector {
            None => (0..acc.len()).collect(),
            Some(sel) => select(acc, sel).map_err(|e| fail(String::new(), e))?,
        };
        for i in picked {
            let res = &mut acc[i];
            let result = if target.field_path == "metadata/namespace" {
                super::namespace::set_namespace(res, &value, &[])
            } else {
                let spec = FieldSpec::new("", "", "", &target.field_path, true);
                let position = usize::try_from(target.file_path_position).unwrap_or(0);
                let mut set = |node: &mut Value, _: &str| {
                    if matches!(node, Value::Object(_) | Value::Array(_)) {
                        return Err("the field holds a mapping or list, not a scalar".to_string());
                    }
                    let new = if position > 0 {
                        insert_path_part(
                            &scalar_text(node).unwrap_or_default(),
                            position - 1,
                            &value,
                        )
                    } else {
                        value.clone()
                    };
                    *node = Value::String(new);
                    Ok(())
                };
                apply(&spec, &mut res.value, Create::Scalar, &mut set)
            };
            result.map_err(|e| fail(res.id().to_string(), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_path_parts_like_kyaml() {
        assert_eq!(insert_path_part("", 3, "P"), "P");
        assert_eq!(insert_path_part("/", 3, "P"), "/P");
        assert_eq!(insert_path_part("pie", 0, "P"), "P/pie");
        assert_eq!(insert_path_part("/raw", 1, "P"), "/raw/P");
        assert_eq!(
            insert_path_part("a/nice/warm/pie", 3, "P"),
            "a/nice/warm/P/pie"
        );
        assert_eq!(
            insert_path_part("/a/nice/warm/pie", 3, "P"),
            "/a/nice/warm/P/pie"
        );
    }

    #[test]
    fn value_defaults_to_the_kustomization_directory_name() {
        let k = Kustomization::parse(
            Path::new("/x/cat-111/kustomization.yaml"),
            "resources: [a.yaml]\n",
        )
        .expect("parses");
        let cfg_value = serde_json::json!({
            "apiVersion": "builtin", "kind": "ValueAddTransformer", "metadata": {"name": "v"},
            "targets": [{"fieldPath": "metadata/namespace"},
                        {"selector": {"kind": "M"}, "fieldPath": "spec/ref", "filePathPosition": 2}]
        });
        let cfg = Resource {
            value: cfg_value,
            file: "/x/t.yaml".into(),
            shared: Vec::new(),
            untyped: Vec::new(),
            track: Default::default(),
        };
        let mut acc = vec![Resource {
            value: serde_json::json!({"apiVersion": "v1", "kind": "M", "metadata": {"name": "m"}, "spec": {"ref": "projects"}}),
            file: "/x/m.yaml".into(),
            shared: Vec::new(),
            untyped: Vec::new(),
            track: Default::default(),
        }];
        run(&k, &cfg, &mut acc).expect("runs");
        assert_eq!(acc[0].value["metadata"]["namespace"], "cat-111");
        assert_eq!(acc[0].value["spec"]["ref"], "projects/cat-111");
    }
}
