//! `ferry status [SYNC]`: the Syncs as the agent reports them on their status, as a table
//! (like `flux get kustomizations`), one in detail with its history, or JSON; `--watch`
//! prints again whenever something changes.

use crate::agent::{client as sync_client, spec, status::SyncStatus};
use crate::cli::agent_args::StatusArgs;
use crate::cli::args::{GlobalArgs, OutputFormat};
use crate::cli::ExitCode;
use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

/// One row: what `ferry status` shows and `--output json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub namespace: String,
    pub name: String,
    pub url: String,
    /// `True`, `False` or `Unknown`.
    pub ready: String,
    pub reason: String,
    pub message: String,
    pub suspended: bool,
    pub revision: Option<String>,
    pub digest: Option<String>,
    pub last_applied_at: Option<String>,
    pub status: SyncStatus,
}

pub fn row(obj: &Value) -> Row {
    let status = SyncStatus::from_object(obj);
    let ready = status.condition("Ready");
    Row {
        namespace: obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .into(),
        name: obj["metadata"]["name"].as_str().unwrap_or_default().into(),
        url: obj["spec"]["url"].as_str().unwrap_or_default().into(),
        ready: ready
            .map(|c| c.status.clone())
            .unwrap_or_else(|| "Unknown".into()),
        reason: ready.map(|c| c.reason.clone()).unwrap_or_default(),
        message: ready
            .map(|c| c.message.clone())
            .unwrap_or_else(|| "waiting for the agent".into()),
        suspended: obj["spec"]["suspend"].as_bool().unwrap_or(false),
        revision: status.last_applied_revision.clone(),
        digest: status.last_applied_digest.clone(),
        last_applied_at: status.last_applied_at.clone(),
        status,
    }
}

