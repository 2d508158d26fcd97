//! `ferry build`: every (environment, app) pair rendered in parallel, post-processed, and written
//! to `out/<env>/` atomically. One failure never hides another, and a failed environment keeps
//! its previous output.

mod compare;
mod fresh;
pub mod integrity;
mod job;
mod output;
mod postprocess;

pub use compare::{compare_renderers, Outcome as CompareOutcome, Row as CompareRow};
pub use job::{PairError, PairErrorKind, PairResult};
pub use output::{
    object_file_name, Index, IndexApp, IndexObject, IndexSource, OutputError, INDEX_FILE,
};
pub use postprocess::{finish_environment, PostError};

use crate::config::{resolve, Pipeline, RendererChoice, ResolvedSource};
use crate::render::{Cache, Tools};
use crate::source::Tree;
use crate::vendor::{ChartStore, Lock};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
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
    /// Renders every helm and kustomize app this way, whatever `ferry.yaml` says.
    pub renderer: Option<RendererChoice>,
    /// Writes an environment whose only errors are tenant rule violations, listing them in
    /// [`EnvReport::violations`]: for `ferry diff`'s scratch builds, which show them in the
    /// tenant's section. Never for a build meant to be pushed or applied.
    pub keep_violations: bool,
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
    /// The build waits for something (another build's lock on `out/`).
    fn waiting(&self, _message: &str) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("unknown environment `{name}`\nhint: environments in ferry.yaml: {known}")]
    UnknownEnvironment { name: String, known: String },
    #[error("cannot start {jobs} worker threads: {message}")]
    Pool { jobs: usize, message: String },
    #[error(transparent)]
    Output(#[from] OutputError),
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
    /// The apps rendered in this run (not served from the cache), in name order.
    pub rendered_apps: Vec<String>,
    pub out: PathBuf,
    /// False when an error kept this environment from being written.
    pub written: bool,
    /// True when the existing output already matched and nothing was rewritten.
    pub up_to_date: bool,
    pub errors: Vec<String>,
    /// Tenant rule violations written anyway ([`BuildOptions::keep_violations`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<crate::tenancy::Violation>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildReport {
    pub revision: crate::source::Revision,
    pub environments: Vec<EnvReport>,
    pub corrupt_cache_entries: usize,
    /// Tools that were needed and not found, each said once with the pairs it blocks (rather
    /// than once per pair).
    pub missing_tools: Vec<MissingTool>,
}

/// A tool that is not installed, and how many pairs could not be rendered without it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingTool {
    /// The error with its hint.
    pub message: String,
    pub pairs: usize,
    /// Pairs per environment, in name order.
    pub environments: BTreeMap<String, usize>,
}

/// The missing tool a failed pair is waiting for, if that is why it failed.
fn missing_tool(e: &PairError) -> Option<String> {
    match &*e.kind {
        PairErrorKind::Render(crate::render::RenderError::Tool(
            t @ crate::render::ToolError::Missing { .. },
        )) => Some(t.to_string()),
        _ => None,
    }
}

/// Groups the pairs a missing tool blocks: one entry per tool message.
fn missing_tools(prepared: &[Result<job::Prepared, PairError>]) -> Vec<MissingTool> {
    let mut by_message: BTreeMap<String, MissingTool> = BTreeMap::new();
    for e in prepared.iter().filter_map(|p| p.as_ref().err()) {
        if let Some(message) = missing_tool(e) {
            let m = by_message
                .entry(message.clone())
                .or_insert_with(|| MissingTool {
                    message,
                    pairs: 0,
                    environments: BTreeMap::new(),
                });
            m.pairs += 1;
            *m.environments.entry(e.env.clone()).or_default() += 1;
        }
    }
    by_message.into_values().collect()
}

fn pair_env(p: &Result<job::Prepared, PairError>) -> &str {
    match p {
        Ok(p) => &p.app.env,
        Err(e) => &e.env,
    }
}

