//! Finding the external tools (helm, kubectl/kustomize) and their versions.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    Helm,
    /// `kubectl kustomize DIR`.
    Kubectl,
    /// `kustomize build DIR`.
    Kustomize,
}

#[derive(Debug, Clone)]
pub struct Tool {
    pub kind: ToolKind,
    pub path: PathBuf,
    pub version: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolError {
    #[error("{tool} was not found ({searched})\nhint: {hint}")]
    Missing { tool: &'static str, searched: String, hint: &'static str },
    #[error("{} does not run: {message}\nhint: check the binary, or point {env} at another one", path.display())]
    Broken { path: PathBuf, env: &'static str, message: String },
}

const HELM_HINT: &str = "install helm (`./setup.sh` does), put it on PATH, or set FERRY_HELM / --helm to its path";
const KUSTOMIZE_HINT: &str = "install kubectl or kustomize (`./setup.sh` does), put it on PATH, or set FERRY_KUSTOMIZE / --kustomize to its path";

/// The tools a build may use, found once per run. A missing tool is only an error when an app
/// needs it.
#[derive(Debug, Clone)]
pub struct Tools {
    pub helm: Result<Tool, ToolError>,
    pub kustomize: Result<Tool, ToolError>,
}

fn search_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn run_version(path: &Path, args: &[&str], env: &'static str) -> Result<String, ToolError> {
    let out = Command::new(path)
        .args(args)
        .env("KUBECONFIG", "/dev/null")
        .output()
        .map_err(|e| ToolError::Broken { path: path.into(), env, message: e.to_string() })?;
    if !out.status.success() {
        return Err(ToolError::Broken {
            path: path.into(),
            env,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn kind_of_kustomize(path: &Path) -> ToolKind {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if name.starts_with("kubectl") {
        ToolKind::Kubectl
    } else {
        ToolKind::Kustomize
    }
}

impl Tools {
    /// Finds helm and kustomize: explicit paths first, then `FERRY_HELM` / `FERRY_KUSTOMIZE`,
    /// then `PATH` (kubectl before kustomize).
    pub fn discover(helm: Option<&Path>, kustomize: Option<&Path>) -> Tools {
        Tools { helm: Self::find_helm(helm), kustomize: Self::find_kustomize(kustomize) }
    }

    fn find_helm(explicit: Option<&Path>) -> Result<Tool, ToolError> {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("FERRY_HELM").map(PathBuf::from))
            .or_else(|| search_path("helm"))
            .ok_or(ToolError::Missing { tool: "helm", searched: "--helm, FERRY_HELM, PATH".into(), hint: HELM_HINT })?;
        if !path.is_file() {
            return Err(ToolError::Missing { tool: "helm", searched: path.display().to_string(), hint: HELM_HINT });
        }
        let version = run_version(&path, &["version", "--template", "{{.Version}}"], "FERRY_HELM")?;
        Ok(Tool { kind: ToolKind::Helm, path, version })
    }

    fn find_kustomize(explicit: Option<&Path>) -> Result<Tool, ToolError> {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("FERRY_KUSTOMIZE").map(PathBuf::from))
            .or_else(|| search_path("kubectl"))
            .or_else(|| search_path("kustomize"))
            .ok_or(ToolError::Missing {
                tool: "kubectl or kustomize",
                searched: "--kustomize, FERRY_KUSTOMIZE, PATH".into(),
                hint: KUSTOMIZE_HINT,
            })?;
        if !path.is_file() {
            return Err(ToolError::Missing { tool: "kustomize", searched: path.display().to_string(), hint: KUSTOMIZE_HINT });
        }
        let kind = kind_of_kustomize(&path);
        let version = match kind {
            ToolKind::Kubectl => {
                let json = run_version(&path, &["version", "--client", "-o", "json"], "FERRY_KUSTOMIZE")?;
                let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
                format!(
                    "kubectl {} kustomize {}",
                    v["clientVersion"]["gitVersion"].as_str().unwrap_or("?"),
                    v["kustomizeVersion"].as_str().unwrap_or("?")
                )
            }
            _ => format!("kustomize {}", run_version(&path, &["version"], "FERRY_KUSTOMIZE")?),
        };
        Ok(Tool { kind, path, version })
    }
}
