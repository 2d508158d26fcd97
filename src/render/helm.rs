//! Helm charts through `helm template`, with the flags a CI script would pass.

use super::{ChartLocation, RenderError, RenderRequest, Renderer, Tool};
use crate::config::{ResolvedHelm, ResolvedSource};
use serde_json::{Map, Value};
use std::path::Path;
use std::process::Stdio;

pub struct HelmRenderer {
    pub tool: Tool,
}

/// Flattens inline values into `--set-json path=json` pairs, one per leaf, so that they merge
/// key by key over the values files exactly as `--set` does.
fn set_json_args(prefix: &str, map: &Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in map {
        let key = k.replace('.', "\\.");
        let path = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        match v {
            Value::Object(m) if !m.is_empty() => set_json_args(&path, m, out),
            _ => out.push(format!("{path}={v}")),
        }
    }
}

/// Inline values without the leaves that are empty maps: given to helm as one values file after
/// the others. A values file merges key by key like `--set` (a later map merges into an
/// earlier one, a scalar, list or null replaces), except for an empty map, which `--set-json`
/// sets and a file merges away: those few stay on the command line. `None` when nothing is
/// left for the file.
pub fn inline_values_file(set: &Map<String, Value>) -> Option<Value> {
    fn strip(map: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in map {
            match v {
                Value::Object(m) if m.is_empty() => {}
                Value::Object(m) => {
                    let inner = strip(m);
                    if !inner.is_empty() {
                        out.insert(k.clone(), Value::Object(inner));
                    }
                }
                v => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }
    let m = strip(set);
    (!m.is_empty()).then_some(Value::Object(m))
}

fn empty_map_leaves(set: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in set {
        if let Value::Object(m) = v {
            if m.is_empty() {
                out.insert(k.clone(), v.clone());
            } else {
                let inner = empty_map_leaves(m);
                if !inner.is_empty() {
                    out.insert(k.clone(), Value::Object(inner));
                }
            }
        }
    }
    out
}

/// The arguments after `helm`: `template RELEASE CHART --namespace NS -f ... --kube-version ...`.
/// `root` is where repository paths are found on disk. With `inline`, the file that holds
/// [`inline_values_file`] is passed as the last `--values`, and only empty-map leaves go on the
/// command line: thousands of inline values would otherwise exceed the argument list limit.
pub fn helm_args(
    h: &ResolvedHelm,
    namespace: Option<&str>,
    kube_version: &str,
    chart: &Path,
    root: &Path,
    inline: Option<&Path>,
) -> Vec<String> {
    let mut args = vec![
        "template".to_string(),
        h.release_name.clone(),
        chart.display().to_string(),
    ];
    if let Some(ns) = namespace {
        args.extend(["--namespace".into(), ns.into()]);
    }
    for v in &h.values {
        args.extend(["--values".into(), root.join(v).display().to_string()]);
    }
    let mut sets = Vec::new();
    match inline {
        Some(file) => {
            args.extend(["--values".into(), file.display().to_string()]);
            set_json_args("", &empty_map_leaves(&h.set), &mut sets);
        }
        None => set_json_args("", &h.set, &mut sets),
    }
    for s in sets {
        args.extend(["--set-json".into(), s]);
    }
    // Empty: helm's own default, as `helm template` without the flag.
    if !kube_version.is_empty() {
        args.extend(["--kube-version".into(), kube_version.into()]);
    }
    for a in &h.api_versions {
        args.extend(["--api-versions".into(), a.clone()]);
    }
    if h.include_crds {
        args.push("--include-crds".into());
    }
    for (on, flag) in [
        (h.flags.skip_tests, "--skip-tests"),
        (h.flags.no_hooks, "--no-hooks"),
        (h.flags.is_upgrade, "--is-upgrade"),
        (h.flags.skip_schema_validation, "--skip-schema-validation"),
    ] {
        if on {
            args.push(flag.into());
        }
    }
    for (flag, value) in &h.flags.sets {
        args.extend([flag.clone(), value.clone()]);
    }
    for s in &h.flags.show_only {
        args.extend(["--show-only".into(), s.clone()]);
    }
    args
}

/// Runs a tool with no cluster and no user configuration in reach, and returns its stdout.
pub(crate) fn run_tool(tool: &Tool, args: &[String], cwd: &Path) -> Result<String, RenderError> {
    run_tool_input(tool, args, cwd, None, &crate::secrets::Disclosed::default())
}

/// [`run_tool`] with bytes on the tool's stdin (decrypted values: a pipe, never a file). Every
/// value of `secrets`, in every encoding, is redacted from the tool's messages before anyone
/// sees them.
pub(crate) fn run_tool_input(
    tool: &Tool,
    args: &[String],
    cwd: &Path,
    input: Option<&[u8]>,
    secrets: &crate::secrets::Disclosed,
) -> Result<String, RenderError> {
    use std::io::Write;
    let name = tool
        .path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let spawn_err = |e: std::io::Error| RenderError::Spawn {
        tool: name.clone(),
        message: e.to_string(),
    };
    let mut child = tool
        .command()
        .args(args)
        .current_dir(cwd)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_err)?;
    let out = std::thread::scope(|s| {
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            s.spawn(move || {
                let _ = stdin.write_all(bytes);
            });
        }
        child.wait_with_output()
    })
    .map_err(spawn_err)?;
    if !out.status.success() {
        return Err(RenderError::Failed {
            tool: name,
            status: out
                .status
                .code()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "signal".into()),
            stderr: secrets.redact(String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| RenderError::NotText {
        path: format!("{name} output"),
    })
}

/// Writes inline values to a private temporary file, removed when it drops or on Ctrl-C.
fn write_inline_values(
    v: &Value,
) -> Result<crate::tempfiles::Tracked<tempfile::NamedTempFile>, RenderError> {
    let err = |e: std::io::Error| RenderError::Spawn {
        tool: "helm".into(),
        message: format!("cannot write the inline values to a temporary file: {e}"),
    };
    let file = crate::tempfiles::track(
        || {
            tempfile::Builder::new()
                .prefix(&crate::tempfiles::prefix("set"))
                .suffix(".json")
                .tempfile()
        },
        |f| f.path().to_path_buf(),
    )
    .map_err(err)?;
    std::fs::write(file.path(), v.to_string()).map_err(err)?;
    Ok(file)
}

/// A helm request's app, the materialised tree and where its chart is on disk.
pub(super) fn helm_request<'a>(
    req: &RenderRequest<'a>,
) -> Result<(&'a ResolvedHelm, std::path::PathBuf, std::path::PathBuf), RenderError> {
    let ResolvedSource::Helm(h) = &req.app.source else {
        return Err(RenderError::Invalid("not a helm app".into()));
    };
    let root = req.tree.materialize()?;
    let chart = match req.chart {
        Some(ChartLocation::Repo(p)) => root.join(p),
        Some(ChartLocation::Archive(p)) => p.clone(),
        None => return Err(RenderError::Invalid("no chart location".into())),
    };
    Ok((h, root, chart))
}

impl Renderer for HelmRenderer {
    fn name(&self) -> &'static str {
        "helm"
    }

    fn fingerprint(&self) -> String {
        format!("helm {}", self.tool.version)
    }

    fn render(&self, req: &RenderRequest<'_>) -> Result<String, RenderError> {
        let (h, root, chart) = helm_request(req)?;
        if let Some(s) = &h.secret_values {
            // A Flux HelmRelease's values, some from Secrets: the whole merge through a pipe,
            // as the one values map helm-controller hands to helm.
            let plain = ResolvedHelm {
                set: Map::new(),
                secret_values: None,
                ..h.clone()
            };
            let mut args = helm_args(
                &plain,
                req.app.namespace.as_deref(),
                &req.app.kube_version,
                &chart,
                &root,
                None,
            );
            args.extend(["--values".to_string(), "-".to_string()]);
            let json = serde_json::to_string(s.values())
                .map_err(|e| RenderError::Invalid(e.to_string()))?;
            return run_tool_input(
                &self.tool,
                &args,
                &root,
                Some(json.as_bytes()),
                s.disclosed(),
            );
        }
        // Inline values (from ferry.yaml, never decrypted ones) reach helm in a file of ours.
        let inline = match inline_values_file(&h.set) {
            Some(v) => Some(write_inline_values(&v)?),
            None => None,
        };
        let mut args = helm_args(
            h,
            req.app.namespace.as_deref(),
            &req.app.kube_version,
            &chart,
            &root,
            inline.as_ref().map(|f| f.path()),
        );
        // sops-encrypted values files are decrypted in memory and reach helm through a pipe.
        let encrypted = crate::secrets::build::encrypted_values(req.tree, &h.values);
        if encrypted.is_empty() {
            return run_tool(&self.tool, &args, &root);
        }
        let files: Vec<&str> = encrypted.iter().map(|&i| h.values[i].as_str()).collect();
        let (values, secrets) = crate::secrets::build::helm_secret_values(req.tree, &files)
            .map_err(|e| RenderError::Invalid(e.to_string()))?;
        let mut last = 0;
        for f in &files {
            let path = root.join(f).display().to_string();
            if let Some(i) = args
                .windows(2)
                .position(|w| w[0] == "--values" && w[1] == path)
            {
                args.drain(i..i + 2);
                last = i;
            }
        }
        args.splice(last..last, ["--values".to_string(), "-".to_string()]);
        run_tool_input(&self.tool, &args, &root, Some(values.as_bytes()), &secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ChartRef;
    use serde_json::json;

    #[test]
    fn args_keep_order_and_flatten_set() {
        let set = json!({"image": {"tag": "1.2"}, "a.b": true, "list": [1, 2], "empty": {}});
        let h = ResolvedHelm {
            chart: ChartRef::Local { path: "c".into() },
            release_name: "rel".into(),
            values: vec!["v1.yaml".into(), "v2.yaml".into()],
            set: set.as_object().cloned().unwrap_or_default(),
            api_versions: vec!["x/v1".into()],
            include_crds: true,
            renderer: Default::default(),
            flags: Default::default(),
            post_render: None,
            secret_values: None,
        };
        let args = helm_args(
            &h,
            Some("ns"),
            "1.31.0",
            Path::new("/r/c"),
            Path::new("/r"),
            None,
        );
        assert_eq!(
            args.join(" "),
            "template rel /r/c --namespace ns --values /r/v1.yaml --values /r/v2.yaml \
             --set-json image.tag=\"1.2\" --set-json a\\.b=true --set-json list=[1,2] --set-json empty={} \
             --kube-version 1.31.0 --api-versions x/v1 --include-crds"
        );
    }

    #[test]
    fn inline_values_go_to_a_file_except_empty_maps() {
        let set = json!({"image": {"tag": "1.2"}, "a.b": true, "list": [1, 2], "empty": {}, "n": {"e": {}}});
        let m = set.as_object().cloned().unwrap_or_default();
        assert_eq!(
            inline_values_file(&m),
            Some(json!({"image": {"tag": "1.2"}, "a.b": true, "list": [1, 2]}))
        );
        let h = ResolvedHelm {
            chart: ChartRef::Local { path: "c".into() },
            release_name: "rel".into(),
            values: vec!["v1.yaml".into()],
            set: m,
            api_versions: vec![],
            include_crds: false,
            renderer: Default::default(),
            flags: Default::default(),
            post_render: None,
            secret_values: None,
        };
        let args = helm_args(
            &h,
            None,
            "1.31.0",
            Path::new("/r/c"),
            Path::new("/r"),
            Some(Path::new("/t/set.json")),
        );
        assert_eq!(
            args.join(" "),
            "template rel /r/c --values /r/v1.yaml --values /t/set.json \
             --set-json empty={} --set-json n.e={} --kube-version 1.31.0"
        );
    }
}
