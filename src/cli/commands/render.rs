//! `ferry render helm|kustomize`: one render to stdout, as `helm template` and
//! `kubectl kustomize` would print it.

use super::cache_dir;
use crate::cli::args::{GlobalArgs, RenderCommand, RenderHelmArgs, RenderKustomizeArgs};
use crate::cli::ExitCode;
use crate::config::{ChartRef, RendererChoice, ResolvedApp, ResolvedHelm, ResolvedSource};
use crate::render::{
    first_difference, AutoHelmRenderer, AutoKustomizeRenderer, ChartLocation, HelmRenderer,
    KustomizeRenderer, NativeHelmRenderer, NativeKustomizeRenderer, RenderRequest, Renderer, Tools,
};
use crate::source::WorkTree;
use anyhow::Context;
use serde_json::Map;
use std::io::Write;

pub fn run(g: &GlobalArgs, c: RenderCommand) -> anyhow::Result<ExitCode> {
    let text = match c {
        RenderCommand::Helm(a) if a.compare => return compare_helm(g, &a),
        RenderCommand::Helm(a) => helm(g, *a)?,
        RenderCommand::Kustomize(a) if a.compare => return compare(g, &a),
        RenderCommand::Kustomize(a) => kustomize(g, a)?,
    };
    write_stdout(&text)?;
    Ok(ExitCode::Success)
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = crate::cli::stdout::stdout();
    out.write_all(text.as_bytes())?;
    Ok(out.flush()?)
}

/// The `--set` family as given, for the renderer to apply with helm's meaning.
fn set_flags(a: &RenderHelmArgs) -> Vec<(String, String)> {
    let mut sets = Vec::new();
    for (flag, args) in [
        ("--set-json", &a.set_json),
        ("--set", &a.set),
        ("--set-string", &a.set_string),
        ("--set-file", &a.set_file),
        ("--set-literal", &a.set_literal),
    ] {
        sets.extend(args.iter().map(|v| (flag.to_string(), v.clone())));
    }
    sets
}

/// helm's `NameAndChart` for `helm template`: NAME, else `--name-template` rendered with
/// Sprig, else `release-name`.
fn release_and_chart(a: &RenderHelmArgs) -> anyhow::Result<(String, String)> {
    match a.name_and_chart.as_slice() {
        [name, chart] => {
            if a.helm_compat.generate_name {
                anyhow::bail!("cannot set --generate-name and also specify a name");
            }
            if a.name_template.is_some() {
                anyhow::bail!("cannot set --name-template and also specify a name");
            }
            Ok((name.clone(), chart.clone()))
        }
        [chart] => match &a.name_template {
            Some(t) => Ok((name_template(t)?, chart.clone())),
            None => Ok(("release-name".to_string(), chart.clone())),
        },
        _ => anyhow::bail!("expected [NAME] CHART"),
    }
}

