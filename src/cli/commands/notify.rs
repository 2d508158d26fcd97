//! `ferry notify test PROVIDER`, and the notification set-up `ferry apply` shares with it.

use crate::cli::args::{GlobalArgs, NotifyArgs, NotifyCommand, NotifyTestArgs};
use crate::cli::ExitCode;
use crate::notify::{self, Event, Kind, Notifier, NotifyConfig, Resolved};
use anyhow::Context;
use std::sync::Arc;

/// Read and resolve the declaration named by `--notify-config` (None when there is none).
pub(super) fn load(a: &NotifyArgs) -> anyhow::Result<Option<Resolved>> {
    let Some(path) = &a.notify_config else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --notify-config {}", path.display()))?;
    let mut resolved = NotifyConfig::from_yaml(&path.display().to_string(), &text)?.resolve()?;
    if let Some(link) = &a.notify_link {
        resolved.link = Some(link.clone());
    }
    Ok(Some(resolved))
}

fn stderr_log() -> notify::Log {
    Arc::new(|line: &str| eprintln!("ferry: {line}"))
}

/// The notifier for `ferry apply`. A bad declaration is reported and notifications are off:
/// the apply itself goes ahead unaffected.
pub(super) fn for_apply(g: &GlobalArgs, a: &NotifyArgs) -> Notifier {
    let started = load(a).and_then(|r| match r {
        None => Ok(Notifier::disabled()),
        Some(r) => Ok(Notifier::start(
            r,
            g.offline,
            notify::DEFAULT_QUEUE,
            stderr_log(),
        )?),
    });
    started.unwrap_or_else(|e| {
        eprintln!("ferry: notifications are off for this apply: {e:#}");
        Notifier::disabled()
    })
}

/// The notifier for `ferry agent`: unlike a one-shot apply, a bad declaration stops the agent
/// at start (a misconfigured agent must not run silent).
pub(super) fn for_agent(a: &NotifyArgs) -> anyhow::Result<Notifier> {
    let Some(r) = load(a)? else {
        return Ok(Notifier::disabled());
    };
    let log: notify::Log = Arc::new(|line: &str| eprintln!("agent: notify: {line}"));
    Ok(Notifier::start(r, false, notify::DEFAULT_QUEUE, log)?)
}

pub fn run(g: &GlobalArgs, c: NotifyCommand) -> anyhow::Result<ExitCode> {
    match c {
        NotifyCommand::Test(a) => test(g, a),
    }
}

fn test(g: &GlobalArgs, a: NotifyTestArgs) -> anyhow::Result<ExitCode> {
    if g.offline {
        return Err(notify::NotifierError::Offline.into());
    }
    let Some(resolved) = load(&a.notify)? else {
        anyhow::bail!("ferry notify test needs --notify-config FILE (or FERRY_NOTIFY_CONFIG) declaring the provider");
    };
    let Some(p) = resolved
        .providers
        .iter()
        .find(|p| p.name == a.provider)
        .cloned()
    else {
        let names: Vec<_> = resolved.providers.iter().map(|p| p.name.as_str()).collect();
        anyhow::bail!(
            "no provider named {:?} in the declaration; declared: {}",
            a.provider,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let mut event = Event::new(
        Kind::Test,
        &a.environment,
        format!("ferry notify test: provider {} is reachable", p.name),
    );
    event.revision = a.revision.clone();
    event.source = a.notify.notify_source.clone();
    event.link = resolved.link.clone();
    let req = notify::request::build(&p, &event).map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = notify::deliver::client().map_err(|e| anyhow::anyhow!(e))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let d = runtime.block_on(notify::deliver::send(&client, &p, &req))?;
    if !g.quiet {
        use std::io::Write;
        writeln!(
            crate::cli::stdout::stdout(),
            "provider {} answered HTTP {} after {} attempt(s)",
            p.name,
            d.status,
            d.attempts
        )?;
    }
    Ok(ExitCode::Success)
}
