//! `ferry vendor` against real sources: a chart pushed to a real OCI registry (CNCF
//! distribution) and a chart in a Helm repository served over HTTP on loopback. After vendoring,
//! `ferry build` needs neither: it builds with both stopped.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

struct Registry {
    dir: tempfile::TempDir,
    script: PathBuf,
    addr: String,
}

impl Registry {
    fn start() -> Option<Registry> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/registry.sh");
        if !script.is_file() || common::require_tool("docker-registry").is_none() {
            if common::peers_required() {
                panic!("registry.sh or docker-registry missing");
            }
            eprintln!("SKIP: no registry.sh / docker-registry");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(dir.path())
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

/// A Helm repository: `helm repo index` output served by Python's http.server on loopback.
struct HttpRepo {
    child: Child,
    url: String,
}

impl HttpRepo {
    fn start(dir: &Path) -> HttpRepo {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 http.server");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        HttpRepo {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for HttpRepo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn helm(args: &[&str], cwd: &Path, home: &Path) {
    let out = Command::new("helm")
        .args(args)
        .current_dir(cwd)
        .env("PATH", common::test_path())
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("helm");
    assert!(
        out.status.success(),
        "helm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ferry_in(repo: &Path, cache: &Path, home: &Path, args: &[&str]) -> std::process::Output {
    common::ferry(cache)
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("ferry")
}

#[test]
fn vendored_charts_build_offline_with_their_sources_gone() {
    if common::require_tool("helm").is_none() {
        return;
    }
    let Some(registry) = Registry::start() else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let charts = tempfile::tempdir().expect("tempdir");
    let podinfo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/platform/charts/podinfo");
    helm(
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
    helm(
        &[
            "push",
            tgz.to_str().expect("utf-8"),
            &format!("oci://{}/charts", registry.addr),
            "--plain-http",
        ],
        charts.path(),
        home.path(),
    );
    helm(&["repo", "index", "pkg"], charts.path(), home.path());
    let http = HttpRepo::start(&charts.path().join("pkg"));

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
