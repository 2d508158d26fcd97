//! `ferry build`.

use super::inputs::{open_tree, BuildInputs};
use super::repo_root;
use crate::build::{build, BuildOptions, BuildReport};
use crate::cli::args::{BuildArgs, GlobalArgs, OutputFormat};
use crate::cli::progress::{self, Bar};
use crate::cli::ExitCode;
use std::io::Write;

pub fn run(g: &GlobalArgs, a: BuildArgs) -> anyhow::Result<ExitCode> {
    let root = repo_root(&g.repo);
    let tree = open_tree(&root, (!a.worktree).then_some(a.revision.as_str()))?;
    let inputs = BuildInputs::load(g, tree.as_ref(), &root, &a.tools, a.no_cache)?;
    let ctx = inputs.context(tree.as_ref());
    let out_dir = if a.out.is_absolute() {
        a.out.clone()
    } else {
        root.join(&a.out)
    };
    let opts = BuildOptions {
        environments: a.environments,
        jobs: a.jobs,
        out_dir,
    };
    let bar = Bar::new(progress::wanted(g.quiet), "rendering");
    let report = build(&ctx, &opts, &bar)?;
    print_report(g, a.output, &report)?;
    Ok(if report.ok() {
        ExitCode::Success
    } else {
        ExitCode::Error
    })
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
        writeln!(
            stderr,
            "warning: {} damaged cache entries were dropped and rendered again",
            report.corrupt_cache_entries
        )?;
    }
    let revision = report
        .revision
        .flux_revision()
        .unwrap_or_else(|| "(no commit)".into());
    let what = if report.revision.worktree {
        format!("working tree on {revision}")
    } else {
        revision
    };
    writeln!(stdout, "built {what}")?;
    for e in &report.environments {
        if e.up_to_date {
            writeln!(
                stdout,
                "  {:<12} {:>3} apps {:>5} objects  up to date  -> {}",
                e.name,
                e.apps,
                e.objects,
                e.out.display()
            )?;
        } else if e.written {
            writeln!(
                stdout,
                "  {:<12} {:>3} apps {:>5} objects  ({} rendered, {} cached)  -> {}",
                e.name,
                e.apps,
                e.objects,
                e.rendered,
                e.cached,
                e.out.display()
            )?;
        } else {
            writeln!(
                stdout,
                "  {:<12} FAILED ({} errors), previous output left as it was",
                e.name,
                e.errors.len()
            )?;
        }
    }
    Ok(())
}
