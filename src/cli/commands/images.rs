//! `ferry images scan` and `ferry images update`.

use super::{cache_dir, repo_root};
use crate::artifact::auth::Credentials;
use crate::cli::args::{
    GlobalArgs, ImagesCommand, ImagesScanOptions, ImagesUpdateArgs, OutputFormat,
};
use crate::cli::ExitCode;
use crate::config;
use crate::images::commit::{self, CommitOptions, FileChange, Identity};
use crate::images::registry::ClientOptions;
use crate::images::update::{self, MarkedFile, Plan};
use crate::images::{scan, Policies, ScanOptions, ScanReport};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn run(g: &GlobalArgs, c: ImagesCommand) -> anyhow::Result<ExitCode> {
    match c {
        ImagesCommand::Scan(a) => {
            let (root, ctx) = prepare(g, "ferry images scan")?;
            let report = scan_all(g, &ctx, &a.scan)?;
            let plan = plan_if_possible(&root, &ctx, &report);
            print_scan(&report, &ctx, plan.as_ref(), a.output)?;
            Ok(if report.errors().next().is_some() {
                ExitCode::Error
            } else {
                ExitCode::Success
            })
        }
        ImagesCommand::Update(a) => run_update(g, a),
    }
}

/// What both commands read before they touch the network.
struct Context_ {
    policies: Policies,
    environments: Vec<String>,
    files: Vec<MarkedFile>,
}

