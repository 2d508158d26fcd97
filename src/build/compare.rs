//! `ferry build --compare`: every kustomize app of the selected environments rendered both
//! natively and with the binary, so a repository can be checked before switching renderers.

use super::{BuildContext, BuildError};
use crate::config::{resolve, RendererChoice, ResolvedSource};
use crate::render::{
    first_difference, FirstDifference, KustomizeRenderer, NativeKustomizeRenderer, RenderError,
    RenderRequest, Renderer,
};

/// How the two renders of one kustomize root compare.
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
    pub path: String,
    pub outcome: Outcome,
}

/// Compares every kustomize (environment, app) pair of `envs` (all when empty). A root that
/// several pairs share is rendered once, under its first pair.
pub fn compare_kustomize(ctx: &BuildContext<'_>, envs: &[String]) -> Result<Vec<Row>, BuildError> {
    let envs = super::select_environments(ctx.pipeline, envs)?;
    let binary = ctx
        .tools
        .kustomize
        .clone()
        .map(|tool| KustomizeRenderer { tool });
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for mut app in resolve(ctx.pipeline, &envs) {
        let ResolvedSource::Kustomize { path, renderer } = &mut app.source else {
            continue;
        };
        if !seen.insert(path.clone()) {
            continue;
        }
        *renderer = RendererChoice::Binary;
        let path = path.clone();
        let req = RenderRequest {
            tree: ctx.tree,
            app: &app,
            chart: None,
        };
        let want = match &binary {
            Ok(b) => b.render(&req),
            Err(e) => Err(RenderError::Tool(e.clone())),
        };
        let outcome = match want {
            Err(e) => Outcome::BinaryFailed(e.to_string()),
            Ok(want) => match NativeKustomizeRenderer.render(&req) {
                Err(e) => Outcome::NativeFailed(e.to_string()),
                Ok(got) => match first_difference(&want, &got) {
                    None => Outcome::Same { bytes: want.len() },
                    Some(d) => Outcome::Differs(d),
                },
            },
        };
        rows.push(Row {
            env: app.env.clone(),
            app: app.app.clone(),
            path,
            outcome,
        });
    }
    Ok(rows)
}
