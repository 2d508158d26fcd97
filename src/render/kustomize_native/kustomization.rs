//! The kustomization file: finding it (`kustomization.yaml`, `kustomization.yml` or
//! `Kustomization`), reading it strictly (unknown fields are errors, as in kustomize), and
//! refusing clearly what the native renderer does not do yet.

use super::error::Error;
use super::fields::Reader;
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
    /// `options`: (allowNameChange, allowKindChange).
    pub allow: (bool, bool),
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

/// One `vars` entry: a field of one object, substituted for `$(NAME)` in known places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub name: String,
    pub group: String,
    pub version: String,
    pub kind: String,
    pub object: String,
    pub namespace: String,
    /// Dotted, `metadata.name` when not given.
    pub field_path: String,
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
    /// `generators`: builtin generator configurations, as `transformers` lists them.
    pub generators: Vec<Entry>,
    /// `validators`: transformer configurations that must leave every object unchanged.
    pub validators: Vec<Entry>,
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
    /// `buildMetadata` options; kustomize heeds only the top kustomization's.
    pub build_metadata: Vec<String>,
    pub sort: Option<SortOrder>,
    pub vars: Vec<Var>,
    /// `patchesStrategicMerge`: file paths or inline patches.
    pub patches_strategic_merge: Vec<String>,
    /// `replacements` entries as written; read by the `replacements` module.
    pub replacements: Vec<Value>,
    /// `configurations`: transformer config files adding field specs.
    pub configurations: Vec<String>,
    /// `crds`: legacy OpenAPI definition files adding field specs (the `crds` module).
    pub crds: Vec<String>,
    /// `openapi`: `path` (a schema file) or `version` (a built-in schema); the `openapi`
    /// module decides which one a build uses.
    pub openapi: BTreeMap<String, String>,
}

/// Fields the native renderer does not implement yet, and what to do meanwhile.
const NOT_YET: &[&str] = &[];
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
    "crds",
    "generators",
    "validators",
    "sortOptions",
    "vars",
    "patchesStrategicMerge",
    "replacements",
    "configurations",
    "buildMetadata",
    "openapi",
];

/// Finds the kustomization file in `dir`.
pub fn find(dir: &Path) -> Result<PathBuf, Error> {
    let found: Vec<&str> = FILE_NAMES
        .iter()
        .copied()
        .filter(|n| super::files::kind(&dir.join(n)) == Some(super::files::Kind::File))
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
        let text = super::files::read_to_string(&file).map_err(|source| Error::Read {
            path: file.clone(),
            source,
        })?;
        Kustomization::parse(&file, &text)
    }

    pub fn parse(file: &Path, text: &str) -> Result<Kustomization, Error> {
        // kubectl reads the kustomization file through sigs.k8s.io/yaml, where a repeated key
        // keeps its last value (unlike resources and patches, read by kyaml, which refuse it).
        // Native must build what kubectl builds, so the lenient reader is the right one here.
        // sigs.k8s.io/yaml resolves plain scalars as YAML 1.1 (`n` and `on` are booleans,
        // `010` is 8), as the `yaml11` reader does; what it leaves alone (tags, several
        // documents) goes to the lenient reader.
        let docs = match super::yaml11::read(text) {
            Ok(doc) => vec![doc],
            Err(super::yaml11::Unread::Invalid(e)) => {
                return Err(Error::Parse {
                    file: file.to_path_buf(),
                    message: format!("invalid Kustomization: {e}"),
                })
            }
            Err(super::yaml11::Unread::Unsupported) => crate::manifest::parse_rendered(text)
                .map_err(|e| Error::Parse {
                    file: file.to_path_buf(),
                    message: format!("invalid Kustomization: {e}"),
                })?,
        };
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
        let names: Vec<&str> = KNOWN.iter().chain(NOT_YET).chain(HELM).copied().collect();
        let map = super::jsonkeys::canonical(&map, &names);
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
        let entries = |field: &'static str| -> Result<Vec<Entry>, Error> {
            Ok(r.strings(field)?
                .into_iter()
                .map(|path| Entry { field, path })
                .collect())
        };
        let transformers = entries("transformers")?;
        let generators = entries("generators")?;
        let validators = entries("validators")?;
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
            generators,
            validators,
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
            build_metadata: r.strings("buildMetadata")?,
            sort: r.sort_options()?,
            vars: r.vars()?,
            patches_strategic_merge: r.strings("patchesStrategicMerge")?,
            replacements: r.list("replacements")?.to_vec(),
            configurations: r.strings("configurations")?,
            crds: r.strings("crds")?,
            openapi: r.string_map("openapi", map.get("openapi"))?,
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
