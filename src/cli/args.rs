//! Every command-line argument, in one place.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Carry desired state from Git to Kubernetes: offline, fast, without leaking a secret",
    long_about = "ferry carries desired state from Git to Kubernetes. In CI, `ferry build` \
renders every app of every environment of a GitOps repository into plain manifests, reading the \
repository at a commit with no network and sealing every Secret for its cluster, and `ferry push` \
ships each environment as a signed OCI artifact that Flux can read. In the cluster, `ferry apply` \
verifies an artifact, opens its Secrets in memory, server-side-applies it in stages, prunes what \
left it and waits for health. `ferry diff` shows what would change, never a secret value.\n\n\
Typical flow: ferry build && ferry push --key cosign.key; then, in the cluster, \
ferry apply oci://REGISTRY/REPO:latest --key cosign.pub.\n\nExit codes: 0 success, 1 differences (diff), \
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
    #[arg(
        short = 'C',
        long = "repo",
        global = true,
        default_value = ".",
        value_name = "DIR"
    )]
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
    /// Package environments as signed OCI artifacts (Flux's format) and push them.
    Push(PushArgs),
    /// Verify an artifact's signature and digests, then unpack it into a new directory.
    Pull(PullArgs),
    /// Verify an artifact's signature and digests without unpacking it.
    Verify(VerifyArgs),
    /// Write a new age identity (mode 0600) and print its recipient; `--signing` makes a cosign key pair.
    Keygen(KeygenArgs),
    /// Show what would change between builds, revisions, pushed artifacts or the live cluster; secret values are never shown.
    Diff(DiffArgs),
    /// Make a cluster match a build: server-side apply in stages, prune by ApplySet, wait healthy.
    Apply(ApplyArgs),
    /// Run the in-cluster agent: reconcile every Sync (ferry.dev/v1alpha1) continuously.
    Agent(super::agent_args::AgentArgs),
    /// Show the Syncs' status, like `flux get kustomizations`; with SYNC, one in detail.
    Status(super::agent_args::StatusArgs),
    /// Stop the agent reconciling a Sync (it says so in status) until `ferry resume`.
    Suspend(super::agent_args::ControlArgs),
    /// Let the agent reconcile a suspended Sync again.
    Resume(super::agent_args::ControlArgs),
    /// Ask the agent to reconcile a Sync now; returns once it has.
    Reconcile(super::agent_args::ControlArgs),
    /// Install (or upgrade) the agent and a first Sync in a cluster, then wait until it is
    /// Ready. Idempotent; `--dry-run` prints what it would apply.
    Bootstrap(super::agent_args::BootstrapArgs),
    /// Encrypt, decrypt, edit and re-key SOPS files (age recipients; sops 3.x compatible).
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Check notification providers: `ferry notify test PROVIDER` sends one test event.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Image automation: scan registries for tags that meet ferry.yaml's `images:` policies and rewrite the marked references in a commit.
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Multi-tenancy: onboard a tenant, list the tenants.
    #[command(subcommand)]
    Tenant(super::tenant_args::TenantCommand),
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

/// `--renderer`: how helm and kustomize apps render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RendererArg {
    /// Native, falling back to the binary for fields native does not support yet (the default).
    Auto,
    /// ferry's own helm and kustomize, byte-identical to helm v4.1.4 and kubectl kustomize
    /// v5.7.1; no binary needed.
    Native,
    /// `helm template`, `kubectl kustomize` or `kustomize build`.
    Binary,
}

