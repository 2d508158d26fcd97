//! The kustomization file: finding it (`kustomization.yaml`, `kustomization.yml` or
//! `Kustomization`), reading it strictly (unknown fields are errors, as in kustomize), and
//! refusing clearly what the native renderer does not do yet.

use super::error::Error;
use super::fieldspec::FieldSpec;
use super::selector::Selector;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Kustomization,
    Component,
}

/// One entry of `resources`, `bases` or `components`, with the field it came from.
#[derive(Debug, Clone)]
pub struct Entry {
    pub field: &'static str,
    pub path: String,
}

/// One `labels` entry.
#[derive(Debug, Clone, Default)]
pub struct Label {
    pub pairs: BTreeMap<String, String>,
    pub include_selectors: bool,
    pub include_templates: bool,
    pub fields: Vec<FieldSpec>,
}

/// `generatorOptions`, or a generator's own `options`.
#[derive(Debug, Clone, Default)]
pub struct GeneratorOptions {
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub disable_name_suffix_hash: bool,
    pub immutable: bool,
}

impl GeneratorOptions {
    /// `MergeGlobalOptionsIntoLocal`: the generator's own labels and annotations win, the
    /// global ones fill in, and either side can switch the hash off or make it immutable.
    pub fn merged_with(
        local: Option<&GeneratorOptions>,
        global: Option<&GeneratorOptions>,
    ) -> Option<GeneratorOptions> {
        let Some(global) = global else {
            return local.cloned();
        };
        let mut out = local.cloned().unwrap_or_default();
        for (mine, theirs) in [
            (&mut out.labels, &global.labels),
            (&mut out.annotations, &global.annotations),
        ] {
            match (mine.as_mut(), theirs) {
                (None, Some(g)) => *mine = Some(g.clone()),
                (Some(m), Some(g)) => {
                    for (k, v) in g {
                        m.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                _ => {}
            }
        }
        out.disable_name_suffix_hash |= global.disable_name_suffix_hash;
        out.immutable |= global.immutable;
        Some(out)
    }
}

/// One `configMapGenerator` or `secretGenerator` entry.
#[derive(Debug, Clone, Default)]
pub struct Generator {
    /// `configMapGenerator[0]` and the like, for errors.
    pub field: String,
    pub name: String,
    pub namespace: String,
    pub behavior: String,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    pub envs: Vec<String>,
    pub options: Option<GeneratorOptions>,
    /// Secrets only.
    pub secret_type: String,
}

/// One `patches` or `patchesJson6902` entry.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    /// `patches[0]` and the like, for errors.
    pub field: String,
    pub path: String,
    pub patch: String,
    pub target: Option<Selector>,
}

/// One `replicas` entry.
#[derive(Debug, Clone)]
pub struct Replica {
    pub name: String,
    pub count: serde_json::Number,
}

/// `sortOptions`: `fifo` keeps the build order, `legacy` sorts by kind (with optional own
/// first and last lists).
#[derive(Debug, Clone)]
pub enum SortOrder {
    Fifo,
    Legacy {
        first: Option<Vec<String>>,
        last: Option<Vec<String>>,
    },
}

/// One `images` entry.
#[derive(Debug, Clone, Default)]
pub struct Image {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub digest: String,
    pub tag_suffix: String,
}

#[derive(Debug, Clone)]
pub struct Kustomization {
    pub file: PathBuf,
    pub kind: Kind,
    /// `resources` followed by the deprecated `bases`, as kustomize appends them.
    pub resources: Vec<Entry>,
    pub components: Vec<Entry>,
    /// `transformers`: plugin configuration files, directories, or inline configurations.
    pub transformers: Vec<Entry>,
    pub namespace: String,
    pub name_prefix: String,
    pub name_suffix: String,
    pub common_labels: BTreeMap<String, String>,
    pub labels: Vec<Label>,
    pub common_annotations: BTreeMap<String, String>,
    pub images: Vec<Image>,
    pub config_maps: Vec<Generator>,
    pub secrets: Vec<Generator>,
    pub generator_options: Option<GeneratorOptions>,
    pub patches: Vec<Patch>,
    pub patches_json6902: Vec<Patch>,
    pub replicas: Vec<Replica>,
    pub sort: Option<SortOrder>,
}

/// Fields the native renderer does not implement yet, and what to do meanwhile.
const NOT_YET: &[&str] = &[
    "patchesStrategicMerge",
    "replacements",
    "vars",
    "configurations",
    "crds",
    "generators",
    "validators",
    "openapi",
    "buildMetadata",
];
const HELM: &[&str] = &["helmCharts", "helmGlobals", "helmChartInflationGenerator"];
const KNOWN: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "imageTags",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "patches",
    "patchesJson6902",
    "replicas",
    "transformers",
    "sortOptions",
];

