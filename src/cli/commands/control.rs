//! `ferry suspend|resume|reconcile SYNC`: change the Sync the agent watches, then wait until
//! the agent has acted on it (its status says so) or the timeout runs out.

use crate::agent::{client as sync_client, spec::RECONCILE_ANNOTATION, status::SyncStatus};
use crate::cli::agent_args::ControlArgs;
use crate::cli::args::{GlobalArgs, OutputFormat};
use crate::cli::ExitCode;
use anyhow::Context;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Suspend,
    Resume,
    Reconcile,
}

/// Whether the agent has acted on the change that made `obj` (generation `generation`).
fn acted(action: Action, obj: &Value, generation: i64, requested: &str) -> bool {
    let s = SyncStatus::from_object(obj);
    match action {
        Action::Suspend => s.observed_generation >= generation && s.suspended,
        Action::Resume => {
            s.observed_generation >= generation
                && !s.suspended
                && s.condition("Reconciling").is_none()
        }
        Action::Reconcile => {
            s.last_handled_reconcile_at.as_deref() == Some(requested)
                && s.condition("Reconciling")
                    .is_none_or(|c| c.reason == "ProgressingWithRetry")
        }
    }
}

pub fn run(_g: &GlobalArgs, action: Action, a: ControlArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(control(action, a))
}

async fn control(action: Action, a: ControlArgs) -> anyhow::Result<ExitCode> {
    let client = super::apply::client(
        a.cluster.kubeconfig.as_deref(),
        a.cluster.context.as_deref(),
    )
    .await?;
    let (ns, name) = (a.cluster.namespace.as_str(), a.sync.as_str());
    let requested = k8s_openapi::jiff::Timestamp::now().to_string();
    let patch = match action {
        Action::Suspend => json!({"spec": {"suspend": true}}),
        Action::Resume => json!({"spec": {"suspend": false}}),
        Action::Reconcile => {
            json!({"metadata": {"annotations": {RECONCILE_ANNOTATION: requested}}})
        }
    };
    let what = match action {
        Action::Suspend => "suspend",
        Action::Resume => "resume",
        Action::Reconcile => "reconcile",
    };
    if sync_client::get(&client, ns, name)
        .await
        .with_context(|| format!("reading Sync {ns}/{name}"))?
        .is_none()
    {
        anyhow::bail!("Sync {ns}/{name} not found\nhint: `ferry status -n {ns}` lists the Syncs");
    }
    let obj = sync_client::patch(&client, ns, name, &patch)
        .await
        .with_context(|| format!("cannot {what} Sync {ns}/{name}"))?;
    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(0);
    if a.no_wait {
        report(&a, action, &obj, false)?;
        return Ok(ExitCode::Success);
    }
    let started = Instant::now();
    loop {
        let obj = sync_client::get(&client, ns, name)
            .await?
            .with_context(|| format!("Sync {ns}/{name} was deleted"))?;
        if acted(action, &obj, generation, &requested) {
            report(&a, action, &obj, true)?;
            let ready = SyncStatus::from_object(&obj).ready() == "True";
            return Ok(if action == Action::Suspend || ready {
                ExitCode::Success
            } else {
                ExitCode::Partial
            });
        }
        if started.elapsed() > a.timeout {
            anyhow::bail!(
                "Sync {ns}/{name}: the agent did not {what} it within {}s\nhint: is `ferry agent` running and watching namespace {ns}?",
                a.timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn report(a: &ControlArgs, action: Action, obj: &Value, waited: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let row = super::status::row(obj);
    let mut out = crate::cli::stdout::stdout();
    match a.output {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&row)?)?,
        OutputFormat::Text => {
            let done = match (action, waited) {
                (Action::Suspend, true) => "suspended",
                (Action::Resume, true) => "resumed",
                (Action::Reconcile, true) => "reconciled",
                (_, false) => "requested",
            };
            writeln!(
                out,
                "Sync {}/{} {done}: Ready={} {}",
                row.namespace, row.name, row.ready, row.message
            )?;
        }
    }
    Ok(())
}