impl From<RendererArg> for crate::config::RendererChoice {
    fn from(r: RendererArg) -> Self {
        match r {
            RendererArg::Auto => crate::config::RendererChoice::Auto,
            RendererArg::Native => crate::config::RendererChoice::Native,
            RendererArg::Binary => crate::config::RendererChoice::Binary,
        }
    }
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
    /// Render every helm and kustomize app this way, overriding `renderer` in ferry.yaml.
    #[arg(long, value_enum, value_name = "HOW")]
    pub renderer: Option<RendererArg>,
    /// Write nothing: render every helm and kustomize app natively and with the binary and
    /// report the first differing line of each (exit status 1 on any difference).
    #[arg(long, conflicts_with = "renderer")]
    pub compare: bool,
    /// Build an existing Flux repository, no ferry.yaml needed: ROOT holds the cluster roots
    /// (default `clusters`, Flux's bootstrap layout) or is one; ENV then names clusters. Each
    /// cluster's Kustomizations are followed from its root and written to out/<cluster>/.
    #[arg(long, value_name = "ROOT", num_args = 0..=1, default_missing_value = "clusters", conflicts_with = "compare")]
    pub flux: Option<String>,
    /// With --flux: a variable that is not set is an error in postBuild substitution, as with
    /// kustomize-controller's `StrictPostBuildSubstitutions` feature gate.
    #[arg(long, requires = "flux")]
    pub strict_substitution: bool,
    /// With --flux: a Git URL that is this repository, so GitRepositories with that URL map
    /// to the commit being built (repeatable).
    #[arg(long = "source-url", value_name = "URL", requires = "flux")]
    pub source_urls: Vec<String>,
    #[command(flatten)]
    pub tools: ToolArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing ferry.yaml.
    #[arg(long)]
    pub force: bool,
    /// Write the ferry.yaml equivalent to an existing Flux repository (ROOT as for
    /// `ferry build --flux`): clusters become environments, Kustomizations and HelmReleases
    /// apps; what has no equivalent is listed on stderr and at the top of the file.
    #[arg(long, value_name = "ROOT")]
    pub from_flux: Option<String>,
    /// With --from-flux: a Git URL that is this repository (as for `ferry build --flux`).
    #[arg(long = "source-url", value_name = "URL", requires = "from_flux")]
    pub source_urls: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum RenderCommand {
    /// `helm template` with the same flags.
    Helm(Box<RenderHelmArgs>),
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
    /// `key=value`, typed as helm types it (integers, booleans, null; `{a,b}` lists,
    /// `a[0].b` paths, `\,` and `\.` escapes).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// `key=value` with every value a string.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// `key=path`: the value is the file's content.
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// `key=json`, or a JSON object merged over the values.
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// `key=value` with the whole rest of the argument as one string.
    #[arg(long = "set-literal", value_name = "KEY=VALUE")]
    pub set_literal: Vec<String>,
    /// `.Capabilities.KubeVersion` [default: helm's, v1.35.0 for helm 4.1.4].
    #[arg(long)]
    pub kube_version: Option<String>,
    #[arg(short = 'a', long = "api-versions", value_name = "GROUP/VERSION")]
    pub api_versions: Vec<String>,
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// Leave out the chart's test hooks (`helm.sh/hook: test`).
    #[arg(long = "skip-tests")]
    pub skip_tests: bool,
    /// Leave out every hook.
    #[arg(long = "no-hooks")]
    pub no_hooks: bool,
    /// Render as an upgrade (`.Release.IsUpgrade` true, `IsInstall` false).
    #[arg(long = "is-upgrade")]
    pub is_upgrade: bool,
    /// Only the documents of these templates (`templates/x.yaml`, globs allowed).
    #[arg(short = 's', long = "show-only", value_name = "TEMPLATE")]
    pub show_only: Vec<String>,
    /// A Go template (with Sprig) that names the release, instead of NAME.
    #[arg(long = "name-template", value_name = "TEMPLATE")]
    pub name_template: Option<String>,
    /// Write each template's documents to DIR/<chart>/templates/... instead of stdout.
    #[arg(long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<String>,
    /// With --output-dir: put the files under DIR/<release>/.
    #[arg(long = "release-name")]
    pub release_name_dir: bool,
    /// Skip values.schema.json validation.
    #[arg(long = "skip-schema-validation")]
    pub skip_schema_validation: bool,
    #[command(flatten)]
    pub helm_compat: HelmCompatArgs,
    /// How to render: `native` is ferry's own `helm template` (helm v4.1.4's output, no binary
    /// needed), `binary` runs helm, `auto` renders natively and runs helm only for a chart
    /// that needs a feature native lacks [default: auto].
    #[arg(long, value_enum, value_name = "HOW")]
    pub renderer: Option<RendererArg>,
    /// Render with helm and natively, print whether they agree or the first differing line,
    /// and exit with status 1 on a difference.
    #[arg(long, conflicts_with = "renderer")]
    pub compare: bool,
    #[command(flatten)]
    pub tools: ToolArgs,
}

/// `helm template` flags that change nothing in its output (accepted, as helm accepts them)
/// or that need a cluster or the network (refused, naming the flag and why).
#[derive(Debug, Args, Default)]
pub struct HelmCompatArgs {
    /// Accepted for helm compatibility; no effect on a render.
    #[arg(short = 'g', long = "generate-name", hide = true)]
    pub generate_name: bool,
    #[arg(long = "create-namespace", hide = true)]
    pub create_namespace: bool,
    #[arg(long, hide = true)]
    pub description: Option<String>,
    #[arg(short = 'l', long, hide = true)]
    pub labels: Vec<String>,
    #[arg(long = "dry-run", hide = true, num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: Option<String>,
    #[arg(long = "hide-notes", hide = true)]
    pub hide_notes: bool,
    #[arg(long = "render-subchart-notes", hide = true)]
    pub render_subchart_notes: bool,
    #[arg(long, hide = true)]
    pub replace: bool,
    #[arg(long = "skip-crds", hide = true)]
    pub skip_crds: bool,
    #[arg(long, hide = true)]
    pub timeout: Option<String>,
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "watcher")]
    pub wait: Option<String>,
    #[arg(long = "wait-for-jobs", hide = true)]
    pub wait_for_jobs: bool,
    #[arg(long = "rollback-on-failure", hide = true)]
    pub rollback_on_failure: bool,
    #[arg(long = "force-conflicts", hide = true)]
    pub force_conflicts: bool,
    #[arg(long = "force-replace", hide = true)]
    pub force_replace: bool,
    #[arg(long = "take-ownership", hide = true)]
    pub take_ownership: bool,
    #[arg(long = "server-side", hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub server_side: Option<String>,
    #[arg(long = "disable-openapi-validation", hide = true)]
    pub disable_openapi_validation: bool,
    /// Refused: these need a cluster, the network or a plugin (named in the error).
    #[arg(long, hide = true)]
    pub validate: bool,
    #[arg(long = "kube-context", hide = true)]
    pub kube_context: Option<String>,
    #[arg(long, hide = true)]
    pub kubeconfig: Option<String>,
    #[arg(long = "kube-apiserver", hide = true)]
    pub kube_apiserver: Option<String>,
    #[arg(long = "kube-token", hide = true)]
    pub kube_token: Option<String>,
    #[arg(long = "kube-as-user", hide = true)]
    pub kube_as_user: Option<String>,
    #[arg(long = "enable-dns", hide = true)]
    pub enable_dns: bool,
    #[arg(long, hide = true)]
    pub version: Option<String>,
    #[arg(long, hide = true)]
    pub devel: bool,
    #[arg(long = "dependency-update", hide = true)]
    pub dependency_update: bool,
    #[arg(long, hide = true)]
    pub username: Option<String>,
    #[arg(long, hide = true)]
    pub password: Option<String>,
    #[arg(long = "plain-http", hide = true)]
    pub plain_http: bool,
    #[arg(long, hide = true)]
    pub verify: bool,
    #[arg(long = "post-renderer", hide = true)]
    pub post_renderer: Option<String>,
}

