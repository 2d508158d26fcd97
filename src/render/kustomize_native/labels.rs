//! `labels`, `commonLabels` and `commonAnnotations` (`api/filters/labels`,
//! `api/filters/annotations`) with kustomize's built-in field specs
//! (`api/internal/konfig/builtinpluginconsts`).

use super::fieldspec::{apply, Create, FieldSpec};
use super::kustomization::Label;
use super::resource::Resource;
use super::tconfig::{self, Config};
use serde_json::Value;
use std::collections::BTreeMap;

fn fs(group: &str, version: &str, kind: &str, path: &str, create: bool) -> FieldSpec {
    FieldSpec::new(group, version, kind, path, create)
}

/// `metadataLabelsFieldSpecs`: object labels and pod template labels.
fn metadata_labels() -> Vec<FieldSpec> {
    vec![
        fs("", "", "", "metadata/labels", true),
        fs(
            "",
            "v1",
            "ReplicationController",
            "spec/template/metadata/labels",
            true,
        ),
        fs("", "", "Deployment", "spec/template/metadata/labels", true),
        fs("", "", "ReplicaSet", "spec/template/metadata/labels", true),
        fs("", "", "DaemonSet", "spec/template/metadata/labels", true),
        fs(
            "apps",
            "",
            "StatefulSet",
            "spec/template/metadata/labels",
            true,
        ),
        fs(
            "apps",
            "",
            "StatefulSet",
            "spec/volumeClaimTemplates[]/metadata/labels",
            true,
        ),
        fs("batch", "", "Job", "spec/template/metadata/labels", true),
        fs(
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/metadata/labels",
            true,
        ),
        fs(
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/spec/template/metadata/labels",
            true,
        ),
    ]
}

/// `commonLabelFieldSpecs`: selectors too, then the metadata labels.
fn common_labels() -> Vec<FieldSpec> {
    let affinity = [
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
    ];
    let mut v = vec![
        fs("", "v1", "Service", "spec/selector", true),
        fs("", "v1", "ReplicationController", "spec/selector", true),
        fs("", "", "Deployment", "spec/selector/matchLabels", true),
    ];
    v.extend(
        affinity
            .iter()
            .map(|p| fs("apps", "", "Deployment", p, false)),
    );
    v.push(fs("", "", "ReplicaSet", "spec/selector/matchLabels", true));
    v.push(fs("", "", "DaemonSet", "spec/selector/matchLabels", true));
    v.push(fs(
        "apps",
        "",
        "StatefulSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.extend(
        affinity
            .iter()
            .map(|p| fs("apps", "", "StatefulSet", p, false)),
    );
    v.push(fs("batch", "", "Job", "spec/selector/matchLabels", false));
    v.push(fs(
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ));
    v.push(fs(
        "policy",
        "",
        "PodDisruptionBudget",
        "spec/selector/matchLabels",
        false,
    ));
    v.push(fs(
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/podSelector/matchLabels",
        false,
    ));
    v.push(fs(
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/ingress/from/podSelector/matchLabels",
        false,
    ));
    v.push(fs(
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/egress/to/podSelector/matchLabels",
        false,
    ));
    v.extend(metadata_labels());
    v
}

fn common_annotations() -> Vec<FieldSpec> {
    vec![
        fs("", "", "", "metadata/annotations", true),
        fs(
            "",
            "v1",
            "ReplicationController",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "",
            "",
            "Deployment",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "",
            "",
            "ReplicaSet",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "",
            "",
            "DaemonSet",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "",
            "",
            "StatefulSet",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "batch",
            "",
            "Job",
            "spec/template/metadata/annotations",
            true,
        ),
        fs(
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/metadata/annotations",
            true,
        ),
        fs(
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/spec/template/metadata/annotations",
            true,
        ),
    ]
}

/// `FsSlice.MergeAll`.
fn merge(into: &mut Vec<FieldSpec>, more: Vec<FieldSpec>) -> Result<(), String> {
    more.into_iter()
        .try_for_each(|spec| tconfig::merge_one(into, spec))
}

/// The field specs one `labels` entry writes to: its own, then the `labels` table of the
/// transformer configurations, then the selector specs (`includeSelectors`) or the template
/// specs (`includeTemplates`) and the object's own labels, each table extended by the
/// configurations as kustomize's merged `TransformerConfig` is.
pub fn label_field_specs(label: &Label, config: &Config) -> Result<Vec<FieldSpec>, String> {
    let mut specs = label.fields.clone();
    merge(&mut specs, config.full[tconfig::LABELS].clone())?;
    if label.include_selectors {
        merge(&mut specs, config.full[tconfig::COMMON_LABELS].clone())?;
    } else {
        if label.include_templates {
            merge(&mut specs, config.full[tconfig::TEMPLATE_LABELS].clone())?;
        }
        merge(&mut specs, vec![fs("", "", "", "metadata/labels", true)])?;
    }
    Ok(specs)
}

/// The built-in `templateLabels` table.
pub fn template_label_field_specs() -> Vec<FieldSpec> {
    metadata_labels()
}

pub fn common_label_field_specs() -> Vec<FieldSpec> {
    common_labels()
}

pub fn annotation_field_specs() -> Vec<FieldSpec> {
    common_annotations()
}

/// Writes `pairs` into the mapping at every place `specs` reach, creating it where a spec
/// says so, as kyaml's `SetEntry` does: per key, places where the key is new share one node,
/// and a place where it exists is overwritten in place, together with every place sharing
/// its node. Returns the index of the resource that failed with the reason.
pub fn apply_pairs(
    resources: &mut [Resource],
    pairs: &BTreeMap<String, String>,
    specs: &[FieldSpec],
) -> Result<(), (usize, String)> {
    if pairs.is_empty() {
        return Ok(());
    }
    for (i, res) in resources.iter_mut().enumerate() {
        for (key, value) in pairs {
            let escaped = key.replace('~', "~0").replace('/', "~1");
            let mut created = Vec::new();
            let mut overwritten = Vec::new();
            for spec in specs {
                let mut set = |node: &mut Value, at: &str| {
                    if node.is_null() {
                        *node = Value::Object(serde_json::Map::new());
                    }
                    let Value::Object(map) = node else {
                        return Err(format!(
                            "wrong node kind: expected a mapping, found {}",
                            super::resource::kind_name(node)
                        ));
                    };
                    let pointer = format!("{at}/{escaped}");
                    if map
                        .insert(key.clone(), Value::String(value.clone()))
                        .is_some()
                    {
                        overwritten.push(pointer);
                    } else {
                        created.push(pointer);
                    }
                    Ok(())
                };
                apply(spec, &mut res.value, Create::Mapping, &mut set).map_err(|e| (i, e))?;
            }
            for pointer in &overwritten {
                let sharing: Vec<String> = res
                    .shared
                    .iter()
                    .filter(|g| g.contains(pointer))
                    .flatten()
                    .cloned()
                    .collect();
                for other in sharing {
                    if let Some(slot) = res.value.pointer_mut(&other) {
                        *slot = Value::String(value.clone());
                    }
                }
            }
            if created.len() > 1 {
                res.shared.push(created);
            }
        }
    }
    Ok(())
}
