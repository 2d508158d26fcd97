//! `ferry status --tenant NAME`: what concerns one tenant in each Sync that applies it: its
//! own last apply (as its ServiceAccount), its inventory, its failed objects. Other tenants'
//! errors are left out; a Sync that failed before applying anything (a fetch, a signature)
//! concerns every tenant and is said.

use super::status::Row;
use crate::agent::tenant_status::TenantStatus;
use anyhow::bail;
use serde::Serialize;
use std::collections::BTreeSet;
use std::io::Write;

/// The reason of a Sync whose message may name other tenants: the apply ran, and each tenant's
/// own outcome is in its status.
const APPLY_FAILED: &str = "ApplyFailed";

/// One tenant in one Sync: what `--output json` prints, a list of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantRow {
    pub namespace: String,
    pub sync: String,
    /// The Sync's own Ready status and reason.
    pub sync_ready: String,
    pub sync_reason: String,
    /// The Sync's message, when it concerns every tenant (nothing was applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_message: Option<String>,
    pub tenant: TenantStatus,
}

/// The rows of the Syncs that applied `tenant`.
///
/// # Errors
/// No Sync has applied it: the tenants they know are listed.
pub fn select(rows: &[Row], tenant: &str) -> anyhow::Result<Vec<TenantRow>> {
    let found: Vec<TenantRow> = rows
        .iter()
        .filter_map(|r| {
            let t = r.status.tenants.iter().find(|t| t.name == tenant)?;
            Some(TenantRow {
                namespace: r.namespace.clone(),
                sync: r.name.clone(),
                sync_ready: r.ready.clone(),
                sync_reason: r.reason.clone(),
                sync_message: (r.ready != "True" && r.reason != APPLY_FAILED)
                    .then(|| r.message.clone()),
                tenant: t.clone(),
            })
        })
        .collect();
    if found.is_empty() {
        let known: BTreeSet<&str> = rows
            .iter()
            .flat_map(|r| r.status.tenants.iter().map(|t| t.name.as_str()))
            .collect();
        let hint = if known.is_empty() {
            "no Sync here has applied a tenant yet (or look in every namespace: -A)".to_string()
        } else {
            format!(
                "tenants these Syncs apply: {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        bail!("no Sync has applied tenant `{tenant}`\nhint: {hint}");
    }
    Ok(found)
}

/// `SYNC REVISION READY INVENTORY OBJECTS MESSAGE`, one line per Sync.
pub fn table(out: &mut impl Write, rows: &[TenantRow], namespaces: bool) -> std::io::Result<()> {
    let mut lines = vec![[
        "SYNC".to_string(),
        "REVISION".into(),
        "READY".into(),
        "INVENTORY".into(),
        "OBJECTS".into(),
        "MESSAGE".into(),
    ]];
    for r in rows {
        let t = &r.tenant;
        let mut message = t.message.replace('\n', " ");
        if let Some(m) = &r.sync_message {
            message = format!(
                "{message} (Sync {}: {})",
                r.sync_reason,
                m.replace('\n', " ")
            );
        }
        lines.push([
            if namespaces {
                format!("{}/{}", r.namespace, r.sync)
            } else {
                r.sync.clone()
            },
            t.revision
                .clone()
                .or(t.digest.clone())
                .unwrap_or_else(|| "-".into()),
            t.ready.clone(),
            t.inventory.clone().unwrap_or_else(|| "-".into()),
            t.objects.to_string(),
            message,
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| lines.iter().map(|l| l[i].len()).max().unwrap_or(0))
        .collect();
    for l in &lines {
        let mut line = String::new();
        for (i, cell) in l.iter().enumerate() {
            if i < 5 {
                line.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    for r in rows {
        for f in &r.tenant.failed {
            writeln!(out, "  {}: failed: {f}", r.sync)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sync(name: &str, reason: &str, message: &str) -> Row {
        super::super::status::row(&json!({
            "metadata": {"name": name, "namespace": "ferry-system"},
            "spec": {"url": "oci://r.example/p:latest"},
            "status": {
                "conditions": [{"type": "Ready", "status": "False", "reason": reason, "message": message}],
                "tenants": [
                    {"name": "shop", "user": "system:serviceaccount:shop:ferry", "ready": "True",
                     "message": "Applied revision: main@sha1:1", "inventory": "Secret/shop/ferry-prod-shop",
                     "revision": "main@sha1:1", "objects": 2, "lastAttemptedAt": "2026-01-01T00:00:00Z"},
                    {"name": "blog", "user": "system:serviceaccount:blog:ferry", "ready": "False",
                     "message": "1 object(s) failed: ConfigMap/shop/x: forbidden", "objects": 1,
                     "failed": ["ConfigMap/shop/x: forbidden"], "lastAttemptedAt": "2026-01-01T00:00:00Z"}
                ]
            }
        }))
    }

    #[test]
    fn a_tenant_sees_its_own_apply_and_not_anothers_errors() {
        let rows = [sync(
            "prod",
            "ApplyFailed",
            "tenant blog (as ...): 1 object(s) failed",
        )];
        let shop = select(&rows, "shop").expect("shop is applied");
        let mut out = Vec::new();
        table(&mut out, &shop, false).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            text.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .collect::<Vec<_>>(),
            [
                vec![
                    "SYNC",
                    "REVISION",
                    "READY",
                    "INVENTORY",
                    "OBJECTS",
                    "MESSAGE"
                ],
                vec![
                    "prod",
                    "main@sha1:1",
                    "True",
                    "Secret/shop/ferry-prod-shop",
                    "2",
                    "Applied",
                    "revision:",
                    "main@sha1:1"
                ],
            ]
        );
        assert!(!text.contains("blog"), "{text}");
        let blog = select(&rows, "blog").expect("blog is applied");
        let mut out = Vec::new();
        table(&mut out, &blog, false).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(
            text.contains("  prod: failed: ConfigMap/shop/x: forbidden"),
            "{text}"
        );
        let json = serde_json::to_value(&blog).expect("json");
        assert_eq!(
            json[0]["tenant"]["failed"][0],
            "ConfigMap/shop/x: forbidden"
        );
        assert!(
            json[0].get("syncMessage").is_none(),
            "another tenant's words stay out"
        );
    }

    #[test]
    fn a_sync_that_failed_before_applying_is_said_and_an_unknown_tenant_lists_the_known() {
        let rows = [sync(
            "prod",
            "VerificationFailed",
            "the signature does not verify",
        )];
        let shop = select(&rows, "shop").expect("shop");
        assert_eq!(
            shop[0].sync_message.as_deref(),
            Some("the signature does not verify")
        );
        let err = select(&rows, "shoq").unwrap_err().to_string();
        assert_eq!(
            err,
            "no Sync has applied tenant `shoq`\nhint: tenants these Syncs apply: blog, shop"
        );
    }
}