impl HelmCompatArgs {
    /// The first flag given that `ferry render helm` refuses, with why.
    pub fn refused(&self) -> Option<(&'static str, &'static str)> {
        const CLUSTER: &str = "needs a Kubernetes cluster, and a render never reaches one; \
            `ferry apply` validates against the cluster";
        const NETWORK: &str = "fetches a chart over the network; declare it in ferry.yaml \
            (`chart: oci://...` or `repo:`) and run `ferry vendor`";
        let dry_run_server = self.dry_run.as_deref() == Some("server");
        [
            (self.validate, "--validate", CLUSTER),
            (dry_run_server, "--dry-run=server", CLUSTER),
            (self.kube_context.is_some(), "--kube-context", CLUSTER),
            (self.kubeconfig.is_some(), "--kubeconfig", CLUSTER),
            (self.kube_apiserver.is_some(), "--kube-apiserver", CLUSTER),
            (self.kube_token.is_some(), "--kube-token", CLUSTER),
            (self.kube_as_user.is_some(), "--kube-as-user", CLUSTER),
            (
                self.enable_dns,
                "--enable-dns",
                "makes templates look names up in DNS, which needs the network; a render is offline",
            ),
            (self.version.is_some(), "--version", NETWORK),
            (self.devel, "--devel", NETWORK),
            (self.dependency_update, "--dependency-update", NETWORK),
            (self.username.is_some(), "--username", NETWORK),
            (self.password.is_some(), "--password", NETWORK),
            (self.plain_http, "--plain-http", NETWORK),
            (
                self.verify,
                "--verify",
                "verifies a chart's provenance file, which ferry does not do; `ferry.lock` pins vendored charts by digest",
            ),
            (
                self.post_renderer.is_some(),
                "--post-renderer",
                "runs a helm plugin; render with ferry and post-process its output instead",
            ),
        ]
        .into_iter()
        .find(|(on, _, _)| *on)
        .map(|(_, flag, why)| (flag, why))
    }
}

