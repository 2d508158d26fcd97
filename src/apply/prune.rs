//! Which members of the ApplySet to delete, decided before anything is deleted: only what left
//! the artifact, never what is annotated to be kept, protected kinds only on request, and
//! within a budget so that a broken artifact cannot empty a cluster.

use crate::manifest::{apply_rank, ObjRef};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Annotations that keep an object out of every prune (ferry's own, and Flux's).
pub const KEEP_ANNOTATIONS: [&str; 2] = ["ferry.dev/prune", "kustomize.toolkit.fluxcd.io/prune"];

/// Kinds whose deletion loses data or everything inside them.
const PROTECTED: [(&str, &str); 3] = [
    ("", "Namespace"),
    ("", "PersistentVolumeClaim"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
];

pub fn is_protected(r: &ObjRef) -> bool {
    PROTECTED.iter().any(|(g, k)| r.group == *g && r.kind == *k)
}

/// How many deletions one run may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MaxPrune {
    Count(usize),
    Percent(u8),
}

impl FromStr for MaxPrune {
    type Err = String;

    /// `N` or `P%`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            let p: u8 = p
                .trim()
                .parse()
                .map_err(|_| format!("`{s}` is not a percentage (0% to 100%)"))?;
            if p > 100 {
                return Err(format!("`{s}` is over 100%"));
            }
            return Ok(MaxPrune::Percent(p));
        }
        s.parse()
            .map(MaxPrune::Count)
            .map_err(|_| format!("`{s}` is neither a count (5) nor a percentage (20%)"))
    }
}

impl fmt::Display for MaxPrune {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxPrune::Count(n) => write!(f, "{n}"),
            MaxPrune::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// The prune settings of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PrunePolicy {
    /// Prune at all (`--prune=false` turns it off).
    pub enabled: bool,
    /// Skip the budget.
    pub force: bool,
    /// An explicit budget; without it, pruning everything or more than half is refused.
    pub max: Option<MaxPrune>,
    /// Namespaces, PersistentVolumeClaims and CRDs may be pruned too.
    pub protected_kinds: bool,
    /// Objects another set of the same artifact applies (the platform's or a tenant's): never
    /// pruned here, so an app that moves between them is adopted by its new set, not deleted
    /// and created again.
    #[serde(skip)]
    pub elsewhere: BTreeSet<ObjRef>,
}

/// A live member of the set, as listed by its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub obj_ref: ObjRef,
    /// The API version to delete it with.
    pub api_version: String,
    pub keep_annotation: Option<String>,
}

impl Member {
    pub fn from_live(api_version: &str, obj_ref: ObjRef, live: &Value) -> Member {
        let ann = &live["metadata"]["annotations"];
        let keep = KEEP_ANNOTATIONS
            .iter()
            .find(|k| ann[**k].as_str() == Some("disabled"))
            .map(|k| format!("{k}: disabled"));
        Member {
            obj_ref,
            api_version: api_version.to_string(),
            keep_annotation: keep,
        }
    }
}

/// Why a member that left the artifact stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum KeepReason {
    /// Annotated `...prune: disabled`.
    Annotated(String),
    /// A Namespace, PVC or CRD, and protected kinds are not pruned by this configuration.
    ProtectedKind,
    /// Another set of the same artifact applies it.
    AppliedElsewhere,
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeepReason::Annotated(a) => write!(f, "annotated {a}"),
            KeepReason::ProtectedKind => {
                f.write_str("protected kind (allow with --prune-protected-kinds)")
            }
            KeepReason::AppliedElsewhere => f.write_str(
                "another set of this artifact applies it (moved between the platform and a tenant)",
            ),
        }
    }
}

/// The outcome of deciding, before any deletion.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneDecision {
    /// In deletion order: namespaces last.
    #[serde(skip)]
    pub delete: Vec<Member>,
    pub kept: Vec<(ObjRef, KeepReason)>,
    /// Set when the budget refused the whole prune; then nothing is deleted.
    pub refused: Option<String>,
    /// Members listed (the inventory the budget is measured against).
    pub members: usize,
}

