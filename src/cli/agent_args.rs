//! Arguments of the agent's commands: `ferry agent`, `ferry status`, `ferry suspend`,
//! `ferry resume` and `ferry reconcile`.

use super::args::{parse_duration, OutputFormat};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Where the cluster is and which namespace holds the Syncs.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// The kubeconfig file [default: $KUBECONFIG, else ~/.kube/config, else in-cluster].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context [default: its current context].
    #[arg(long, alias = "kube-context", value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace of the Syncs.
    #[arg(short, long, default_value = "ferry-system", value_name = "NS")]
    pub namespace: String,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Notifications: applied, failed, health timeout, drift began/corrected/ended,
    /// verification and prune refusals of every Sync (the Sync's name is the environment).
    #[command(flatten)]
    pub notify: super::args::NotifyArgs,
    /// Watch the Syncs of every namespace instead of --namespace.
    #[arg(long, short = 'A')]
    pub all_namespaces: bool,
    /// Serve /healthz, /readyz and /metrics (Prometheus) on this address, e.g. 0.0.0.0:8080.
    #[arg(long, value_name = "ADDR")]
    pub health_addr: Option<String>,
    /// The agent lists the Syncs once, then watches them (new Syncs, changes and reconcile
    /// requests arrive as they happen); after a failed list or watch it waits this long and
    /// lists again.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_duration_ms)]
    pub poll: Duration,
    /// On SIGTERM or a timeout, how long an apply in flight gets to reach a stage boundary
    /// before it is abandoned (nothing is pruned either way).
    #[arg(long, default_value = "20s", value_name = "DURATION", value_parser = parse_duration_ms)]
    pub grace: Duration,
    /// The first wait after a failure; doubled for each further one, capped by the interval.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration_ms)]
    pub backoff: Duration,
    /// The field manager that owns what the agent applies.
    #[arg(long, default_value = "ferry", value_name = "NAME")]
    pub field_manager: String,
    /// Reconcile every Sync without taking its Lease (only for a single agent that is sure
    /// to be alone).
    #[arg(long)]
    pub no_leader_election: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// One Sync, shown in detail with its history.
    #[arg(value_name = "SYNC")]
    pub sync: Option<String>,
    /// Every namespace.
    #[arg(long, short = 'A', conflicts_with = "sync")]
    pub all_namespaces: bool,
    /// Only what concerns this tenant: its own last apply in each Sync that applies it (its inventory, failed objects, the Sync's error when nothing was applied).
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// Print again whenever something changes (Ctrl-C stops).
    #[arg(long, short = 'w')]
    pub watch: bool,
    #[arg(long, short, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ControlArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[arg(value_name = "SYNC")]
    pub sync: String,
    /// How long to wait for the agent to act on it.
    #[arg(long, default_value = "2m", value_name = "DURATION", value_parser = parse_duration_ms)]
    pub timeout: Duration,
    /// Return at once, without waiting for the agent.
    #[arg(long)]
    pub no_wait: bool,
    #[arg(long, short, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// `--poll 500ms` too: Go's duration syntax as Syncs use it.
fn parse_duration_ms(s: &str) -> Result<Duration, String> {
    crate::agent::spec::parse_duration(s).or_else(|_| parse_duration(s))
}

/// `ferry bootstrap`: install the agent and one Sync into a cluster.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The agent's container image (ferry builds none; see deploy/Dockerfile).
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// The artifact the first Sync deploys, as `ferry push` printed it.
    #[arg(long, value_name = "oci://REGISTRY/REPO:TAG")]
    pub url: String,
    /// The Sync's name [default: the artifact repository's last path segment].
    #[arg(long, value_name = "NAME")]
    pub sync: Option<String>,
    /// The cosign public key that must have signed the artifact (read from the file, stored
    /// in the Secret ferry-keys).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "insecure_skip_verify"
    )]
    pub key: Option<PathBuf>,
    /// Accept unsigned artifacts (never for production).
    #[arg(long, conflicts_with = "key")]
    pub insecure_skip_verify: bool,
    /// The cluster's age identity, which opens the artifact's sealed Secrets (stored in the
    /// Secret ferry-keys; never printed).
    #[arg(long, value_name = "FILE")]
    pub age_identity: Option<PathBuf>,
    /// The Sync's interval and per-reconcile timeout (Go durations).
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub interval: String,
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub sync_timeout: String,
    /// What the agent may apply: `least` (deploy/rbac.yaml), `cluster-admin`, or `none`.
    #[arg(long, value_enum, default_value = "least")]
    pub rbac: crate::agent::bootstrap::Rbac,
    /// The registry speaks plain HTTP (a registry on loopback).
    #[arg(long)]
    pub insecure_registry: bool,
    /// Print the objects (the key Secret redacted) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for the Sync to become Ready.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = parse_duration_ms)]
    pub timeout: Duration,
    /// Return once everything is applied, without waiting for the agent.
    #[arg(long)]
    pub no_wait: bool,
    #[arg(long, short, value_enum, default_value_t)]
    pub output: OutputFormat,
}
