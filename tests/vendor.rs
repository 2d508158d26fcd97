//! `ferry vendor` against real sources, with no helm on its PATH: a chart pushed with `helm
//! push` to a real OCI registry (CNCF distribution) that asks for a password (found in Docker's
//! config), and a chart in a Helm repository (`helm package` + `helm repo index`) served over
//! HTTP on loopback behind basic auth. After vendoring, `ferry build` needs neither: it builds
//! with both stopped.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

struct Registry {
    dir: tempfile::TempDir,
    script: PathBuf,
    addr: String,
}

impl Registry {
    fn start(htpasswd: Option<&str>) -> Option<Registry> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/registry.sh");
        if !script.is_file() || common::require_tool("docker-registry").is_none() {
            if common::peers_required() {
                panic!("registry.sh or docker-registry missing");
            }
            eprintln!("SKIP: no registry.sh / docker-registry");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new("bash");
        cmd.arg(&script).arg("start").arg(dir.path());
        if let Some(h) = htpasswd {
            cmd.args(["--htpasswd", h]);
        }
        let out = cmd
            .env("PATH", common::test_path())
            .output()
            .expect("registry.sh");
        assert!(
            out.status.success(),
            "registry start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let addr = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Some(Registry { dir, script, addr })
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

/// A Helm repository: `helm repo index` output served from a directory by a small HTTP/1.0
/// server on loopback that answers 401 without the right basic auth.
struct HttpRepo {
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Requests seen: `(path, authorized)`.
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>,
}

impl HttpRepo {
    fn start(dir: &Path, user: &str, password: &str) -> HttpRepo {
        use base64::Engine;
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (dir, stop2, seen2) = (dir.to_path_buf(), stop.clone(), seen.clone());
        std::thread::spawn(move || {
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                };
                conn.set_nonblocking(false).expect("blocking");
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let mut line = String::new();
                reader.read_line(&mut line).expect("request line");
                let path = line.split(' ').nth(1).unwrap_or("/").to_string();
                let mut authorized = false;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("authorization") && v.trim() == want {
                            authorized = true;
                        }
                    }
                }
                seen2.lock().expect("lock").push((path.clone(), authorized));
                let file = dir.join(path.trim_start_matches('/'));
                let (status, body) = if !authorized {
                    ("401 Unauthorized", b"no".to_vec())
                } else {
                    match std::fs::read(&file) {
                        Ok(b) => ("200 OK", b),
                        Err(_) => ("404 Not Found", b"missing".to_vec()),
                    }
                };
                let _ = write!(
                    conn,
                    "HTTP/1.0 {status}\r\nContent-Length: {}\r\nWWW-Authenticate: Basic realm=\"charts\"\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(&body);
            }
        });
        HttpRepo {
            url: format!("http://127.0.0.1:{port}"),
            stop,
            seen,
        }
    }
}

impl Drop for HttpRepo {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// ferry with no helm on its PATH, Docker's config in `home/docker` and the repository's
/// credentials in FERRY_REPO_CREDS.
fn ferry_in(repo: &Path, cache: &Path, home: &Path, args: &[&str]) -> std::process::Output {
    ferry_creds(repo, cache, home, args, REPO_CREDS)
}

const REPO_CREDS: &str = "bob:hunter22";

fn ferry_creds(
    repo: &Path,
    cache: &Path,
    home: &Path,
    args: &[&str],
    creds: &str,
) -> std::process::Output {
    let empty = home.join("empty-bin");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let host = std::fs::read_to_string(home.join("repo-host")).unwrap_or_default();
    common::ferry(cache)
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("PATH", &empty)
        .env("DOCKER_CONFIG", home.join("docker"))
        .env("FERRY_REPO_CREDS", format!("{host}={creds}"))
        .output()
        .expect("ferry")
}

/// `helm push` of an archive to the registry's `charts` repository, as alice.
fn helm_push(tgz: &str, registry: &Registry, cwd: &Path, home: &Path) {
    common::helm(
        &[
            "push",
            tgz,
            &format!("oci://{}/charts", registry.addr),
            "--plain-http",
            "--username",
            "alice",
            "--password",
            "s3cret",
        ],
        cwd,
        home,
    );
}

/// Indexes `charts/pkg` and serves it behind basic auth; ferry gets the registry's password
/// where Docker (and ferry) keep it, and the repository's in FERRY_REPO_CREDS.
fn serve(charts: &Path, registry: &Registry, home: &Path) -> HttpRepo {
    common::helm(&["repo", "index", "pkg"], charts, home);
    let (user, password) = REPO_CREDS.split_once(':').expect("creds");
    let http = HttpRepo::start(&charts.join("pkg"), user, password);
    std::fs::write(
        home.join("repo-host"),
        http.url.trim_start_matches("http://"),
    )
    .expect("write");
    std::fs::create_dir_all(home.join("docker")).expect("mkdir");
    std::fs::write(
        home.join("docker/config.json"),
        format!(
            "{{\"auths\":{{\"{}\":{{\"auth\":\"{}\"}}}}}}",
            registry.addr,
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "alice:s3cret")
        ),
    )
    .expect("write");
    http
}

