//! The native Helm renderer behind the [`Renderer`] trait (`renderer: native`), and
//! `renderer: auto` for helm apps (the default): native first, the helm binary only for what
//! native refuses as unsupported.

use super::helm::HelmRenderer;
use super::helm_native::{self, Options, NATIVE_HELM_COMPAT};
use super::{ChartLocation, RenderError, RenderRequest, Renderer};
use crate::config::{ResolvedApp, ResolvedHelm, ResolvedSource};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// ferry's own `helm template` ([`helm_native`]); no binary needed.
pub struct NativeHelmRenderer;

/// Sets `value` at a dotted path as `--set-json` does: missing or non-map steps become maps,
/// the leaf is replaced.
fn set_path(into: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        into.insert(first.clone(), value);
        return;
    }
    let slot = into
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(m) = slot {
        set_path(m, rest, value);
    }
}

/// ferry.yaml's inline values over the files, leaf by leaf (an empty map is a leaf), as the
/// binary path hands them to helm.
fn apply_inline(values: &mut Map<String, Value>, set: &Map<String, Value>, prefix: &[String]) {
    for (k, v) in set {
        let mut path = prefix.to_vec();
        path.push(k.clone());
        match v {
            Value::Object(m) if !m.is_empty() => apply_inline(values, m, &path),
            _ => set_path(values, &path, v.clone()),
        }
    }
}

fn native_error(message: String, unsupported: bool) -> RenderError {
    RenderError::NativeHelm {
        message,
        unsupported,
    }
}

/// The user's values (numbers float64 as helm reads them, `--set` integers int64): the files in order (sops-encrypted ones decrypted in memory, merged at
/// the place of the last of them), then ferry.yaml's `set`. Also what to redact from errors.
fn user_values(
    req: &RenderRequest<'_>,
    h: &ResolvedHelm,
) -> Result<(Map<String, Value>, crate::secrets::Disclosed), RenderError> {
    let encrypted = crate::secrets::build::encrypted_values(req.tree, &h.values);
    let mut secrets = crate::secrets::Disclosed::default();
    let mut opened: Option<Map<String, Value>> = None;
    if !encrypted.is_empty() {
        let files: Vec<&str> = encrypted.iter().map(|&i| h.values[i].as_str()).collect();
        let (text, disclosed) = crate::secrets::build::helm_secret_values(req.tree, &files)
            .map_err(|e| RenderError::Invalid(e.to_string()))?;
        secrets = disclosed;
        opened = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => Some(helm_native::float64_map(m)),
            _ => Some(Map::new()),
        };
    }
    let last = encrypted.last().copied();
    let mut values = Map::new();
    for (i, f) in h.values.iter().enumerate() {
        if encrypted.contains(&i) {
            if Some(i) == last {
                helm_native::merge_maps(&mut values, opened.take().unwrap_or_default());
            }
            continue;
        }
        let data = req.tree.read(f)?;
        let m = helm_native::read_values_file(&data, f)
            .map_err(|e| native_error(e.to_string(), false))?;
        helm_native::merge_maps(&mut values, m);
    }
    // Inline values reach helm as JSON, so their numbers are float64 too.
    match &h.secret_values {
        // A Flux HelmRelease with values from Secrets: the whole merge, in Flux's order.
        Some(s) => {
            apply_inline(
                &mut values,
                &helm_native::float64_map(s.values().clone()),
                &[],
            );
            secrets.extend(s.disclosed().clone());
        }
        None => apply_inline(&mut values, &helm_native::float64_map(h.set.clone()), &[]),
    }
    apply_set_flags(req, h, &mut values)?;
    Ok((values, secrets))
}

