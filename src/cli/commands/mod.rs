//! One module per command; each returns the process exit code.

mod agent;
mod apply;
mod bootstrap;
mod build;
mod build_flux;
mod cache;
mod control;
mod diff;
mod diff_flux;
mod diff_live;
mod diff_pushed;
mod images;
mod init;
mod inputs;
mod keygen;
mod keygen_signing;
mod notify;
mod oci_pull;
mod pull;
mod push;
mod render;
mod secrets;
mod signing;
mod status;
mod status_tenant;
mod tenant;
mod vendor;

use super::args::{Cli, Command};
use super::ExitCode;
use crate::config::{self, Pipeline};
use anyhow::Context;
use std::path::{Path, PathBuf};

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Build(a) => build::run(g, a),
        Command::Init(a) => init::run(g, a),
        Command::Render(a) => render::run(g, a),
        Command::Vendor(a) => vendor::run(g, a),
        Command::Cache(a) => cache::run(g, a),
        Command::Push(a) => push::run(g, a),
        Command::Pull(a) => pull::run_pull(g, a),
        Command::Verify(a) => pull::run_verify(g, a),
        Command::Keygen(a) if a.signing => keygen_signing::run(g, a),
        Command::Keygen(a) => keygen::run(g, a),
        Command::Diff(a) => diff::run(g, a),
        Command::Apply(a) => apply::run(g, a),
        Command::Agent(a) => agent::run(g, a),
        Command::Status(a) => status::run(g, a),
        Command::Bootstrap(a) => bootstrap::run(g, a),
        Command::Suspend(a) => control::run(g, control::Action::Suspend, a),
        Command::Resume(a) => control::run(g, control::Action::Resume, a),
        Command::Reconcile(a) => control::run(g, control::Action::Reconcile, a),
        Command::Secrets(a) => secrets::run(g, a),
        Command::Notify(c) => notify::run(g, c),
        Command::Images(a) => images::run(g, a),
        Command::Tenant(c) => tenant::run(g, c),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "ferry", &mut crate::cli::stdout::stdout());
            Ok(ExitCode::Success)
        }
    }
}

/// The pipeline's root: the directory given with `-C` (default: the current one), where
/// `ferry.yaml` is. It may be a subdirectory of the Git repository.
pub(crate) fn repo_root(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

/// Reads `ferry.yaml` from a tree (the commit being built, or the disk).
pub(crate) fn load_pipeline(
    tree: &dyn crate::source::Tree,
    root: &Path,
) -> anyhow::Result<Pipeline> {
    let file = root.join(config::FILE_NAME);
    let bytes = tree
        .read(config::FILE_NAME)
        .map_err(|e| config::ConfigError::Read {
            file: file.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string()),
        })?;
    let text =
        String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", file.display()))?;
    Ok(config::parse(&file, &text)?)
}

pub(crate) fn cache_dir(g: &super::args::GlobalArgs) -> Option<PathBuf> {
    g.cache_dir
        .clone()
        .or_else(crate::render::Cache::default_dir)
}