#[test]
fn vendored_charts_build_offline_with_their_sources_gone() {
    if common::require_tool("helm").is_none() {
        return;
    }
    let Some(registry) = Registry::start(Some("alice:s3cret")) else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let charts = tempfile::tempdir().expect("tempdir");
    let podinfo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/platform/charts/podinfo");
    common::helm(
        &["package", podinfo.to_str().expect("utf-8"), "-d", "pkg"],
        charts.path(),
        home.path(),
    );
    let tgz = std::fs::read_dir(charts.path().join("pkg"))
        .expect("pkg")
        .next()
        .expect("one archive")
        .expect("entry")
        .path();
    let version = tgz
        .file_stem()
        .expect("name")
        .to_string_lossy()
        .trim_start_matches("podinfo-")
        .to_string();
    helm_push(
        tgz.to_str().expect("utf-8"),
        &registry,
        charts.path(),
        home.path(),
    );
    let http = serve(charts.path(), &registry, home.path());

    let repo = tempfile::tempdir().expect("tempdir");
    let r = repo.path();
    std::fs::write(
        r.join("ferry.yaml"),
        format!(
            "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments: {{dev: {{}}}}\napps:\n  from-oci:\n    namespace: a\n    helm:\n      chart: oci://{}/charts/podinfo\n      version: {version}\n  from-repo:\n    namespace: b\n    helm:\n      chart: podinfo\n      repo: {}\n      version: {version}\n",
            registry.addr, http.url
        ),
    )
    .expect("write");
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "remote charts");

    let out = ferry_in(r, cache.path(), home.path(), &["build"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not pinned in ferry.lock") && stderr.contains("ferry vendor"),
        "{stderr}"
    );

    let out = ferry_in(r, cache.path(), home.path(), &["vendor", "--offline"]);
    assert_eq!(out.status.code(), Some(2), "--offline refuses to fetch");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--offline"));

    // A wrong password for the repository: helm's 401, and what to do.
    let out = ferry_creds(r, cache.path(), home.path(), &["vendor"], "bob:wrong");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("401") && err.contains("--repo-creds"), "{err}");
    assert!(!err.contains("wrong"), "the password is never shown: {err}");

    let out = ferry_in(
        r,
        cache.path(),
        home.path(),
        &["vendor", "--output", "json"],
    );
    assert!(
        out.status.success(),
        "vendor: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        report["fetched"].as_array().expect("fetched").len(),
        2,
        "{report}"
    );
    let lock = std::fs::read_to_string(r.join("ferry.lock")).expect("lock written");
    let digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            std::fs::read(&tgz).expect("tgz")
        ))
    );
    assert_eq!(
        lock.matches(&digest).count(),
        2,
        "both pins are the archive's digest:\n{lock}"
    );

    let seen = http.seen.lock().expect("lock").clone();
    assert!(
        seen.iter().any(|(p, ok)| p == "/index.yaml" && *ok)
            && seen.iter().any(|(p, ok)| p.ends_with(".tgz") && *ok),
        "the index and the archive were fetched with the repository's password: {seen:?}"
    );

    // A second run fetches nothing, even offline.
    let out = ferry_in(
        r,
        cache.path(),
        home.path(),
        &["vendor", "--offline", "--output", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["present"].as_array().expect("present").len(), 2);

    // Both sources gone: the build reads the pinned archives from the store.
    drop(http);
    drop(registry);
    common::commit_all(r, "pin charts");
    let out = ferry_in(r, cache.path(), home.path(), &["build", "--offline"]);
    assert!(
        out.status.success(),
        "offline build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        r.join("out/dev/from-oci/deployment.apps_a_from-oci-podinfo.yaml")
            .is_file()
            || r.join("out/dev/from-oci").read_dir().expect("dir").count() > 1
    );
    assert!(r.join("out/dev/from-repo").read_dir().expect("dir").count() > 1);

    // A damaged archive in the store is refused, not rendered.
    let stored = cache
        .path()
        .join("charts")
        .join(format!("{}.tgz", digest.replace(':', "-")));
    std::fs::write(&stored, b"not a chart").expect("damage");
    let out = ferry_in(r, cache.path(), home.path(), &["build"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match ferry.lock"));
}

/// The `helm.sh/chart` label of the Deployment a HelmRelease app rendered.
fn chart_label(out: &Path, app: &str) -> String {
    let dir = out.join(app);
    let file = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("deployment.apps_"))
        .unwrap_or_else(|| panic!("no Deployment in {}", dir.display()));
    let v: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(file).expect("read")).expect("yaml");
    v["metadata"]["labels"]["helm.sh/chart"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every file under `dir`, relative, with its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut m = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir").filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("under")
                    .to_string_lossy()
                    .to_string();
                m.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    m
}

/// `ferry vendor --flux` on a Flux repository with no ferry.yaml: HelmReleases from a Helm
/// repository (`helm repo index`, basic auth, a version range), from a `type: oci`
/// HelmRepository (exact version), through `chartRef` to an OCIRepository (`ref.semver`) and
/// to a HelmChart (`*`), all against the real registry and repository. Ranges are resolved
/// once and stay pinned until `--update`; the build then renders the pinned versions with
/// both sources gone, and `ferry push --to-prefix` ships the cluster without a ferry.yaml.
#[test]
fn flux_vendor_pins_ranges_builds_offline_and_pushes() {
    if common::require_tool("helm").is_none() {
        return;
    }
    let Some(registry) = Registry::start(Some("alice:s3cret")) else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let charts = tempfile::tempdir().expect("tempdir");
    let podinfo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/platform/charts/podinfo");
    let podinfo = podinfo.to_str().expect("utf-8");
    let oci = format!("oci://{}/charts", registry.addr);
    for v in ["6.0.1", "6.1.0", "7.0.0"] {
        common::helm(
            &["package", podinfo, "--version", v, "-d", "pkg"],
            charts.path(),
            home.path(),
        );
        helm_push(
            &format!("pkg/podinfo-{v}.tgz"),
            &registry,
            charts.path(),
            home.path(),
        );
    }
    let http = serve(charts.path(), &registry, home.path());

    let repo = tempfile::tempdir().expect("tempdir");
    let r = repo.path();
    let write = |rel: &str, text: String| {
        let p = r.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "clusters/dev/flux-system/gotk-sync.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 1m, url: 'https://git.example.com/fleet', ref: {branch: main}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 10m, path: ./clusters/dev, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n".into(),
    );
    write(
        "clusters/dev/sources.yaml",
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {{name: charts, namespace: flux-system}}\nspec: {{url: '{}'}}\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {{name: oci-charts, namespace: flux-system}}\nspec: {{type: oci, url: '{oci}'}}\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {{name: podinfo, namespace: flux-system}}\nspec: {{url: '{oci}/podinfo', ref: {{semver: '~6.0'}}}}\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {{name: podinfo-latest, namespace: flux-system}}\nspec: {{chart: podinfo, version: '*', sourceRef: {{kind: HelmRepository, name: charts}}}}\n",
            http.url
        ),
    );
    let hr = |name: &str, ns: &str, source: &str| {
        format!("---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  targetNamespace: {ns}\n{source}")
    };
    write(
        "clusters/dev/releases.yaml",
        [
            hr("from-repo", "a", "  chart:\n    spec: {chart: podinfo, version: '>=6.0.0 <7', sourceRef: {kind: HelmRepository, name: charts}}\n"),
            hr("from-oci", "b", "  chart:\n    spec: {chart: podinfo, version: 7.0.0, sourceRef: {kind: HelmRepository, name: oci-charts}}\n"),
            hr("from-ref", "c", "  chartRef: {kind: OCIRepository, name: podinfo}\n"),
            hr("from-chart", "d", "  chartRef: {kind: HelmChart, name: podinfo-latest}\n"),
        ]
        .concat(),
    );
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "flux repository");
    let run = |args: &[&str]| ferry_in(r, cache.path(), home.path(), args);

    // Nothing vendored: one error per HelmRelease, naming it, its file and what to run.
    let out = run(&["build", "--flux"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for name in ["from-repo", "from-oci", "from-ref", "from-chart"] {
        let line = err
            .lines()
            .find(|l| {
                l.contains(&format!(
                    "dev: HelmRelease flux-system/{name} (clusters/dev/releases.yaml): "
                ))
            })
            .unwrap_or_else(|| panic!("{name} not reported:\n{err}"));
        assert!(line.contains("not pinned in ferry.lock"), "{line}");
    }
    assert_eq!(
        err.matches("hint: run `ferry vendor --flux`").count(),
        4,
        "{err}"
    );

    let out = run(&["vendor", "--flux", "--offline"]);
    assert_eq!(out.status.code(), Some(2), "--offline refuses to resolve");
    assert!(!r.join("ferry.lock").exists());

    let out = run(&["vendor", "--flux", "--output", "json"]);
    assert!(
        out.status.success(),
        "vendor: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut resolved: Vec<&str> = report["resolved"]
        .as_array()
        .expect("resolved")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    resolved.sort();
    assert_eq!(
        resolved,
        [
            format!("{}#podinfo@* -> 7.0.0", http.url),
            format!("{}#podinfo@>=6.0.0 <7 -> 6.1.0", http.url),
            format!("{oci}/podinfo@~6.0 -> 6.0.1"),
        ],
        "{report}"
    );
    assert_eq!(
        report["fetched"].as_array().expect("fetched").len(),
        4,
        "{report}"
    );
    let lock = std::fs::read_to_string(r.join("ferry.lock")).expect("lock");
    assert!(
        lock.contains("ranges:") && lock.contains(">=6.0.0 <7"),
        "{lock}"
    );

    // A newer version upstream: the pin holds until --update.
    common::helm(
        &["package", podinfo, "--version", "6.2.0", "-d", "pkg"],
        charts.path(),
        home.path(),
    );
    common::helm(&["repo", "index", "pkg"], charts.path(), home.path());
    let out = run(&["vendor", "--flux", "--output", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["resolved"], serde_json::json!([]), "{report}");
    assert_eq!(report["present"].as_array().expect("present").len(), 4);
    let out = run(&["vendor", "--flux", "--update", "--output", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        report["resolved"]
            .as_array()
            .expect("resolved")
            .contains(&serde_json::json!(format!(
                "{}#podinfo@>=6.0.0 <7 -> 6.2.0",
                http.url
            ))),
        "{report}"
    );
    assert_eq!(
        report["fetched"],
        serde_json::json!([format!("{}#podinfo@6.2.0", http.url)])
    );
    assert!(
        report["dropped"]
            .as_array()
            .expect("dropped")
            .contains(&serde_json::json!(format!("{}#podinfo@6.1.0", http.url))),
        "{report}"
    );

    common::commit_all(r, "pin charts");
    let out = run(&["build", "--flux"]);
    assert!(
        out.status.success(),
        "build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dev = r.join("out/dev");
    for (app, version) in [
        ("hr.flux-system.from-repo", "6.2.0"),
        ("hr.flux-system.from-oci", "7.0.0"),
        ("hr.flux-system.from-ref", "6.0.1"),
        ("hr.flux-system.from-chart", "7.0.0"),
    ] {
        assert_eq!(
            chart_label(&dev, app),
            format!("podinfo-{version}"),
            "{app}"
        );
    }
    // The chart sources are Flux's to reconcile, not objects of the output.
    let built = files(&dev);
    assert!(
        !built.values().any(|b| {
            let t = String::from_utf8_lossy(b);
            t.contains("kind: HelmRepository")
                || t.contains("kind: HelmChart")
                || t.contains("kind: OCIRepository")
        }),
        "{:?}",
        built.keys().collect::<Vec<_>>()
    );

    // ferry push with no ferry.yaml: refused with the way to do it, then --to-prefix.
    let out = run(&["push"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--to-prefix oci://HOST/PATH"), "{err}");
    let prefix = format!("oci://{}/fleet", registry.addr);
    let out = run(&["push", "--to-prefix", &prefix, "--tag", "v1"]);
    assert!(
        out.status.success(),
        "push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("{}/fleet/dev@sha256:", registry.addr)),
        "{stdout}"
    );
    let pulled = home.path().join("pulled");
    let out = run(&[
        "pull",
        &format!("{prefix}/dev:v1"),
        "-o",
        pulled.to_str().expect("utf-8"),
        "--insecure-skip-verify",
    ]);
    assert!(
        out.status.success(),
        "pull: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        files(&pulled).keys().collect::<Vec<_>>(),
        built.keys().collect::<Vec<_>>()
    );

    // Both sources gone: the build renders the pinned archives again, offline.
    drop(http);
    drop(registry);
    let out = run(&["build", "--flux", "--offline", "--no-cache"]);
    assert!(
        out.status.success(),
        "offline: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files(&dev), built);
}
