//! `ferry keygen`: a new age identity, written 0600, its recipient printed.

use crate::cli::args::{GlobalArgs, KeygenArgs};
use crate::cli::ExitCode;
use crate::secrets::identity;

pub fn run(g: &GlobalArgs, a: KeygenArgs) -> anyhow::Result<ExitCode> {
    let path = match a.output {
        Some(p) => p,
        None => identity::Identities::default_file().ok_or_else(|| {
            anyhow::anyhow!("cannot find a home directory\nhint: pass --output FILE")
        })?,
    };
    let recipient = identity::write_new(&path).map_err(|e| {
        anyhow::anyhow!("{e}\nhint: ferry never overwrites an identity; choose another --output")
    })?;
    if !g.quiet {
        eprintln!("wrote a new age identity to {} (mode 0600)", path.display());
    }
    crate::outln!("{recipient}")?;
    Ok(ExitCode::Success)
}
