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
use serde_json::{Map, Value};
use std::io::Write;

pub fn run(g: &GlobalArgs, c: RenderCommand) -> anyhow::Result<ExitCode> {
    let text = match c {
        RenderCommand::Helm(a) if a.compare => return compare_helm(g, &a),
        RenderCommand::Helm(a) => helm(g, a)?,
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

/// Types a `--set` value the way helm does: integers, booleans and `null` are typed, the rest
/// stays a string.
fn typed(v: &str) -> Value {
    match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => v
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(v.to_string())),
    }
}

fn insert_path(map: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            map.insert(key.to_string(), value);
        }
        Some((head, rest)) => {
            let child = map
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(m) = child {
                insert_path(m, rest, value);
            }
        }
    }
}

fn parse_sets(a: &RenderHelmArgs) -> anyhow::Result<Map<String, Value>> {
    let mut set = Map::new();
    for s in &a.set {
        for pair in s.split(',') {
            let (k, v) = pair
                .split_once('=')
                .with_context(|| format!("--set {pair}: expected KEY=VALUE"))?;
            insert_path(&mut set, k, typed(v));
        }
    }
    for s in &a.set_json {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("--set-json {s}: expected KEY=JSON"))?;
        let v: Value = serde_json::from_str(v)
            .with_context(|| format!("--set-json {s}: the value is not JSON"))?;
        insert_path(&mut set, k, v);
    }
    Ok(set)
}

/// The app and chart location `ferry render helm` describes.
fn helm_app(a: &RenderHelmArgs, choice: RendererChoice) -> anyhow::Result<(ResolvedApp, String)> {
    let (release, chart) = match a.name_and_chart.as_slice() {
        [chart] => ("release-name".to_string(), chart.clone()),
        [name, chart] => (name.clone(), chart.clone()),
        _ => anyhow::bail!("expected [NAME] CHART"),
    };
    let set = parse_sets(a)?;
    let app = ResolvedApp {
        env: String::new(),
        app: release.clone(),
        namespace: a.namespace.clone(),
        kube_version: a.kube_version.clone(),
        source: ResolvedSource::Helm(ResolvedHelm {
            chart: ChartRef::Local {
                path: chart.clone(),
            },
            release_name: release,
            values: a.values.clone(),
            set,
            api_versions: a.api_versions.clone(),
            include_crds: a.include_crds,
            renderer: choice,
            flags: crate::config::HelmFlags {
                skip_tests: a.skip_tests,
                no_hooks: a.no_hooks,
                is_upgrade: a.is_upgrade,
            },
            post_render: None,
        }),
    };
    Ok((app, chart))
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
    Ok(renderer.render(&RenderRequest {
        tree: &tree,
        app: &app,
        chart: Some(&location),
    })?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_are_typed_and_nested() {
        let mut m = Map::new();
        insert_path(&mut m, "a.b", typed("2"));
        insert_path(&mut m, "a.c", typed("true"));
        insert_path(&mut m, "d", typed("x"));
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"a": {"b": 2, "c": true}, "d": "x"})
        );
    }
}
