//! `ferry build --compare`: every helm and kustomize app of the selected environments rendered
//! both natively and with the binary, so a repository can be checked before switching
//! renderers.

use super::{BuildContext, BuildError};
use crate::config::{resolve, ChartRef, RendererChoice, ResolvedApp, ResolvedSource};
use crate::render::{
    first_difference, ChartLocation, FirstDifference, HelmRenderer, KustomizeRenderer,
    NativeHelmRenderer, NativeKustomizeRenderer, RenderError, RenderRequest, Renderer, Tool,
    ToolError,
};

/// How the two renders of one app compare.
#[derive(Debug)]
pub enum Outcome {
    Same { bytes: usize },
    Differs(FirstDifference),
    NativeFailed(String),
    BinaryFailed(String),
}

#[derive(Debug)]
pub struct Row {
    pub env: String,
    pub app: String,
    /// `helm` or `kustomize`.
    pub kind: &'static str,
    /// The kustomize root, or the chart reference.
    pub path: String,
    pub outcome: Outcome,
}

/// Both renders of one request.
fn both(
    binary: Result<&dyn Renderer, &ToolError>,
    native: &dyn Renderer,
    req: &RenderRequest<'_>,
) -> Outcome {
    let want = match binary {
        Ok(b) => b.render(req),
        Err(e) => Err(RenderError::Tool(e.clone())),
    };
    match want {
        Err(e) => Outcome::BinaryFailed(e.to_string()),
        Ok(want) => match native.render(req) {
            Err(e) => Outcome::NativeFailed(e.to_string()),
            Ok(got) => match first_difference(&want, &got) {
                None => Outcome::Same { bytes: want.len() },
                Some(d) => Outcome::Differs(d),
            },
        },
    }
}

fn binary_of<R>(tool: &Result<R, ToolError>) -> Result<&dyn Renderer, &ToolError>
where
    R: Renderer + 'static,
{
    tool.as_ref().map(|r| r as &dyn Renderer)
}

/// Compares every helm and kustomize (environment, app) pair of `envs` (all when empty). A
/// kustomize root, or a helm app resolved identically, that several pairs share is rendered
/// once, under its first pair.
pub fn compare_renderers(ctx: &BuildContext<'_>, envs: &[String]) -> Result<Vec<Row>, BuildError> {
    let envs = super::select_environments(ctx.pipeline, envs)?;
    let kustomize = ctx
        .tools
        .kustomize
        .clone()
        .map(|tool| KustomizeRenderer { tool });
    let helm = ctx
        .tools
        .helm
        .clone()
        .map(|tool: Tool| HelmRenderer { tool });
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for mut app in resolve(ctx.pipeline, &envs) {
        let (kind, path, outcome) = match &mut app.source {
            ResolvedSource::Kustomize { path, renderer } => {
                if !seen.insert(format!("kustomize {path}")) {
                    continue;
                }
                *renderer = RendererChoice::Binary;
                let path = path.clone();
                let req = RenderRequest {
                    tree: ctx.tree,
                    app: &app,
                    chart: None,
                };
                let outcome = both(binary_of(&kustomize), &NativeKustomizeRenderer, &req);
                ("kustomize", path, outcome)
            }
            ResolvedSource::Helm(h) => {
                h.renderer = RendererChoice::Binary;
                // The build leaves test hooks out (they are `helm test`'s, and often draw
                // random names), so the comparison does too.
                h.flags.skip_tests = true;
                if !seen.insert(helm_identity(&app)) {
                    continue;
                }
                let ResolvedSource::Helm(h) = &app.source else {
                    continue;
                };
                let path = h.chart.lock_key().unwrap_or_else(|| match &h.chart {
                    ChartRef::Local { path } => path.clone(),
                    _ => String::new(),
                });
                let outcome = match chart_location(ctx, &h.chart) {
                    Err(e) => Outcome::BinaryFailed(e),
                    Ok(location) => {
                        let req = RenderRequest {
                            tree: ctx.tree,
                            app: &app,
                            chart: Some(&location),
                        };
                        both(binary_of(&helm), &NativeHelmRenderer, &req)
                    }
                };
                ("helm", path, outcome)
            }
            ResolvedSource::Plain { .. } | ResolvedSource::Flux(_) => continue,
        };
        rows.push(Row {
            env: app.env.clone(),
            app: app.app.clone(),
            kind,
            path,
            outcome,
        });
    }
    Ok(rows)
}

/// What a helm render depends on besides the files: two pairs with the same identity render
/// the same bytes.
fn helm_identity(app: &ResolvedApp) -> String {
    serde_json::json!({
        "source": app.source,
        "namespace": app.namespace,
        "kubeVersion": app.kube_version,
    })
    .to_string()
}

fn chart_location(ctx: &BuildContext<'_>, chart: &ChartRef) -> Result<ChartLocation, String> {
    match chart {
        ChartRef::Local { path } => Ok(ChartLocation::Repo(path.clone())),
        remote => ctx
            .charts
            .locate(remote, ctx.lock)
            .map(ChartLocation::Archive)
            .map_err(|e| e.to_string()),
    }
}
