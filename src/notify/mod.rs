//! Notifications: ferry tells people (Slack, Microsoft Teams, Discord, generic webhooks) and
//! code hosts (GitHub, GitLab, Gitea/Forgejo commit statuses) what an apply did, once, with no
//! secret in it.
//!
//! - [`event`]: the [`Event`] model, built from an apply's report or error;
//! - [`config`]: providers and alerts as declared, secrets read by reference ([`secret`]);
//! - [`request`] with [`chat`], [`webhook`] and [`status`]: each receiver's real format;
//! - [`deliver`]: timeouts, retries with backoff, 429 `Retry-After`, no retry on 4xx;
//! - [`dedup`]: the same news is not re-sent every interval; a summary after N repeats;
//! - [`notifier`]: the [`Notifier`] handle and its bounded queue.
//!
//! # Use (`ferry apply` now, the agent later)
//!
//! ```no_run
//! # fn demo(yaml: &str, report: &ferry::apply::ApplyReport) -> anyhow::Result<()> {
//! use ferry::notify::{Event, Notifier, NotifyConfig};
//! use std::sync::Arc;
//! let resolved = NotifyConfig::from_yaml("ferry.yaml", yaml)?.resolve()?;
//! let log: ferry::notify::Log = Arc::new(|line: &str| eprintln!("{line}"));
//! let notifier = Notifier::start(resolved, /* offline */ false, ferry::notify::DEFAULT_QUEUE, log)?;
//! notifier.send(Event::progressing("prod", "sha256:...", Some("main@sha1:...")));
//! // ... apply ...
//! notifier.send(Event::from_report(report));
//! notifier.flush(std::time::Duration::from_secs(10)); // one-shot: before exiting
//! # Ok(()) }
//! ```
//!
//! The agent keeps one `Notifier` for its lifetime (it is `Clone`; hand a clone to each sync's
//! task), calls `send` from its reconcile loop (it never blocks: a full queue drops and counts
//! the event), builds drift events with `Event::new(Kind::DriftBegan, sync, summary)` and the
//! sync's digest and revision, sets `source` from the artifact's
//! `org.opencontainers.image.source` so commit statuses find the repository, and exports
//! [`Notifier::stats`] as metrics and in its status. It need not flush: the worker keeps running.

pub mod chat;
pub mod config;
pub mod dedup;
pub mod deliver;
pub mod event;
pub mod notifier;
pub mod request;
pub mod secret;
pub mod status;
pub mod webhook;

pub use config::{ConfigError, NotifyConfig, Provider, ProviderType, Resolved};
pub use event::{Counts, Event, Kind, Severity};
pub use notifier::{Counters, Failing, Log, Notifier, NotifierError, DEFAULT_QUEUE};
pub use secret::{Secret, SecretRef};