/// `ferry render helm`'s `--set` family, flag by flag in helm's order. Integers `--set` types
/// stay integer numbers, int64 to the templates as in helm (`helm_native::typed`).
fn apply_set_flags(
    req: &RenderRequest<'_>,
    h: &ResolvedHelm,
    values: &mut Map<String, Value>,
) -> Result<(), RenderError> {
    use super::helm_strvals::{parse_into, parse_literal, Kind};
    let read_file = |path: &str| -> Result<String, String> {
        if path.contains("://") || path == "-" {
            return Err(format!(
                "{path}: ferry reads --set-file values from files in the repository only"
            ));
        }
        let data = req.tree.read(path).map_err(|e| e.to_string())?;
        String::from_utf8(data).map_err(|_| format!("`{path}` is not UTF-8 text"))
    };
    for flag in crate::config::HELM_SET_FLAGS {
        for (_, arg) in h.flags.sets.iter().filter(|(f, _)| f == flag) {
            let trimmed = arg.trim();
            let result = match flag {
                "--set-json" if trimmed.starts_with('{') => {
                    match serde_json::from_str::<Map<String, Value>>(trimmed) {
                        Ok(m) => {
                            helm_native::merge_maps(values, helm_native::float64_map(m));
                            Ok(())
                        }
                        Err(_) => {
                            return Err(native_error(
                                format!("failed parsing --set-json data JSON: {arg}"),
                                false,
                            ))
                        }
                    }
                }
                "--set-json" => parse_into(arg, values, Kind::Json)
                    .map_err(|_| format!("failed parsing --set-json data {arg}")),
                "--set" => parse_into(arg, values, Kind::Typed)
                    .map_err(|e| format!("failed parsing --set data: {e}")),
                "--set-string" => parse_into(arg, values, Kind::String)
                    .map_err(|e| format!("failed parsing --set-string data: {e}")),
                "--set-file" => parse_into(arg, values, Kind::File(&read_file))
                    .map_err(|e| format!("failed parsing --set-file data: {e}")),
                _ => parse_literal(arg, values)
                    .map_err(|e| format!("failed parsing set literal: {e}")),
            };
            result.map_err(|m| native_error(m, false))?;
        }
    }
    Ok(())
}

/// A chart path named relative to the repository, normalised; `None` for an absolute one or
/// one that leaves the repository (read from the disk, as helm would).
fn in_repository(path: &str) -> Option<String> {
    if std::path::Path::new(path).is_absolute() {
        return None;
    }
    crate::source::normalize(path)
}

/// helm's release name check (`chartutil.ValidateReleaseName`).
fn check_release_name(name: &str) -> Result<(), RenderError> {
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !name.is_empty() && name.len() <= 53 && name.split('.').all(label) {
        return Ok(());
    }
    Err(native_error(
        format!(
            "release name check failed: release name {name:?}: invalid release name, must match \
             regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the \
             length must not be longer than 53"
        ),
        false,
    ))
}

/// `helm template` options for an app.
fn options(app: &ResolvedApp, h: &ResolvedHelm, values: Map<String, Value>) -> Options {
    Options {
        release_name: h.release_name.clone(),
        // helm's namespace without a kubeconfig.
        namespace: app.namespace.clone().unwrap_or_else(|| "default".into()),
        kube_version: app.kube_version.clone(),
        api_versions: h.api_versions.clone(),
        include_crds: h.include_crds,
        skip_tests: h.flags.skip_tests,
        no_hooks: h.flags.no_hooks,
        is_upgrade: h.flags.is_upgrade,
        skip_schema_validation: h.skip_schema_validation,
        values,
    }
}

impl Renderer for NativeHelmRenderer {
    fn name(&self) -> &'static str {
        "helm"
    }

    fn fingerprint(&self) -> String {
        format!(
            "ferry-native {} ({NATIVE_HELM_COMPAT})",
            env!("CARGO_PKG_VERSION")
        )
    }

    fn render(&self, req: &RenderRequest<'_>) -> Result<String, RenderError> {
        let ResolvedSource::Helm(h) = &req.app.source else {
            return Err(RenderError::Invalid("not a helm app".into()));
        };
        check_release_name(&h.release_name)?;
        let (values, secrets) = user_values(req, h)?;
        let opts = options(req.app, h, values);
        let failed = |e: helm_native::Error, root: Option<&std::path::Path>| {
            let unsupported = matches!(e, helm_native::Error::Unsupported(_));
            let mut message = e.to_string();
            // Name files as the repository does, not by where the tree was materialised.
            if let Some(root) = root {
                let root = root.canonicalize().unwrap_or(root.to_path_buf());
                message = message.replace(&format!("{}/", root.display()), "");
            }
            native_error(secrets.redact(&message), unsupported)
        };
        // A chart in the repository is read from the tree itself: no checkout on disk.
        let chart = match req.chart {
            Some(ChartLocation::Repo(p)) => match in_repository(p) {
                Some(rel) => chart_from_tree(req.tree, &rel).map_err(|e| failed(e, None))?,
                None => {
                    let root = req.tree.materialize()?;
                    helm_native::load(&root.join(p)).map_err(|e| failed(e, Some(&root)))?
                }
            },
            Some(ChartLocation::Archive(p)) => helm_native::load(p).map_err(|e| failed(e, None))?,
            None => return Err(RenderError::Invalid("no chart location".into())),
        };
        let text = helm_native::render_chart(chart, &opts).map_err(|e| failed(e, None))?;
        if h.flags.show_only.is_empty() {
            return Ok(text);
        }
        super::helm_show_only::show_only(&text, &h.flags.show_only)
            .map_err(|m| native_error(m, false))
    }
}

