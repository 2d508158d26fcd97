//! Each tenant's part of a Sync's status (`status.tenants`): whether its last apply (as its
//! ServiceAccount, into its own inventory) succeeded, and why not. `ferry status --tenant`
//! reads it, so a tenant sees what concerns it without the platform's details.

use crate::apply::{ApplyReport, TenantReport};
use serde::{Deserialize, Serialize};

/// One tenant's last apply by the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    pub name: String,
    /// The user it applied as: `system:serviceaccount:NS:NAME`.
    pub user: String,
    /// `True` when its apply succeeded, `False` otherwise.
    pub ready: String,
    /// `Applied revision: ...`, or why it failed (the API server's words, a missing identity).
    pub message: String,
    /// Its ApplySet parent, `Secret/<namespace>/<name>`, once an apply ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<String>,
    /// The artifact the apply was of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Objects of the tenant the apply sent.
    #[serde(default)]
    pub objects: usize,
    /// `Kind/namespace/name: error` of each object that failed (the first 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    pub last_attempted_at: String,
}

/// Longest list of failed objects kept per tenant: the status is an object of the API server.
const FAILED_KEPT: usize = 20;

/// The tenants' statuses after an apply; `why` words a report that did not succeed.
pub fn from_report(
    report: &ApplyReport,
    now: &str,
    why: impl Fn(&ApplyReport) -> String,
) -> Vec<TenantStatus> {
    report
        .tenants
        .iter()
        .map(|t| one(t, report, now, &why))
        .collect()
}

fn one(
    t: &TenantReport,
    all: &ApplyReport,
    now: &str,
    why: &impl Fn(&ApplyReport) -> String,
) -> TenantStatus {
    let mut s = TenantStatus {
        name: t.tenant.clone(),
        user: t.user.clone(),
        ready: if t.success() { "True" } else { "False" }.into(),
        digest: Some(all.digest.clone()),
        revision: all.revision.clone(),
        last_attempted_at: now.to_string(),
        ..TenantStatus::default()
    };
    match (&t.report, &t.error) {
        (_, Some(e)) => s.message = e.clone(),
        (Some(r), None) => {
            s.inventory = Some(r.parent.clone());
            s.objects = r.objects.len();
            s.failed = r
                .objects
                .iter()
                .filter_map(|o| match &o.result {
                    crate::apply::ObjectStatus::Failed { error } => {
                        Some(format!("{}: {error}", o.object))
                    }
                    _ => None,
                })
                .take(FAILED_KEPT)
                .collect();
            s.message = if t.success() {
                format!(
                    "Applied revision: {}",
                    all.revision.as_deref().unwrap_or(&all.digest)
                )
            } else {
                why(r)
            };
        }
        (None, None) => s.message = "not applied".into(),
    }
    s
}