impl EnvReport {
    fn unchanged(env: &str, index: &output::Index, out_dir: &std::path::Path) -> EnvReport {
        EnvReport {
            name: env.to_string(),
            apps: index.apps.len(),
            objects: index.apps.values().map(|a| a.objects.len()).sum(),
            cached: index.apps.len(),
            rendered: 0,
            rendered_apps: Vec::new(),
            out: out_dir.join(env),
            written: true,
            up_to_date: true,
            errors: Vec::new(),
            violations: Vec::new(),
        }
    }
}

impl BuildReport {
    pub fn ok(&self) -> bool {
        self.environments.iter().all(|e| e.written)
    }
}

/// The environments to build, in name order: all when `wanted` is empty.
fn select_environments(pipeline: &Pipeline, wanted: &[String]) -> Result<Vec<String>, BuildError> {
    if wanted.is_empty() {
        return Ok(pipeline.environments.keys().cloned().collect());
    }
    if let Some(e) = wanted
        .iter()
        .find(|e| !pipeline.environments.contains_key(*e))
    {
        return Err(BuildError::UnknownEnvironment {
            name: e.clone(),
            known: pipeline
                .environments
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut e = wanted.to_vec();
    e.sort();
    e.dedup();
    Ok(e)
}

/// Builds the selected environments. Errors of single pairs are reported per environment in
/// the report, not returned: only misuse (an unknown environment) fails the call itself.
pub fn build(
    ctx: &BuildContext<'_>,
    opts: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuildReport, BuildError> {
    let envs = select_environments(ctx.pipeline, &opts.environments)?;
    let pairs = resolve(ctx.pipeline, &envs);
    build_pairs(ctx, opts, &envs, pairs, progress)
}

/// The cache key of each pair, `None` for one that cannot be prepared (its build says why).
/// Two pairs with the same key render the same objects: `ferry diff --from --flux` skips them.
pub fn pair_keys(
    ctx: &BuildContext<'_>,
    pairs: &[crate::config::ResolvedApp],
) -> Vec<Option<String>> {
    use rayon::prelude::*;
    pairs
        .par_iter()
        .map(|p| job::prepare(ctx, p).ok().map(|p| p.key))
        .collect()
}

/// Builds `envs` from pairs resolved by the caller (`ferry.yaml`'s apps, or the units of a
/// Flux repository): the same locking, cache, sealing and atomic output for both.
pub fn build_pairs(
    ctx: &BuildContext<'_>,
    opts: &BuildOptions,
    envs: &[String],
    mut pairs: Vec<crate::config::ResolvedApp>,
    progress: &dyn Progress,
) -> Result<BuildReport, BuildError> {
    // One build at a time per out/; with the lock held, whatever a killed build left in out/
    // (and checkouts of ferry processes that are gone) can be removed.
    let _lock = output::lock_out_dir(&opts.out_dir, |m| progress.waiting(m))?;
    output::sweep_leftovers(&opts.out_dir);
    for what in ["checkout", "set"] {
        crate::tempfiles::sweep_stale(&std::env::temp_dir(), what);
    }
    if let Some(choice) = opts.renderer {
        for p in &mut pairs {
            match &mut p.source {
                ResolvedSource::Kustomize { renderer, .. } => *renderer = choice,
                ResolvedSource::Helm(h) => h.renderer = choice,
                ResolvedSource::Plain { .. } | ResolvedSource::Flux(_) => {}
            }
        }
    }
    let jobs = opts.jobs.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| BuildError::Pool {
            jobs,
            message: e.to_string(),
        })?;
    let prepared: Vec<Result<job::Prepared, PairError>> = pool.install(|| {
        use rayon::prelude::*;
        pairs.par_iter().map(|p| job::prepare(ctx, p)).collect()
    });
    let missing_tools = missing_tools(&prepared);

    // Environments whose output already matches are skipped before any render or parse.
    let mut digests: BTreeMap<&str, fresh::EnvDigests> = BTreeMap::new();
    let mut fresh: BTreeMap<&str, output::Index> = BTreeMap::new();
    let mut restamped: BTreeMap<&str, EnvReport> = BTreeMap::new();
    // The intact previous output of environments to rewrite: its unchanged files are kept.
    let mut previous: BTreeMap<&str, output::Index> = BTreeMap::new();
    for env in envs {
        let mine: Vec<&Result<job::Prepared, PairError>> =
            prepared.iter().filter(|p| pair_env(p) == env).collect();
        if mine.iter().any(|p| p.is_err()) {
            continue;
        }
        let ok: Vec<&job::Prepared> = mine.into_iter().flatten().collect();
        let d = fresh::env_digests(ctx, env, &ok);
        match fresh::freshness(&opts.out_dir.join(env), &d) {
            fresh::Freshness::UpToDate(index) => {
                fresh.insert(env, index);
            }
            fresh::Freshness::SameObjects(index) => {
                // Only the revision moved: the files stay, index.json is written again.
                let mut report = EnvReport::unchanged(env, &index, &opts.out_dir);
                report.up_to_date = false;
                match output::restamp(&opts.out_dir, env, ctx.tree.revision(), &d, index) {
                    Ok(p) => report.out = p,
                    Err(e) => {
                        report.written = false;
                        report.errors.push(format!("{env}: {e}"));
                    }
                }
                restamped.insert(env, report);
            }
            fresh::Freshness::Stale(index) => {
                if let Some(index) = index {
                    previous.insert(env, index);
                }
            }
        }
        digests.insert(env, d);
    }
    let skip = |env: &str| fresh.contains_key(env) || restamped.contains_key(env);

    let results: Vec<PairResult> = pool.install(|| {
        use rayon::prelude::*;
        let todo: Vec<Result<job::Prepared, PairError>> = prepared
            .into_iter()
            .filter(|p| !skip(pair_env(p)))
            .collect();
        // Pairs with equal inputs share one render; the first pair (in env/app order) renders it.
        let mut unique: BTreeMap<&str, &job::Prepared> = BTreeMap::new();
        for p in todo.iter().flatten() {
            unique.entry(p.key.as_str()).or_insert(p);
        }
        progress.start(unique.len());
        let produced: HashMap<String, job::Produced> = unique
            .par_iter()
            .map(|(key, p)| {
                let r = job::produce(ctx, p);
                progress.pair_done(&p.app.env, &p.app.app);
                (key.to_string(), r)
            })
            .collect();
        progress.finish();
        todo.into_par_iter()
            .map(|p| match p {
                Err(e) => PairResult::Err(e),
                Ok(p) => {
                    let key = p.key.clone();
                    job::assemble(ctx, p, &produced[&key])
                }
            })
            .collect()
    });

    let mut by_env: BTreeMap<String, Vec<PairResult>> = BTreeMap::new();
    for r in results {
        by_env.entry(r.env().to_string()).or_default().push(r);
    }
    let tasks: Vec<(&String, Option<EnvReport>, Vec<PairResult>)> = envs
        .iter()
        .map(|env| {
            let results = by_env.remove(env).unwrap_or_default();
            (env, restamped.remove(env.as_str()), results)
        })
        .collect();
    // Environments are sealed and written side by side: each is its own directory.
    let environments = pool.install(|| {
        use rayon::prelude::*;
        tasks
            .into_par_iter()
            .map(|(env, restamped, results)| {
                if let Some(report) = restamped {
                    return report;
                }
                match fresh.get(env.as_str()) {
                    Some(index) => EnvReport::unchanged(env, index, &opts.out_dir),
                    None => output::finish_and_write(
                        ctx,
                        env,
                        &digests.get(env.as_str()).cloned().unwrap_or_default(),
                        results,
                        &opts.out_dir,
                        previous.get(env.as_str()),
                        opts.keep_violations,
                    ),
                }
            })
            .collect()
    });
    Ok(BuildReport {
        revision: ctx.tree.revision().clone(),
        environments,
        corrupt_cache_entries: ctx.cache.corrupt_entries(),
        missing_tools,
    })
}
