//! One (environment, app) pair: locate inputs, reuse or render, parse into objects.

use super::BuildContext;
use crate::config::{ChartRef, ResolvedApp, ResolvedSource};
use crate::manifest::{parse_documents, Object, ObjectError, YamlError};
use crate::render::{
    input_digests, ChartLocation, HelmRenderer, InputError, KustomizeRenderer, PlainRenderer, RenderError, RenderRequest, Renderer,
};
use crate::vendor::VendorError;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Bumped whenever the meaning of a cache entry changes.
const CACHE_FORMAT: &str = "ferry-render-v1";

#[derive(Debug, thiserror::Error)]
pub enum PairErrorKind {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Vendor(#[from] VendorError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("the output is not YAML: {0}")]
    Yaml(#[from] YamlError),
    #[error("document {index}{}: {source}", source_file.as_ref().map(|s| format!(" ({s})")).unwrap_or_default())]
    Object {
        index: usize,
        source_file: Option<String>,
        #[source]
        source: ObjectError,
    },
}

/// A failed pair, with where it happened.
#[derive(Debug, thiserror::Error)]
#[error("{env}/{app}: {kind}")]
pub struct PairError {
    pub env: String,
    pub app: String,
    #[source]
    pub kind: PairErrorKind,
}

/// What one pair produced.
pub struct PairOutput {
    pub app: ResolvedApp,
    pub objects: Vec<Object>,
    pub cache_key: String,
    pub inputs: BTreeMap<String, String>,
    pub renderer: String,
    pub cached: bool,
}

pub enum PairResult {
    Ok(Box<PairOutput>),
    Err(PairError),
}

impl PairResult {
    pub fn env(&self) -> &str {
        match self {
            PairResult::Ok(o) => &o.app.env,
            PairResult::Err(e) => &e.env,
        }
    }
}

pub(super) fn run_pair(ctx: &BuildContext<'_>, app: &ResolvedApp) -> PairResult {
    match render_pair(ctx, app) {
        Ok(o) => PairResult::Ok(Box::new(o)),
        Err(kind) => PairResult::Err(PairError { env: app.env.clone(), app: app.app.clone(), kind }),
    }
}

fn renderer_for(ctx: &BuildContext<'_>, app: &ResolvedApp) -> Result<Box<dyn Renderer>, RenderError> {
    Ok(match &app.source {
        ResolvedSource::Helm(_) => Box::new(HelmRenderer { tool: ctx.tools.helm.clone()? }),
        ResolvedSource::Kustomize { .. } => Box::new(KustomizeRenderer { tool: ctx.tools.kustomize.clone()? }),
        ResolvedSource::Plain { .. } => Box::new(PlainRenderer),
    })
}

fn cache_key(fingerprint: &str, app: &ResolvedApp, inputs: &BTreeMap<String, String>, chart: Option<&ChartLocation>) -> String {
    let chart_digest = match chart {
        Some(ChartLocation::Archive(p)) => p.file_name().map(|n| n.to_string_lossy().to_string()),
        _ => None,
    };
    let material = serde_json::json!({
        "format": CACHE_FORMAT,
        "renderer": fingerprint,
        "app": app,
        "inputs": inputs,
        "chart": chart_digest,
    });
    hex::encode(Sha256::digest(material.to_string().as_bytes()))
}

fn render_pair(ctx: &BuildContext<'_>, app: &ResolvedApp) -> Result<PairOutput, PairErrorKind> {
    let chart = match &app.source {
        ResolvedSource::Helm(h) => Some(match &h.chart {
            ChartRef::Local { path } => ChartLocation::Repo(path.clone()),
            remote => ChartLocation::Archive(ctx.charts.locate(remote, ctx.lock)?),
        }),
        _ => None,
    };
    let inputs = input_digests(ctx.tree, app)?;
    let renderer = renderer_for(ctx, app)?;
    let fingerprint = renderer.fingerprint();
    let key = cache_key(&fingerprint, app, &inputs, chart.as_ref());
    let (text, cached) = match ctx.cache.get(&key) {
        Some(t) => (t, true),
        None => {
            let req = RenderRequest { tree: ctx.tree, app, chart: chart.as_ref() };
            let t = renderer.render(&req)?;
            ctx.cache.put(&key, &t);
            (t, false)
        }
    };
    let mut objects = to_objects(&text)?;
    if matches!(app.source, ResolvedSource::Helm(_)) {
        objects.retain(|o| !is_helm_test(o));
    }
    Ok(PairOutput { app: app.clone(), objects, cache_key: key, inputs, renderer: fingerprint, cached })
}

/// Helm test hooks (`helm.sh/hook: test...`) are run by `helm test`, not part of the desired
/// state; they are left out, as Argo CD and Flux leave them out of a sync.
fn is_helm_test(o: &Object) -> bool {
    o.value()["metadata"]["annotations"]["helm.sh/hook"]
        .as_str()
        .is_some_and(|h| h.split(',').any(|x| x.trim().starts_with("test")))
}

/// The `# Source: path` comment helm and the plain renderer put before each document.
fn source_comments(text: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut in_doc = false;
    for line in text.lines() {
        if line.starts_with("---") {
            if in_doc {
                out.push(current.take());
            }
            in_doc = false;
            current = None;
        } else if let Some(s) = line.strip_prefix("# Source: ") {
            current = Some(s.trim().to_string());
        } else if !line.trim().is_empty() && !line.starts_with('#') {
            in_doc = true;
        }
    }
    if in_doc {
        out.push(current);
    }
    out
}

pub(super) fn to_objects(text: &str) -> Result<Vec<Object>, PairErrorKind> {
    let docs = parse_documents(text)?;
    let sources = source_comments(text);
    docs.into_iter()
        .enumerate()
        .map(|(i, v)| {
            Object::from_value(v).map_err(|source| PairErrorKind::Object {
                index: i + 1,
                source_file: sources.get(i).cloned().flatten(),
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_comments_follow_documents() {
        let t = "---\n# Source: a.yaml\nkind: A\n---\n# Source: b.yaml\n# only a comment\n---\n# Source: c.yaml\nkind: C\n";
        assert_eq!(source_comments(t), [Some("a.yaml".to_string()), Some("c.yaml".to_string())]);
    }

    #[test]
    fn bad_document_names_its_source() {
        let t = "---\n# Source: a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# Source: b.yaml\napiVersion: v1\nkind: ConfigMap\n";
        let Err(err) = to_objects(t) else { panic!("must fail") };
        assert_eq!(err.to_string(), "document 2 (b.yaml): field `metadata.name` is missing");
    }
}
