//! Every command-line argument, in one place.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Carry desired state from Git to Kubernetes: offline, fast, without leaking a secret",
    long_about = "ferry renders every app of every environment of a GitOps repository into plain \
manifests (`ferry build`). It reads the repository at a commit, never uses the network while \
building, and writes out/<env>/ atomically.\n\nExit codes: 0 success, 1 differences (diff), \
2 usage or input error, 3 partial failure (apply)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The repository (any directory inside it).
    #[arg(short = 'C', long = "repo", global = true, default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
    /// Where renders and vendored charts are cached [default: $XDG_CACHE_HOME/ferry].
    #[arg(long, global = true, env = "FERRY_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// No progress bar and no summary; errors are still printed.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Refuse every network access.
    #[arg(long, global = true, env = "FERRY_OFFLINE", value_parser = clap::builder::FalseyValueParser::new())]
    pub offline: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every app of every environment into out/<env>/.
    Build(BuildArgs),
    /// Write a commented starting ferry.yaml.
    Init(InitArgs),
    /// Render one chart or kustomization to stdout (drop-ins for `helm template` and `kubectl kustomize`).
    #[command(subcommand)]
    Render(RenderCommand),
    /// Fetch the charts ferry.yaml takes from Helm repositories or OCI registries, and pin them in ferry.lock.
    Vendor(VendorArgs),
    /// Manage the render cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args, Default)]
pub struct ToolArgs {
    /// The helm binary [default: $FERRY_HELM, else helm on PATH].
    #[arg(long, value_name = "PATH")]
    pub helm: Option<PathBuf>,
    /// The kubectl or kustomize binary [default: $FERRY_KUSTOMIZE, else kubectl, else kustomize on PATH].
    #[arg(long, value_name = "PATH")]
    pub kustomize: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Environments to build [default: all].
    #[arg(value_name = "ENV")]
    pub environments: Vec<String>,
    /// The commit to build: a branch, tag or commit id.
    #[arg(long, default_value = "HEAD", conflicts_with = "worktree")]
    pub revision: String,
    /// Build the files on disk, uncommitted changes included, instead of a commit.
    #[arg(long)]
    pub worktree: bool,
    /// Where out/<env>/ directories are written, relative to the repository root.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Render in N parallel jobs [default: one per core].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Render everything again, ignoring and not filling the cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub tools: ToolArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing ferry.yaml.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum RenderCommand {
    /// `helm template` with the same flags.
    Helm(RenderHelmArgs),
    /// `kubectl kustomize DIR`.
    Kustomize(RenderKustomizeArgs),
}

#[derive(Debug, Args)]
pub struct RenderHelmArgs {
    /// Release name, then chart directory or archive (a lone argument is the chart; the release is then `release-name`).
    #[arg(num_args = 1..=2, required = true, value_name = "[NAME] CHART")]
    pub name_and_chart: Vec<String>,
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Values files, in order.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<String>,
    /// `key=value` (value typed like helm does: numbers, booleans, null).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// `key=json`.
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    #[arg(long, default_value = "1.31.0")]
    pub kube_version: String,
    #[arg(short = 'a', long = "api-versions", value_name = "GROUP/VERSION")]
    pub api_versions: Vec<String>,
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    #[command(flatten)]
    pub tools: ToolArgs,
}

#[derive(Debug, Args)]
pub struct RenderKustomizeArgs {
    /// The kustomization directory.
    pub dir: String,
    #[command(flatten)]
    pub tools: ToolArgs,
}

#[derive(Debug, Args)]
pub struct VendorArgs {
    /// Accept charts whose digest changed upstream, and re-pin them.
    #[arg(long)]
    pub update: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub tools: ToolArgs,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove cache entries not used for a while.
    Prune(CachePruneArgs),
}

#[derive(Debug, Args)]
pub struct CachePruneArgs {
    /// Remove entries unused for this many days.
    #[arg(long, default_value_t = 30, conflicts_with = "all")]
    pub older_than_days: u64,
    /// Remove every entry.
    #[arg(long)]
    pub all: bool,
}
