//! Loading a kustomization tree (`api/internal/target/kusttarget.go`): resources from files
//! and from nested kustomizations, components applied to what has been gathered, then this
//! level's transformers. Files must lie in or below their kustomization's directory, a
//! kustomization may not include itself or one of its ancestors, and remote bases are refused.

use super::error::Error;
use super::fieldspec::FieldSpec;
use super::kustomization::{Entry, Kind, Kustomization, Var};
use super::resource::{read_resources, Resource};
use super::tconfig::{self, Config};
use super::{images, labels, names, namespace, patches};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Everything the kustomization in `dir` produces, before output ordering.
pub fn load(dir: &Path) -> Result<(Vec<Resource>, Vec<Var>, Config), Error> {
    let root = super::files::canonical(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut vars = Vec::new();
    let mut config = Config::default();
    let resources = accumulate(
        &root,
        &[],
        Vec::new(),
        Kind::Kustomization,
        None,
        &mut vars,
        &mut config,
    )?;
    Ok((resources, vars, config))
}

/// Where a kustomization was referred from, for errors about its kind.
struct Referrer<'a> {
    file: &'a Path,
    field: &'static str,
}

fn accumulate(
    dir: &Path,
    chain: &[PathBuf],
    mut acc: Vec<Resource>,
    expect: Kind,
    from: Option<Referrer<'_>>,
    vars: &mut Vec<Var>,
    config_out: &mut Config,
) -> Result<Vec<Resource>, Error> {
    let k = Kustomization::load(dir)?;
    super::openapi::set(&k, dir, from.is_none())?;
    if from.is_none() {
        super::origin::begin(&k, dir);
    }
    // What `config_out` holds already is inherited: a component works in its parent's
    // accumulator, whose configuration has the bases' tables merged in (kustomize's
    // `ResAccumulator.MergeConfig`), and adds its own.
    let mut config = config_out.clone();
    let own = super::tconfig::load(&k, dir, &default_tables())?;
    let merge_error = |message: String| Error::Field {
        file: k.file.clone(),
        field: "configurations".into(),
        message,
    };
    let crds = super::crds::load(&k, dir)?;
    if let Some(from) = &from {
        let message = match (expect, k.kind) {
            (Kind::Component, Kind::Kustomization) => Some(format!(
                "expected kind 'Component' for path '{}' but got 'Kustomization'",
                dir.display()
            )),
            (Kind::Kustomization, Kind::Component) => Some(format!(
                "expected kind != 'Component' for path '{}' (list components under `components`)",
                dir.display()
            )),
            _ => None,
        };
        if let Some(message) = message {
            return Err(Error::Kind {
                file: from.file.to_path_buf(),
                field: from.field.to_string(),
                message,
            });
        }
    }
    let mut chain = chain.to_vec();
    chain.push(dir.to_path_buf());

    for entry in &k.resources {
        match locate(dir, &k, entry, &chain)? {
            Located::File(path) => {
                let text = super::files::read_to_string(&path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                let mut read = read_resources(&path, &text)?;
                super::origin::set_new(&mut read, 0, |_| super::origin::from_file(&path));
                append(&mut acc, read, &k.file)?;
            }
            Located::Dir(sub) => {
                let from = Referrer {
                    file: &k.file,
                    field: entry.field,
                };
                let mut sub_config = Config::default();
                let resources = accumulate(
                    &sub,
                    &chain,
                    Vec::new(),
                    Kind::Kustomization,
                    Some(from),
                    vars,
                    &mut sub_config,
                )?;
                config.merge(sub_config).map_err(merge_error)?;
                append(&mut acc, resources, &k.file)?;
            }
        }
    }
    // Bases first, then this level's own tables, then the components, which share them.
    config.merge(own).map_err(merge_error)?;
    config.merge(crds).map_err(merge_error)?;
    let before = acc.len();
    super::generators::run(&k, dir, &mut acc)?;
    super::origin::set_new(&mut acc, before, |r| {
        let kind = if r.value["kind"] == "Secret" {
            "SecretGenerator"
        } else {
            "ConfigMapGenerator"
        };
        super::origin::builtin(&k, kind)
    });
    let generators = plugin_configs(&k, &k.generators, dir, &chain)?;
    super::plugin_generators::run(&k, dir, &generators, &mut acc)?;
    for entry in &k.components {
        match locate(dir, &k, entry, &chain)? {
            Located::Dir(sub) => {
                let from = Referrer { file: &k.file, field: entry.field };
                let mut sub_config = config.clone();
                acc = accumulate(
                    &sub,
                    &chain,
                    acc,
                    Kind::Component,
                    Some(from),
                    vars,
                    &mut sub_config,
                )?;
                // kustomize then merges the component's accumulator into an empty one: the
                // tables are settled into nothing again, so configured specs hide.
                config = sub_config;
                config.resettle().map_err(merge_error)?;
            }
            Located::File(_) => {
                return Err(Error::Field {
                    file: k.file.clone(),
                    field: entry.field.to_string(),
                    message: format!("'{}' is a file; components are directories with a kustomization of kind Component", entry.path),
                })
            }
        }
    }
    transform(&k, dir, &config, &mut acc)?;
    let configs = plugin_configs(&k, &k.transformers, dir, &chain)?;
    for cfg in &configs {
        super::transformers::run(&k, std::slice::from_ref(cfg), &mut acc)?;
        super::origin::record(&mut acc, || super::origin::plugin(cfg), 1);
    }
    let validators = plugin_configs(&k, &k.validators, dir, &chain)?;
    super::plugin_generators::validate(&k, &validators, &mut acc)?;
    super::vars::merge(&k, &mut acc, vars)?;
    *config_out = config;
    Ok(acc)
}

enum Located {
    File(PathBuf),
    Dir(PathBuf),
}

pub fn is_remote(path: &str) -> bool {
    path.contains("://")
        || path.starts_with("git@")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|h| path.starts_with(h))
}