#[derive(Debug, Args)]
pub struct RenderKustomizeArgs {
    /// The kustomization directory (several with --compare).
    #[arg(required = true, num_args = 1.., value_name = "DIR")]
    pub dirs: Vec<String>,
    /// How to render [default: binary].
    #[arg(long, value_enum, value_name = "HOW")]
    pub renderer: Option<RendererArg>,
    /// Render natively and with the binary, print the first differing line of each directory,
    /// and exit with status 1 on any difference.
    #[arg(long, conflicts_with = "renderer")]
    pub compare: bool,
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
    /// Basic auth for a Helm repository, sent to that host only: HOST[:PORT]=USER:PASSWORD
    /// (repeat, or comma-separate in FERRY_REPO_CREDS). OCI registries use Docker's config.
    #[arg(
        long = "repo-creds",
        env = "FERRY_REPO_CREDS",
        hide_env_values = true,
        value_delimiter = ',',
        value_name = "HOST=USER:PASSWORD"
    )]
    pub repo_creds: Vec<String>,
    /// Vendor the charts of an existing Flux repository's HelmReleases (HelmRepository,
    /// `type: oci`, OCIRepository, HelmChart), no ferry.yaml needed: ROOT as for
    /// `ferry build --flux` (default `clusters`). Version ranges are resolved now, once, and
    /// pinned in ferry.lock. With a ferry.yaml beside, its charts stay pinned too.
    #[arg(long, value_name = "ROOT", num_args = 0..=1, default_missing_value = "clusters")]
    pub flux: Option<String>,
    /// With --flux: a Git URL that is this repository (as for `ferry build --flux`).
    #[arg(long = "source-url", value_name = "URL", requires = "flux")]
    pub source_urls: Vec<String>,
    /// With --flux: the cosign public key (PEM file) of the Secret NAMESPACE/NAME that an
    /// OCIRepository's (or OCI HelmChart's) `spec.verify.secretRef` names, when the repository does not hold that
    /// Secret (a committed one, plain or SOPS-encrypted, is used as it is). The pinned digest
    /// must be signed by it (cosign v2 `.sig` tag or v3 Sigstore bundle); ferry.lock records
    /// the key's fingerprint, so builds need no key. Repeat for more keys or Secrets.
    #[arg(
        long = "verify-key",
        value_name = "NAMESPACE/NAME=PATH",
        requires = "flux"
    )]
    pub verify_keys: Vec<String>,
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

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// USER:PASSWORD for the registry [default: Docker's config.json, credential helpers].
    #[arg(
        long,
        env = "FERRY_REGISTRY_CREDS",
        hide_env_values = true,
        value_name = "USER:PASSWORD"
    )]
    pub creds: Option<String>,
    /// Plain HTTP to a registry that is not on loopback (loopback always uses plain HTTP).
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Environments to push [default: every environment with an `artifact:`].
    #[arg(value_name = "ENV")]
    pub environments: Vec<String>,
    /// Push to this repository instead of the environment's `artifact:` (one environment
    /// only); a tag in it (`oci://HOST/REPO:v1`, as `flux push artifact` takes it) is the tag
    /// pushed.
    #[arg(long, value_name = "oci://HOST/REPO[:TAG]")]
    pub to: Option<String>,
    /// Push each environment to oci://HOST/PATH/<env>, with no ferry.yaml needed (as for the
    /// clusters of a `ferry build --flux`); with no ENV, every out/<env>/ that holds an
    /// index.json.
    #[arg(long, value_name = "oci://HOST/PATH", conflicts_with = "to")]
    pub to_prefix: Option<String>,
    /// Tags to point at the artifact [default: the tag in the repository reference, else the
    /// short commit and `latest`].
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Sign with this cosign private key (password from COSIGN_PASSWORD or a prompt)
    /// [default: ferry.yaml's `signing.key`, else $FERRY_SIGNING_KEY; none: unsigned].
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Signature format(s) to write with --key: `v2` (cosign v2's `sha256-<hex>.sig` tag, read
    /// by skopeo and Flux before 2.8), `bundle` (cosign v3's Sigstore bundle as an OCI 1.1
    /// referrer, read by Flux 2.8+), or `both` so every verifier finds one.
    #[arg(long, value_enum, default_value_t = SigFormatArg::Both, value_name = "FORMAT")]
    pub signature_format: SigFormatArg,
    /// The `org.opencontainers.image.source` annotation [default: the Git remote `origin`].
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    /// Where `ferry build` wrote out/<env>/, relative to the repository root.
    #[arg(long, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `--signature-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SigFormatArg {
    V2,
    Bundle,
    Both,
}

impl From<SigFormatArg> for crate::artifact::SignatureFormat {
    fn from(a: SigFormatArg) -> Self {
        match a {
            SigFormatArg::V2 => crate::artifact::SignatureFormat::V2,
            SigFormatArg::Bundle => crate::artifact::SignatureFormat::Bundle,
            SigFormatArg::Both => crate::artifact::SignatureFormat::Both,
        }
    }
}

#[derive(Debug, Args)]
pub struct VerifyKeyArgs {
    /// cosign public key(s) (PEM); a signature by any of them is accepted [default: ferry.yaml's
    /// `signing.publicKey` for the artifact's environment, else $FERRY_VERIFY_KEY, else $FERRY_COSIGN_KEY].
    #[arg(long = "key", value_name = "FILE", value_delimiter = ',')]
    pub keys: Vec<PathBuf>,
    /// Accept the artifact without checking its signature (digests are still checked).
    #[arg(long, conflicts_with = "keys")]
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The artifact: oci://HOST/REPO:TAG or oci://HOST/REPO@sha256:DIGEST.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// A new (or empty) directory to unpack into.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub verify: VerifyKeyArgs,
    /// Refuse artifacts with more entries than this.
    #[arg(long, default_value_t = 200_000, value_name = "N")]
    pub max_entries: usize,
    /// Refuse artifacts that unpack to more bytes than this.
    #[arg(long, default_value_t = 2 << 30, value_name = "BYTES")]
    pub max_size: u64,
    /// Refuse artifacts holding a file larger than this.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub max_file_size: u64,
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The artifact: oci://HOST/REPO:TAG or oci://HOST/REPO@sha256:DIGEST.
    #[arg(value_name = "REF")]
    pub reference: String,
    #[command(flatten)]
    pub verify: VerifyKeyArgs,
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Encrypt a YAML or JSON file (to stdout, or in place with -i).
    Encrypt(SecretsEncryptArgs),
    /// Decrypt a file to stdout (never to a file).
    Decrypt(SecretsFileArgs),
    /// Open a decrypted copy in $SOPS_EDITOR/$EDITOR (a private temp file) and encrypt the result.
    Edit(SecretsFileArgs),
    /// Encrypt the file with a new data key for the same recipients.
    Rotate(SecretsRotateArgs),
    /// Wrap the data key to the recipients .sops.yaml names for this file now.
    Updatekeys(SecretsFileArgs),
}

