//! `configurations`: transformer config files that add field specs to kustomize's built-in
//! tables (`api/internal/plugins/builtinconfig`). A level sees its own files and those of
//! everything below it, as kustomize merges a sub-kustomization's config into its parent's;
//! name references gathered this way apply in the final fix-up.

use super::error::Error;
use super::fields::Reader;
use super::fieldspec::FieldSpec;
use super::kustomization::Kustomization;
use serde_json::{Map, Value};
use std::path::Path;

/// Field specs added by `configurations` files.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// (target group, version, kind) and the field that refers to it by name.
    pub name_reference: Vec<((String, String, String), FieldSpec)>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
}

fn push_unique<T: PartialEq>(into: &mut Vec<T>, items: Vec<T>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

impl Config {
    pub fn merge(&mut self, other: Config) {
        push_unique(&mut self.name_reference, other.name_reference);
        push_unique(&mut self.namespace, other.namespace);
        push_unique(&mut self.common_labels, other.common_labels);
        push_unique(&mut self.common_annotations, other.common_annotations);
        push_unique(&mut self.images, other.images);
    }

    /// `base` followed by the added specs that are not already in it.
    pub fn extend(base: Vec<FieldSpec>, added: &[FieldSpec]) -> Vec<FieldSpec> {
        let mut out = base;
        push_unique(&mut out, added.to_vec());
        out
    }
}

const SUPPORTED: &[&str] = &[
    "nameReference",
    "namespace",
    "commonLabels",
    "commonAnnotations",
    "images",
];
/// Keys kustomize knows that the native renderer does not take yet.
const NOT_YET: &[&str] = &[
    "namePrefix",
    "nameSuffix",
    "varReference",
    "replicas",
    "templateLabels",
];

/// Reads every file `k.configurations` names.
pub fn load(k: &Kustomization, dir: &Path) -> Result<Config, Error> {
    let mut config = Config::default();
    for (i, path) in k.configurations.iter().enumerate() {
        let field = format!("configurations[{i}]");
        let bytes = super::loader::read_file(k, dir, &field, path)?;
        let file = dir.join(path);
        let text = String::from_utf8(bytes).map_err(|_| Error::Parse {
            file: file.clone(),
            message: "not UTF-8 text".into(),
        })?;
        config.merge(parse(&file, &text)?);
    }
    Ok(config)
}

fn parse(file: &Path, text: &str) -> Result<Config, Error> {
    let docs = crate::manifest::parse_documents(text).map_err(|e| Error::Parse {
        file: file.to_path_buf(),
        message: format!("invalid transformer configuration: {e}"),
    })?;
    let map = match docs.as_slice() {
        [] => Map::new(),
        [Value::Object(m)] => m.clone(),
        _ => {
            return Err(Error::Parse {
                file: file.to_path_buf(),
                message: "a transformer configuration is one mapping of field spec lists".into(),
            })
        }
    };
    let r = Reader { file, map: &map };
    for key in map.keys() {
        if NOT_YET.contains(&key.as_str()) {
            return Err(Error::Unsupported {
                file: file.to_path_buf(),
                field: key.clone(),
                hint: "render this app with `renderer: binary` meanwhile".into(),
            });
        }
        if !SUPPORTED.contains(&key.as_str()) {
            return Err(r.field_error(key, "unknown field in a transformer configuration"));
        }
    }
    let mut config = Config {
        namespace: specs(&r, "namespace", map.get("namespace"))?,
        common_labels: specs(&r, "commonLabels", map.get("commonLabels"))?,
        common_annotations: specs(&r, "commonAnnotations", map.get("commonAnnotations"))?,
        images: specs(&r, "images", map.get("images"))?,
        ..Config::default()
    };
    for (i, item) in r.list("nameReference")?.iter().enumerate() {
        let field = format!("nameReference[{i}]");
        let m = r.entry(&field, item, &["group", "version", "kind", "fieldSpecs"])?;
        let target = (
            r.entry_string(&field, m, "group")?,
            r.entry_string(&field, m, "version")?,
            r.entry_string(&field, m, "kind")?,
        );
        for spec in specs(&r, &format!("{field}.fieldSpecs"), m.get("fieldSpecs"))? {
            config.name_reference.push((target.clone(), spec));
        }
    }
    Ok(config)
}

fn specs(r: &Reader<'_>, field: &str, v: Option<&Value>) -> Result<Vec<FieldSpec>, Error> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(r.field_error(field, "expected a list of field specs")),
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let m = r.entry(&at, item, &["group", "version", "kind", "path", "create"])?;
        let path = r.entry_string(&at, m, "path")?;
        if path.is_empty() {
            return Err(r.field_error(&format!("{at}.path"), "a field spec needs a path"));
        }
        out.push(FieldSpec {
            group: r.entry_string(&at, m, "group")?,
            version: r.entry_string(&at, m, "version")?,
            kind: r.entry_string(&at, m, "kind")?,
            path,
            create: r.entry_bool(&at, m, "create")?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_references_and_namespace_specs() {
        let text = "nameReference:\n- kind: Service\n  version: v1\n  fieldSpecs:\n  - kind: X\n    path: spec/svc\nnamespace:\n- kind: X\n  path: spec/ns\n  create: true\n";
        let c = parse(Path::new("c.yaml"), text).expect("parses");
        assert_eq!(c.name_reference.len(), 1);
        assert_eq!(c.name_reference[0].0 .2, "Service");
        assert_eq!(c.name_reference[0].1.path, "spec/svc");
        assert_eq!(
            c.namespace,
            vec![FieldSpec::new("", "", "X", "spec/ns", true)]
        );
    }

    #[test]
    fn unknown_and_unsupported_keys_are_errors() {
        let err = parse(Path::new("c.yaml"), "bogus: []\n").expect_err("unknown");
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = parse(Path::new("c.yaml"), "varReference: []\n").expect_err("not yet");
        assert!(err.to_string().contains("renderer: binary"), "{err}");
    }
}
