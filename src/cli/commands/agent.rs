//! `ferry agent`: the in-cluster loop over every Sync, with health and metrics on
//! `--health-addr`, stopping cleanly on SIGTERM (as a pod is stopped) or Ctrl-C.

use crate::agent::{self, leader, metrics::Metrics, AgentHealth, AgentOptions, Shared};
use crate::cli::agent_args::AgentArgs;
use crate::cli::args::GlobalArgs;
use crate::cli::ExitCode;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;

pub fn run(g: &GlobalArgs, a: AgentArgs) -> anyhow::Result<ExitCode> {
    if g.offline {
        anyhow::bail!(
            "ferry agent talks to a cluster and a registry, and --offline (or FERRY_OFFLINE) forbids every network access"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(a))
}

async fn serve(a: AgentArgs) -> anyhow::Result<ExitCode> {
    let config = super::apply::config(
        a.cluster.kubeconfig.as_deref(),
        a.cluster.context.as_deref(),
    )
    .await?;
    let client =
        kube::Client::try_from(config.clone()).context("cannot create the Kubernetes client")?;
    let opts = AgentOptions {
        namespace: (!a.all_namespaces).then(|| a.cluster.namespace.clone()),
        poll: a.poll,
        grace: a.grace,
        backoff_base: a.backoff,
        field_manager: a.field_manager.clone(),
        notify_source: a.notify.notify_source.clone(),
        ..AgentOptions::default()
    };
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(AgentHealth::default());
    let notifier = super::notify::for_agent(&a.notify)?;
    if let Some(addr) = &a.health_addr {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot listen on --health-addr {addr}"))?;
        let (m, h, n) = (metrics.clone(), health.clone(), notifier.clone());
        // Alive while the Syncs keep being listed or watched: a watch is opened again at least
        // every WATCH_SECONDS.
        let stale = (a.poll * 6).max(Duration::from_secs(
            2 * u64::from(crate::agent::client::WATCH_SECONDS),
        )) + Duration::from_secs(30);
        crate::apply::schedule::serve(listener, move |path| match path {
            "/metrics" => {
                m.notifications(n.stats());
                (
                    200,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    m.text(),
                )
            }
            p => {
                let (code, body) = h.loop_health.answer(p, stale);
                (code, "text/plain", body.to_string())
            }
        });
    }
    let leader: Arc<dyn leader::Leader> = if a.no_leader_election {
        Arc::new(leader::Always)
    } else {
        Arc::new(leader::LeaseLeader::new(
            client.clone(),
            opts.identity.clone(),
        ))
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    eprintln!(
        "agent {}: watching Syncs in {}",
        opts.identity,
        opts.namespace.as_deref().unwrap_or("every namespace")
    );
    let mut shared = Shared::notifying(client, leader, metrics, opts, rx, notifier.clone());
    // Tenants' objects are applied as the tenants: clients from the agent's own settings, with
    // the tenant's identity added.
    if let Some(s) = Arc::get_mut(&mut shared) {
        s.impersonate = Some(Arc::new(config));
    }
    let agent = agent::run(shared, health);
    tokio::pin!(agent);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let ended = tokio::select! {
        () = &mut agent => true,
        _ = term.recv() => {
            eprintln!("agent: SIGTERM: finishing the applies in flight");
            false
        }
        _ = tokio::signal::ctrl_c() => {
            eprintln!("agent: interrupted: finishing the applies in flight");
            false
        }
    };
    let _ = tx.send(true);
    if !ended {
        agent.await;
    }
    eprintln!("agent: stopped");
    Ok(ExitCode::Success)
}
