//! `transformers:` entries: builtin plugin configurations (`apiVersion: builtin`) given as
//! files, directories or inline, run after this level's own transformers. Every builtin
//! transformer of kustomize v5.7.1 is supported; a generator kind or a kind kustomize's
//! builtin table lacks fails as there, and external plugins are refused.

use super::error::Error;
use super::fieldspec::{scalar_text, FieldSpec};
use super::kustomization::{Image, Kustomization, Replica};
use super::resource::Resource;
use super::{images, labels, names, namespace, patches};
use serde_json::Value;
use std::collections::BTreeMap;

fn config_error(cfg: &Resource, message: String) -> Error {
    Error::Resource {
        file: cfg.file.clone(),
        message: format!("{} transformer configuration: {message}", cfg.gvk().kind),
    }
}

fn field_specs(cfg: &Resource) -> Result<Vec<FieldSpec>, Error> {
    let mut out = Vec::new();
    let specs = match cfg.value.get("fieldSpecs") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(config_error(cfg, "`fieldSpecs` must be a list".into())),
    };
    for s in specs {
        let text = |k: &str| s.get(k).and_then(scalar_text).unwrap_or_default();
        out.push(FieldSpec {
            group: text("group"),
            version: text("version"),
            kind: text("kind"),
            path: text("path"),
            create: s.get("create").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    Ok(out)
}

fn string_map(cfg: &Resource, field: &str) -> Result<BTreeMap<String, String>, Error> {
    match cfg.value.get(field) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => Ok(m
            .iter()
            .map(|(k, v)| (k.clone(), scalar_text(v).unwrap_or_default()))
            .collect()),
        Some(_) => Err(config_error(cfg, format!("`{field}` must be a mapping"))),
    }
}

/// Refuses a plugin config whose apiVersion is not `builtin`: an exec or Go plugin, or a KRM
/// function, which ferry never runs.
pub fn refuse_external(cfg: &Resource, field: &str) -> Result<(), Error> {
    if cfg.value["apiVersion"].as_str() == Some("builtin") {
        return Ok(());
    }
    Err(Error::Refused {
        file: cfg.file.clone(),
        field: field.into(),
        message: format!(
            "{} '{}' is an external plugin (apiVersion {}); ferry runs no plugins or KRM functions",
            cfg.gvk().kind,
            cfg.name(),
            cfg.value["apiVersion"]
        ),
    })
}

/// Runs each configuration, in order, over `acc`.
pub fn run(k: &Kustomization, configs: &[Resource], acc: &mut Vec<Resource>) -> Result<(), Error> {
    for cfg in configs {
        let gvk = cfg.gvk();
        refuse_external(cfg, "transformers")?;
        let fail = |acc: &[Resource], (i, message): (usize, String)| Error::Transform {
            file: cfg.file.clone(),
            field: "transformers".into(),
            object: acc.get(i).map(|r| r.id().to_string()).unwrap_or_default(),
            message,
        };
        match gvk.kind.as_str() {
            "LabelTransformer" => {
                let specs = field_specs(cfg)?;
                labels::apply_pairs(acc, &string_map(cfg, "labels")?, &specs)
                    .map_err(|e| fail(acc, e))?;
            }
            "AnnotationsTransformer" => {
                let specs = field_specs(cfg)?;
                labels::apply_pairs(acc, &string_map(cfg, "annotations")?, &specs)
                    .map_err(|e| fail(acc, e))?;
            }
            "NamespaceTransformer" => {
                let option = |f: &str| cfg.value.get(f).filter(|v| !v.is_null());
                let unset_only = match option("unsetOnly") {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => {
                        return Err(config_error(
                            cfg,
                            "`unsetOnly` must be true or false".into(),
                        ))
                    }
                };
                let subjects = option("setRoleBindingSubjects")
                    .and_then(scalar_text)
                    .unwrap_or_default();
                let subjects =
                    namespace::Subjects::parse(&subjects).map_err(|m| config_error(cfg, m))?;
                let mode = namespace::Mode {
                    unset_only,
                    subjects,
                };
                let ns = cfg.value["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                if !ns.is_empty() {
                    namespace::apply_namespace_with(acc, &ns, &field_specs(cfg)?, mode)
                        .map_err(|e| fail(acc, e))?;
                }
            }
            "ImageTagTransformer" => {
                let t = &cfg.value["imageTag"];
                let text = |f: &str| t.get(f).and_then(scalar_text).unwrap_or_default();
                let image = Image {
                    name: text("name"),
                    new_name: text("newName"),
                    new_tag: text("newTag"),
                    digest: text("digest"),
                    tag_suffix: text("tagSuffix"),
                };
                images::apply_image(acc, &image, &field_specs(cfg)?).map_err(|e| fail(acc, e))?;
            }
            "PrefixTransformer" | "SuffixTransformer" | "PrefixSuffixTransformer" => {
                // Go's decoder leaves `fieldSpecs` nil when absent, which the plugin refuses.
                if cfg.value.get("fieldSpecs").is_none_or(Value::is_null) {
                    return Err(config_error(
                        cfg,
                        "fieldSpecs is not expected to be nil".into(),
                    ));
                }
                let specs = field_specs(cfg)?;
                let affix = |f: &str| cfg.value.get(f).and_then(scalar_text).unwrap_or_default();
                let (prefix, suffix) = (affix("prefix"), affix("suffix"));
                let none: &[FieldSpec] = &[];
                // PrefixSuffixTransformer is the two plugins, one after the other.
                let kind = gvk.kind.as_str();
                if kind != "SuffixTransformer" {
                    names::apply_affixes(acc, (prefix.as_str(), specs.as_slice()), ("", none))
                        .map_err(|e| fail(acc, e))?;
                }
                if kind != "PrefixTransformer" {
                    names::apply_affixes(acc, ("", none), (suffix.as_str(), specs.as_slice()))
                        .map_err(|e| fail(acc, e))?;
                }
            }
            "ReplicaCountTransformer" => {
                let r = &cfg.value["replica"];
                let count = match r.get("count") {
                    None | Some(Value::Null) => serde_json::Number::from(0),
                    Some(Value::Number(n)) if n.is_i64() => n.clone(),
                    Some(_) => {
                        return Err(config_error(
                            cfg,
                            "`replica.count` must be an integer".into(),
                        ))
                    }
                };
                let replica = Replica {
                    name: r.get("name").and_then(scalar_text).unwrap_or_default(),
                    count,
                };
                let specs = field_specs(cfg)?;
                patches::set_replicas(&cfg.file, "transformers", &replica, acc, &specs)?;
            }
            "PatchTransformer" => super::builtin_patches::patch(k, cfg, acc)?,
            "PatchJson6902Transformer" => super::builtin_patches::json6902(k, cfg, acc)?,
            "PatchStrategicMergeTransformer" => {
                super::builtin_patches::strategic_merge(k, cfg, acc)?
            }
            "HashTransformer" => {
                super::generators::add_hash_suffixes(acc).map_err(|e| fail(acc, e))?
            }
            "ValueAddTransformer" => super::valueadd::run(k, cfg, acc)?,
            "ReplacementTransformer" => {
                let entries = match cfg.value.get("replacements") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a.clone(),
                    Some(_) => {
                        return Err(config_error(cfg, "`replacements` must be a list".into()))
                    }
                };
                let dir = k.file.parent().unwrap_or(std::path::Path::new(""));
                let list = super::replacements::load(k, dir, &cfg.file, &entries, "replacements")?;
                super::replacements::apply(&list, acc)?;
            }
            "ConfigMapGenerator"
            | "SecretGenerator"
            | "IAMPolicyGenerator"
            | "HelmChartInflationGenerator" => {
                return Err(config_error(
                    cfg,
                    format!("plugin {} not a transformer", cfg.id()),
                ))
            }
            _ => {
                // What kustomize's builtin table lacks (SortOrderTransformer among them) fails
                // to load there too.
                return Err(config_error(
                    cfg,
                    format!("unable to load builtin {}.builtin.[noGrp]", gvk.kind),
                ));
            }
        }
    }
    Ok(())
}

/// Whether kustomize's builtin table knows `kind` (as a generator or a transformer).
pub fn is_builtin(kind: &str) -> bool {
    [
        "AnnotationsTransformer",
        "HashTransformer",
        "ImageTagTransformer",
        "LabelTransformer",
        "NamespaceTransformer",
        "PatchJson6902Transformer",
        "PatchStrategicMergeTransformer",
        "PatchTransformer",
        "PrefixSuffixTransformer",
        "PrefixTransformer",
        "SuffixTransformer",
        "ReplicaCountTransformer",
        "ReplacementTransformer",
        "ValueAddTransformer",
        "ConfigMapGenerator",
        "SecretGenerator",
        "IAMPolicyGenerator",
        "HelmChartInflationGenerator",
    ]
    .contains(&kind)
}