pub fn run(_g: &GlobalArgs, a: StatusArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let client = super::apply::client(
            a.cluster.kubeconfig.as_deref(),
            a.cluster.context.as_deref(),
        )
        .await?;
        let mut last: Option<Vec<Row>> = None;
        loop {
            let rows = fetch(&client, &a).await?;
            if last.as_ref() != Some(&rows) {
                print(&a, &rows)?;
                last = Some(rows);
            }
            if !a.watch {
                return Ok(ExitCode::Success);
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

async fn fetch(client: &kube::Client, a: &StatusArgs) -> anyhow::Result<Vec<Row>> {
    let ns = a.cluster.namespace.as_str();
    let hint = "hint: is the Sync CRD installed (kubectl apply -f deploy/sync-crd.yaml)?";
    Ok(match &a.sync {
        Some(name) => {
            let obj = sync_client::get(client, ns, name)
                .await
                .with_context(|| format!("reading Sync {ns}/{name}\n{hint}"))?
                .with_context(|| format!("Sync {ns}/{name} not found"))?;
            vec![row(&obj)]
        }
        None => {
            let namespace = (!a.all_namespaces).then_some(ns);
            let mut rows: Vec<Row> = sync_client::list(client, namespace)
                .await
                .with_context(|| format!("listing Syncs\n{hint}"))?
                .iter()
                .map(row)
                .collect();
            rows.sort_by(|x, y| (&x.namespace, &x.name).cmp(&(&y.namespace, &y.name)));
            rows
        }
    })
}

/// `3m12s` since an RFC 3339 time, `-` when there is none.
pub fn age(at: Option<&str>) -> String {
    let Some(t) = at.and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok()) else {
        return "-".into();
    };
    let secs = k8s_openapi::jiff::Timestamp::now()
        .as_second()
        .saturating_sub(t.as_second())
        .max(0) as u64;
    spec::format_duration(Duration::from_secs(secs))
}

fn print(a: &StatusArgs, rows: &[Row]) -> anyhow::Result<()> {
    let mut out = crate::cli::stdout::stdout();
    if let Some(tenant) = &a.tenant {
        let rows = super::status_tenant::select(rows, tenant)?;
        match a.output {
            OutputFormat::Json => {
                serde_json::to_writer(&mut out, &rows)?;
                writeln!(out)?;
            }
            OutputFormat::Text => super::status_tenant::table(&mut out, &rows, a.all_namespaces)?,
        }
        out.flush()?;
        return Ok(());
    }
    match a.output {
        OutputFormat::Json => {
            let v = if a.sync.is_some() {
                serde_json::to_value(&rows[0])?
            } else {
                serde_json::to_value(rows)?
            };
            serde_json::to_writer(&mut out, &v)?;
            writeln!(out)?;
        }
        OutputFormat::Text if a.sync.is_some() => detail(&mut out, &rows[0])?,
        OutputFormat::Text => table(&mut out, rows, a.all_namespaces)?,
    }
    out.flush()?;
    Ok(())
}

pub(crate) fn table(out: &mut impl Write, rows: &[Row], namespaces: bool) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "no Syncs found");
    }
    let mut lines = vec![vec![
        "NAME".to_string(),
        "REVISION".into(),
        "SUSPENDED".into(),
        "READY".into(),
        "APPLIED".into(),
        "DRIFT".into(),
        "MESSAGE".into(),
    ]];
    for r in rows {
        let name = if namespaces {
            format!("{}/{}", r.namespace, r.name)
        } else {
            r.name.clone()
        };
        lines.push(vec![
            name,
            r.revision
                .clone()
                .or(r.digest.clone())
                .unwrap_or_else(|| "-".into()),
            if r.suspended { "True" } else { "False" }.into(),
            r.ready.clone(),
            age(r.last_applied_at.as_deref()),
            match r.status.drift.len() {
                0 => "-".to_string(),
                n => format!(
                    "{n} since {}",
                    age(r.status.drift.iter().map(|d| d.since.as_str()).min())
                ),
            },
            r.message.replace('\n', " "),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| lines.iter().map(|l| l[i].len()).max().unwrap_or(0))
        .collect();
    for l in lines {
        let mut line = String::new();
        for (i, cell) in l.iter().enumerate() {
            if i < 6 {
                line.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn detail(out: &mut impl Write, r: &Row) -> std::io::Result<()> {
    let s = &r.status;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    writeln!(out, "Sync:            {}/{}", r.namespace, r.name)?;
    writeln!(out, "URL:             {}", r.url)?;
    writeln!(out, "Ready:           {} ({})", r.ready, r.reason)?;
    writeln!(out, "Message:         {}", r.message)?;
    writeln!(out, "Suspended:       {}", r.suspended)?;
    writeln!(
        out,
        "Applied:         {} {} ({} ago)",
        opt(&s.last_applied_revision),
        opt(&s.last_applied_digest),
        age(s.last_applied_at.as_deref())
    )?;
    writeln!(
        out,
        "Attempted:       {} {}",
        opt(&s.last_attempted_revision),
        opt(&s.last_attempted_digest)
    )?;
    writeln!(out, "Inventory:       {}", opt(&s.inventory))?;
    if let Some(f) = &s.notifications_failing {
        writeln!(
            out,
            "Notifications:   {} undelivered; last: {}",
            f.failed, f.last_error
        )?;
    }
    if let Some(e) = &s.last_error {
        writeln!(out, "Last error:      {e}")?;
    }
    for c in &s.conditions {
        writeln!(
            out,
            "Condition:       {}={} {} ({} ago)",
            c.type_,
            c.status,
            c.reason,
            age(Some(&c.last_transition_time))
        )?;
    }
    for d in &s.drift {
        let what = if d.missing {
            "deleted".to_string()
        } else {
            d.fields.join(", ")
        };
        writeln!(
            out,
            "Drift:           {} ({what}) for {}",
            d.object,
            age(Some(&d.since))
        )?;
    }
    if !s.history.is_empty() {
        writeln!(out, "History (newest first):")?;
        for h in &s.history {
            writeln!(
                out,
                "  {}  {:<14} {:>7.1}s  {}  {}  {}",
                h.started_at,
                h.outcome,
                h.duration_ms as f64 / 1000.0,
                h.revision.as_deref().unwrap_or("-"),
                h.digest
                    .as_deref()
                    .map(|d| d.get(..19).unwrap_or(d))
                    .unwrap_or("-"),
                h.message
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_shows_ready_revision_drift_and_message() {
        let obj = json!({"metadata": {"name": "prod", "namespace": "ferry-system"},
            "spec": {"url": "oci://r.example/p:latest", "suspend": true},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "ApplyFailed", "message": "1 object(s) failed"}],
                       "lastAppliedRevision": "main@sha1:abc",
                       "drift": [{"object": "ConfigMap/shop/a", "fields": ["/data/k"], "since": "2020-01-01T00:00:00Z"}]}});
        let mut out = Vec::new();
        table(&mut out, &[row(&obj)], false).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(
            lines[0],
            [
                "NAME",
                "REVISION",
                "SUSPENDED",
                "READY",
                "APPLIED",
                "DRIFT",
                "MESSAGE"
            ]
        );
        assert_eq!(
            &lines[1][..6],
            ["prod", "main@sha1:abc", "True", "False", "-", "1"]
        );
        assert_eq!(lines[1][6], "since");
        assert!(text.ends_with("1 object(s) failed\n"), "{text}");
        let mut out = Vec::new();
        detail(&mut out, &row(&obj)).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        assert!(
            text.contains("Drift:           ConfigMap/shop/a (/data/k) for "),
            "{text}"
        );
    }
}