/// A chart directory (or archive) of a repository tree, read once per content: a fleet renders
/// one chart for many releases, and reading it means inflating every file of it from Git.
/// Keyed by its path and the digest of its content, so trees of other revisions share it only
/// when the chart is the same.
fn chart_from_tree(
    tree: &dyn crate::source::Tree,
    rel: &str,
) -> Result<helm_native::Chart, helm_native::Error> {
    type Loaded = HashMap<String, Arc<OnceLock<helm_native::Chart>>>;
    static LOADED: OnceLock<Mutex<Loaded>> = OnceLock::new();
    let Ok(digest) = tree.digest(rel) else {
        return helm_native::load_from_tree(tree, rel);
    };
    let slot = {
        let mut loaded = LOADED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // A long-running process (the agent) sees revision after revision: bounded.
        if loaded.len() >= 256 {
            loaded.clear();
        }
        loaded
            .entry(format!("{rel}\0{digest}"))
            .or_default()
            .clone()
    };
    if let Some(chart) = slot.get() {
        return Ok(chart.clone());
    }
    // Errors are not kept: each release reports its own.
    let chart = helm_native::load_from_tree(tree, rel)?;
    Ok(slot.get_or_init(|| chart).clone())
}

/// `renderer: auto` for helm apps: native first, and the helm binary only for a chart native
/// refuses because it needs a feature native lacks (the refusal names it). Everything else
/// native reports (a template error, a missing dependency, a bad values file) is the answer:
/// helm fails on it too, with the same words.
pub struct AutoHelmRenderer {
    /// `None` when no helm is installed: then a refusal is the error, with its reason.
    pub binary: Option<HelmRenderer>,
}

impl AutoHelmRenderer {
    /// With the helm that was found, if any. A helm named with `--helm` or `FERRY_HELM` that
    /// is missing or broken stays an error: the user asked for it.
    pub fn new(helm: Result<super::Tool, super::ToolError>) -> Result<Self, super::ToolError> {
        match helm {
            Ok(tool) => Ok(AutoHelmRenderer {
                binary: Some(HelmRenderer { tool }),
            }),
            Err(e) if e.nothing_named() => Ok(AutoHelmRenderer { binary: None }),
            Err(e) => Err(e),
        }
    }
}

impl Renderer for AutoHelmRenderer {
    fn name(&self) -> &'static str {
        "helm"
    }

    fn fingerprint(&self) -> String {
        // Either may have rendered a key, so both versions are part of it.
        let binary = self
            .binary
            .as_ref()
            .map_or_else(|| "no binary".to_string(), |b| b.fingerprint());
        format!("auto: {} | {binary}", NativeHelmRenderer.fingerprint())
    }

    fn render(&self, req: &RenderRequest<'_>) -> Result<String, RenderError> {
        match (NativeHelmRenderer.render(req), &self.binary) {
            (
                Err(RenderError::NativeHelm {
                    unsupported: true, ..
                }),
                Some(binary),
            ) => binary.render(req),
            (
                Err(RenderError::NativeHelm {
                    message,
                    unsupported: true,
                }),
                None,
            ) => Err(RenderError::NativeHelm {
                message: format!(
                    "{message}\nhint: install helm (v4) so that `renderer: auto` hands this chart to it, \
                     or set `renderer: binary` for this app"
                ),
                unsupported: true,
            }),
            (result, _) => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inline_values_set_leaves_like_set_json() {
        let mut v = json!({"a": {"b": 1, "c": 2}, "l": 5, "e": {"x": 1}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let set = json!({"a": {"b": 3}, "l": {"m": true}, "e": {}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        apply_inline(&mut v, &set, &[]);
        assert_eq!(
            Value::Object(v),
            json!({"a": {"b": 3, "c": 2}, "l": {"m": true}, "e": {}})
        );
    }
}
