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
    /// `--offline`: the tool runs where it cannot reach a network ([`offline_env`]), and
    /// renderers refuse inputs that would make it try (remote kustomize bases).
    pub offline: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolError {
    #[error("{tool} was not found ({searched})\nhint: {hint}")]
    Missing {
        tool: &'static str,
        searched: String,
        hint: &'static str,
    },
    #[error("{} does not run: {message}\nhint: check the binary, or point {env} at another one", path.display())]
    Broken {
        path: PathBuf,
        env: &'static str,
        message: String,
    },
}

impl ToolError {
    /// Missing after a search of flag, environment and PATH: nothing named a binary. (A path
    /// given with the flag or the environment that is not there is a user's mistake instead.)
    pub fn nothing_named(&self) -> bool {
        matches!(self, ToolError::Missing { searched, .. } if searched.ends_with("PATH"))
    }
}

const HELM_HINT: &str = "install helm and put it on PATH, or set FERRY_HELM / --helm to its path \
     (in a checkout of ferry, `scripts/install-tools.sh` installs helm and kubectl into .tools/bin)";
const KUSTOMIZE_HINT: &str = "install kubectl or kustomize and put it on PATH, or set FERRY_KUSTOMIZE / --kustomize to its path \
     (in a checkout of ferry, `scripts/install-tools.sh` installs helm and kubectl into .tools/bin)";

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

/// The variables a tool may see; everything else is withheld.
const TOOL_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "DOCKER_CONFIG",
];

/// A command for an external tool that gets only what it needs from our environment: never a
/// key (SOPS_AGE_KEY, FERRY_DIFF_KEY, COSIGN_PASSWORD...) and never a cluster.
pub fn tool_command(path: &Path) -> Command {
    let mut cmd = Command::new(path);
    cmd.env_clear();
    for (k, v) in std::env::vars_os() {
        let name = k.to_string_lossy();
        let helm_setting = name.starts_with("HELM_") && !name.contains("PASSWORD");
        if TOOL_ENV.contains(&name.as_ref()) || helm_setting {
            cmd.env(&k, &v);
        }
    }
    cmd.env("KUBECONFIG", "/dev/null")
        .env("HELM_KUBECONTEXT", "");
    cmd
}

/// Where a refused connection goes: the discard port on loopback, where nothing listens.
const NO_PROXY_HERE: &str = "http://127.0.0.1:9";

/// Makes `cmd` unable to reach a network, whatever its inputs say: every HTTP(S) request goes
/// to a proxy that refuses the connection (Go's HTTP client, hence helm and kubectl, honour
/// these variables; loopback is exempt and is not a network), and git, which kustomize runs
/// for a remote base, may use no transport but local files.
pub fn offline_env(cmd: &mut Command) {
    for k in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env(k, NO_PROXY_HERE);
    }
    cmd.env("NO_PROXY", "")
        .env("no_proxy", "")
        .env("GIT_ALLOW_PROTOCOL", "file")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_SSH_COMMAND", "false");
}

impl Tool {
    /// [`tool_command`] for this tool, offline when it was found for an offline run.
    pub fn command(&self) -> Command {
        let mut cmd = tool_command(&self.path);
        if self.offline {
            offline_env(&mut cmd);
        }
        cmd
    }
}

fn run_version(path: &Path, args: &[&str], env: &'static str) -> Result<String, ToolError> {
    let out = tool_command(path)
        .args(args)
        .output()
        .map_err(|e| ToolError::Broken {
            path: path.into(),
            env,
            message: e.to_string(),
        })?;
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
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if name.starts_with("kubectl") {
        ToolKind::Kubectl
    } else {
        ToolKind::Kustomize
    }
}

/// Asking a tool its version costs a process start (tens of milliseconds for kubectl); the answer
/// is remembered per binary, keyed by its path, size and modification time.
struct VersionMemo {
    file: Option<PathBuf>,
}

