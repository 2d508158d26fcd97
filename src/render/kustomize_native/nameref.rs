//! Name reference fix-ups (`api/filters/nameref`, run once by `FixBackReferences` after all
//! levels are built): when a prefix, suffix or namespace renamed an object, fields that refer
//! to it by name (a Deployment's ConfigMap volume, a RoleBinding's roleRef and subjects, a
//! StatefulSet's serviceName, ...) follow. Candidates are narrowed exactly as kustomize does:
//! earlier names, kinds, roleRef kind, namespace, then the prefixes and suffixes both sides
//! went through.

use super::fieldspec::{apply, scalar_text, Create, FieldSpec};
use super::resource::{Gvk, ResId, Resource, NOT_A_NAMESPACE};
use serde_json::Value;
use std::collections::HashSet;

/// A kind that can be referred to by name, and the fields (of which kinds) that refer to it.
struct Target {
    gvk: (&'static str, &'static str, &'static str),
    referrers: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

/// kustomize's built-in name reference table (`builtinpluginconsts/namereference.go`), as
/// (group, version, kind) of the target and (group, version, kind, path) of each referrer.
const BACK_REFERENCES: &[Target] = &[
    Target {
        gvk: ("", "", "Deployment"),
        referrers: &[
            ("", "", "HorizontalPodAutoscaler", "spec/scaleTargetRef/name"),
        ],
    },
    Target {
        gvk: ("", "", "ReplicationController"),
        referrers: &[
            ("", "", "HorizontalPodAutoscaler", "spec/scaleTargetRef/name"),
        ],
    },
    Target {
        gvk: ("", "", "ReplicaSet"),
        referrers: &[
            ("", "", "HorizontalPodAutoscaler", "spec/scaleTargetRef/name"),
        ],
    },
    Target {
        gvk: ("", "", "StatefulSet"),
        referrers: &[
            ("", "", "HorizontalPodAutoscaler", "spec/scaleTargetRef/name"),
        ],
    },
    Target {
        gvk: ("", "v1", "ConfigMap"),
        referrers: &[
            ("", "v1", "Pod", "spec/volumes/configMap/name"),
            ("", "v1", "Pod", "spec/containers/env/valueFrom/configMapKeyRef/name"),
            ("", "v1", "Pod", "spec/initContainers/env/valueFrom/configMapKeyRef/name"),
            ("", "v1", "Pod", "spec/containers/envFrom/configMapRef/name"),
            ("", "v1", "Pod", "spec/initContainers/envFrom/configMapRef/name"),
            ("", "v1", "Pod", "spec/volumes/projected/sources/configMap/name"),
            ("", "", "PodTemplate", "template/spec/volumes/configMap/name"),
            ("", "", "PodTemplate", "template/spec/containers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "PodTemplate", "template/spec/initContainers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "PodTemplate", "template/spec/containers/envFrom/configMapRef/name"),
            ("", "", "PodTemplate", "template/spec/initContainers/envFrom/configMapRef/name"),
            ("", "", "PodTemplate", "template/spec/volumes/projected/sources/configMap/name"),
            ("", "", "Deployment", "spec/template/spec/volumes/configMap/name"),
            ("", "", "Deployment", "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "Deployment", "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "Deployment", "spec/template/spec/containers/envFrom/configMapRef/name"),
            ("", "", "Deployment", "spec/template/spec/initContainers/envFrom/configMapRef/name"),
            ("", "", "Deployment", "spec/template/spec/volumes/projected/sources/configMap/name"),
            ("", "", "ReplicaSet", "spec/template/spec/volumes/configMap/name"),
            ("", "", "ReplicaSet", "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "ReplicaSet", "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "ReplicaSet", "spec/template/spec/containers/envFrom/configMapRef/name"),
            ("", "", "ReplicaSet", "spec/template/spec/initContainers/envFrom/configMapRef/name"),
            ("", "", "ReplicaSet", "spec/template/spec/volumes/projected/sources/configMap/name"),
            ("", "", "DaemonSet", "spec/template/spec/volumes/configMap/name"),
            ("", "", "DaemonSet", "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "DaemonSet", "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "DaemonSet", "spec/template/spec/containers/envFrom/configMapRef/name"),
            ("", "", "DaemonSet", "spec/template/spec/initContainers/envFrom/configMapRef/name"),
            ("", "", "DaemonSet", "spec/template/spec/volumes/projected/sources/configMap/name"),
            ("", "", "StatefulSet", "spec/template/spec/volumes/configMap/name"),
            ("", "", "StatefulSet", "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "StatefulSet", "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "StatefulSet", "spec/template/spec/containers/envFrom/configMapRef/name"),
            ("", "", "StatefulSet", "spec/template/spec/initContainers/envFrom/configMapRef/name"),
            ("", "", "StatefulSet", "spec/template/spec/volumes/projected/sources/configMap/name"),
            ("", "", "Job", "spec/template/spec/volumes/configMap/name"),
            ("", "", "Job", "spec/template/spec/containers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "Job", "spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "Job", "spec/template/spec/containers/envFrom/configMapRef/name"),
            ("", "", "Job", "spec/template/spec/initContainers/envFrom/configMapRef/name"),
            ("", "", "Job", "spec/template/spec/volumes/projected/sources/configMap/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/volumes/configMap/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/volumes/projected/sources/configMap/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/containers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/containers/envFrom/configMapRef/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/initContainers/envFrom/configMapRef/name"),
            ("", "", "Node", "spec/configSource/configMap"),
            ("", "", "Role", "rules/resourceNames"),
            ("", "", "ClusterRole", "rules/resourceNames"),
            ("", "", "Ingress", "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap"),
        ],
    },
    Target {
        gvk: ("", "v1", "Secret"),
        referrers: &[
            ("", "v1", "Pod", "spec/volumes/secret/secretName"),
            ("", "v1", "Pod", "spec/containers/env/valueFrom/secretKeyRef/name"),
            ("", "v1", "Pod", "spec/initContainers/env/valueFrom/secretKeyRef/name"),
            ("", "v1", "Pod", "spec/containers/envFrom/secretRef/name"),
            ("", "v1", "Pod", "spec/initContainers/envFrom/secretRef/name"),
            ("", "v1", "Pod", "spec/imagePullSecrets/name"),
            ("", "v1", "Pod", "spec/volumes/projected/sources/secret/name"),
            ("", "", "PodTemplate", "template/spec/volumes/secret/secretName"),
            ("", "", "PodTemplate", "template/spec/containers/env/valueFrom/secretKeyRef/name"),
            ("", "", "PodTemplate", "template/spec/initContainers/env/valueFrom/secretKeyRef/name"),
            ("", "", "PodTemplate", "template/spec/containers/envFrom/secretRef/name"),
            ("", "", "PodTemplate", "template/spec/initContainers/envFrom/secretRef/name"),
            ("", "", "PodTemplate", "template/spec/imagePullSecrets/name"),
            ("", "", "PodTemplate", "template/spec/volumes/projected/sources/secret/name"),
            ("", "", "Deployment", "spec/template/spec/volumes/secret/secretName"),
            ("", "", "Deployment", "spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
            ("", "", "Deployment", "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name"),
            ("", "", "Deployment", "spec/template/spec/containers/envFrom/secretRef/name"),
            ("", "", "Deployment", "spec/template/spec/initContainers/envFrom/secretRef/name"),
            ("", "", "Deployment", "spec/template/spec/imagePullSecrets/name"),
            ("", "", "Deployment", "spec/template/spec/volumes/projected/sources/secret/name"),
            ("", "", "ReplicaSet", "spec/template/spec/volumes/secret/secretName"),
            ("", "", "ReplicaSet", "spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
            ("", "", "ReplicaSet", "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name"),
            ("", "", "ReplicaSet", "spec/template/spec/containers/envFrom/secretRef/name"),
            ("", "", "ReplicaSet", "spec/template/spec/initContainers/envFrom/secretRef/name"),
            ("", "", "ReplicaSet", "spec/template/spec/imagePullSecrets/name"),
            ("", "", "ReplicaSet", "spec/template/spec/volumes/projected/sources/secret/name"),
            ("", "", "DaemonSet", "spec/template/spec/volumes/secret/secretName"),
            ("", "", "DaemonSet", "spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
            ("", "", "DaemonSet", "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name"),
            ("", "", "DaemonSet", "spec/template/spec/containers/envFrom/secretRef/name"),
            ("", "", "DaemonSet", "spec/template/spec/initContainers/envFrom/secretRef/name"),
            ("", "", "DaemonSet", "spec/template/spec/imagePullSecrets/name"),
            ("", "", "DaemonSet", "spec/template/spec/volumes/projected/sources/secret/name"),
            ("", "", "StatefulSet", "spec/template/spec/volumes/secret/secretName"),
            ("", "", "StatefulSet", "spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
            ("", "", "StatefulSet", "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name"),
            ("", "", "StatefulSet", "spec/template/spec/containers/envFrom/secretRef/name"),
            ("", "", "StatefulSet", "spec/template/spec/initContainers/envFrom/secretRef/name"),
            ("", "", "StatefulSet", "spec/template/spec/imagePullSecrets/name"),
            ("", "", "StatefulSet", "spec/template/spec/volumes/projected/sources/secret/name"),
            ("", "", "Job", "spec/template/spec/volumes/secret/secretName"),
            ("", "", "Job", "spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
            ("", "", "Job", "spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name"),
            ("", "", "Job", "spec/template/spec/containers/envFrom/secretRef/name"),
            ("", "", "Job", "spec/template/spec/initContainers/envFrom/secretRef/name"),
            ("", "", "Job", "spec/template/spec/imagePullSecrets/name"),
            ("", "", "Job", "spec/template/spec/volumes/projected/sources/secret/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/volumes/secret/secretName"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/volumes/projected/sources/secret/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/containers/envFrom/secretRef/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/initContainers/envFrom/secretRef/name"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/imagePullSecrets/name"),
            ("", "", "Ingress", "spec/tls/secretName"),
            ("", "", "Ingress", "metadata/annotations/ingress.kubernetes.io\\/auth-secret"),
            ("", "", "Ingress", "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret"),
            ("", "", "Ingress", "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret"),
            ("", "", "Ingress", "spec/tls/secretName"),
            ("", "", "ServiceAccount", "imagePullSecrets/name"),
            ("", "", "StorageClass", "parameters/secretName"),
            ("", "", "StorageClass", "parameters/adminSecretName"),
            ("", "", "StorageClass", "parameters/userSecretName"),
            ("", "", "StorageClass", "parameters/secretRef"),
            ("", "", "Role", "rules/resourceNames"),
            ("", "", "ClusterRole", "rules/resourceNames"),
            ("serving.knative.dev", "v1", "Service", "spec/template/spec/containers/env/valueFrom/secretKeyRef/name"),
            ("", "", "PersistentVolume", "spec/azureFile/secretName"),
        ],
    },
    Target {
        gvk: ("", "v1", "Service"),
        referrers: &[
            ("apps", "", "StatefulSet", "spec/serviceName"),
            ("", "", "Ingress", "spec/rules/http/paths/backend/serviceName"),
            ("", "", "Ingress", "spec/backend/serviceName"),
            ("", "", "Ingress", "spec/rules/http/paths/backend/service/name"),
            ("", "", "Ingress", "spec/defaultBackend/service/name"),
            ("apiregistration.k8s.io", "", "APIService", "spec/service/name"),
            ("admissionregistration.k8s.io", "", "ValidatingWebhookConfiguration", "webhooks/clientConfig/service"),
            ("admissionregistration.k8s.io", "", "MutatingWebhookConfiguration", "webhooks/clientConfig/service"),
        ],
    },
    Target {
        gvk: ("rbac.authorization.k8s.io", "", "Role"),
        referrers: &[
            ("rbac.authorization.k8s.io", "", "RoleBinding", "roleRef/name"),
        ],
    },
    Target {
        gvk: ("rbac.authorization.k8s.io", "", "ClusterRole"),
        referrers: &[
            ("rbac.authorization.k8s.io", "", "RoleBinding", "roleRef/name"),
            ("rbac.authorization.k8s.io", "", "ClusterRoleBinding", "roleRef/name"),
        ],
    },
    Target {
        gvk: ("", "v1", "ServiceAccount"),
        referrers: &[
            ("rbac.authorization.k8s.io", "", "RoleBinding", "subjects"),
            ("rbac.authorization.k8s.io", "", "ClusterRoleBinding", "subjects"),
            ("", "", "Pod", "spec/serviceAccountName"),
            ("", "", "StatefulSet", "spec/template/spec/serviceAccountName"),
            ("", "", "Deployment", "spec/template/spec/serviceAccountName"),
            ("", "", "ReplicationController", "spec/template/spec/serviceAccountName"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/serviceAccountName"),
            ("", "", "Job", "spec/template/spec/serviceAccountName"),
            ("", "", "DaemonSet", "spec/template/spec/serviceAccountName"),
        ],
    },
    Target {
        gvk: ("", "v1", "PersistentVolumeClaim"),
        referrers: &[
            ("", "", "Pod", "spec/volumes/persistentVolumeClaim/claimName"),
            ("", "", "StatefulSet", "spec/template/spec/volumes/persistentVolumeClaim/claimName"),
            ("", "", "Deployment", "spec/template/spec/volumes/persistentVolumeClaim/claimName"),
            ("", "", "ReplicationController", "spec/template/spec/volumes/persistentVolumeClaim/claimName"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/volumes/persistentVolumeClaim/claimName"),
            ("", "", "Job", "spec/template/spec/volumes/persistentVolumeClaim/claimName"),
            ("", "", "DaemonSet", "spec/template/spec/volumes/persistentVolumeClaim/claimName"),
        ],
    },
    Target {
        gvk: ("", "v1", "PersistentVolume"),
        referrers: &[
            ("", "", "PersistentVolumeClaim", "spec/volumeName"),
            ("", "", "ClusterRole", "rules/resourceNames"),
        ],
    },
    Target {
        gvk: ("storage.k8s.io", "v1", "StorageClass"),
        referrers: &[
            ("", "", "PersistentVolume", "spec/storageClassName"),
            ("", "", "PersistentVolumeClaim", "spec/storageClassName"),
            ("", "", "StatefulSet", "spec/volumeClaimTemplates/spec/storageClassName"),
        ],
    },
    Target {
        gvk: ("scheduling.k8s.io", "v1", "PriorityClass"),
        referrers: &[
            ("", "", "Pod", "spec/priorityClassName"),
            ("", "", "StatefulSet", "spec/template/spec/priorityClassName"),
            ("", "", "Deployment", "spec/template/spec/priorityClassName"),
            ("", "", "ReplicationController", "spec/template/spec/priorityClassName"),
            ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/priorityClassName"),
            ("", "", "Job", "spec/template/spec/priorityClassName"),
            ("", "", "DaemonSet", "spec/template/spec/priorityClassName"),
        ],
    },
    Target {
        gvk: ("networking.k8s.io/v1", "v1", "IngressClass"),
        referrers: &[
            ("", "", "Ingress", "spec/ingressClassName"),
        ],
    },
    Target {
        gvk: ("admissionregistration.k8s.io", "", "ValidatingAdmissionPolicy"),
        referrers: &[
            ("admissionregistration.k8s.io", "", "ValidatingAdmissionPolicyBinding", "spec/policyName"),
        ],
    },
];

/// What name selection needs to know about each resource, taken before any field changes.
struct Info {
    id: ResId,
    previous: Vec<ResId>,
    original: ResId,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Info {
    fn of(r: &Resource) -> Info {
        Info {
            id: r.id(),
            previous: r.previous_ids(),
            original: r.original_id(),
            prefixes: r.track.prefixes.clone(),
            suffixes: r.track.suffixes.clone(),
        }
    }
}

/// `utils.SameEndingSubSlice`.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() > b.len() { (b, a) } else { (a, b) };
    let diff = long.len() - short.len();
    if short.is_empty() {
        return diff == 0;
    }
    short.iter().enumerate().all(|(i, s)| long[i + diff] == *s)
}

/// `Resource.PrefixesSuffixesEquals`.
fn affixes_equal(r: &Info, o: &Info, allow_empty: bool) -> bool {
    if allow_empty {
        let prefix_empty = r.prefixes.is_empty() || o.prefixes.is_empty();
        let suffix_empty = r.suffixes.is_empty() || o.suffixes.is_empty();
        (prefix_empty || same_ending(&r.prefixes, &o.prefixes))
            && (suffix_empty || same_ending(&r.suffixes, &o.suffixes))
    } else {
        same_ending(&r.prefixes, &o.prefixes) && same_ending(&r.suffixes, &o.suffixes)
    }
}

fn selected(id: &ResId, gvk: (&str, &str, &str)) -> bool {
    id.gvk.selected_by(gvk.0, gvk.1, gvk.2)
}

/// One referring field being fixed.
struct Fix<'a> {
    infos: &'a [Info],
    referrer: usize,
    candidates: &'a [usize],
    target: (&'a str, &'a str, &'a str),
    role_ref: Option<Gvk>,
}

impl Fix<'_> {
    fn select(
        &self,
        old_name: &str,
        pool: Vec<usize>,
        identical: fn(&[&Info]) -> bool,
    ) -> Result<Option<usize>, String> {
        let infos = self.infos;
        let me = &infos[self.referrer];
        let mut c: Vec<usize> = pool
            .into_iter()
            .filter(|&i| infos[i].previous.iter().any(|p| p.name == old_name))
            .filter(|&i| infos[i].previous.iter().any(|p| selected(p, self.target)))
            .filter(|&i| match &self.role_ref {
                Some(g) => infos[i]
                    .previous
                    .iter()
                    .any(|p| selected(p, (&g.group, &g.version, &g.kind))),
                None => true,
            })
            .filter(|&i| {
                me.id.gvk.is_cluster_scoped()
                    || infos[i].id.gvk.is_cluster_scoped()
                    || infos[i].id.gvk.kind == "ServiceAccount"
                    || infos[i].id.effective_namespace() == me.id.effective_namespace()
            })
            .collect();
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        c.retain(|&i| affixes_equal(&infos[i], me, true));
        if c.len() > 1 {
            c.retain(|&i| affixes_equal(&infos[i], me, false));
        }
        match c.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            many => {
                let found: Vec<&Info> = many.iter().map(|&i| &infos[i]).collect();
                if identical(&found) {
                    Ok(Some(many[0]))
                } else {
                    let ids: Vec<String> = found.iter().map(|i| i.id.to_string()).collect();
                    Err(format!(
                        "found multiple possible referrals: {}",
                        ids.join(", ")
                    ))
                }
            }
        }
    }

    fn set(&self, node: &mut Value) -> Result<(), String> {
        match node {
            Value::Null => Ok(()),
            Value::Object(_) => self.set_mapping(node),
            Value::Array(items) => {
                for item in items.iter_mut() {
                    match item {
                        Value::Object(_) => self.set_mapping(item)?,
                        Value::Array(_) | Value::Null => {
                            return Err("expected a string or a mapping in the list".into())
                        }
                        _ => self.set_scalar(item)?,
                    }
                }
                Ok(())
            }
            _ => self.set_scalar(node),
        }
    }

    fn set_scalar(&self, node: &mut Value) -> Result<(), String> {
        let old = scalar_text(node).unwrap_or_default();
        let all_same_name: fn(&[&Info]) -> bool = |r| r.iter().all(|i| i.id.name == r[0].id.name);
        if let Some(found) = self.select(&old, self.candidates.to_vec(), all_same_name)? {
            let name = &self.infos[found].id.name;
            if *name != old {
                *node = Value::String(name.clone());
            }
        }
        Ok(())
    }

    fn set_mapping(&self, node: &mut Value) -> Result<(), String> {
        let Value::Object(map) = node else {
            return Ok(());
        };
        let Some(old) = map.get("name").and_then(scalar_text) else {
            return Err("path config error; no 'name' field in node".into());
        };
        let pool: Vec<usize> = match map.get("namespace") {
            None => self.candidates.to_vec(),
            Some(ns) => {
                let ns = scalar_text(ns).unwrap_or_default();
                let by = |f: fn(&Info) -> &ResId| -> Vec<usize> {
                    self.candidates
                        .iter()
                        .copied()
                        .filter(|&i| {
                            let e = f(&self.infos[i]).effective_namespace();
                            e != NOT_A_NAMESPACE && e == ns
                        })
                        .collect()
                };
                let original = by(|i| &i.original);
                if original.is_empty() {
                    by(|i| &i.id)
                } else {
                    original
                }
            }
        };
        let all_same: fn(&[&Info]) -> bool = |r| {
            r.iter()
                .all(|i| i.id.name == r[0].id.name && i.id.namespace == r[0].id.namespace)
        };
        let Some(found) = self.select(&old, pool, all_same)? else {
            return Ok(());
        };
        let target = &self.infos[found].id;
        if target.name == old && target.namespace.is_empty() {
            return Ok(());
        }
        map.insert("name".into(), Value::String(target.name.clone()));
        if !target.namespace.is_empty() {
            map.insert("namespace".into(), Value::String(target.namespace.clone()));
        }
        Ok(())
    }
}

/// `SubsetThatCouldBeReferencedByResource`: objects in the referrer's namespace, cluster-scoped
/// ones, and for a RoleBinding those in its ServiceAccount subjects' namespaces.
fn candidates_for(referrer: &Resource, me: &Info, infos: &[Info]) -> Result<Vec<usize>, String> {
    if me.id.gvk.is_cluster_scoped() {
        return Ok((0..infos.len()).collect());
    }
    let mut binding_namespaces = HashSet::new();
    if me.id.gvk.kind == "RoleBinding" {
        if let Some(Value::Array(subjects)) = referrer.value.get("subjects") {
            for s in subjects {
                if let (Some(ns), Some(kind)) = (s.get("namespace"), s.get("kind")) {
                    if kind.as_str() == Some("ServiceAccount") {
                        match ns.as_str() {
                            Some(ns) => {
                                binding_namespaces.insert(ns.to_string());
                            }
                            None => {
                                return Err(format!(
                                    "Invalid Input: namespace is blank for resource {}",
                                    me.id
                                ))
                            }
                        }
                    }
                }
            }
        }
    }
    Ok((0..infos.len())
        .filter(|&i| {
            let id = &infos[i].id;
            id.gvk.is_cluster_scoped()
                || id.effective_namespace() == me.id.effective_namespace()
                || binding_namespaces.contains(&id.namespace)
        })
        .collect())
}

/// The kind a RoleBinding's `roleRef` names, when it names one.
fn role_ref_gvk(value: &Value) -> Option<Gvk> {
    let role_ref = value.get("roleRef")?;
    let group = scalar_text(role_ref.get("apiGroup")?)?;
    let kind = scalar_text(role_ref.get("kind")?)?;
    Some(Gvk {
        group,
        version: String::new(),
        kind,
    })
}

/// Points every name reference at the object's final name. The error carries the index of
/// the referring resource.
/// `extra` holds the entries of `configurations` files, as (target group, version, kind) and
/// the referring field spec.
pub fn fix_back_references(
    resources: &mut [Resource],
    extra: &[((String, String, String), FieldSpec)],
) -> Result<(), (usize, String)> {
    let infos: Vec<Info> = resources.iter().map(Info::of).collect();
    for (i, res) in resources.iter_mut().enumerate() {
        let me = &infos[i];
        let mut fixes: Vec<((&str, &str, &str), &str)> = Vec::new();
        for target in BACK_REFERENCES {
            for (g, v, k, path) in target.referrers {
                if selected(&me.original, (g, v, k)) {
                    fixes.push((target.gvk, *path));
                }
            }
        }
        for ((g, v, k), spec) in extra {
            let referrer = (
                spec.group.as_str(),
                spec.version.as_str(),
                spec.kind.as_str(),
            );
            if selected(&me.original, referrer) {
                fixes.push(((g.as_str(), v.as_str(), k.as_str()), spec.path.as_str()));
            }
        }
        if fixes.is_empty() {
            continue;
        }
        let candidates = candidates_for(res, me, &infos).map_err(|e| (i, e))?;
        let role_ref = role_ref_gvk(&res.value);
        for (target, path) in fixes {
            let fix = Fix {
                infos: &infos,
                referrer: i,
                candidates: &candidates,
                target,
                role_ref: if path.ends_with("roleRef/name") {
                    role_ref.clone()
                } else {
                    None
                },
            };
            let spec = FieldSpec::new("", "", "", path, false);
            let mut set = |node: &mut Value, _: &str| fix.set(node);
            apply(&spec, &mut res.value, Create::Nothing, &mut set)
                .map_err(|e| (i, format!("updating name reference in '{path}' field: {e}")))?;
        }
    }
    Ok(())
}
