//! The result of a diff as data: per environment, then grouped across environments so that an
//! identical change is reported once. This is what every output format renders.

use super::tenants::{TenantFilter, PLATFORM};
use crate::manifest::{apply_rank, ObjRef};
use crate::tenancy::Violation;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
    /// Same content, rendered by another app.
    Moved,
}

impl ChangeKind {
    /// The one-character marker used in text and Markdown.
    pub fn marker(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
            ChangeKind::Moved => '>',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
            ChangeKind::Moved => "moved",
        }
    }
}

/// What happened to one key of a secret. Values are never part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStatus {
    Added,
    Removed,
    Changed,
    Unchanged,
    /// Both sides are encrypted, the ciphertexts differ and nothing could decrypt them.
    CannotTell,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Added => "added",
            KeyStatus::Removed => "removed",
            KeyStatus::Changed => "changed",
            KeyStatus::Unchanged => "unchanged",
            KeyStatus::CannotTell => "cannot tell (encrypted)",
        }
    }
}

/// One key of a secret object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyChange {
    pub key: String,
    pub status: KeyStatus,
    /// Keyed fingerprint (HMAC) of the old value; only for changed keys, only with a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_fingerprint: Option<String>,
    /// Keyed fingerprint (HMAC) of the new value; for added and changed keys, only with a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_fingerprint: Option<String>,
}

/// One object that differs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectChange {
    pub change: ChangeKind,
    #[serde(flatten)]
    pub object: ObjRef,
    pub api_version: String,
    /// The app that renders it (for removed objects: rendered).
    pub app: String,
    /// The tenant that app belongs to, as the build's index records it; absent: the platform's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The app that rendered it before, when that was another one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_app: Option<String>,
    /// Unified diff of the YAML, secret values redacted; empty when only secret values changed.
    pub diff: String,
    /// Per key, for secret objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_keys: Option<Vec<KeyChange>>,
}

impl ObjectChange {
    /// Sort key: app, then the order an API server accepts objects in.
    fn sort_key(&self) -> (String, u8, ObjRef) {
        (
            self.app.clone(),
            apply_rank(&self.object.group, &self.object.kind),
            self.object.clone(),
        )
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub moved: usize,
    pub unchanged: usize,
}

impl Counts {
    pub fn count(&mut self, kind: ChangeKind) {
        match kind {
            ChangeKind::Added => self.added += 1,
            ChangeKind::Removed => self.removed += 1,
            ChangeKind::Changed => self.changed += 1,
            ChangeKind::Moved => self.moved += 1,
        }
    }

    /// Objects that differ.
    pub fn differences(&self) -> usize {
        self.added + self.removed + self.changed + self.moved
    }

    fn add(&mut self, o: &Counts) {
        self.added += o.added;
        self.removed += o.removed;
        self.changed += o.changed;
        self.moved += o.moved;
        self.unchanged += o.unchanged;
    }
}

/// The diff of one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvDiff {
    pub environment: String,
    /// The revision the old build was made from, as its index says.
    pub from: Option<String>,
    pub to: Option<String>,
    pub counts: Counts,
    pub changes: Vec<ObjectChange>,
    /// The tenants either build describes, the ones filtered out included.
    pub tenants: BTreeSet<String>,
    /// Tenant rule violations of the new side's build (`ferry diff` builds a revision with
    /// them kept, so that the pull request shows them where they belong).
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvSummary {
    pub name: String,
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// A change and every environment it happens in, identically.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupedChange {
    pub environments: Vec<String>,
    #[serde(flatten)]
    pub change: ObjectChange,
}

/// Every environment's diff, with identical changes merged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    pub summary: Counts,
    pub environments: Vec<EnvSummary>,
    pub changes: Vec<GroupedChange>,
    /// Tenant rule violations of the new side, every environment's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// Who owns what, for output grouped by tenant: `platform` first, then the tenants
    /// compared (those of `--tenant` when given); empty when no build has tenants.
    #[serde(skip)]
    pub owners: Vec<String>,
}

impl DiffReport {
    /// Merges per-environment diffs; environments keep the order given.
    pub fn from_envs(envs: Vec<EnvDiff>) -> DiffReport {
        let mut summary = Counts::default();
        let mut environments = Vec::new();
        let mut changes: Vec<GroupedChange> = Vec::new();
        let mut seen: HashMap<ObjectChange, usize> = HashMap::new();
        let mut violations = Vec::new();
        let mut tenants = BTreeSet::new();
        for env in envs {
            summary.add(&env.counts);
            violations.extend(env.violations);
            tenants.extend(env.tenants);
            for change in env.changes {
                match seen.get(&change) {
                    Some(&i) => changes[i].environments.push(env.environment.clone()),
                    None => {
                        seen.insert(change.clone(), changes.len());
                        changes.push(GroupedChange {
                            environments: vec![env.environment.clone()],
                            change,
                        });
                    }
                }
            }
            environments.push(EnvSummary {
                name: env.environment,
                from: env.from,
                to: env.to,
                counts: env.counts,
            });
        }
        changes.sort_by_cached_key(|c| (c.change.sort_key(), c.environments.clone()));
        let owners = if tenants.is_empty() && violations.is_empty() {
            Vec::new()
        } else {
            std::iter::once(PLATFORM.to_string())
                .chain(tenants)
                .collect()
        };
        DiffReport {
            summary,
            environments,
            changes,
            violations,
            owners,
        }
    }

    /// Keeps only the owners a `--tenant` filter selects (the changes were filtered already).
    pub fn select_owners(&mut self, filter: &TenantFilter) {
        self.owners
            .retain(|o| filter.keeps((o != PLATFORM).then_some(o.as_str())));
        self.violations.retain(|v| filter.keeps(Some(&v.tenant)));
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(env_name: &str, diff: &str) -> ObjectChange {
        ObjectChange {
            change: ChangeKind::Changed,
            object: ObjRef {
                group: "apps".into(),
                kind: "Deployment".into(),
                namespace: "n".into(),
                name: env_name.into(),
            },
            api_version: "apps/v1".into(),
            app: "web".into(),
            tenant: None,
            previous_app: None,
            diff: diff.into(),
            secret_keys: None,
        }
    }

    fn env(name: &str, changes: Vec<ObjectChange>) -> EnvDiff {
        let mut counts = Counts {
            unchanged: 2,
            ..Counts::default()
        };
        for c in &changes {
            counts.count(c.change);
        }
        EnvDiff {
            environment: name.into(),
            from: None,
            to: None,
            counts,
            changes,
            tenants: BTreeSet::new(),
            violations: Vec::new(),
        }
    }

    #[test]
    fn identical_changes_in_several_environments_are_shown_once() {
        let r = DiffReport::from_envs(vec![
            env(
                "prod",
                vec![change("web", "-a\n+b\n"), change("api", "-x\n+y\n")],
            ),
            env(
                "staging",
                vec![change("web", "-a\n+b\n"), change("api", "-x\n+z\n")],
            ),
        ]);
        assert_eq!(r.changes.len(), 3);
        let web: Vec<_> = r
            .changes
            .iter()
            .filter(|c| c.change.object.name == "web")
            .collect();
        assert_eq!(web.len(), 1);
        assert_eq!(web[0].environments, ["prod", "staging"]);
        assert_eq!(r.summary.changed, 4);
        assert_eq!(r.summary.unchanged, 4);
        assert!(r.has_changes());
    }
}