/// Decides what to delete: `members` are the set's live members, `desired` what this run
/// applied. Objects the run could not list never reach `members`, so they are never deleted.
pub fn decide(
    members: &[Member],
    desired: &BTreeSet<ObjRef>,
    policy: &PrunePolicy,
) -> PruneDecision {
    let mut decision = PruneDecision {
        members: members.len(),
        ..PruneDecision::default()
    };
    for m in members {
        if desired.contains(&m.obj_ref) {
            continue;
        }
        if policy.elsewhere.contains(&m.obj_ref) {
            decision
                .kept
                .push((m.obj_ref.clone(), KeepReason::AppliedElsewhere));
        } else if let Some(a) = &m.keep_annotation {
            decision
                .kept
                .push((m.obj_ref.clone(), KeepReason::Annotated(a.clone())));
        } else if is_protected(&m.obj_ref) && !policy.protected_kinds {
            decision
                .kept
                .push((m.obj_ref.clone(), KeepReason::ProtectedKind));
        } else {
            decision.delete.push(m.clone());
        }
    }
    let n = decision.delete.len();
    let total = members.len();
    if n > 0 && !policy.force {
        decision.refused = match policy.max {
            Some(MaxPrune::Count(max)) if n > max => Some(format!(
                "would prune {n} objects, over the budget --max-prune {max}"
            )),
            Some(MaxPrune::Percent(p)) if n * 100 > usize::from(p) * total => Some(format!(
                "would prune {n} of {total} members ({}%), over the budget --max-prune {p}%",
                n * 100 / total.max(1)
            )),
            Some(_) => None,
            None if n == total => Some(format!(
                "would prune every member of the set ({n} of {total}): is the artifact empty or for another environment?"
            )),
            None if n * 2 > total => Some(format!(
                "would prune {n} of {total} members, more than half of the set"
            )),
            None => None,
        };
    }
    if decision.refused.is_some() {
        decision.delete.clear();
    }
    // Dependents before what contains them: webhooks first, namespaces last, as a reverse apply.
    decision.delete.sort_by_cached_key(|m| {
        let r = &m.obj_ref;
        (
            r.group.is_empty() && r.kind == "Namespace",
            std::cmp::Reverse(apply_rank(&r.group, &r.kind)),
            r.clone(),
        )
    });
    decision
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(group: &str, kind: &str, ns: &str, name: &str) -> ObjRef {
        ObjRef {
            group: group.into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    fn member(o: &ObjRef) -> Member {
        Member::from_live("v1", o.clone(), &json!({"metadata": {}}))
    }

    fn policy() -> PrunePolicy {
        PrunePolicy {
            enabled: true,
            ..PrunePolicy::default()
        }
    }

    fn cms(n: usize) -> Vec<ObjRef> {
        (0..n)
            .map(|i| r("", "ConfigMap", "a", &format!("c{i}")))
            .collect()
    }

    #[test]
    fn only_what_left_the_artifact_is_deleted() {
        let all = cms(4);
        let members: Vec<_> = all.iter().map(member).collect();
        let desired: BTreeSet<_> = all[..3].iter().cloned().collect();
        let d = decide(&members, &desired, &policy());
        assert_eq!(d.refused, None);
        let deleted: Vec<_> = d.delete.iter().map(|m| m.obj_ref.clone()).collect();
        assert_eq!(deleted, vec![all[3].clone()]);
    }

    #[test]
    fn annotated_objects_are_kept_with_either_annotation() {
        let all = cms(6);
        let mut members: Vec<_> = all.iter().map(member).collect();
        members[4] = Member::from_live(
            "v1",
            all[4].clone(),
            &json!({"metadata": {"annotations": {"ferry.dev/prune": "disabled"}}}),
        );
        members[5] = Member::from_live(
            "v1",
            all[5].clone(),
            &json!({"metadata": {"annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"}}}),
        );
        let desired: BTreeSet<_> = all[..4].iter().cloned().collect();
        let d = decide(&members, &desired, &policy());
        assert!(d.delete.is_empty());
        assert_eq!(d.kept.len(), 2);
        assert_eq!(
            d.kept[1].1,
            KeepReason::Annotated("kustomize.toolkit.fluxcd.io/prune: disabled".into())
        );
    }

    #[test]
    fn what_another_set_of_the_artifact_applies_is_kept_not_deleted() {
        let all = cms(5);
        let members: Vec<_> = all.iter().map(member).collect();
        let desired: BTreeSet<_> = all[..3].iter().cloned().collect();
        let mut p = policy();
        p.elsewhere.insert(all[3].clone());
        let d = decide(&members, &desired, &p);
        let deleted: Vec<_> = d.delete.iter().map(|m| m.obj_ref.clone()).collect();
        assert_eq!(deleted, vec![all[4].clone()]);
        assert_eq!(d.kept, vec![(all[3].clone(), KeepReason::AppliedElsewhere)]);
    }

    #[test]
    fn protected_kinds_need_configuration() {
        let ns = r("", "Namespace", "", "old");
        let pvc = r("", "PersistentVolumeClaim", "a", "data");
        let crd = r(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "",
            "w.example.com",
        );
        let mut all = cms(6);
        all.extend([ns.clone(), pvc.clone(), crd.clone()]);
        let members: Vec<_> = all.iter().map(member).collect();
        let desired: BTreeSet<_> = all[..6].iter().cloned().collect();
        let d = decide(&members, &desired, &policy());
        assert!(d.delete.is_empty());
        assert_eq!(d.kept.len(), 3);
        assert!(d
            .kept
            .iter()
            .all(|(_, why)| *why == KeepReason::ProtectedKind));
        let allow = PrunePolicy {
            protected_kinds: true,
            ..policy()
        };
        let d = decide(&members, &desired, &allow);
        let order: Vec<_> = d.delete.iter().map(|m| m.obj_ref.kind.as_str()).collect();
        assert_eq!(
            order,
            [
                "PersistentVolumeClaim",
                "CustomResourceDefinition",
                "Namespace"
            ],
            "namespaces last"
        );
    }

    #[test]
    fn budget_refuses_pruning_everything_or_more_than_half() {
        let all = cms(4);
        let members: Vec<_> = all.iter().map(member).collect();
        let everything = decide(&members, &BTreeSet::new(), &policy());
        assert!(everything.delete.is_empty());
        assert!(everything
            .refused
            .as_deref()
            .unwrap_or("")
            .contains("every member"));

        let one: BTreeSet<_> = all[..1].iter().cloned().collect();
        let most = decide(&members, &one, &policy());
        assert!(most.refused.as_deref().unwrap_or("").contains("3 of 4"));

        let half: BTreeSet<_> = all[..2].iter().cloned().collect();
        assert_eq!(
            decide(&members, &half, &policy()).delete.len(),
            2,
            "exactly half is allowed"
        );

        let forced = PrunePolicy {
            force: true,
            ..policy()
        };
        assert_eq!(decide(&members, &BTreeSet::new(), &forced).delete.len(), 4);
    }

    #[test]
    fn explicit_budgets_by_count_and_percent() {
        let all = cms(10);
        let members: Vec<_> = all.iter().map(member).collect();
        let desired: BTreeSet<_> = all[..7].iter().cloned().collect();
        let count = |n| PrunePolicy {
            max: Some(MaxPrune::Count(n)),
            ..policy()
        };
        assert!(decide(&members, &desired, &count(2)).refused.is_some());
        assert_eq!(decide(&members, &desired, &count(3)).delete.len(), 3);
        let pct = |p| PrunePolicy {
            max: Some(MaxPrune::Percent(p)),
            ..policy()
        };
        assert!(decide(&members, &desired, &pct(20)).refused.is_some());
        assert_eq!(decide(&members, &desired, &pct(30)).delete.len(), 3);
        assert_eq!(
            decide(&members, &BTreeSet::new(), &pct(100)).delete.len(),
            10,
            "100% allows emptying the set"
        );
    }

    #[test]
    fn max_prune_parses() {
        assert_eq!("5".parse::<MaxPrune>(), Ok(MaxPrune::Count(5)));
        assert_eq!("20%".parse::<MaxPrune>(), Ok(MaxPrune::Percent(20)));
        assert!("120%".parse::<MaxPrune>().is_err());
        assert!("lots".parse::<MaxPrune>().is_err());
    }
}
