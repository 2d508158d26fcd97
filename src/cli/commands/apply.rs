//! `ferry apply`: read (or pull and verify) an artifact, open sealed Secrets in memory, and hand
//! it to the apply engine; print a line per stage and a summary, or the report as JSON.

use crate::apply::{
    self, schedule,
    source::OciSource,
    source::{is_sealed, unseal},
    ApplyOptions, ApplyReport, ApplySource, Decryptor, DirSource, ObjectStatus, ParentKind,
    PrunePolicy, PruneStatus, SourceSpec,
};
use crate::cli::args::{ApplyArgs, GlobalArgs, InventoryKind, OutputFormat, PropagationArg};
use crate::cli::ExitCode;
use crate::notify::{Event, Notifier};
use crate::secrets::open::InMemory;
use anyhow::Context;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::io::Write;

pub fn run(g: &GlobalArgs, a: ApplyArgs) -> anyhow::Result<ExitCode> {
    if g.offline {
        anyhow::bail!(
            "ferry apply talks to a cluster, and --offline (or FERRY_OFFLINE) forbids every network access\nhint: unset FERRY_OFFLINE for this command"
        );
    }
    let opts = options(&a);
    let notifier = super::notify::for_apply(g, &a.notify);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if let Some(interval) = a.interval {
        return run_loop(g, &a, &opts, &runtime, interval, &notifier);
    }
    let bar = ApplyBar::new(crate::cli::progress::wanted(g.quiet), g.quiet);
    let report = notified(&notifier, &a, || {
        once(g, &a, &opts, &runtime, &bar, &notifier)
    });
    bar.finish();
    // One-shot: give deliveries a bounded time before the process (and its worker) ends.
    if notifier.is_enabled() && !notifier.flush(a.notify.notify_wait) {
        eprintln!(
            "ferry: notifications still undelivered after --notify-wait {}s; given up",
            a.notify.notify_wait.as_secs()
        );
    }
    let undelivered = notifier.stats().failed;
    if undelivered > 0 {
        eprintln!("ferry: {undelivered} notification(s) could not be delivered (why is logged above); the apply itself is unaffected");
    }
    let report = report?;
    print_report(g, &a, &report, false)?;
    Ok(if report.success() {
        ExitCode::Success
    } else {
        ExitCode::Partial
    })
}

/// One apply: read (or pull) the source, open sealed Secrets, apply. `--once` and every turn
/// of the `--interval` loop go through here.
fn once(
    g: &GlobalArgs,
    a: &ApplyArgs,
    opts: &ApplyOptions,
    runtime: &tokio::runtime::Runtime,
    progress: &dyn apply::ApplyProgress,
    notifier: &Notifier,
) -> anyhow::Result<ApplyReport> {
    let puller = super::oci_pull::VerifiedPuller::new(g, a);
    let source: Box<dyn ApplySource + '_> = match SourceSpec::parse(&a.source) {
        SourceSpec::Dir(dir) => Box::new(DirSource { dir }),
        SourceSpec::Oci(reference) => Box::new(OciSource {
            reference,
            puller: &puller,
        }),
    };
    let artifact = source.load()?;
    if let Some(plan) = &artifact.wait {
        for o in &plan.outside {
            eprintln!("note: {o} is not in the build, so ferry apply does not wait for it");
        }
    }
    let objects = if artifact.objects.iter().any(is_sealed) {
        // Identities are read only when something is sealed: a plain artifact needs none.
        let ids = InMemory::load(a.identity.as_deref())?;
        let decryptor = (!ids.is_empty()).then_some(&ids as &dyn Decryptor);
        unseal(artifact.objects.clone(), decryptor)?
    } else {
        artifact.objects.clone()
    };
    let artifact = apply::Artifact {
        objects,
        ..artifact
    };
    let mut start = Event::progressing(
        &artifact.environment,
        &artifact.digest,
        artifact.revision.as_deref(),
    );
    start.source = a.notify.notify_source.clone();
    notifier.send(start);
    runtime.block_on(async {
        let config = config(a.kubeconfig.as_deref(), a.context.as_deref()).await?;
        let client =
            Client::try_from(config.clone()).context("cannot create the Kubernetes client")?;
        anyhow::Ok(apply::apply_with_tenants(&client, &config, artifact, opts, progress).await?)
    })
}