#[derive(Debug, Args)]
pub struct IdentityArgs {
    /// An age identity file [default: $SOPS_AGE_KEY, $SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt].
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SopsFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct SecretsFileArgs {
    /// The SOPS file.
    pub file: PathBuf,
    /// The file's format [default: by extension: .json is JSON, anything else YAML].
    #[arg(long, value_enum)]
    pub format: Option<SopsFormat>,
    #[command(flatten)]
    pub identity: IdentityArgs,
}

#[derive(Debug, Args)]
pub struct SecretsRotateArgs {
    #[command(flatten)]
    pub file: SecretsFileArgs,
    /// Rewrite the file instead of printing the result.
    #[arg(short, long)]
    pub in_place: bool,
}

#[derive(Debug, Args)]
pub struct SecretsEncryptArgs {
    /// The plaintext file.
    pub file: PathBuf,
    /// Age recipients (repeat or comma-separate) [default: the .sops.yaml creation rule].
    #[arg(long = "age", value_name = "RECIPIENT", value_delimiter = ',')]
    pub age: Vec<String>,
    /// Rewrite the file instead of printing the result.
    #[arg(short, long)]
    pub in_place: bool,
    /// The file's format [default: by extension: .json is JSON, anything else YAML].
    #[arg(long, value_enum)]
    pub format: Option<SopsFormat>,
    /// Encrypt only values under keys matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub encrypted_regex: Option<String>,
    /// Leave values under keys matching this regex readable.
    #[arg(long, value_name = "REGEX")]
    pub unencrypted_regex: Option<String>,
    /// Encrypt only values under keys ending with this suffix.
    #[arg(long, value_name = "SUFFIX")]
    pub encrypted_suffix: Option<String>,
    /// Leave values under keys ending with this suffix readable [sops default: _unencrypted].
    #[arg(long, value_name = "SUFFIX")]
    pub unencrypted_suffix: Option<String>,
    /// Encrypt only values preceded by a comment matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub encrypted_comment_regex: Option<String>,
    /// Leave values preceded by a comment matching this regex readable.
    #[arg(long, value_name = "REGEX")]
    pub unencrypted_comment_regex: Option<String>,
    /// Compute the MAC over encrypted values only.
    #[arg(long)]
    pub mac_only_encrypted: bool,
    /// Write the file even when the selectors encrypt no value (by default that is refused:
    /// a `sops:` block over plaintext looks encrypted and is not).
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Make a cosign-compatible ECDSA P-256 signing key pair.
    #[arg(long)]
    pub signing: bool,
    /// Where to write: the identity [default: ~/.config/sops/age/keys.txt, never overwritten], or
    /// with --signing the path prefix of the two files [default: cosign → cosign.key, cosign.pub].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DiffFormat {
    /// For people; coloured on a terminal unless NO_COLOR is set.
    #[default]
    Text,
    /// For machines; the schema is in docs/diff-json.md.
    Json,
    /// For a pull-request comment.
    Markdown,
}

/// What `ferry diff --against` compares the build with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffAgainst {
    /// Each environment's last pushed, signed artifact (its `artifact:` at --tag).
    Pushed,
    /// The live cluster: each object sent with dryRun=All and compared with what is live,
    /// members of the environment's ApplySet that left the build shown as removed.
    Live,
}

/// Where `ferry diff --against live` finds the cluster and the environment's ApplySet; the same
/// flags and defaults as `ferry apply`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Live cluster (--against live)")]
pub struct LiveClusterArgs {
    /// The kubeconfig file [default: $KUBECONFIG, else ~/.kube/config, else in-cluster].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context [default: its current context]. Named as helm names it, since
    /// --context is the lines of context around each change.
    #[arg(long, value_name = "NAME")]
    pub kube_context: Option<String>,
    /// The field manager the dry-run apply uses, as `ferry apply` would.
    #[arg(long, default_value = "ferry", value_name = "NAME")]
    pub field_manager: String,
    /// The namespace of the environment's ApplySet parent.
    #[arg(long, default_value = "ferry-system", value_name = "NS")]
    pub inventory_namespace: String,
    /// The ApplySet parent's name [default: ferry-<environment>].
    #[arg(long, value_name = "NAME")]
    pub inventory_name: Option<String>,
    /// The ApplySet parent's kind.
    #[arg(long, value_enum, default_value_t)]
    pub inventory_kind: InventoryKind,
}