fn prepare(g: &GlobalArgs, what: &str) -> anyhow::Result<(PathBuf, Context_)> {
    let root = repo_root(&g.repo);
    let file = root.join(config::FILE_NAME);
    let text = std::fs::read_to_string(&file).map_err(|source| config::ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    let pipeline = config::parse(&file, &text)?;
    let policies = Policies::compile(&pipeline, &file, &text)?;
    if policies.is_empty() {
        bail!(
            "{}: no `images:` policies\nhint: add one, e.g.\n  images:\n    app:\n      image: ghcr.io/org/app\n      policy: {{semver: {{range: \">=1.0.0\"}}}}",
            file.display()
        );
    }
    let files = update::find_markers(&root)?;
    update::check_policies(&root, &files, &policies)?;
    if g.offline {
        bail!("{what} needs the network to list tags, and ferry is offline (--offline or FERRY_OFFLINE)\nhint: drop --offline / unset FERRY_OFFLINE");
    }
    let environments = pipeline.environments.keys().cloned().collect();
    Ok((
        root,
        Context_ {
            policies,
            environments,
            files,
        },
    ))
}

fn scan_all(g: &GlobalArgs, ctx: &Context_, a: &ImagesScanOptions) -> anyhow::Result<ScanReport> {
    let credentials = a
        .registry
        .creds
        .as_deref()
        .map(Credentials::parse)
        .transpose()?;
    let opts = ScanOptions {
        client: ClientOptions {
            registry: crate::artifact::RegistryOptions {
                offline: g.offline,
                insecure: a.registry.insecure,
                credentials,
                ..Default::default()
            },
            page_size: a.page_size.max(1),
        },
        concurrency: a.concurrency.max(1),
        cache_dir: if a.cache_ttl == 0 { None } else { cache_dir(g) },
        ttl: Duration::from_secs(a.cache_ttl),
    };
    Ok(scan(&ctx.policies, &opts)?)
}

fn plan_if_possible(root: &Path, ctx: &Context_, report: &ScanReport) -> Option<Plan> {
    update::plan(root, &ctx.files, &ctx.policies, &ctx.environments, report).ok()
}

fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

fn print_scan(
    report: &ScanReport,
    ctx: &Context_,
    plan: Option<&Plan>,
    output: OutputFormat,
) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        let v = serde_json::json!({
            "decisions": report.decisions,
            "changes": plan.map(|p| &p.changes),
            "kept": plan.map(|p| &p.kept),
        });
        crate::outln!("{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    let mut rows = vec![[
        "POLICY".to_string(),
        "IMAGE".into(),
        "RULE".into(),
        "CURRENT".into(),
        "LATEST".into(),
        "DIGEST".into(),
        "CHANGE".into(),
    ]];
    for d in &report.decisions {
        let name = match &d.environment {
            Some(e) => format!("{} ({e})", d.policy),
            None => d.policy.clone(),
        };
        let env_of = |ns: &str| -> Option<String> {
            ctx.environments
                .iter()
                .any(|e| e == ns)
                .then(|| ns.to_string())
                .filter(|e| report.get(&d.policy, Some(e)).is_some())
        };
        let mut current: Vec<&str> = ctx
            .files
            .iter()
            .flat_map(|f| f.markers.iter())
            .filter(|m| m.policy == d.policy && env_of(&m.namespace) == d.environment)
            .map(|m| m.value.as_str())
            .collect();
        current.sort();
        current.dedup();
        let changes = plan.map(|p| {
            p.changes
                .iter()
                .filter(|c| c.policy == d.policy && c.environment == d.environment)
                .count()
        });
        let change = match (&d.error, changes) {
            (Some(e), _) => format!("error: {e}"),
            (None, Some(0)) if current.is_empty() => "no markers".into(),
            (None, Some(0)) => "no".into(),
            (None, Some(n)) => format!("yes ({n} markers)"),
            (None, None) => "?".into(),
        };
        rows.push([
            name,
            d.image.clone(),
            d.rule.clone(),
            match current.len() {
                0 => "-".into(),
                1 => current[0].to_string(),
                n => format!("{n} values"),
            },
            d.latest.clone().unwrap_or_else(|| "-".into()),
            d.digest.as_deref().map(short).unwrap_or("-").to_string(),
            change,
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i < 6 {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        crate::outln!("{}", line.trim_end())?;
    }
    for d in &report.decisions {
        if d.error.is_none() {
            crate::outln!(
                "{}{}: {} ({} tags, {} page{}{})",
                d.policy,
                d.environment
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
                d.reason,
                d.tags,
                d.pages,
                if d.pages == 1 { "" } else { "s" },
                if d.cached { ", cached" } else { "" }
            )?;
        }
    }
    Ok(())
}

fn message(template: &str, plan: &Plan) -> String {
    let changes: Vec<String> = plan
        .changes
        .iter()
        .map(|c| format!("- {}:{} {} {} -> {}", c.file, c.line, c.image, c.old, c.new))
        .collect();
    let mut policies: Vec<&str> = plan.changes.iter().map(|c| c.policy.as_str()).collect();
    policies.sort();
    policies.dedup();
    template
        .replace("\\n", "\n")
        .replace("{count}", &plan.changes.len().to_string())
        .replace("{changes}", &changes.join("\n"))
        .replace("{policies}", &policies.join(", "))
}

/// `ferry diff --from FROM (--to TO | --worktree)`, rendered as text or JSON.
fn build_diff(
    g: &GlobalArgs,
    from: &str,
    to: Option<&str>,
    json: bool,
) -> anyhow::Result<(String, bool)> {
    #[derive(clap::Parser)]
    struct Only {
        #[command(flatten)]
        diff: crate::cli::args::DiffArgs,
    }
    let mut argv = vec!["ferry images update --diff", "--from", from];
    match to {
        Some(to) => argv.extend(["--to", to]),
        None => argv.push("--worktree"),
    }
    if json {
        argv.extend(["--output", "json"]);
    }
    let a = <Only as clap::Parser>::try_parse_from(argv)
        .context("preparing the diff of the update")?
        .diff;
    super::diff::rendered(g, &a).with_context(|| {
        format!(
            "the update is done, but its diff failed\nhint: run ferry diff --from {from} {}",
            to.map_or("--worktree".to_string(), |t| format!("--to {t}"))
        )
    })
}

fn identity(flag: &str, v: Option<&str>) -> anyhow::Result<Option<Identity>> {
    v.map(|s| Identity::parse(s).with_context(|| format!("{flag} {s:?}: write \"Name <email>\"")))
        .transpose()
}

fn run_update(g: &GlobalArgs, a: ImagesUpdateArgs) -> anyhow::Result<ExitCode> {
    let author = identity("--author", a.author.as_deref())?;
    let committer = identity("--committer", a.committer.as_deref())?;
    if a.push && a.no_commit {
        bail!("--push needs a commit; drop --no-commit");
    }
    let (root, ctx) = prepare(g, "ferry images update")?;
    let report = scan_all(g, &ctx, &a.scan)?;
    let errors: Vec<String> = report
        .errors()
        .map(|d| {
            format!(
                "policy `{}`{} ({}): {}",
                d.policy,
                d.environment
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
                d.image,
                d.error.as_deref().unwrap_or_default()
            )
        })
        .collect();
    if !errors.is_empty() {
        bail!(
            "{}\nhint: nothing was written; fix the registry access or the policy and run again",
            errors.join("\n")
        );
    }
    let plan = update::plan(&root, &ctx.files, &ctx.policies, &ctx.environments, &report)?;
    let json = a.output == OutputFormat::Json;
    let say = |s: String| -> std::io::Result<()> {
        if !g.quiet && !json {
            crate::outln!("{s}")?;
        }
        Ok(())
    };
    for c in &plan.changes {
        say(format!("{}:{}: {} -> {}", c.file, c.line, c.old, c.new))?;
    }
    for k in &plan.kept {
        if k.reason != "up to date" {
            say(format!(
                "{}:{}: kept {}: {}",
                k.file, k.line, k.value, k.reason
            ))?;
        }
    }
    let mut committed = None;
    // The rendered per-environment diff (--diff) and whether it shows a change.
    let mut diff: Option<(String, bool)> = None;
    if plan.changes.is_empty() {
        say(format!("{} markers, all up to date", plan.markers))?;
    } else if a.dry_run {
        if !json {
            for (file, (old, new)) in &plan.files {
                crate::outln!("--- a/{file}\n+++ b/{file}")?;
                {
                    use std::io::Write as _;
                    write!(
                        crate::cli::stdout::stdout(),
                        "{}",
                        crate::diff::unified_diff(old, new, 3)
                    )?
                };
            }
        }
        say(format!(
            "dry run: {} changes, nothing written",
            plan.changes.len()
        ))?;
    } else {
        let files: Vec<FileChange<'_>> = plan
            .files
            .iter()
            .map(|(path, (old, new))| FileChange { path, old, new })
            .collect();
        if a.no_commit {
            update::write(&root, &plan).context("writing the updated files")?;
            say(format!(
                "{} changes written, not committed",
                plan.changes.len()
            ))?;
            if a.diff {
                diff = Some(build_diff(g, "HEAD", None, json)?);
            }
        } else {
            let opts = CommitOptions {
                author,
                committer,
                branch: a.branch.clone(),
                message: message(&a.message, &plan),
            };
            commit::preflight(&root, &files, &opts)?;
            let c = commit::commit(&root, &files, &opts)?;
            say(format!(
                "committed {} on {} ({} changes)",
                &c.commit[..12.min(c.commit.len())],
                c.branch,
                plan.changes.len()
            ))?;
            if a.push {
                commit::push(&root, &a.remote, &c.branch)?;
                say(format!("pushed {} to {}", c.branch, a.remote))?;
            }
            if a.diff {
                diff = Some(build_diff(g, &c.parent, Some(&c.commit), json)?);
            }
            committed = Some(c);
        }
    }
    if json {
        let v = serde_json::json!({
            "changes": plan.changes,
            "kept": plan.kept,
            "markers": plan.markers,
            "dryRun": a.dry_run,
            "commit": committed,
            "diff": diff
                .as_ref()
                .map(|(text, _)| serde_json::from_str::<serde_json::Value>(text))
                .transpose()
                .context("reading the diff's JSON")?,
        });
        crate::outln!("{}", serde_json::to_string_pretty(&v)?)?;
    } else if let Some((text, _)) = &diff {
        use std::io::Write as _;
        write!(crate::cli::stdout::stdout(), "{text}")?;
    }
    Ok(ExitCode::Success)
}