fn print_report(
    g: &GlobalArgs,
    a: &ApplyArgs,
    report: &ApplyReport,
    one_line: bool,
) -> anyhow::Result<()> {
    let mut stdout = crate::cli::stdout::stdout();
    match a.output {
        OutputFormat::Json if one_line => {
            serde_json::to_writer(&mut stdout, report)?;
            writeln!(stdout)?;
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, report)?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => {
            if !g.quiet || !report.success() {
                print_text(&mut stdout, report)?;
            }
        }
    }
    stdout.flush()?;
    Ok(())
}

/// `--interval`: apply, wait (jittered; backing off after failures), apply again, forever.
/// Every turn re-reads the source, so drift is corrected and a new digest is picked up.
fn run_loop(
    g: &GlobalArgs,
    a: &ApplyArgs,
    opts: &ApplyOptions,
    runtime: &tokio::runtime::Runtime,
    interval: std::time::Duration,
    notifier: &Notifier,
) -> anyhow::Result<ExitCode> {
    let health = std::sync::Arc::new(schedule::LoopHealth::default());
    if let Some(addr) = &a.health_addr {
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot listen on --health-addr {addr}"))?;
        // Alive while runs keep finishing: allow three intervals plus the apply's own timeout.
        schedule::serve_health(listener, health.clone(), interval * 3 + a.timeout);
    }
    let mut failures = 0u32;
    loop {
        let ok = match notified(notifier, a, || {
            once(
                g,
                a,
                opts,
                runtime,
                &ApplyBar::new(false, g.quiet),
                notifier,
            )
        }) {
            Ok(report) => {
                print_report(g, a, &report, true)?;
                report.success()
            }
            Err(e) => {
                crate::cli::print_error(&e);
                false
            }
        };
        health.record(ok);
        failures = if ok { 0 } else { failures.saturating_add(1) };
        let wait = if ok {
            schedule::jittered(interval, schedule::seed())
        } else {
            schedule::backoff(failures, interval, schedule::seed())
        };
        std::thread::sleep(wait);
    }
}

/// Run one apply and queue its outcome: the report's event, or the error's (an apply that could
/// not run, or an artifact that did not verify). Never waits for delivery.
fn notified(
    notifier: &Notifier,
    a: &ApplyArgs,
    run: impl FnOnce() -> anyhow::Result<ApplyReport>,
) -> anyhow::Result<ApplyReport> {
    let result = run();
    if notifier.is_enabled() {
        let mut event = match &result {
            Ok(report) => Event::from_report(report),
            Err(e) => Event::from_error(&environment_of(&a.source), e),
        };
        event.source = a.notify.notify_source.clone();
        notifier.send(event);
    }
    result
}

/// The environment an apply that never read its artifact was for, as well as the source
/// tells it: the directory's name (`out/<env>`) or the repository's last segment.
fn environment_of(source: &str) -> String {
    let s = source.strip_prefix("oci://").unwrap_or(source);
    let s = s.split('@').next().unwrap_or(s).trim_end_matches('/');
    let last = s.rsplit('/').next().unwrap_or(s);
    let last = last.split(':').next().unwrap_or(last);
    if last.is_empty() { "unknown" } else { last }.to_string()
}

