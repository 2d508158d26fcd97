//! `ferry build`.

use super::{cache_dir, load_pipeline, repo_root};
use crate::build::{build, BuildContext, BuildOptions, BuildReport};
use crate::cli::args::{BuildArgs, GlobalArgs, OutputFormat};
use crate::cli::progress::{self, Bar};
use crate::cli::ExitCode;
use crate::render::{Cache, Tools};
use crate::source::{GitTree, Tree, WorkTree};
use crate::vendor::{ChartStore, Lock, LOCK_FILE};
use std::io::Write;

pub fn run(g: &GlobalArgs, a: BuildArgs) -> anyhow::Result<ExitCode> {
    let root = repo_root(&g.repo);
    let tree: Box<dyn Tree> = if a.worktree {
        Box::new(WorkTree::open(&root))
    } else {
        Box::new(GitTree::open(&root, &a.revision)?)
    };
    let pipeline = load_pipeline(tree.as_ref(), &root)?;
    let lock = match tree.read(LOCK_FILE) {
        Ok(bytes) => Lock::parse(&root.join(LOCK_FILE), &String::from_utf8_lossy(&bytes))?,
        Err(_) => Lock::default(),
    };
    let cache_root = cache_dir(g);
    let cache = Cache::new(if a.no_cache { None } else { cache_root.clone() });
    let charts = ChartStore::new(&cache_root.unwrap_or_else(|| root.join(".ferry-cache")));
    let tools = Tools::discover(a.tools.helm.as_deref(), a.tools.kustomize.as_deref());
    let ctx = BuildContext { pipeline: &pipeline, tree: tree.as_ref(), tools: &tools, cache: &cache, lock: &lock, charts: &charts };
    let out_dir = if a.out.is_absolute() { a.out.clone() } else { root.join(&a.out) };
    let opts = BuildOptions { environments: a.environments, jobs: a.jobs, out_dir };
    let bar = Bar::new(progress::wanted(g.quiet), "rendering");
    let report = build(&ctx, &opts, &bar)?;
    print_report(g, a.output, &report)?;
    Ok(if report.ok() { ExitCode::Success } else { ExitCode::Error })
}

fn print_report(g: &GlobalArgs, format: OutputFormat, report: &BuildReport) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if format == OutputFormat::Json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(report)?)?;
    }
    let mut stderr = std::io::stderr().lock();
    for e in &report.environments {
        for err in &e.errors {
            writeln!(stderr, "error: {err}")?;
        }
    }
    if g.quiet || format == OutputFormat::Json {
        return Ok(());
    }
    if report.corrupt_cache_entries > 0 {
        writeln!(stderr, "warning: {} damaged cache entries were dropped and rendered again", report.corrupt_cache_entries)?;
    }
    let revision = report.revision.flux_revision().unwrap_or_else(|| "(no commit)".into());
    let what = if report.revision.worktree { format!("working tree on {revision}") } else { revision };
    writeln!(stdout, "built {what}")?;
    for e in &report.environments {
        if e.written {
            writeln!(
                stdout,
                "  {:<12} {:>3} apps {:>5} objects  ({} rendered, {} cached)  -> {}",
                e.name, e.apps, e.objects, e.rendered, e.cached, e.out.display()
            )?;
        } else {
            writeln!(stdout, "  {:<12} FAILED ({} errors), previous output left as it was", e.name, e.errors.len())?;
        }
    }
    Ok(())
}
