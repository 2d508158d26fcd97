//! Typed access to the fields of a kustomization file: strings, lists, maps and the entry
//! types (labels, images, generators, patches, ...), each error naming file and field path.

use super::error::Error;
use super::fieldspec::FieldSpec;
use super::kustomization::{
    Generator, GeneratorOptions, Image, Label, Patch, Replica, SortOrder, Var,
};
use super::selector::Selector;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Typed access to the fields of a kustomization, with errors naming file and field.
/// The fields of a generator entry; `type` (last) is for Secrets only.
pub(super) const GENERATOR_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "behavior",
    "literals",
    "files",
    "envs",
    "env",
    "options",
    "type",
];

pub(super) struct Reader<'a> {
    pub file: &'a Path,
    pub map: &'a Map<String, Value>,
}

impl<'a> Reader<'a> {
    pub(super) fn field_error(&self, field: &str, message: &str) -> Error {
        Error::Field {
            file: self.file.to_path_buf(),
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    pub(super) fn string(&self, key: &str) -> Result<String, Error> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.field_error(
                key,
                &format!(
                    "expected a string, found {}",
                    super::resource::kind_name(other)
                ),
            )),
        }
    }

    pub(super) fn strings(&self, key: &str) -> Result<Vec<String>, Error> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.field_error(
                        &format!("{key}[{i}]"),
                        &format!(
                            "expected a string, found {}",
                            super::resource::kind_name(other)
                        ),
                    )),
                })
                .collect(),
            Some(other) => Err(self.field_error(
                key,
                &format!(
                    "expected a list of strings, found {}",
                    super::resource::kind_name(other)
                ),
            )),
        }
    }

    /// A map of strings, like `commonLabels`. Scalars that are not strings are refused, as Go's
    /// JSON decoding into `map[string]string` refuses them.
    pub(super) fn string_map(
        &self,
        field: &str,
        value: Option<&Value>,
    ) -> Result<BTreeMap<String, String>, Error> {
        match value {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(self.field_error(
                        &format!("{field}.{k}"),
                        &format!(
                            "expected a string, found {} (quote the value)",
                            super::resource::kind_name(other)
                        ),
                    )),
                })
                .collect(),
            Some(other) => Err(self.field_error(
                field,
                &format!(
                    "expected a mapping of strings, found {}",
                    super::resource::kind_name(other)
                ),
            )),
        }
    }

    pub(super) fn list(&self, key: &str) -> Result<&'a [Value], Error> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.field_error(
                key,
                &format!(
                    "expected a list, found {}",
                    super::resource::kind_name(other)
                ),
            )),
        }
    }

    pub(super) fn entry<'b>(
        &self,
        field: &str,
        item: &'b Value,
        allowed: &[&str],
    ) -> Result<&'b Map<String, Value>, Error> {
        let Value::Object(m) = item else {
            return Err(self.field_error(
                field,
                &format!(
                    "expected a mapping, found {}",
                    super::resource::kind_name(item)
                ),
            ));
        };
        if let Some(unknown) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(self.field_error(&format!("{field}.{unknown}"), "unknown field"));
        }
        Ok(m)
    }

    pub(super) fn entry_string(
        &self,
        field: &str,
        m: &Map<String, Value>,
        key: &str,
    ) -> Result<String, Error> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.field_error(
                &format!("{field}.{key}"),
                &format!(
                    "expected a string, found {}",
                    super::resource::kind_name(other)
                ),
            )),
        }
    }

    pub(super) fn entry_bool(
        &self,
        field: &str,
        m: &Map<String, Value>,
        key: &str,
    ) -> Result<bool, Error> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.field_error(
                &format!("{field}.{key}"),
                &format!(
                    "expected true or false, found {}",
                    super::resource::kind_name(other)
                ),
            )),
        }
    }

    pub(super) fn images(&self, key: &str) -> Result<Vec<Image>, Error> {
        let mut out = Vec::new();
        for (i, item) in self.list(key)?.iter().enumerate() {
            let field = format!("{key}[{i}]");
            let m = self.entry(
                &field,
                item,
                &["name", "newName", "newTag", "digest", "tagSuffix"],
            )?;
            out.push(Image {
                name: self.entry_string(&field, m, "name")?,
                new_name: self.entry_string(&field, m, "newName")?,
                new_tag: self.entry_string(&field, m, "newTag")?,
                digest: self.entry_string(&field, m, "digest")?,
                tag_suffix: self.entry_string(&field, m, "tagSuffix")?,
            });
        }
        Ok(out)
    }

    pub(super) fn entry_strings(
        &self,
        field: &str,
        m: &Map<String, Value>,
        key: &str,
    ) -> Result<Vec<String>, Error> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.field_error(
                        &format!("{field}.{key}[{i}]"),
                        &format!(
                            "expected a string, found {} (quote the value)",
                            super::resource::kind_name(other)
                        ),
                    )),
                })
                .collect(),
            Some(other) => Err(self.field_error(
                &format!("{field}.{key}"),
                &format!(
                    "expected a list of strings, found {}",
                    super::resource::kind_name(other)
                ),
            )),
        }
    }

    pub(super) fn options(&self, field: &str, value: &Value) -> Result<GeneratorOptions, Error> {
        let m = self.entry(
            field,
            value,
            &[
                "labels",
                "annotations",
                "disableNameSuffixHash",
                "immutable",
            ],
        )?;
        let map_of = |key: &str| -> Result<Option<BTreeMap<String, String>>, Error> {
            match m.get(key) {
                None | Some(Value::Null) => Ok(None),
                v => self.string_map(&format!("{field}.{key}"), v).map(Some),
            }
        };
        Ok(GeneratorOptions {
            labels: map_of("labels")?,
            annotations: map_of("annotations")?,
            disable_name_suffix_hash: self.entry_bool(field, m, "disableNameSuffixHash")?,
            immutable: self.entry_bool(field, m, "immutable")?,
        })
    }

    pub(super) fn patches(&self, key: &str) -> Result<Vec<Patch>, Error> {
        let mut out = Vec::new();
        for (i, item) in self.list(key)?.iter().enumerate() {
            let field = format!("{key}[{i}]");
            let m = self.entry(&field, item, &["path", "patch", "target", "options"])?;
            // `map[string]bool`: other keys are read and ignored, as kustomize ignores them.
            let options = match m.get("options") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(o)) => o.clone(),
                Some(_) => {
                    return Err(self.field_error(
                        &format!("{field}.options"),
                        "expected a mapping of booleans",
                    ))
                }
            };
            let allow =
                |key: &str| match options.get(key) {
                    None | Some(Value::Null) => Ok(false),
                    Some(Value::Bool(b)) => Ok(*b),
                    Some(_) => Err(self
                        .field_error(&format!("{field}.options.{key}"), "expected true or false")),
                };
            let allow = (allow("allowNameChange")?, allow("allowKindChange")?);
            if let Some((key, _)) = options
                .iter()
                .find(|(_, v)| !v.is_boolean() && !v.is_null())
            {
                return Err(
                    self.field_error(&format!("{field}.options.{key}"), "expected true or false")
                );
            }
            let target = match m.get("target") {
                None | Some(Value::Null) => None,
                Some(t) => {
                    let tf = format!("{field}.target");
                    let t = self.entry(
                        &tf,
                        t,
                        &[
                            "group",
                            "version",
                            "kind",
                            "name",
                            "namespace",
                            "labelSelector",
                            "annotationSelector",
                        ],
                    )?;
                    Some(Selector {
                        group: self.entry_string(&tf, t, "group")?,
                        version: self.entry_string(&tf, t, "version")?,
                        kind: self.entry_string(&tf, t, "kind")?,
                        name: self.entry_string(&tf, t, "name")?,
                        namespace: self.entry_string(&tf, t, "namespace")?,
                        label_selector: self.entry_string(&tf, t, "labelSelector")?,
                        annotation_selector: self.entry_string(&tf, t, "annotationSelector")?,
                    })
                }
            };
            let patch = Patch {
                field: field.clone(),
                path: self.entry_string(&field, m, "path")?,
                patch: self.entry_string(&field, m, "patch")?.trim().to_string(),
                target,
                allow,
            };
            match (patch.path.is_empty(), patch.patch.is_empty()) {
                (true, true) => {
                    return Err(self.field_error(&field, "must specify one of patch and path"))
                }
                (false, false) => {
                    return Err(
                        self.field_error(&field, "patch and path can't be set at the same time")
                    )
                }
                _ => {}
            }
            out.push(patch);
        }
        Ok(out)
    }

    pub(super) fn vars(&self) -> Result<Vec<Var>, Error> {
        let mut out = Vec::new();
        for (i, item) in self.list("vars")?.iter().enumerate() {
            let field = format!("vars[{i}]");
            let m = self.entry(&field, item, &["name", "objref", "fieldref"])?;
            let name = self.entry_string(&field, m, "name")?;
            if name.is_empty() {
                return Err(self.field_error(&format!("{field}.name"), "a var needs a name"));
            }
            let of = format!("{field}.objref");
            let empty = Value::Object(Map::new());
            let o = self.entry(
                &of,
                m.get("objref").unwrap_or(&empty),
                &[
                    "apiVersion",
                    "group",
                    "version",
                    "kind",
                    "name",
                    "namespace",
                ],
            )?;
            let (mut group, mut version) = (
                self.entry_string(&of, o, "group")?,
                self.entry_string(&of, o, "version")?,
            );
            let api_version = self.entry_string(&of, o, "apiVersion")?;
            if !api_version.is_empty() {
                (group, version) = match api_version.rsplit_once('/') {
                    Some((g, v)) => (g.to_string(), v.to_string()),
                    None => (String::new(), api_version.clone()),
                };
            }
            let ff = format!("{field}.fieldref");
            // Go's JSON decoding matches field names without regard to case: `fieldpath` works.
            let field_path = match m.get("fieldref") {
                None | Some(Value::Null) => String::new(),
                Some(Value::Object(f)) => {
                    match f.iter().find(|(k, _)| k.eq_ignore_ascii_case("fieldPath")) {
                        Some((k, _)) => self.entry_string(&ff, f, k)?,
                        None => String::new(),
                    }
                }
                Some(_) => return Err(self.field_error(&ff, "expected a mapping")),
            };
            out.push(Var {
                name,
                group,
                version,
                kind: self.entry_string(&of, o, "kind")?,
                object: self.entry_string(&of, o, "name")?,
                namespace: self.entry_string(&of, o, "namespace")?,
                field_path: if field_path.is_empty() {
                    "metadata.name".into()
                } else {
                    field_path
                },
            });
        }
        Ok(out)
    }

    pub(super) fn sort_options(&self) -> Result<Option<SortOrder>, Error> {
        let Some(v) = self.map.get("sortOptions").filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let m = self.entry("sortOptions", v, &["order", "legacySortOptions"])?;
        let legacy = match m.get("legacySortOptions") {
            None | Some(Value::Null) => None,
            Some(l) => {
                let l = self.entry(
                    "sortOptions.legacySortOptions",
                    l,
                    &["orderFirst", "orderLast"],
                )?;
                let field = "sortOptions.legacySortOptions";
                Some((
                    self.entry_strings(field, l, "orderFirst")?,
                    self.entry_strings(field, l, "orderLast")?,
                ))
            }
        };
        match (
            self.entry_string("sortOptions", m, "order")?.as_str(),
            legacy,
        ) {
            ("fifo", None) => Ok(Some(SortOrder::Fifo)),
            ("fifo", Some(_)) => Err(self.field_error(
                "sortOptions.legacySortOptions",
                "is set but the selected sort order is 'fifo', not 'legacy'",
            )),
            ("legacy", None) => Ok(Some(SortOrder::Legacy {
                first: None,
                last: None,
            })),
            ("legacy", Some((first, last))) => Ok(Some(SortOrder::Legacy {
                first: Some(first),
                last: Some(last),
            })),
            _ => Err(self.field_error("sortOptions.order", "must be one of [fifo, legacy]")),
        }
    }

    pub(super) fn replicas(&self) -> Result<Vec<Replica>, Error> {
        let mut out = Vec::new();
        for (i, item) in self.list("replicas")?.iter().enumerate() {
            let field = format!("replicas[{i}]");
            let m = self.entry(&field, item, &["name", "count"])?;
            let count = match m.get("count") {
                Some(Value::Number(n)) if n.is_i64() => n.clone(),
                None | Some(Value::Null) => serde_json::Number::from(0),
                Some(other) => {
                    return Err(self.field_error(
                        &format!("{field}.count"),
                        &format!(
                            "expected a whole number, found {}",
                            super::resource::kind_name(other)
                        ),
                    ))
                }
            };
            out.push(Replica {
                name: self.entry_string(&field, m, "name")?,
                count,
            });
        }
        Ok(out)
    }

    pub(super) fn generators(&self, key: &str) -> Result<Vec<Generator>, Error> {
        let secret = key == "secretGenerator";
        // `type` is the last field, and a Secret's only.
        let allowed = if secret {
            GENERATOR_FIELDS
        } else {
            &GENERATOR_FIELDS[..GENERATOR_FIELDS.len() - 1]
        };
        let mut out = Vec::new();
        for (i, item) in self.list(key)?.iter().enumerate() {
            let field = format!("{key}[{i}]");
            let m = self.entry(&field, item, allowed)?;
            let mut envs = self.entry_strings(&field, m, "envs")?;
            let env = self.entry_string(&field, m, "env")?;
            if !env.is_empty() {
                envs.push(env);
            }
            let behavior = self.entry_string(&field, m, "behavior")?;
            if !["", "create", "merge", "replace"].contains(&behavior.as_str()) {
                return Err(self.field_error(
                    &format!("{field}.behavior"),
                    "must be create, merge or replace",
                ));
            }
            out.push(Generator {
                field: field.clone(),
                name: self.entry_string(&field, m, "name")?,
                namespace: self.entry_string(&field, m, "namespace")?,
                behavior,
                literals: self.entry_strings(&field, m, "literals")?,
                files: self.entry_strings(&field, m, "files")?,
                envs,
                options: match m.get("options") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(self.options(&format!("{field}.options"), v)?),
                },
                secret_type: if secret {
                    self.entry_string(&field, m, "type")?
                } else {
                    String::new()
                },
            });
        }
        Ok(out)
    }

    pub(super) fn labels(&self) -> Result<Vec<Label>, Error> {
        let mut out = Vec::new();
        for (i, item) in self.list("labels")?.iter().enumerate() {
            let field = format!("labels[{i}]");
            let m = self.entry(
                &field,
                item,
                &["pairs", "includeSelectors", "includeTemplates", "fields"],
            )?;
            let mut fields = Vec::new();
            let specs = match m.get("fields") {
                None | Some(Value::Null) => &[][..],
                Some(Value::Array(a)) => a.as_slice(),
                Some(other) => {
                    return Err(self.field_error(
                        &format!("{field}.fields"),
                        &format!(
                            "expected a list, found {}",
                            super::resource::kind_name(other)
                        ),
                    ))
                }
            };
            for (j, spec) in specs.iter().enumerate() {
                let sf = format!("{field}.fields[{j}]");
                let s = self.entry(&sf, spec, &["group", "version", "kind", "path", "create"])?;
                fields.push(FieldSpec {
                    group: self.entry_string(&sf, s, "group")?,
                    version: self.entry_string(&sf, s, "version")?,
                    kind: self.entry_string(&sf, s, "kind")?,
                    path: self.entry_string(&sf, s, "path")?,
                    create: self.entry_bool(&sf, s, "create")?,
                });
            }
            out.push(Label {
                pairs: self.string_map(&format!("{field}.pairs"), m.get("pairs"))?,
                include_selectors: self.entry_bool(&field, m, "includeSelectors")?,
                include_templates: self.entry_bool(&field, m, "includeTemplates")?,
                fields,
            });
        }
        Ok(out)
    }
}
