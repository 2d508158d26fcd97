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
    if let Some(flux_root) = a.flux.clone() {
        let report = super::build_flux::run(g, &a, &root, tree.as_ref(), &flux_root)?;
        print_report(g, a.output, &report)?;
        return Ok(if report.ok() {
            ExitCode::Success
        } else {
            ExitCode::Error
        });
    }
    let inputs = BuildInputs::load(g, tree.as_ref(), &root, &a.tools, a.no_cache)?;
    let ctx = inputs.context(tree.as_ref());
    let out_dir = if a.out.is_absolute() {
        a.out.clone()
    } else {
        root.join(&a.out)
    };
    if a.compare {
        return compare(&ctx, &a.environments);
    }
    // Ctrl-C (or SIGTERM) removes the checkout and half-written output before exiting.
    crate::tempfiles::remove_on_interrupt();
    let opts = BuildOptions {
        environments: a.environments,
        jobs: a.jobs,
        out_dir,
        renderer: a.renderer.map(Into::into),
        keep_violations: false,
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

/// `--compare`: one line per helm app and kustomize root, the first differing line under it;
/// exit status 1 on any difference, 2 when a binary itself fails.
fn compare(ctx: &crate::build::BuildContext<'_>, envs: &[String]) -> anyhow::Result<ExitCode> {
    use crate::build::CompareOutcome as O;
    let rows = crate::build::compare_renderers(ctx, envs)?;
    let mut out = String::new();
    let (mut differ, mut broken) = (0, 0);
    for r in &rows {
        let what = match &r.outcome {
            O::Same { bytes } => format!("same ({bytes} bytes)"),
            O::Differs(d) => {
                differ += 1;
                format!("differs at {d}")
            }
            O::NativeFailed(e) => {
                differ += 1;
                format!("native cannot render it: {e}")
            }
            O::BinaryFailed(e) => {
                broken += 1;
                format!("the binary failed: {e}")
            }
        };
        out.push_str(&format!("{}/{} ({}): {what}\n", r.env, r.app, r.path));
    }
    for kind in ["helm", "kustomize"] {
        let of_kind: Vec<_> = rows.iter().filter(|r| r.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let same = of_kind
            .iter()
            .filter(|r| matches!(r.outcome, O::Same { .. }))
            .count();
        let what = if kind == "helm" {
            "helm apps"
        } else {
            "kustomize roots"
        };
        out.push_str(&format!(
            "{same} of {} {what} render identically\n",
            of_kind.len()
        ));
    }
    crate::cli::stdout::stdout().write_all(out.as_bytes())?;
    Ok(if broken > 0 {
        ExitCode::Error
    } else if differ > 0 {
        ExitCode::Differences
    } else {
        ExitCode::Success
    })
}

pub(super) fn print_report(
    g: &GlobalArgs,
    format: OutputFormat,
    report: &BuildReport,
) -> anyhow::Result<()> {
    let mut stdout = crate::cli::stdout::stdout();
    if format == OutputFormat::Json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(report)?)?;
    }
    let mut stderr = std::io::stderr().lock();
    for m in &report.missing_tools {
        let (first, rest) = m.message.split_once('\n').unwrap_or((&m.message, ""));
        let per_env: Vec<String> = m
            .environments
            .iter()
            .map(|(e, n)| format!("{e}: {n}"))
            .collect();
        let pairs = if m.pairs == 1 { "pair" } else { "pairs" };
        writeln!(
            stderr,
            "error: {first}; it blocks {} {pairs} ({})",
            m.pairs,
            per_env.join(", ")
        )?;
        if !rest.is_empty() {
            writeln!(stderr, "{rest}")?;
        }
    }
    for e in &report.environments {
        for err in &e.errors {
            writeln!(stderr, "error: {}", crate::untrusted::escape_message(err))?;
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
