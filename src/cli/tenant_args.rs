//! Arguments of `ferry tenant create` and `ferry tenant list`.

use super::args::OutputFormat;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Onboard a tenant: write its Namespaces, ServiceAccount and RoleBindings (as
    /// `flux create tenant` does) under tenants/NAME/, a platform app that applies them, and
    /// its `tenants:` entry in ferry.yaml (comments and layout kept).
    Create(TenantCreateArgs),
    /// List the tenants of ferry.yaml with their namespaces, ServiceAccount and apps.
    List(TenantListArgs),
}

#[derive(Debug, Args)]
pub struct TenantCreateArgs {
    /// The tenant's name (lower-case letters, digits and `-`).
    pub name: String,
    /// A namespace of the tenant; repeat for several. The first holds its ServiceAccount and
    /// its ApplySet inventory.
    #[arg(long = "namespace", short = 'n', value_name = "NS", required = true)]
    pub namespaces: Vec<String>,
    /// The ClusterRole the ServiceAccount gets in each of the tenant's namespaces.
    #[arg(long, default_value = "admin", value_name = "NAME")]
    pub cluster_role: String,
    /// The ServiceAccount ferry applies the tenant's apps as.
    #[arg(long, default_value = crate::config::DEFAULT_SERVICE_ACCOUNT, value_name = "NAME")]
    pub service_account: String,
    /// An existing app of ferry.yaml that becomes the tenant's; repeat for several.
    #[arg(long = "app", value_name = "APP")]
    pub apps: Vec<String>,
    /// Where the manifests are written, relative to the pipeline root [default: tenants/NAME].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<String>,
    /// The agent's ServiceAccount (NAMESPACE/NAME, as `deploy/` installs it: ferry-system/ferry):
    /// grant it `impersonate` on exactly this tenant's ServiceAccount and groups.
    #[arg(long, value_name = "NS/NAME")]
    pub agent: Option<String>,
    /// An age recipient of the tenant (`age1...`); repeat for several. Its Secrets are sealed
    /// to them and to the environment's recipients.
    #[arg(long = "recipient", value_name = "AGE1...")]
    pub recipients: Vec<String>,
    /// Print the manifests and the new ferry.yaml instead of writing them.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct TenantListArgs {
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}