#[derive(Debug, Args)]
#[command(
    group(clap::ArgGroup::new("base").args(["from", "against"])),
    after_help = "Exit status: 0 no changes, 1 changes, 2 error.\n\nExamples:\n  ferry diff old/out/prod out/prod\n  ferry diff --from main --to HEAD\n  ferry diff --from v1.2.0 prod --output markdown\n  ferry diff --from main --flux clusters staging\n  ferry diff --against pushed prod\n  ferry diff --against live prod --kube-context prod-cluster\n  ferry diff --against live out/prod\n  ferry diff oci://registry.example.com/platform/prod:latest out/prod"
)]
pub struct DiffArgs {
    /// Without --from or --against: the two sides to compare (OLD NEW, each an out/<env> directory
    /// or an oci:// artifact, pulled and verified). Otherwise: the environments [default: all];
    /// with --against live, the environments or out/<env> directories to compare with the cluster.
    #[arg(value_name = "OLD NEW | ENV")]
    pub args: Vec<String>,
    /// Build this revision (branch, tag or commit) as the old side.
    #[arg(long, value_name = "REV")]
    pub from: Option<String>,
    /// Compare the build with what was pushed, as the old side (no cluster credentials needed).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub against: Option<DiffAgainst>,
    /// With --against pushed: the tag of each environment's artifact.
    #[arg(
        long,
        default_value = "latest",
        value_name = "TAG",
        requires = "against"
    )]
    pub tag: String,
    /// Build this revision as the new side [default: HEAD].
    #[arg(long, value_name = "REV", requires = "base")]
    pub to: Option<String>,
    /// Build the files on disk, uncommitted changes included, as the new side.
    #[arg(long, requires = "base", conflicts_with = "to")]
    pub worktree: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: DiffFormat,
    /// With --output markdown: also write the full diff here; the comment points to it when the diff is too long for one.
    #[arg(long, value_name = "FILE")]
    pub markdown_overflow: Option<PathBuf>,
    /// A file holding the key for fingerprints of changed secret values [default: $FERRY_DIFF_KEY; none: no fingerprints].
    #[arg(long, value_name = "FILE")]
    pub fingerprint_key_file: Option<PathBuf>,
    /// The age identity that opens sealed Secrets to compare their values [default: $SOPS_AGE_KEY, $SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt; none: ciphertext only, "cannot tell" where it differs].
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Another kind whose values are secret (`Kind` or `Kind.group`), besides Secret and SOPS-encrypted objects.
    #[arg(long = "secret-kind", value_name = "KIND")]
    pub secret_kinds: Vec<String>,
    /// Only this tenant's objects (repeat for several); `platform` selects the apps no tenant lists. Ownership is what index.json records.
    #[arg(long = "tenant", value_name = "NAME")]
    pub tenants: Vec<String>,
    /// With --against live: a tenant's age identity file, for its Secrets the --identity does not open (repeat per tenant).
    #[arg(long = "tenant-identity", value_name = "TENANT=FILE", value_parser = tenant_identity)]
    pub tenant_identities: Vec<(String, PathBuf)>,
    /// Lines of context around each change.
    #[arg(short = 'U', long, default_value_t = 3, value_name = "N")]
    pub context: usize,
    /// Render in N parallel jobs when building revisions [default: one per core].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Render revisions again, ignoring and not filling the cache.
    #[arg(long)]
    pub no_cache: bool,
    /// With --from: both revisions are Flux repositories (ROOT as for `ferry build --flux`,
    /// ENV names clusters). Only the Kustomizations and HelmReleases whose inputs changed are
    /// rendered and compared; the others are counted as skipped.
    #[arg(long, value_name = "ROOT", num_args = 0..=1, default_missing_value = "clusters", requires = "from", conflicts_with = "against")]
    pub flux: Option<String>,
    /// With --flux: a variable that is not set is an error in postBuild substitution.
    #[arg(long, requires = "flux")]
    pub strict_substitution: bool,
    /// With --flux: a Git URL that is this repository (repeatable).
    #[arg(long = "source-url", value_name = "URL", requires = "flux")]
    pub source_urls: Vec<String>,
    #[command(flatten)]
    pub tools: ToolArgs,
    /// How pulled artifacts are verified.
    #[command(flatten)]
    pub verify: VerifyKeyArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub live: LiveClusterArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum InventoryKind {
    #[default]
    Secret,
    Configmap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PropagationArg {
    #[default]
    Background,
    Foreground,
    Orphan,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// An `out/<env>` directory written by `ferry build`, or `oci://REGISTRY/REPO:TAG`.
    #[arg(value_name = "DIR|oci://REF")]
    pub source: String,
    /// The kubeconfig file [default: $KUBECONFIG, else ~/.kube/config, else in-cluster].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context [default: its current context].
    // `--kube-context` too, the name `ferry diff --against live` has to use.
    #[arg(long, alias = "kube-context", value_name = "NAME")]
    pub context: Option<String>,
    /// The field manager that owns what ferry applies.
    #[arg(long, default_value = "ferry", value_name = "NAME")]
    pub field_manager: String,
    /// Take over fields owned by other field managers instead of reporting the conflict.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Send everything with dryRun=All and show what would be pruned; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Objects applied at once within a stage.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// The namespace of the ApplySet parent (created if missing).
    #[arg(long, default_value = "ferry-system", value_name = "NS")]
    pub inventory_namespace: String,
    /// The ApplySet parent's name [default: ferry-<environment>].
    #[arg(long, value_name = "NAME")]
    pub inventory_name: Option<String>,
    /// The ApplySet parent's kind.
    #[arg(long, value_enum, default_value_t)]
    pub inventory_kind: InventoryKind,
    /// Delete members of the set that left the artifact (after everything applied).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub prune: bool,
    /// Prune even beyond the budget (everything, or more than half of the set).
    #[arg(long)]
    pub force_prune: bool,
    /// The prune budget: a count (5) or a percentage of the set (20%).
    #[arg(long, value_name = "N|P%")]
    pub max_prune: Option<crate::apply::MaxPrune>,
    /// Namespaces, PersistentVolumeClaims and CRDs may be pruned too.
    #[arg(long)]
    pub prune_protected_kinds: bool,
    /// How dependents of pruned objects are deleted.
    #[arg(long, value_enum, default_value_t)]
    pub prune_propagation: PropagationArg,
    /// Wait until every applied object is healthy (kstatus rules).
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits, and CRDs get to become Established: 90s, 5m, 1h.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// How long to wait while another apply into the same inventory holds its lock (a Lease
    /// named as the ApplySet parent, beside it) before giving up; 0s gives up at once.
    #[arg(long, default_value = "10m", value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// The cosign public key that verifies an `oci://` artifact before anything is applied
    /// [default: ferry.yaml's `signing.publicKey` for the artifact's environment, else $FERRY_VERIFY_KEY, else $FERRY_COSIGN_KEY].
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Apply an `oci://` artifact without checking its signature (digests are still checked).
    #[arg(long, conflicts_with = "key")]
    pub insecure_skip_verify: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// The age identity that opens sealed Secrets in memory [default: $SOPS_AGE_KEY, $SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt].
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// A tenant's age identity file, for its Secrets the --identity does not open (repeat per tenant); without it, the Secret the tenant's `decryption.secretRef` names, read as the tenant.
    #[arg(long = "tenant-identity", value_name = "TENANT=FILE", value_parser = tenant_identity)]
    pub tenant_identities: Vec<(String, PathBuf)>,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Apply once and exit (the default).
    #[arg(long, conflicts_with = "interval")]
    pub once: bool,
    /// Keep running: re-apply every DURATION (jittered, at least 10s), correcting drift and
    /// picking up new digests; after a failure, back off from 10s up to DURATION.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub interval: Option<std::time::Duration>,
    /// With --interval: serve /healthz and /readyz on this address (e.g. 0.0.0.0:8080).
    #[arg(long, value_name = "ADDR", requires = "interval")]
    pub health_addr: Option<String>,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

/// Where notifications are declared, shared by `ferry apply` and `ferry notify test`.
#[derive(Debug, Args, Clone, Default)]
pub struct NotifyArgs {
    /// Send notifications declared in FILE: its `notifications:` mapping (so ferry.yaml itself
    /// can be given) or, without one, the whole file (providers, alerts). Secrets are read from
    /// the files and environment variables it names.
    #[arg(long, value_name = "FILE", env = "FERRY_NOTIFY_CONFIG")]
    pub notify_config: Option<PathBuf>,
    /// A link every notification carries (a CI run, a dashboard), overriding the file's `link:`.
    #[arg(long, value_name = "URL", env = "FERRY_NOTIFY_LINK")]
    pub notify_link: Option<String>,
    /// The repository URL commit statuses use when the artifact names none
    /// (e.g. https://github.com/acme/platform); a provider's `repository:` wins over it.
    #[arg(long, value_name = "URL", env = "FERRY_NOTIFY_SOURCE")]
    pub notify_source: Option<String>,
    /// How long a one-shot apply waits for notifications to be delivered before it exits
    /// (the apply itself never waits for them).
    #[arg(long, default_value = "15s", value_name = "DURATION", value_parser = parse_duration)]
    pub notify_wait: std::time::Duration,
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a test event to one provider of --notify-config, once, and say what it answered.
    Test(NotifyTestArgs),
}

#[derive(Debug, Args)]
pub struct NotifyTestArgs {
    /// The provider's `name:` in the notification declaration.
    pub provider: String,
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// The environment the test event names.
    #[arg(long, default_value = "test")]
    pub environment: String,
    /// The revision (`<branch>@sha1:<commit>`) a commit-status provider marks.
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
}

/// The shortest `--interval`: what Flux's CRDs accept as the shortest reconcile interval is
/// of this order, and anything shorter turns the loop into a stream of applies.
pub const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// A `--interval`: a duration of at least [`MIN_INTERVAL`].
pub fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_duration(s)?;
    if d < MIN_INTERVAL {
        return Err(format!(
            "`{}` is shorter than the minimum interval, {}s (use --once to apply a single time)",
            s.trim(),
            MIN_INTERVAL.as_secs()
        ));
    }
    Ok(d)
}

/// `90`, `90s`, `5m`, `1h`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (like 90s, 5m, 1h)"))?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use s, m or h)")),
    };
    match secs {
        Some(secs) if secs <= 366 * 24 * 3600 => Ok(std::time::Duration::from_secs(secs)),
        _ => Err(format!("`{s}` is longer than a year")),
    }
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// List each policy's tags (OCI distribution API, every page), pick the latest, resolve its digest.
    #[command(
        long_about = "List the tags of every image repository named in ferry.yaml's `images:` \
through the OCI distribution API (GET /v2/NAME/tags/list, following Link headers page by page), pick \
the latest tag under each policy (and each environment override) and resolve its digest. The table \
shows the current value of each marker (`# {\"$imagepolicy\": \"NS:NAME\"}`) and whether an update \
would change it. Tag lists are cached for --cache-ttl seconds. Needs the network: --offline refuses.\n\n\
Exit codes: 0 scanned, 2 a policy could not be decided (registry error, no matching tag) or bad input."
    )]
    Scan(ImagesScanArgs),
    /// Rewrite every marked image reference to its policy's latest tag, and commit.
    #[command(
        long_about = "Find every Flux setter marker in the pipeline's YAML files \
(`# {\"$imagepolicy\": \"NS:NAME\"}`, with `:tag`, `:name` or `:digest`; Helm values, kustomize \
`images:` entries, any manifest), scan the policies they name, and rewrite only the marked scalars, \
keeping every other byte. NS may name an environment, whose override of the policy then applies. \
A tag is never downgraded unless the policy sets `allowDowngrade`. Any registry error leaves every \
file untouched. Then the change is committed with gix: to the current branch (the working tree and \
index follow) or to a new --branch (the working tree is left as it is), and --push pushes that \
branch with git. A file to change that has uncommitted changes is refused.\n\n\
--message is a template with {count} (changes), {changes} (one `- FILE:LINE IMAGE OLD -> NEW` line \
each) and {policies} (names, comma-separated): plain placeholders, not Go templates.\n\n\
Exit codes: 0 updated or nothing to update, 2 error (nothing written)."
    )]
    Update(ImagesUpdateArgs),
}

