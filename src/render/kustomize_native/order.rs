//! kustomize's default "legacy" output order (`SortOrderTransformer.go`): a fixed list of
//! kinds first, webhook configurations last, everything else between; then by
//! group/version/kind, namespace and name.

use super::resource::{Gvk, ResId, Resource};

const FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The kinds that go first and last; kustomize's own lists unless `sortOptions` gives others.
pub struct Order<'a> {
    pub first: &'a [&'a str],
    pub last: &'a [&'a str],
}

pub const DEFAULT: Order<'static> = Order {
    first: &FIRST,
    last: &LAST,
};

impl Order<'_> {
    /// A kind on both lists takes its place on the last one, as upstream's map filling does.
    fn rank(&self, kind: &str) -> i64 {
        if let Some(i) = self.last.iter().rposition(|k| *k == kind) {
            return 1 + i as i64;
        }
        if let Some(i) = self.first.iter().rposition(|k| *k == kind) {
            return i as i64 - self.first.len() as i64;
        }
        0
    }
}

fn gvk_sort_string(g: &Gvk) -> String {
    let or = |s: &str, d: &'static str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

pub fn gvk_less(order: &Order<'_>, a: &Gvk, b: &Gvk) -> bool {
    let (ia, ib) = (order.rank(&a.kind), order.rank(&b.kind));
    if ia != ib {
        return ia < ib;
    }
    // Upstream's quirk: among Namespaces, one without a group sorts the other way round.
    if a.kind == "Namespace" && b.kind == "Namespace" && (a.group.is_empty() || b.group.is_empty())
    {
        return gvk_sort_string(a) > gvk_sort_string(b);
    }
    gvk_sort_string(a) < gvk_sort_string(b)
}

/// `Kind.version.group|namespace|name` with kustomize's placeholders for empty parts.
fn id_sort_string(id: &ResId) -> String {
    let or = |s: &str, d: &'static str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}.{}.{}|{}|{}",
        or(&id.gvk.kind, "[noKind]"),
        or(&id.gvk.version, "[noVer]"),
        or(&id.gvk.group, "[noGrp]"),
        or(&id.namespace, "~X"),
        or(&id.name, "~N")
    )
}

fn less(order: &Order<'_>, a: &ResId, b: &ResId) -> bool {
    if a.gvk != b.gvk {
        return gvk_less(order, &a.gvk, &b.gvk);
    }
    id_sort_string(a) < id_sort_string(b)
}

/// Puts resources in legacy order. A merge sort driven by upstream's `Less` directly, so
/// that no comparator inconsistency can make it panic.
pub fn legacy_sort(resources: Vec<Resource>, order: &Order<'_>) -> Vec<Resource> {
    let keyed: Vec<(ResId, Resource)> = resources.into_iter().map(|r| (r.id(), r)).collect();
    merge_sort(keyed, order)
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

fn merge_sort(mut items: Vec<(ResId, Resource)>, order: &Order<'_>) -> Vec<(ResId, Resource)> {
    if items.len() < 2 {
        return items;
    }
    let right = merge_sort(items.split_off(items.len() / 2), order);
    let left = merge_sort(items, order);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        let next = if less(order, &b.0, &a.0) {
            r.next()
        } else {
            l.next()
        };
        out.extend(next);
    }
    out.extend(l);
    out.extend(r);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn res(api: &str, kind: &str, ns: &str, name: &str) -> Resource {
        let mut v = json!({"apiVersion": api, "kind": kind, "metadata": {"name": name}});
        if !ns.is_empty() {
            v["metadata"]["namespace"] = json!(ns);
        }
        Resource {
            value: v,
            file: PathBuf::new(),
            shared: Vec::new(),
            untyped: Vec::new(),
            track: Default::default(),
        }
    }

    #[test]
    fn known_kinds_first_webhooks_last_then_ids() {
        let sorted = legacy_sort(
            vec![
                res(
                    "admissionregistration.k8s.io/v1",
                    "ValidatingWebhookConfiguration",
                    "",
                    "w",
                ),
                res("example.com/v1", "Widget", "a", "x"),
                res("apps/v1", "Deployment", "b", "d"),
                res("apps/v1", "Deployment", "a", "d"),
                res("v1", "Service", "", "s"),
                res("v1", "Namespace", "", "n"),
                res("example.com/v1", "Gadget", "", "g"),
            ],
            &DEFAULT,
        );
        let names: Vec<String> = sorted
            .iter()
            .map(|r| format!("{}/{}/{}", r.gvk().kind, r.namespace(), r.name()))
            .collect();
        assert_eq!(
            names,
            [
                "Namespace//n",
                "Service//s",
                "Deployment/a/d",
                "Deployment/b/d",
                "Gadget//g",
                "Widget/a/x",
                "ValidatingWebhookConfiguration//w"
            ]
        );
    }
}
