//! `ferry cache prune`.

use super::cache_dir;
use crate::cli::args::{CacheCommand, GlobalArgs};
use crate::cli::ExitCode;
use crate::render::Cache;
use std::time::Duration;

pub fn run(g: &GlobalArgs, c: CacheCommand) -> anyhow::Result<ExitCode> {
    match c {
        CacheCommand::Prune(a) => {
            let cache = Cache::new(cache_dir(g));
            let older = (!a.all).then(|| Duration::from_secs(a.older_than_days * 86_400));
            let stats = cache.prune(older)?;
            if !g.quiet {
                crate::outln!(
                    "removed {} entries; {} entries ({} bytes) kept",
                    stats.removed,
                    stats.entries,
                    stats.bytes
                )?;
            }
            Ok(ExitCode::Success)
        }
    }
}
