//! `ferry diff`: two build directories, or two revisions built through the cache, compared
//! object by object (artifacts in `diff_pushed`, the live cluster in `diff_live`); the report
//! goes to stdout as text, JSON or Markdown.

use super::inputs::{open_tree, BuildInputs};
use super::repo_root;
use crate::build::{build, BuildOptions, NoProgress};
use crate::cli::args::{DiffAgainst, DiffArgs, DiffFormat, GlobalArgs};
use crate::cli::progress::{self, Bar};
use crate::cli::ExitCode;
use crate::diff::render::{json, markdown, text};
use crate::diff::{
    self, Build, DiffOptions, DiffReport, EnvDiff, FingerprintKey, SecretContext, SecretDecryptor,
    TenantFilter,
};
use crate::secrets::open::InMemory;
use crate::tenancy::Violation;
use anyhow::{bail, Context};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn run(g: &GlobalArgs, a: DiffArgs) -> anyhow::Result<ExitCode> {
    let (out, report) = rendered_report(g, &a)?;
    // Tenant rule violations fail like a build would (after the report shows them).
    let code = if !report.violations.is_empty() {
        ExitCode::Error
    } else if report.has_changes() {
        ExitCode::Differences
    } else {
        ExitCode::Success
    };
    let mut stdout = crate::cli::stdout::stdout();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")?;
    Ok(code)
}

/// The comparison `a` asks for, rendered as `a.output` says (what `ferry diff` prints), and
/// whether anything changed. `ferry images update --diff` shows its commit with it.
pub(super) fn rendered(g: &GlobalArgs, a: &DiffArgs) -> anyhow::Result<(String, bool)> {
    rendered_report(g, a).map(|(out, report)| (out, report.has_changes()))
}

/// [`rendered`], with the report itself.
fn rendered_report(g: &GlobalArgs, a: &DiffArgs) -> anyhow::Result<(String, DiffReport)> {
    let key = FingerprintKey::discover(a.fingerprint_key_file.as_deref())?;
    let opts = DiffOptions {
        secret_kinds: a.secret_kinds.clone(),
        context_lines: a.context,
        tenants: (!a.tenants.is_empty()).then(|| TenantFilter::new(a.tenants.iter().cloned())),
    };
    let ids = InMemory::load(a.identity.as_deref())?;
    let secrets = SecretContext {
        fingerprint_key: key.as_ref(),
        decryptor: (!ids.is_empty()).then_some(&ids as &dyn SecretDecryptor),
    };
    let envs = match &a.from {
        _ if a.against == Some(DiffAgainst::Pushed) => {
            super::diff_pushed::against_pushed(g, a, &opts, secrets)?
        }
        _ if a.against == Some(DiffAgainst::Live) => {
            super::diff_live::against_live(g, a, &opts, secrets)?
        }
        None => {
            let [old, new] = a.args.as_slice() else {
                bail!(
                    "ferry diff takes two build directories (OLD_DIR NEW_DIR), {} given\nhint: or compare two revisions: ferry diff --from REV [--to REV] [ENV...]",
                    a.args.len()
                );
            };
            // An `oci://` side is pulled and verified into a temporary directory first.
            let old = super::diff_pushed::side(g, a, old)?;
            let new = super::diff_pushed::side(g, a, new)?;
            vec![diff::diff_dirs(&old.path(), &new.path(), &opts, secrets)?]
        }
        Some(from) if a.flux.is_some() => super::diff_flux::changed_only(
            g,
            a,
            from,
            (!a.worktree).then(|| a.to.as_deref().unwrap_or("HEAD")),
            &opts,
            secrets,
        )?,
        Some(from) => diff_revisions(
            g,
            a,
            from,
            (!a.worktree).then(|| a.to.as_deref().unwrap_or("HEAD")),
            &opts,
            secrets,
        )?,
    };
    if let Some(f) = &opts.tenants {
        // Checked over every environment: a tenant may have apps in some of them only.
        let known = envs
            .iter()
            .flat_map(|e| e.tenants.iter().cloned())
            .collect();
        f.check_known(&known)?;
    }
    let mut report = DiffReport::from_envs(envs);
    if let Some(f) = &opts.tenants {
        report.select_owners(f);
    }
    let out = match a.output {
        DiffFormat::Text => text::render(&report, stdout_color()),
        DiffFormat::Json => json::render(&report),
        DiffFormat::Markdown => {
            let file = a
                .markdown_overflow
                .as_ref()
                .map(|p| p.display().to_string());
            let c = markdown::comment(&report, markdown::COMMENT_LIMIT, file.as_deref());
            // Written every time, not only on overflow: a CI step that uploads it never finds a
            // stale file from an earlier run.
            if let Some(path) = &a.markdown_overflow {
                let full = c.overflow.as_deref().unwrap_or(&c.body);
                std::fs::write(path, full)
                    .with_context(|| format!("cannot write the full diff to {}", path.display()))?;
            }
            c.body
        }
    };
    Ok((out, report))
}

/// Colour on a terminal, never with `NO_COLOR` set.
fn stdout_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && crate::cli::stdout::is_terminal()
}