impl VersionMemo {
    fn key(path: &Path) -> Option<String> {
        let md = std::fs::metadata(path).ok()?;
        let mtime = md
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some(format!("{}|{}|{mtime}", path.display(), md.len()))
    }

    fn load(&self) -> serde_json::Map<String, serde_json::Value> {
        self.file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn version(
        &self,
        path: &Path,
        ask: impl FnOnce() -> Result<String, ToolError>,
    ) -> Result<String, ToolError> {
        let Some(key) = Self::key(path) else {
            return ask();
        };
        if let Some(v) = self.load().get(&key).and_then(|v| v.as_str()) {
            return Ok(v.to_string());
        }
        let v = ask()?;
        if let Some(file) = &self.file {
            let mut all = self.load();
            all.insert(key, serde_json::Value::String(v.clone()));
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
                if let Ok(tmp) = tempfile::NamedTempFile::new_in(dir) {
                    if std::fs::write(tmp.path(), serde_json::Value::Object(all).to_string())
                        .is_ok()
                    {
                        let _ = tmp.persist(file);
                    }
                }
            }
        }
        Ok(v)
    }
}

impl Tools {
    /// The same tools, run offline (`--offline`): see [`Tool::offline`].
    pub fn offline(mut self) -> Tools {
        for t in [&mut self.helm, &mut self.kustomize].into_iter().flatten() {
            t.offline = true;
        }
        self
    }

    /// Finds helm and kustomize: explicit paths first, then `FERRY_HELM` / `FERRY_KUSTOMIZE`,
    /// then `PATH` (kubectl before kustomize). Versions are remembered under `cache_dir`.
    pub fn discover(
        helm: Option<&Path>,
        kustomize: Option<&Path>,
        cache_dir: Option<&Path>,
    ) -> Tools {
        let memo = VersionMemo {
            file: cache_dir.map(|d| d.join("tool-versions.json")),
        };
        Tools {
            helm: Self::find_helm(helm, &memo),
            kustomize: Self::find_kustomize(kustomize, &memo),
        }
    }

    fn find_helm(explicit: Option<&Path>, memo: &VersionMemo) -> Result<Tool, ToolError> {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("FERRY_HELM").map(PathBuf::from))
            .or_else(|| search_path("helm"))
            .ok_or(ToolError::Missing {
                tool: "helm",
                searched: "--helm, FERRY_HELM, PATH".into(),
                hint: HELM_HINT,
            })?;
        if !path.is_file() {
            return Err(ToolError::Missing {
                tool: "helm",
                searched: path.display().to_string(),
                hint: HELM_HINT,
            });
        }
        let version = memo.version(&path, || {
            run_version(
                &path,
                &["version", "--template", "{{.Version}}"],
                "FERRY_HELM",
            )
        })?;
        Ok(Tool {
            kind: ToolKind::Helm,
            path,
            version,
            offline: false,
        })
    }

    fn find_kustomize(explicit: Option<&Path>, memo: &VersionMemo) -> Result<Tool, ToolError> {
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
            return Err(ToolError::Missing {
                tool: "kustomize",
                searched: path.display().to_string(),
                hint: KUSTOMIZE_HINT,
            });
        }
        let kind = kind_of_kustomize(&path);
        let version = memo.version(&path, || {
            Ok(match kind {
                ToolKind::Kubectl => {
                    let json = run_version(
                        &path,
                        &["version", "--client", "-o", "json"],
                        "FERRY_KUSTOMIZE",
                    )?;
                    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
                    format!(
                        "kubectl {} kustomize {}",
                        v["clientVersion"]["gitVersion"].as_str().unwrap_or("?"),
                        v["kustomizeVersion"].as_str().unwrap_or("?")
                    )
                }
                _ => format!(
                    "kustomize {}",
                    run_version(&path, &["version"], "FERRY_KUSTOMIZE")?
                ),
            })
        })?;
        Ok(Tool {
            kind,
            path,
            version,
            offline: false,
        })
    }
}
