//! `ferry build`: every (environment, app) pair rendered in parallel, post-processed, and written
//! to `out/<env>/` atomically. One failure never hides another, and a failed environment keeps
//! its previous output.

mod job;
mod output;
mod postprocess;

pub use job::{PairError, PairErrorKind, PairResult};
pub use output::{object_file_name, write_environment, Index, IndexApp, IndexObject, OutputError, INDEX_FILE};
pub use postprocess::{finish_environment, PostError};

use crate::config::{resolve, Pipeline};
use crate::render::{Cache, Tools};
use crate::source::Tree;
use crate::vendor::{ChartStore, Lock};
use serde::Serialize;
use std::path::PathBuf;

/// What to build and how.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Environments to build; empty means all.
    pub environments: Vec<String>,
    /// Worker threads; `None` uses one per core.
    pub jobs: Option<usize>,
    /// Where `<env>/` directories are written.
    pub out_dir: PathBuf,
}

/// The inputs a build reads.
pub struct BuildContext<'a> {
    pub pipeline: &'a Pipeline,
    pub tree: &'a dyn Tree,
    pub tools: &'a Tools,
    pub cache: &'a Cache,
    pub lock: &'a Lock,
    pub charts: &'a ChartStore,
}

/// Told about each finished pair, for a progress bar.
pub trait Progress: Sync {
    fn start(&self, _total: usize) {}
    fn pair_done(&self, _env: &str, _app: &str) {}
    fn finish(&self) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("unknown environment `{name}`\nhint: environments in ferry.yaml: {known}")]
    UnknownEnvironment { name: String, known: String },
    #[error("cannot start {jobs} worker threads: {message}")]
    Pool { jobs: usize, message: String },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvReport {
    pub name: String,
    pub apps: usize,
    pub objects: usize,
    /// Pairs served from the cache.
    pub cached: usize,
    /// Pairs rendered in this run.
    pub rendered: usize,
    pub out: PathBuf,
    /// False when an error kept this environment from being written.
    pub written: bool,
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildReport {
    pub revision: crate::source::Revision,
    pub environments: Vec<EnvReport>,
    pub corrupt_cache_entries: usize,
}

impl BuildReport {
    pub fn ok(&self) -> bool {
        self.environments.iter().all(|e| e.written)
    }
}

/// Builds the selected environments. Errors of single pairs are reported per environment in
/// the report, not returned: only misuse (an unknown environment) fails the call itself.
pub fn build(ctx: &BuildContext<'_>, opts: &BuildOptions, progress: &dyn Progress) -> Result<BuildReport, BuildError> {
    let envs: Vec<String> = if opts.environments.is_empty() {
        ctx.pipeline.environments.keys().cloned().collect()
    } else {
        for e in &opts.environments {
            if !ctx.pipeline.environments.contains_key(e) {
                return Err(BuildError::UnknownEnvironment {
                    name: e.clone(),
                    known: ctx.pipeline.environments.keys().cloned().collect::<Vec<_>>().join(", "),
                });
            }
        }
        let mut e = opts.environments.clone();
        e.sort();
        e.dedup();
        e
    };
    let pairs = resolve(ctx.pipeline, &envs);
    progress.start(pairs.len());
    let jobs = opts.jobs.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| BuildError::Pool { jobs, message: e.to_string() })?;
    let results: Vec<PairResult> = pool.install(|| {
        use rayon::prelude::*;
        pairs
            .par_iter()
            .map(|p| {
                let r = job::run_pair(ctx, p);
                progress.pair_done(&p.env, &p.app);
                r
            })
            .collect()
    });
    progress.finish();

    let mut by_env: std::collections::BTreeMap<String, Vec<PairResult>> = Default::default();
    for r in results {
        by_env.entry(r.env().to_string()).or_default().push(r);
    }
    let environments = envs
        .iter()
        .map(|env| output::finish_and_write(ctx, env, by_env.remove(env).unwrap_or_default(), &opts.out_dir))
        .collect();
    Ok(BuildReport {
        revision: ctx.tree.revision().clone(),
        environments,
        corrupt_cache_entries: ctx.cache.corrupt_entries(),
    })
}