/// A progress bar on stderr for people at a terminal: the stage, objects done, the last one;
/// and, unless `--quiet`, a line when the apply waits for another one's lock.
struct ApplyBar {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl ApplyBar {
    fn new(enabled: bool, quiet: bool) -> ApplyBar {
        let bar = enabled.then(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                Some(0),
                indicatif::ProgressDrawTarget::stderr(),
            );
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} apply {prefix} [{bar:30}] {pos}/{len} {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            b.set_style(style);
            b
        });
        ApplyBar { bar, quiet }
    }

    fn note(&self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl apply::ApplyProgress for ApplyBar {
    fn lock_waiting(
        &self,
        lease: &apply::lease::LeaseConfig,
        holder: &apply::lease::Holder,
        timeout: Option<std::time::Duration>,
    ) {
        let renewed = holder
            .renewed
            .as_deref()
            .map(|t| format!(", last renewed {t}"))
            .unwrap_or_default();
        let until = match timeout {
            Some(t) => format!("giving up after {}s (--lock-timeout)", t.as_secs()),
            None => "for as long as it takes".into(),
        };
        self.note(&format!(
            "waiting: another apply into this inventory holds {} ({}{renewed}); waiting {until}",
            lease.describe(),
            crate::untrusted::escape(&holder.identity)
        ));
    }

    fn lock_not_released(&self, error: &apply::lease::LeaseError) {
        self.note(&format!(
            "warning: {error}; the lock lapses by itself after its duration"
        ));
    }

    fn stage_started(&self, stage: apply::Stage, objects: usize) {
        if let Some(b) = &self.bar {
            b.set_prefix(stage.name());
            b.inc_length(objects as u64);
        }
    }

    fn object_done(&self, result: &apply::report::ObjectResult) {
        if let Some(b) = &self.bar {
            b.set_message(result.object.clone());
            b.inc(1);
        }
    }
}

fn options(a: &ApplyArgs) -> ApplyOptions {
    let defaults = ApplyOptions::default();
    ApplyOptions {
        ssa: apply::SsaOptions {
            field_manager: a.field_manager.clone(),
            force_conflicts: a.force_conflicts,
            dry_run: a.dry_run,
        },
        concurrency: usize::from(a.concurrency),
        parent_kind: match a.inventory_kind {
            InventoryKind::Secret => ParentKind::Secret,
            InventoryKind::Configmap => ParentKind::ConfigMap,
        },
        inventory_namespace: a.inventory_namespace.clone(),
        inventory_name: a.inventory_name.clone(),
        prune: PrunePolicy {
            enabled: a.prune,
            force: a.force_prune,
            max: a.max_prune,
            protected_kinds: a.prune_protected_kinds,
            ..PrunePolicy::default()
        },
        propagation: match a.prune_propagation {
            PropagationArg::Background => apply::Propagation::Background,
            PropagationArg::Foreground => apply::Propagation::Foreground,
            PropagationArg::Orphan => apply::Propagation::Orphan,
        },
        wait: a.wait.then_some(a.timeout),
        crd_timeout: a.timeout,
        lock: apply::LockOptions {
            timeout: Some(a.lock_timeout),
            ..defaults.lock.clone()
        },
        ..defaults
    }
}

/// `--kubeconfig` and `--context` when given; otherwise `$KUBECONFIG` or `~/.kube/config`,
/// falling back to the in-cluster service account.
pub(super) async fn client(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
) -> anyhow::Result<Client> {
    Client::try_from(config(kubeconfig, context).await?)
        .context("cannot create the Kubernetes client")
}

/// The connection settings [`client`] uses; tenants' clients are made from them.
pub(super) async fn config(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
) -> anyhow::Result<Config> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let config = if let Some(path) = kubeconfig {
        let kc = Kubeconfig::read_from(path)
            .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
        Config::from_custom_kubeconfig(kc, &options)
            .await
            .with_context(|| format!("kubeconfig {}", path.display()))?
    } else if context.is_some() {
        Config::from_kubeconfig(&options)
            .await
            .context("cannot load the kubeconfig context")?
    } else {
        Config::infer()
            .await
            .context("no kubeconfig ($KUBECONFIG, ~/.kube/config) and not in a cluster")?
    };
    Ok(config)
}

fn seconds(ms: u128) -> String {
    format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
}

