//! Native `kustomize build`, written to give the same bytes as `kubectl kustomize` (kustomize
//! v5.7.1) without the binary. Covered: the kustomization model and loader (resources, bases,
//! components, nested kustomizations, `List` kinds, load restrictions, cycles), the namespace,
//! name prefix/suffix, labels/commonLabels, commonAnnotations, images and replicas
//! transformers, configMap/secret generators with behaviours and hash suffixes, JSON 6902 and
//! strategic merge patches with target selectors (merge keys from the Kubernetes v1.21.2
//! schema), replacements, `configurations` field specs, `transformers:` entries naming builtin
//! configs (labels, annotations, namespace, images, prefix, suffix, replica count,
//! replacements, value-add), name reference fix-ups, vars, `sortOptions`, the legacy order,
//! `buildMetadata` (`origin`), `openapi` schema files (`openapi`), the IAMPolicyGenerator
//! (`iam`) and the dropping of local-config objects. Field names fold case as Go's JSON
//! decoding does (`jsonkeys`). Plugins, KRM functions, Helm charts and remote bases are
//! refused with an error naming the file and field, as kubectl without plugins or network
//! refuses them too.
//!
//! Known gap: resources are read with the foundation's YAML reader, not go-yaml v3; see
//! the `typing` module for how far its typing is brought in line.

mod builtin_patches;
mod crds;
mod error;
mod fields;
mod fieldspec;
pub mod files;
mod generators;
mod iam;
mod images;
mod jsonkeys;
mod jsonpatch;
mod kustomization;
mod labels;
mod loader;
mod mergekeys;
mod nameref;
mod names;
mod namespace;
mod openapi;
mod order;
mod origin;
mod patches;
mod plugin_generators;
mod replacements;
mod resource;
mod schema;
mod scope;
mod selector;
mod smp;
mod smp_assoc;
mod tconfig;
mod transformers;
mod typing;
mod valueadd;
mod vars;
pub(crate) mod yaml11;

pub use error::Error;

use kustomization::SortOrder;
use std::path::Path;

/// The label `buildMetadata: [managedByLabel]` puts on every object, naming the kustomize
/// version kubectl v1.35 embeds, whose output native reproduces.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kustomize-v5.7.1");

/// The top kustomization's `buildMetadata` (a nested one's is ignored, as by kustomize);
/// unknown options are ignored too.
fn build_metadata(
    top: &kustomization::Kustomization,
    resources: &mut [resource::Resource],
) -> Result<(), Error> {
    if top.build_metadata.iter().any(|o| o == "managedByLabel") {
        let pairs = [(MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string())].into();
        let specs = [fieldspec::FieldSpec::new(
            "",
            "",
            "",
            "metadata/labels",
            true,
        )];
        labels::apply_pairs(resources, &pairs, &specs).map_err(|(i, message)| {
            Error::Transform {
                file: top.file.clone(),
                field: "buildMetadata".into(),
                object: resources
                    .get(i)
                    .map(|r| r.id().to_string())
                    .unwrap_or_default(),
                message,
            }
        })?;
    }
    Ok(())
}

/// Builds the kustomization in `dir` into a YAML stream: objects in legacy order, each as
/// go-yaml v2 writes it, joined by `---`.
///
/// # Errors
/// Any problem in the kustomization tree, naming the file and field concerned.
pub fn build(dir: &Path) -> Result<String, Error> {
    openapi::begin();
    let (mut resources, vars, config) = loader::load(dir)?;
    generators::add_hash_suffixes(&mut resources).map_err(|(i, message)| {
        let res = &resources[i];
        Error::Resource {
            file: res.file.clone(),
            message: format!("{}: {message}", res.id()),
        }
    })?;
    nameref::fix_back_references(&mut resources, &config.name_reference).map_err(
        |(i, message)| {
            let res = &resources[i];
            Error::Resource {
                file: res.file.clone(),
                message: format!("{}: {message}", res.id()),
            }
        },
    )?;
    if !vars.is_empty() {
        let specs = config.full[tconfig::VAR_REFERENCE].clone();
        vars::resolve(&mut resources, &vars, &specs)?;
    }
    for res in &mut resources {
        // The output goes through JSON, which types what replacements created, except the
        // annotations: kustomize rebuilds them from their text before that.
        res.type_untyped(resource::is_annotation);
        resource::normalize_annotations(&mut res.value);
    }
    // Last of all, as kustomize's `IgnoreLocal` does at the top level only: local-config
    // objects served as sources for replacements, vars and name references until here.
    resources.retain(|res| !resource::is_local_config(&res.value));
    let top = kustomization::Kustomization::load(dir)?;
    build_metadata(&top, &mut resources)?;
    origin::annotate(&top, &mut resources);
    let resources = match top.sort {
        None | Some(SortOrder::Legacy { first: None, .. }) => {
            order::legacy_sort(resources, &order::DEFAULT)
        }
        Some(SortOrder::Legacy { first, last }) => {
            let first: Vec<&str> = first.iter().flatten().map(String::as_str).collect();
            let last: Vec<&str> = last.iter().flatten().map(String::as_str).collect();
            order::legacy_sort(
                resources,
                &order::Order {
                    first: &first,
                    last: &last,
                },
            )
        }
        Some(SortOrder::Fifo) => resources,
    };
    for res in &resources {
        if let Some(c) = crate::goyaml::unwritable_char(&res.value) {
            return Err(Error::Resource {
                file: res.file.clone(),
                message: format!(
                    "{}: holds the character U+{:04X}, which kustomize's YAML output cannot carry (remove it)",
                    res.id(),
                    c as u32
                ),
            });
        }
    }
    Ok(resources
        .iter()
        .map(|r| crate::goyaml::to_yaml(&r.value))
        .collect::<Vec<_>>()
        .join("---\n"))
}