#[derive(Debug, Args)]
pub struct ImagesScanOptions {
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Seconds a cached tag list stays fresh (0: always ask the registry).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub cache_ttl: u64,
    /// Tags per page asked of the registry (`n=`).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub page_size: usize,
    /// Repositories scanned at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct ImagesScanArgs {
    #[command(flatten)]
    pub scan: ImagesScanOptions,
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ImagesUpdateArgs {
    #[command(flatten)]
    pub scan: ImagesScanOptions,
    /// Show the changes as a diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Rewrite the files but do not commit.
    #[arg(long, conflicts_with_all = ["branch", "push"])]
    pub no_commit: bool,
    /// Commit to this new branch (from HEAD) instead of the current one; the working tree is left alone.
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
    /// Commit author [default: git's user.name and user.email].
    #[arg(long, value_name = "NAME <EMAIL>", env = "FERRY_GIT_AUTHOR")]
    pub author: Option<String>,
    /// Committer [default: the author].
    #[arg(long, value_name = "NAME <EMAIL>", env = "FERRY_GIT_COMMITTER")]
    pub committer: Option<String>,
    /// Commit message template: {count}, {changes}, {policies}.
    #[arg(
        long,
        short = 'm',
        value_name = "TEMPLATE",
        default_value = "ferry images: update {count} image reference(s)\n\n{changes}"
    )]
    pub message: String,
    /// After the commit, show what it changes in each environment's build: both commits are
    /// built and compared as `ferry diff --from PARENT --to COMMIT` does (with --no-commit: HEAD
    /// against the files written). The exit status stays 0.
    #[arg(long, conflicts_with = "dry_run")]
    pub diff: bool,
    /// Push the branch committed to with `git push REMOTE BRANCH`.
    #[arg(long)]
    pub push: bool,
    /// The remote --push pushes to.
    #[arg(long, default_value = "origin", value_name = "REMOTE")]
    pub remote: String,
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// `TENANT=FILE` of `ferry apply --tenant-identity`.
fn tenant_identity(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((t, f)) if !t.is_empty() && !f.is_empty() => Ok((t.to_string(), PathBuf::from(f))),
        _ => Err(format!(
            "`{s}` is not TENANT=FILE (e.g. shop=keys/shop.agekey)"
        )),
    }
}