/// The text report: a line per stage with its failures, the prune, health, and a summary;
/// then the same for each tenant, applied as its ServiceAccount.
pub fn print_text(out: &mut impl Write, r: &ApplyReport) -> std::io::Result<()> {
    print_one(out, r)?;
    for t in &r.tenants {
        writeln!(out)?;
        match (&t.report, &t.error) {
            (Some(tr), _) => {
                writeln!(out, "tenant {} (as {}):", t.tenant, t.user)?;
                print_one(out, tr)?;
            }
            (None, error) => writeln!(
                out,
                "tenant {} (as {}) failed: {}",
                t.tenant,
                t.user,
                error.as_deref().unwrap_or("unknown error")
            )?,
        }
    }
    if !r.tenants.is_empty() {
        let failed: Vec<&str> = r
            .tenants
            .iter()
            .filter(|t| !t.success())
            .map(|t| t.tenant.as_str())
            .collect();
        let platform = if r.platform_success() { "ok" } else { "failed" };
        if failed.is_empty() {
            writeln!(
                out,
                "\ntenants: all {} applied; platform {platform}",
                r.tenants.len()
            )?;
        } else {
            writeln!(
                out,
                "\ntenants: {} of {} failed ({}); platform {platform}",
                failed.len(),
                r.tenants.len(),
                failed.join(", ")
            )?;
        }
    }
    Ok(())
}

fn print_one(out: &mut impl Write, r: &ApplyReport) -> std::io::Result<()> {
    let mode = if r.dry_run { " (dry run)" } else { "" };
    writeln!(
        out,
        "applying {} {}{} as {} ({}){mode}",
        r.environment,
        r.digest,
        r.revision
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        r.applyset,
        r.parent
    )?;
    for s in &r.stages {
        let stage = s.stage.map(|s| s.name()).unwrap_or("?");
        let mut parts = Vec::new();
        for (n, what) in [
            (s.created, "created"),
            (s.configured, "configured"),
            (s.unchanged, "unchanged"),
            (s.skipped, "skipped"),
            (s.failed, "failed"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        writeln!(
            out,
            "stage {stage}: {} objects: {} ({})",
            s.objects,
            parts.join(", "),
            seconds(s.millis)
        )?;
        for o in r
            .objects
            .iter()
            .filter(|o| o.stage == s.stage.unwrap_or(o.stage))
        {
            match &o.result {
                ObjectStatus::Failed { error } => writeln!(out, "  failed {}: {error}", o.object)?,
                ObjectStatus::Skipped { reason } => {
                    writeln!(out, "  skipped {}: {reason}", o.object)?
                }
                ObjectStatus::Applied { .. } => {}
            }
        }
    }
    let p = &r.prune;
    match p.status {
        PruneStatus::Done => writeln!(out, "prune: {} deleted", p.pruned.len())?,
        PruneStatus::DryRun => {
            writeln!(out, "prune (dry run): {} would be deleted", p.pruned.len())?
        }
        PruneStatus::Skipped => {
            writeln!(out, "prune skipped: {}", p.reason.as_deref().unwrap_or(""))?
        }
        PruneStatus::Refused => {
            writeln!(out, "prune refused: {}", p.reason.as_deref().unwrap_or(""))?
        }
        PruneStatus::Disabled => writeln!(out, "prune: disabled")?,
    }
    for o in &p.pruned {
        writeln!(out, "  - {o}")?;
    }
    for k in &p.kept {
        writeln!(out, "  kept {}: {}", k.object, k.reason)?;
    }
    for k in &p.failed {
        writeln!(out, "  failed {}: {}", k.object, k.reason)?;
    }
    if let Some(health) = &r.health {
        let bad: Vec<_> = health.iter().filter(|h| !h.health.is_current()).collect();
        if bad.is_empty() {
            writeln!(out, "health: all {} objects ready", health.len())?;
        } else {
            writeln!(
                out,
                "health: {} of {} objects not ready",
                bad.len(),
                health.len()
            )?;
            for h in bad {
                writeln!(out, "  {}: {}", h.object, h.health.reason())?;
            }
        }
    }
    let s = &r.summary;
    writeln!(
        out,
        "summary: {} created, {} configured, {} unchanged, {} pruned, {} failed{}",
        s.created,
        s.configured,
        s.unchanged,
        s.pruned,
        s.failed,
        if s.unhealthy > 0 {
            format!(", {} unhealthy", s.unhealthy)
        } else {
            String::new()
        }
    )
}