/// Finds the kustomization file in `dir`.
pub fn find(dir: &Path) -> Result<PathBuf, Error> {
    let found: Vec<&str> = FILE_NAMES
        .iter()
        .copied()
        .filter(|n| dir.join(n).is_file())
        .collect();
    match found.as_slice() {
        [] => Err(Error::NoKustomization {
            dir: dir.to_path_buf(),
        }),
        [one] => Ok(dir.join(one)),
        _ => Err(Error::MultipleKustomizations {
            dir: dir.to_path_buf(),
            names: found.iter().map(|s| s.to_string()).collect(),
        }),
    }
}

impl Kustomization {
    /// Reads and checks the kustomization file in `dir`.
    pub fn load(dir: &Path) -> Result<Kustomization, Error> {
        let file = find(dir)?;
        let text = std::fs::read_to_string(&file).map_err(|source| Error::Read {
            path: file.clone(),
            source,
        })?;
        Kustomization::parse(&file, &text)
    }

    pub fn parse(file: &Path, text: &str) -> Result<Kustomization, Error> {
        let docs = crate::manifest::parse_documents(text).map_err(|e| Error::Parse {
            file: file.to_path_buf(),
            message: format!("invalid Kustomization: {e}"),
        })?;
        let map = match docs.as_slice() {
            [] => Map::new(),
            [Value::Object(map)] => map.clone(),
            [other] => {
                return Err(Error::Parse {
                    file: file.to_path_buf(),
                    message: format!(
                        "invalid Kustomization: expected a mapping, found {}",
                        super::resource::kind_name(other)
                    ),
                })
            }
            _ => {
                return Err(Error::Parse {
                    file: file.to_path_buf(),
                    message: "invalid Kustomization: more than one YAML document".into(),
                })
            }
        };
        let r = Reader { file, map: &map };
        for key in map.keys() {
            if HELM.contains(&key.as_str()) {
                return Err(Error::Refused {
                    file: file.to_path_buf(),
                    field: key.clone(),
                    message: "charts are not inflated inside kustomizations; declare the chart as a helm app in ferry.yaml".into(),
                });
            }
            if NOT_YET.contains(&key.as_str()) {
                return Err(Error::Unsupported {
                    file: file.to_path_buf(),
                    field: key.clone(),
                    hint: "render this app with `renderer: binary` meanwhile".into(),
                });
            }
            if !KNOWN.contains(&key.as_str()) {
                return Err(r.field_error(key, "unknown field (invalid Kustomization)"));
            }
        }
        let kind = match r.string("kind")?.as_str() {
            "" | "Kustomization" => Kind::Kustomization,
            "Component" => Kind::Component,
            other => {
                return Err(r.field_error(
                    "kind",
                    &format!("kind should be Kustomization or Component, not '{other}'"),
                ))
            }
        };
        let want_version = match kind {
            Kind::Kustomization => "kustomize.config.k8s.io/v1beta1",
            Kind::Component => "kustomize.config.k8s.io/v1alpha1",
        };
        let api_version = r.string("apiVersion")?;
        if !api_version.is_empty() && api_version != want_version {
            return Err(r.field_error(
                "apiVersion",
                &format!("apiVersion for this kind should be {want_version}"),
            ));
        }
        let mut resources: Vec<Entry> = r
            .strings("resources")?
            .into_iter()
            .map(|path| Entry {
                field: "resources",
                path,
            })
            .collect();
        resources.extend(r.strings("bases")?.into_iter().map(|path| Entry {
            field: "bases",
            path,
        }));
        let transformers = r
            .strings("transformers")?
            .into_iter()
            .map(|path| Entry {
                field: "transformers",
                path,
            })
            .collect();
        let components = r
            .strings("components")?
            .into_iter()
            .map(|path| Entry {
                field: "components",
                path,
            })
            .collect();
        let mut images = r.images("images")?;
        images.extend(r.images("imageTags")?);
        let k = Kustomization {
            file: file.to_path_buf(),
            kind,
            resources,
            components,
            transformers,
            namespace: r.string("namespace")?,
            name_prefix: r.string("namePrefix")?,
            name_suffix: r.string("nameSuffix")?,
            common_labels: r.string_map("commonLabels", map.get("commonLabels"))?,
            labels: r.labels()?,
            common_annotations: r.string_map("commonAnnotations", map.get("commonAnnotations"))?,
            images,
            patches: r.patches("patches")?,
            patches_json6902: r.patches("patchesJson6902")?,
            replicas: r.replicas()?,
            sort: r.sort_options()?,
            config_maps: r.generators("configMapGenerator")?,
            secrets: r.generators("secretGenerator")?,
            generator_options: match map.get("generatorOptions") {
                None | Some(Value::Null) => None,
                Some(v) => Some(r.options("generatorOptions", v)?),
            },
        };
        let has_content = map.keys().any(|k| k != "apiVersion" && k != "kind");
        if !has_content {
            return Err(Error::Parse {
                file: file.to_path_buf(),
                message: "kustomization.yaml is empty".into(),
            });
        }
        Ok(k)
    }
}

