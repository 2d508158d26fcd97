//! `ferry bootstrap`: install the agent and a first Sync (agent::bootstrap), then wait until
//! the agent reports the Sync Ready and show it as `ferry status` does.

use crate::agent::bootstrap::{self, Plan};
use crate::agent::client as sync_client;
use crate::cli::agent_args::BootstrapArgs;
use crate::cli::args::{GlobalArgs, OutputFormat};
use crate::cli::ExitCode;
use anyhow::Context;
use std::io::Write;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// `oci://r/platform/prod:latest` → `prod`.
fn default_sync_name(url: &str) -> String {
    let path = url.trim_start_matches("oci://");
    // The tag or digest comes after the last '/', a registry's port before it.
    let last = path.rsplit('/').next().unwrap_or(path);
    last.split(['@', ':'])
        .next()
        .unwrap_or(last)
        .to_ascii_lowercase()
}

fn plan(a: &BootstrapArgs) -> anyhow::Result<Plan> {
    let cosign_public_key = match &a.key {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the cosign public key {}", f.display()))?,
        ),
        None => None,
    };
    if let (Some(k), Some(f)) = (&cosign_public_key, &a.key) {
        crate::artifact::sign::keys::parse_public(f, k)
            .with_context(|| format!("{} is not a cosign public key", f.display()))?;
    }
    let age_identity = match &a.age_identity {
        Some(f) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read the age identity {}", f.display()))?,
            );
            if !text
                .lines()
                .any(|l| l.trim().starts_with("AGE-SECRET-KEY-1"))
            {
                anyhow::bail!(
                    "{} holds no age identity (a line AGE-SECRET-KEY-1...); pass the file \
                     `ferry keygen` or `age-keygen` wrote",
                    f.display()
                );
            }
            Some(text)
        }
        None => None,
    };
    Ok(Plan {
        namespace: a.cluster.namespace.clone(),
        image: a.image.clone(),
        sync_name: a.sync.clone().unwrap_or_else(|| default_sync_name(&a.url)),
        url: a.url.clone(),
        interval: a.interval.clone(),
        timeout: a.sync_timeout.clone(),
        cosign_public_key,
        age_identity,
        rbac: a.rbac,
        insecure_registry: a.insecure_registry,
    })
}

pub fn run(_g: &GlobalArgs, a: BootstrapArgs) -> anyhow::Result<ExitCode> {
    let plan = plan(&a)?;
    let objects = bootstrap::objects(&plan)?;
    if a.dry_run {
        let mut out = crate::cli::stdout::stdout();
        let shown: Vec<_> = objects.iter().map(bootstrap::redacted).collect();
        match a.output {
            OutputFormat::Json => serde_json::to_writer_pretty(&mut out, &shown)?,
            OutputFormat::Text => {
                for o in &shown {
                    write!(out, "---\n{}", crate::manifest::to_yaml(o))?;
                }
            }
        }
        writeln!(out)?;
        out.flush()?;
        return Ok(ExitCode::Success);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(install(a, plan, objects))
}

async fn install(
    a: BootstrapArgs,
    plan: Plan,
    objects: Vec<serde_json::Value>,
) -> anyhow::Result<ExitCode> {
    let client = super::apply::client(
        a.cluster.kubeconfig.as_deref(),
        a.cluster.context.as_deref(),
    )
    .await?;
    eprintln!(
        "==> installing the agent ({}) into {} with Sync {}",
        plan.image, plan.namespace, plan.sync_name
    );
    let applied = bootstrap::apply(&client, &objects, |x| {
        eprintln!(
            "    {:<10} {}",
            format!("{:?}", x.outcome).to_lowercase(),
            x.object
        );
    })
    .await?;
    let changed = applied
        .iter()
        .filter(|x| !matches!(x.outcome, crate::apply::ssa::Outcome::Unchanged))
        .count();
    eprintln!("    {} objects, {changed} changed", applied.len());
    let mut ready = None;
    if !a.no_wait {
        eprintln!(
            "==> waiting up to {:?} for Sync {}/{} to be Ready",
            a.timeout, plan.namespace, plan.sync_name
        );
        ready = Some(wait_ready(&client, &plan, a.timeout).await?);
    }
    let obj = sync_client::get(&client, &plan.namespace, &plan.sync_name)
        .await
        .context("reading the Sync back")?
        .context("the Sync is gone")?;
    let row = super::status::row(&obj);
    let mut out = crate::cli::stdout::stdout();
    match a.output {
        OutputFormat::Json => {
            let v = serde_json::json!({"applied": applied, "sync": row});
            serde_json::to_writer(&mut out, &v)?;
            writeln!(out)?;
        }
        OutputFormat::Text => super::status::table(&mut out, std::slice::from_ref(&row), false)?,
    }
    out.flush()?;
    Ok(match ready {
        Some(false) => {
            eprintln!(
                "error: Sync {}/{} is not Ready after {:?}: {}\nhint: `ferry status {} -n {}` \
                 shows its history; `kubectl -n {} logs deploy/ferry-agent` the agent's log",
                plan.namespace,
                plan.sync_name,
                a.timeout,
                row.message,
                plan.sync_name,
                plan.namespace,
                plan.namespace
            );
            ExitCode::Partial
        }
        _ => ExitCode::Success,
    })
}

/// Whether the Sync became Ready within `timeout`.
async fn wait_ready(client: &kube::Client, plan: &Plan, timeout: Duration) -> anyhow::Result<bool> {
    let started = Instant::now();
    let mut said = String::new();
    loop {
        if let Some(obj) = sync_client::get(client, &plan.namespace, &plan.sync_name).await? {
            let row = super::status::row(&obj);
            if row.ready == "True" {
                return Ok(true);
            }
            let now = format!("{} {}", row.ready, row.message);
            if now != said {
                eprintln!("    {}: {}", row.ready, row.message);
                said = now;
            }
        }
        if started.elapsed() >= timeout {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::default_sync_name;

    #[test]
    fn the_sync_is_named_after_the_repository() {
        assert_eq!(
            default_sync_name("oci://r.example/platform/prod:latest"),
            "prod"
        );
        assert_eq!(
            default_sync_name("oci://127.0.0.1:5000/Staging@sha256:ab"),
            "staging"
        );
        assert_eq!(default_sync_name("oci://r.example/app"), "app");
    }
}
