//! `ferry init`.

use super::repo_root;
use crate::cli::args::{GlobalArgs, InitArgs};
use crate::cli::ExitCode;
use crate::config::{FILE_NAME, STARTER};

pub fn run(g: &GlobalArgs, a: InitArgs) -> anyhow::Result<ExitCode> {
    let path = repo_root(&g.repo).join(FILE_NAME);
    if path.exists() && !a.force {
        anyhow::bail!("{} exists already\nhint: pass --force to overwrite it", path.display());
    }
    std::fs::write(&path, STARTER).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    if !g.quiet {
        eprintln!("wrote {}: add your environments and apps, then run `ferry build`", path.display());
    }
    Ok(ExitCode::Success)
}