/// Resolves one `resources`/`bases`/`components` entry and enforces the load rules.
fn locate(
    dir: &Path,
    k: &Kustomization,
    entry: &Entry,
    chain: &[PathBuf],
) -> Result<Located, Error> {
    let err_ctx = |f: fn(PathBuf, String, String) -> Error| {
        f(k.file.clone(), entry.field.to_string(), entry.path.clone())
    };
    if entry.path.is_empty() {
        return Err(Error::Field {
            file: k.file.clone(),
            field: entry.field.to_string(),
            message: "empty entry".into(),
        });
    }
    let full = dir.join(&entry.path);
    let kind = match super::files::kind(&full) {
        Some(kind) => kind,
        None if is_remote(&entry.path) => {
            return Err(Error::Refused {
                file: k.file.clone(),
                field: entry.field.to_string(),
                message: format!(
                    "'{}' is remote and ferry builds offline: vendor it into the repository and refer to it by path",
                    entry.path
                ),
            })
        }
        None => return Err(err_ctx(|file, field, entry| Error::Missing { file, field, entry })),
    };
    let canonical = super::files::canonical(&full).map_err(|source| Error::Read {
        path: full.clone(),
        source,
    })?;
    if kind == super::files::Kind::File {
        let parent = canonical.parent().unwrap_or(Path::new("/"));
        if !parent.starts_with(dir) {
            return Err(Error::Restricted {
                file: k.file.clone(),
                field: entry.field.to_string(),
                entry: entry.path.clone(),
                root: dir.to_path_buf(),
            });
        }
        return Ok(Located::File(canonical));
    }
    if Path::new(&entry.path).is_absolute() {
        return Err(Error::Field {
            file: k.file.clone(),
            field: entry.field.to_string(),
            message: format!(
                "'{}': a kustomization directory cannot be given as an absolute path",
                entry.path
            ),
        });
    }
    // A directory that is, or contains, a kustomization being built would recurse forever.
    if let Some(visited) = chain.iter().find(|v| v.starts_with(&canonical)) {
        return Err(Error::Cycle {
            file: k.file.clone(),
            field: entry.field.to_string(),
            entry: entry.path.clone(),
            visited: visited.clone(),
        });
    }
    Ok(Located::Dir(canonical))
}