/// Typed access to the fields of a kustomization, with errors naming file and field.
struct Reader<'a> {
    file: &'a Path,
    map: &'a Map<String, Value>,
}

impl<'a> Reader<'a> {
    fn field_error(&self, field: &str, message: &str) -> Error {
        Error::Field {
            file: self.file.to_path_buf(),
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    fn string(&self, key: &str) -> Result<String, Error> {
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

    fn strings(&self, key: &str) -> Result<Vec<String>, Error> {
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
    fn string_map(
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

    fn list(&self, key: &str) -> Result<&'a [Value], Error> {
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

    fn entry<'b>(
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

    fn entry_string(
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

    fn entry_bool(&self, field: &str, m: &Map<String, Value>, key: &str) -> Result<bool, Error> {
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

    fn images(&self, key: &str) -> Result<Vec<Image>, Error> {
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

    fn entry_strings(
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

    fn options(&self, field: &str, value: &Value) -> Result<GeneratorOptions, Error> {
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

    fn patches(&self, key: &str) -> Result<Vec<Patch>, Error> {
        let mut out = Vec::new();
        for (i, item) in self.list(key)?.iter().enumerate() {
            let field = format!("{key}[{i}]");
            let m = self.entry(&field, item, &["path", "patch", "target", "options"])?;
            if let Some(Value::Object(options)) = m.get("options") {
                if options.values().any(|v| v.as_bool() == Some(true)) {
                    return Err(Error::Unsupported {
                        file: self.file.to_path_buf(),
                        field: format!("{field}.options"),
                        hint: "render this app with `renderer: binary` meanwhile".into(),
                    });
                }
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

    fn sort_options(&self) -> Result<Option<SortOrder>, Error> {
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

    fn replicas(&self) -> Result<Vec<Replica>, Error> {
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

    fn generators(&self, key: &str) -> Result<Vec<Generator>, Error> {
        let secret = key == "secretGenerator";
        let mut allowed = vec![
            "name",
            "namespace",
            "behavior",
            "literals",
            "files",
            "envs",
            "env",
            "options",
        ];
        if secret {
            allowed.push("type");
        }
        let mut out = Vec::new();
        for (i, item) in self.list(key)?.iter().enumerate() {
            let field = format!("{key}[{i}]");
            let m = self.entry(&field, item, &allowed)?;
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

    fn labels(&self) -> Result<Vec<Label>, Error> {
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