/// Builds both revisions into temporary directories and compares every environment that
/// either has (or the ones asked for).
fn diff_revisions(
    g: &GlobalArgs,
    a: &DiffArgs,
    from: &str,
    to: Option<&str>,
    opts: &DiffOptions,
    secrets: SecretContext<'_>,
) -> anyhow::Result<Vec<EnvDiff>> {
    let root = repo_root(&g.repo);
    let scratch = tempfile::Builder::new()
        .prefix("ferry-diff-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let old = build_revision(g, a, &root, Some(from), &scratch.path().join("old"))?;
    let new = build_revision(g, a, &root, to, &scratch.path().join("new"))?;
    compare_built(a, from, to, &old, &new, opts, secrets)
}

/// Compares every environment that either build has (or the ones asked for).
pub(super) fn compare_built(
    a: &DiffArgs,
    from: &str,
    to: Option<&str>,
    old: &Built,
    new: &Built,
    opts: &DiffOptions,
    secrets: SecretContext<'_>,
) -> anyhow::Result<Vec<EnvDiff>> {
    let mut envs: BTreeSet<String> = old.envs.union(&new.envs).cloned().collect();
    if !a.args.is_empty() {
        let known: BTreeSet<&String> = old.known.union(&new.known).collect();
        for e in &a.args {
            if !envs.contains(e) {
                bail!(
                    "environment `{e}` exists in neither {from} nor {}\nhint: {}",
                    to.unwrap_or("the working tree"),
                    unknown_environment_hint(e, &known, &a.args)
                );
            }
        }
        envs = a.args.iter().cloned().collect();
    }
    let side = |b: &Built, env: &str| -> anyhow::Result<Build> {
        if b.envs.contains(env) {
            Ok(diff::load_dir(&b.out.join(env))?)
        } else {
            Ok(Build::empty(env))
        }
    };
    envs.iter()
        .map(|env| {
            let mut d = diff::compare(&side(old, env)?, &side(new, env)?, opts, secrets)?;
            // The new side's violations only: the old side's are the base branch's.
            d.violations = new.violations_of(env);
            d.tenants.extend(old.tenants.union(&new.tenants).cloned());
            Ok(d)
        })
        .collect()
}

/// The environments of `known` that `args` names, or all of them without arguments.
pub(super) fn asked_for(args: &[String], known: &BTreeSet<String>) -> BTreeSet<String> {
    if args.is_empty() {
        known.clone()
    } else {
        args.iter()
            .filter(|e| known.contains(*e))
            .cloned()
            .collect()
    }
}

/// A revision that did not build, with every error of every environment.
pub(super) fn build_failed(
    rev: &str,
    origin: &str,
    report: &crate::build::BuildReport,
) -> anyhow::Error {
    let errors: Vec<&str> = report
        .environments
        .iter()
        .flat_map(|e| &e.errors)
        .map(String::as_str)
        .collect();
    anyhow::anyhow!("cannot build {rev} ({origin}):\n  {}", errors.join("\n  "))
}

pub(super) struct Built {
    pub out: PathBuf,
    /// The environments built (those asked for that this revision has).
    pub envs: BTreeSet<String>,
    /// Every environment this revision's ferry.yaml defines, for hints.
    pub known: BTreeSet<String>,
    /// Tenant rule violations, kept rather than failing the build so the diff can show them.
    pub violations: Vec<Violation>,
    /// Every tenant this revision's ferry.yaml declares (`--tenant` may name one with no app
    /// in the environments compared).
    pub tenants: BTreeSet<String>,
}

impl Built {
    /// The violations of one environment.
    pub fn violations_of(&self, env: &str) -> Vec<Violation> {
        self.violations
            .iter()
            .filter(|v| v.env == env)
            .cloned()
            .collect()
    }
}

/// What to say about an environment argument no revision defines: an `out/<env>` directory
/// given with `--from` (the revisions are built, directories are compared without it), or the
/// environments there are.
fn unknown_environment_hint(arg: &str, known: &BTreeSet<&String>, args: &[String]) -> String {
    if arg.contains('/') || Path::new(arg).is_dir() {
        let dirs = args.join(" ");
        return format!(
            "`{arg}` is a directory, and --from builds revisions and compares their environments by name; to compare directories, drop --from: ferry diff {dirs}"
        );
    }
    if known.is_empty() {
        return "no ferry.yaml at either revision defines an environment".into();
    }
    let names: Vec<&str> = known.iter().map(|s| s.as_str()).collect();
    format!("environments: {}", names.join(", "))
}

/// One revision built like `ferry build --revision REV` would, into `out`.
pub(super) fn build_revision(
    g: &GlobalArgs,
    a: &DiffArgs,
    root: &Path,
    rev: Option<&str>,
    out: &Path,
) -> anyhow::Result<Built> {
    // `None` is the working tree: files on disk, uncommitted changes included.
    let tree = open_tree(root, rev)?;
    let tree = tree.as_ref();
    let rev = rev.unwrap_or("the working tree");
    let inputs = BuildInputs::load(g, tree, root, &a.tools, a.no_cache)
        .with_context(|| format!("in {}", tree.origin()))?;
    let all: BTreeSet<String> = inputs.pipeline.environments.keys().cloned().collect();
    let tenants: BTreeSet<String> = inputs.pipeline.tenants.keys().cloned().collect();
    let envs = asked_for(&a.args, &all);
    if envs.is_empty() {
        return Ok(Built {
            out: out.to_path_buf(),
            envs,
            known: all,
            violations: Vec::new(),
            tenants,
        });
    }
    let ctx = inputs.context(tree);
    let opts = BuildOptions {
        environments: envs.iter().cloned().collect(),
        jobs: a.jobs,
        out_dir: out.to_path_buf(),
        renderer: None,
        keep_violations: true,
    };
    let report = if progress::wanted(g.quiet) {
        build(&ctx, &opts, &Bar::new(true, &format!("building {rev}")))?
    } else {
        build(&ctx, &opts, &NoProgress)?
    };
    if !report.ok() {
        return Err(build_failed(rev, &tree.origin(), &report));
    }
    Ok(Built {
        out: out.to_path_buf(),
        envs,
        known: all,
        violations: report
            .environments
            .into_iter()
            .flat_map(|e| e.violations)
            .collect(),
        tenants,
    })
}