/// Adds generated objects as [`append`] adds resources.
pub fn append_generated(
    acc: &mut Vec<Resource>,
    more: Vec<Resource>,
    file: &Path,
) -> Result<(), Error> {
    append(acc, more, file)
}

/// Adds resources, refusing one whose id is already taken (kustomize's `resWrangler.Append`).
fn append(acc: &mut Vec<Resource>, more: Vec<Resource>, file: &Path) -> Result<(), Error> {
    for res in &more {
        let api_version = res.value["apiVersion"].as_str().unwrap_or_default();
        let kind = res.value["kind"].as_str().unwrap_or_default();
        super::openapi::note_type(api_version, kind);
    }
    let mut seen: HashSet<String> = acc.iter().map(|r| r.id().key()).collect();
    for res in more {
        if !seen.insert(res.id().key()) {
            return Err(Error::Conflict {
                file: file.to_path_buf(),
                id: res.id().to_string(),
            });
        }
        acc.push(res);
    }
    Ok(())
}

/// The plugin configurations `transformers:`, `generators:` or `validators:` name: inline
/// YAML, files, or kustomization directories whose output they are. As in kustomize, the
/// inline ones come first, then those read from paths, each group in listed order.
fn plugin_configs(
    k: &Kustomization,
    entries: &[Entry],
    dir: &Path,
    chain: &[PathBuf],
) -> Result<Vec<Resource>, Error> {
    let mut configs = Vec::new();
    let mut from_paths = Vec::new();
    for entry in entries {
        let inline = crate::manifest::parse_documents(&entry.path)
            .ok()
            .filter(|docs| !docs.is_empty() && docs.iter().all(|d| d.get("kind").is_some()));
        if inline.is_some() {
            append(&mut configs, read_resources(&k.file, &entry.path)?, &k.file)?;
        } else {
            from_paths.push(entry);
        }
    }
    for entry in from_paths {
        match locate(dir, k, entry, chain)? {
            Located::File(path) => {
                let text = super::files::read_to_string(&path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                append(&mut configs, read_resources(&path, &text)?, &k.file)?;
            }
            Located::Dir(sub) => {
                let from = Referrer {
                    file: &k.file,
                    field: entry.field,
                };
                let more = accumulate(
                    &sub,
                    chain,
                    Vec::new(),
                    Kind::Kustomization,
                    Some(from),
                    &mut Vec::new(),
                    &mut Config::default(),
                )?;
                // Two configs with one id are refused, as kustomize's resource map does.
                append(&mut configs, more, &k.file)?;
            }
        }
    }
    Ok(configs)
}

/// Reads a file a kustomization field names (a generator input, a patch), which must lie in
/// or below the kustomization directory.
pub fn read_file(k: &Kustomization, dir: &Path, field: &str, path: &str) -> Result<Vec<u8>, Error> {
    let full = dir.join(path);
    let canonical = super::files::canonical(&full).map_err(|_| Error::Missing {
        file: k.file.clone(),
        field: field.to_string(),
        entry: path.to_string(),
    })?;
    if !canonical.parent().is_some_and(|p| p.starts_with(dir)) {
        return Err(Error::Restricted {
            file: k.file.clone(),
            field: field.to_string(),
            entry: path.to_string(),
            root: dir.to_path_buf(),
        });
    }
    super::files::read(&canonical).map_err(|source| Error::Read {
        path: canonical,
        source,
    })
}

/// The built-in tables kustomize starts every level's configuration from, in
/// [`Config::full`] order.
fn default_tables() -> [Vec<FieldSpec>; 10] {
    [
        namespace::field_specs(),
        names::default_field_specs(),
        names::default_field_specs(),
        labels::common_label_field_specs(),
        Vec::new(),
        labels::template_label_field_specs(),
        labels::annotation_field_specs(),
        images::field_specs(),
        patches::replica_field_specs(),
        super::vars::var_reference_specs(),
    ]
}

/// This level's transformers, in kustomize's order.
fn transform(
    k: &Kustomization,
    dir: &Path,
    config: &Config,
    acc: &mut Vec<Resource>,
) -> Result<(), Error> {
    let fail = |field: &str, acc: &[Resource], (i, message): (usize, String)| Error::Transform {
        file: k.file.clone(),
        field: field.to_string(),
        object: acc
            .get(i)
            .map(|r| format!("{} (from {})", r.id(), r.file.display()))
            .unwrap_or_default(),
        message,
    };
    let record = |acc: &mut Vec<Resource>, kind: &str, times: usize| {
        super::origin::record(acc, || super::origin::builtin(k, kind), times);
    };
    patches::apply_strategic_merge_field(k, dir, acc)?;
    record(
        acc,
        "PatchStrategicMergeTransformer",
        usize::from(!k.patches_strategic_merge.is_empty()),
    );
    patches::apply_patches(k, dir, acc)?;
    record(acc, "PatchTransformer", k.patches.len());
    // The tables as this level's accumulator holds them (built-ins and configurations).
    let table = |which: usize| config.full[which].clone();
    if !k.namespace.is_empty() {
        let specs = table(tconfig::NAMESPACE);
        namespace::apply_namespace(acc, &k.namespace, &specs)
            .map_err(|e| fail("namespace", acc, e))?;
        record(acc, "NamespaceTransformer", 1);
    }
    if !k.name_prefix.is_empty() || !k.name_suffix.is_empty() {
        let prefix = table(tconfig::NAME_PREFIX);
        let suffix = table(tconfig::NAME_SUFFIX);
        names::apply_affixes(acc, (&k.name_prefix, &prefix), (&k.name_suffix, &suffix))
            .map_err(|e| fail("namePrefix", acc, e))?;
        record(
            acc,
            "PrefixTransformer",
            usize::from(!k.name_prefix.is_empty()),
        );
        record(
            acc,
            "SuffixTransformer",
            usize::from(!k.name_suffix.is_empty()),
        );
    }
    for (i, label) in k.labels.iter().enumerate() {
        let field = format!("labels[{i}]");
        let specs = labels::label_field_specs(label, config)
            .map_err(|e| fail(&field, acc, (usize::MAX, e)))?;
        labels::apply_pairs(acc, &label.pairs, &specs).map_err(|e| fail(&field, acc, e))?;
    }
    let specs = table(tconfig::COMMON_LABELS);
    labels::apply_pairs(acc, &k.common_labels, &specs).map_err(|e| fail("commonLabels", acc, e))?;
    // One LabelTransformer per `labels` entry and one for commonLabels, when either is set.
    let label_transformers = if k.labels.is_empty() && k.common_labels.is_empty() {
        0
    } else {
        k.labels.len() + 1
    };
    record(acc, "LabelTransformer", label_transformers);
    let specs = table(tconfig::COMMON_ANNOTATIONS);
    labels::apply_pairs(acc, &k.common_annotations, &specs)
        .map_err(|e| fail("commonAnnotations", acc, e))?;
    record(
        acc,
        "AnnotationsTransformer",
        usize::from(!k.common_annotations.is_empty()),
    );
    patches::apply_json6902(k, dir, acc)?;
    record(acc, "PatchJson6902Transformer", k.patches_json6902.len());
    if !k.replicas.is_empty() {
        let specs = table(tconfig::REPLICAS);
        patches::apply_replicas(k, acc, &specs)?;
        record(acc, "ReplicaCountTransformer", k.replicas.len());
    }
    if !k.images.is_empty() {
        let specs = table(tconfig::IMAGES);
        for (i, image) in k.images.iter().enumerate() {
            images::apply_image(acc, image, &specs)
                .map_err(|e| fail(&format!("images[{i}]"), acc, e))?;
        }
        record(acc, "ImageTagTransformer", k.images.len());
    }
    let replacements = super::replacements::load(k, dir, &k.file, &k.replacements, "replacements")?;
    super::replacements::apply(&replacements, acc)?;
    record(
        acc,
        "ReplacementTransformer",
        usize::from(!k.replacements.is_empty()),
    );
    Ok(())
}