/// `--name-template`: a Go template with Sprig's functions and no data.
fn name_template(text: &str) -> anyhow::Result<String> {
    let mut t = gotmpl::Templates::with_funcs(gotmpl::sprig::funcs());
    t.parse("name-template", text)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    t.execute("name-template", gotmpl::Value::Nil)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The app and chart location `ferry render helm` describes.
fn helm_app(a: &RenderHelmArgs, choice: RendererChoice) -> anyhow::Result<(ResolvedApp, String)> {
    if let Some((flag, why)) = a.helm_compat.refused() {
        anyhow::bail!("`ferry render helm` refuses {flag}: it {why}");
    }
    let (release, chart) = release_and_chart(a)?;
    let app = ResolvedApp {
        env: String::new(),
        app: release.clone(),
        namespace: a.namespace.clone(),
        kube_version: a.kube_version.clone().unwrap_or_default(),
        source: ResolvedSource::Helm(ResolvedHelm {
            chart: ChartRef::Local {
                path: chart.clone(),
            },
            release_name: release,
            values: a.values.clone(),
            set: Map::new(),
            api_versions: a.api_versions.clone(),
            include_crds: a.include_crds,
            renderer: choice,
            flags: Box::new(crate::config::HelmFlags {
                skip_tests: a.skip_tests,
                no_hooks: a.no_hooks,
                is_upgrade: a.is_upgrade,
                skip_schema_validation: a.skip_schema_validation,
                // With --output-dir, helm matches --show-only against nothing: see `write_dir`.
                show_only: if a.output_dir.is_some() {
                    Vec::new()
                } else {
                    a.show_only.clone()
                },
                sets: set_flags(a),
            }),
            post_render: None,
            secret_values: None,
        }),
    };
    Ok((app, chart))
}

/// `--output-dir`: each `# Source:` document of the stream into DIR[/RELEASE]/<path>, the
/// first one of a path truncating its file and the next ones appended, with helm's
/// `wrote <file>` line for each. Then, as in helm, `--show-only` finds nothing to show.
fn write_dir(a: &RenderHelmArgs, release: &str, dir: &str, text: &str) -> anyhow::Result<String> {
    let base = if a.release_name_dir {
        // Go's `filepath.Join` cleans the path.
        gotmpl::sprig::clean_path(&format!("{dir}/{release}"))
    } else {
        dir.to_string()
    };
    let mut report = String::new();
    let mut written = std::collections::HashSet::new();
    for block in text.split("---\n# Source: ").skip(1) {
        let name = block.split('\n').next().unwrap_or(block);
        // helm writes the chart's `crds/` files under DIR itself, even with --release-name.
        let is_crd = name.contains("/crds/") && !name.contains("/templates/");
        let file = if is_crd {
            format!("{dir}/{name}")
        } else {
            format!("{base}/{name}")
        };
        let path = std::path::Path::new(&file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let first = written.insert(name.to_string());
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(!first)
            .truncate(first)
            .open(path)
            .with_context(|| format!("cannot write {file}"))?;
        f.write_all(format!("---\n# Source: {block}").as_bytes())
            .with_context(|| format!("cannot write {file}"))?;
        report.push_str(&format!("wrote {file}\n"));
    }
    if let Some(first) = a.show_only.first() {
        write_stdout(&report)?;
        anyhow::bail!("could not find template {first} in chart");
    }
    report.push('\n');
    Ok(report)
}

fn helm(g: &GlobalArgs, a: RenderHelmArgs) -> anyhow::Result<String> {
    let choice = a.renderer.map(RendererChoice::from).unwrap_or_default();
    let renderer: Box<dyn Renderer> = match choice {
        RendererChoice::Native => Box::new(NativeHelmRenderer),
        RendererChoice::Binary | RendererChoice::Auto => {
            let tools = Tools::discover(a.tools.helm.as_deref(), None, cache_dir(g).as_deref());
            match (choice, tools.helm) {
                (RendererChoice::Binary, tool) => Box::new(HelmRenderer { tool: tool? }),
                (_, tool) => Box::new(AutoHelmRenderer::new(tool)?),
            }
        }
    };
    let (app, chart) = helm_app(&a, choice)?;
    let tree = WorkTree::open(&g.repo);
    let location = ChartLocation::Repo(chart);
    let text = renderer.render(&RenderRequest {
        tree: &tree,
        app: &app,
        chart: Some(&location),
    })?;
    match &a.output_dir {
        None => Ok(text),
        Some(dir) => {
            // Relative to the repository, where the chart and values files are found too.
            let dir = if g.repo == std::path::Path::new(".") {
                dir.clone()
            } else {
                g.repo.join(dir).display().to_string()
            };
            write_dir(&a, &app.app, &dir, &text)
        }
    }
}

/// `render helm --compare`: the chart through helm and natively; one line saying whether they
/// agree, or where they first differ. A chart that draws random values differs where it
/// draws them. A failing binary is an error, since there is nothing to compare with.
fn compare_helm(g: &GlobalArgs, a: &RenderHelmArgs) -> anyhow::Result<ExitCode> {
    let tools = Tools::discover(a.tools.helm.as_deref(), None, cache_dir(g).as_deref());
    let binary = HelmRenderer { tool: tools.helm? };
    let (app, chart) = helm_app(a, RendererChoice::Binary)?;
    let tree = WorkTree::open(&g.repo);
    let location = ChartLocation::Repo(chart.clone());
    let req = RenderRequest {
        tree: &tree,
        app: &app,
        chart: Some(&location),
    };
    let want = binary
        .render(&req)
        .with_context(|| format!("{chart}: helm failed, so there is nothing to compare"))?;
    let (line, same) = match NativeHelmRenderer.render(&req) {
        Ok(got) => match first_difference(&want, &got) {
            None => (format!("{chart}: same ({} bytes)\n", want.len()), true),
            Some(d) => (format!("{chart}: differs at {d}\n"), false),
        },
        Err(e) => (format!("{chart}: native cannot render it: {e}\n"), false),
    };
    write_stdout(&line)?;
    Ok(if same {
        ExitCode::Success
    } else {
        ExitCode::Differences
    })
}

fn kustomize_app(dir: &str, renderer: RendererChoice) -> ResolvedApp {
    ResolvedApp {
        env: String::new(),
        app: dir.to_string(),
        namespace: None,
        kube_version: String::new(),
        source: ResolvedSource::Kustomize {
            path: dir.to_string(),
            renderer,
        },
    }
}

fn kustomize(g: &GlobalArgs, a: RenderKustomizeArgs) -> anyhow::Result<String> {
    let [dir] = a.dirs.as_slice() else {
        anyhow::bail!("give one kustomization directory, or use --compare to check several");
    };
    let choice = a.renderer.map(RendererChoice::from).unwrap_or_default();
    let renderer: Box<dyn Renderer> = match choice {
        RendererChoice::Native => Box::new(NativeKustomizeRenderer),
        RendererChoice::Binary => {
            let tools =
                Tools::discover(None, a.tools.kustomize.as_deref(), cache_dir(g).as_deref());
            Box::new(KustomizeRenderer {
                tool: tools.kustomize?,
            })
        }
        RendererChoice::Auto => {
            let tools =
                Tools::discover(None, a.tools.kustomize.as_deref(), cache_dir(g).as_deref());
            Box::new(AutoKustomizeRenderer {
                binary: tools.kustomize.ok().map(|tool| KustomizeRenderer { tool }),
            })
        }
    };
    let tree = WorkTree::open(&g.repo);
    let app = kustomize_app(dir, choice);
    Ok(renderer.render(&RenderRequest {
        tree: &tree,
        app: &app,
        chart: None,
    })?)
}

/// `--compare`: both renderers on every directory; one line per directory, the first
/// differing line under it. A native refusal counts as a difference; a failing binary is an
/// error, since there is nothing to compare with.
fn compare(g: &GlobalArgs, a: &RenderKustomizeArgs) -> anyhow::Result<ExitCode> {
    let tools = Tools::discover(None, a.tools.kustomize.as_deref(), cache_dir(g).as_deref());
    let binary = KustomizeRenderer {
        tool: tools.kustomize?,
    };
    let tree = WorkTree::open(&g.repo);
    let mut report = String::new();
    let mut differ = 0;
    for dir in &a.dirs {
        let req_app = kustomize_app(dir, RendererChoice::Binary);
        let req = RenderRequest {
            tree: &tree,
            app: &req_app,
            chart: None,
        };
        let want = binary
            .render(&req)
            .with_context(|| format!("{dir}: the binary failed, so there is nothing to compare"))?;
        let line = match NativeKustomizeRenderer.render(&req) {
            Ok(got) => match first_difference(&want, &got) {
                None => format!("{dir}: same ({} bytes)\n", want.len()),
                Some(d) => {
                    differ += 1;
                    format!("{dir}: differs at {d}\n")
                }
            },
            Err(e) => {
                differ += 1;
                format!("{dir}: native cannot render it: {e}\n")
            }
        };
        report.push_str(&line);
    }
    report.push_str(&format!(
        "{} of {} directories render identically\n",
        a.dirs.len() - differ,
        a.dirs.len()
    ));
    write_stdout(&report)?;
    Ok(if differ == 0 {
        ExitCode::Success
    } else {
        ExitCode::Differences
    })
}
