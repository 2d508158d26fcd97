//! Waiting until applied objects are healthy (by the user's CEL rules for their kinds, else the
//! built-in ones), and naming each one that is not when time runs out.

use super::discovery::Resolved;
use super::health::{assess, Health};
use super::health_expr::HealthRules;
use super::ssa;
use crate::manifest::ObjRef;
use futures::StreamExt;
use kube::Client;
use std::time::{Duration, Instant};

/// One object to watch.
#[derive(Debug, Clone)]
pub struct Target {
    pub obj_ref: ObjRef,
    pub resolved: Resolved,
}

/// Polls every `interval` until each target is current or failed, or `timeout` passes.
/// Returns the last verdict for every target, in the order given.
pub async fn wait_healthy(
    client: &Client,
    targets: &[Target],
    timeout: Duration,
    interval: Duration,
    concurrency: usize,
    rules: &HealthRules,
) -> Vec<(ObjRef, Health)> {
    let start = Instant::now();
    let mut verdicts: Vec<Option<Health>> = vec![None; targets.len()];
    loop {
        let pending: Vec<usize> = (0..targets.len())
            .filter(|i| {
                !matches!(
                    verdicts[*i],
                    Some(Health::Current) | Some(Health::Failed(_))
                )
            })
            .collect();
        if pending.is_empty() {
            break;
        }
        let checks = futures::stream::iter(pending.iter().map(|i| {
            let t = &targets[*i];
            async move {
                let ns = (!t.obj_ref.namespace.is_empty()).then_some(t.obj_ref.namespace.as_str());
                let verdict = match ssa::get(client, &t.resolved, ns, &t.obj_ref.name).await {
                    Ok(Some(live)) => rules.assess(&live).unwrap_or_else(|| assess(&live)),
                    Ok(None) => Health::InProgress("not found in the cluster".into()),
                    Err(e) => Health::InProgress(format!("cannot read it: {e}")),
                };
                (*i, verdict)
            }
        }))
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
        for (i, v) in checks {
            verdicts[i] = Some(v);
        }
        let done = verdicts
            .iter()
            .all(|v| matches!(v, Some(Health::Current) | Some(Health::Failed(_))));
        if done || start.elapsed() + interval > timeout {
            break;
        }
        tokio::time::sleep(interval).await;
    }
    targets
        .iter()
        .zip(verdicts)
        .map(|(t, v)| {
            (
                t.obj_ref.clone(),
                v.unwrap_or_else(|| Health::InProgress("not checked".into())),
            )
        })
        .collect()
}
