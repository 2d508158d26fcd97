//! `ferry apply DIR` as a person runs it: the binary against the fake API server on a loopback
//! socket, through a kubeconfig. Output (a line per stage, a summary, `--output json`) and exit
//! codes: 0 applied, 3 partial failure, 2 usage or input error with nothing applied.

mod apply_fake;
mod common;

use apply_fake::artifact::{sealed_secret, write_artifact};
use apply_fake::server::HttpFake;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn configmap(ns: &str, name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": value}})
}

fn objects() -> Vec<Value> {
    vec![
        namespace("shop"),
        configmap("shop", "a", "1"),
        configmap("shop", "b", "1"),
    ]
}

struct Env {
    _tmp: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
    dir: std::path::PathBuf,
    cache: std::path::PathBuf,
}

fn setup(server: &HttpFake, objects: &[Value], fake_is_current: bool) -> Env {
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(fake_is_current)).expect("write");
    let dir = tmp.path().join("out/prod");
    write_artifact(&dir, "prod", objects);
    let cache = tmp.path().join("cache");
    Env {
        kubeconfig,
        dir,
        cache,
        _tmp: tmp,
    }
}

fn ferry_apply(env: &Env, extra: &[&str]) -> Output {
    common::ferry(&env.cache)
        .arg("apply")
        .arg(&env.dir)
        .arg("--kubeconfig")
        .arg(&env.kubeconfig)
        .args(extra)
        .env_remove("KUBECONFIG")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .env("HOME", env.dir.parent().expect("out/"))
        .output()
        .expect("ferry runs")
}

fn text(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn applies_a_build_directory_with_a_line_per_stage_and_a_summary() {
    let server = HttpFake::start();
    let env = setup(&server, &objects(), true);
    let (code, out, err) = text(&ferry_apply(&env, &[]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("stage definitions: 1 objects: 1 created"),
        "{out}"
    );
    assert!(
        out.contains("stage resources: 2 objects: 2 created"),
        "{out}"
    );
    assert!(out.contains("prune: 0 deleted"), "{out}");
    assert!(
        out.contains("summary: 3 created, 0 configured, 0 unchanged, 0 pruned, 0 failed"),
        "{out}"
    );

    let (code, out, _) = text(&ferry_apply(&env, &[]));
    assert_eq!(code, 0);
    assert!(
        out.contains("summary: 0 created, 0 configured, 3 unchanged, 0 pruned, 0 failed"),
        "{out}"
    );
    assert!(server.with(|s| s.get("", "configmaps", "shop", "a").is_some()));
}

#[test]
fn json_output_and_prune() {
    let server = HttpFake::start();
    let env = setup(&server, &objects(), true);
    assert_eq!(ferry_apply(&env, &[]).status.code(), Some(0));
    let mut fewer = objects();
    fewer.push(configmap("shop", "c", "1"));
    fewer.push(configmap("shop", "d", "1"));
    write_artifact(&env.dir, "prod", &fewer);
    assert_eq!(ferry_apply(&env, &[]).status.code(), Some(0));
    // Drop d: one of five members.
    std::fs::remove_dir_all(&env.dir).expect("rm");
    write_artifact(&env.dir, "prod", &fewer[..4]);
    let o = ferry_apply(&env, &["--output", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_slice(&o.stdout).expect("json on stdout");
    assert_eq!(report["environment"], "prod");
    assert_eq!(report["summary"]["pruned"], 1);
    assert_eq!(report["summary"]["unchanged"], 4);
    assert_eq!(report["prune"]["status"], "done");
    assert_eq!(report["prune"]["pruned"], json!(["ConfigMap/shop/d"]));
    assert_eq!(report["stages"][0]["stage"], "definitions");
    assert!(report["applyset"]
        .as_str()
        .unwrap_or_default()
        .starts_with("applyset-"));
    assert!(report["digest"]
        .as_str()
        .unwrap_or_default()
        .starts_with("sha256:"));
    assert!(server.with(|s| s.get("", "configmaps", "shop", "d").is_none()));
}

#[test]
fn a_failed_object_exits_3_and_prunes_nothing() {
    let server = HttpFake::start();
    let env = setup(&server, &objects(), true);
    server.with(|s| s.reject.insert("b".into()));
    let (code, out, _) = text(&ferry_apply(&env, &[]));
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("failed ConfigMap/shop/b: Invalid (422)"),
        "{out}"
    );
    assert!(
        out.contains("prune skipped: 1 object(s) failed to apply"),
        "{out}"
    );
    assert!(out.contains("1 failed"), "{out}");
}

#[test]
fn dry_run_lists_without_changing() {
    let server = HttpFake::start();
    let env = setup(&server, &objects(), true);
    let (code, out, err) = text(&ferry_apply(&env, &["--dry-run"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("(dry run)"), "{out}");
    assert!(
        out.contains("skipped ConfigMap/shop/a: namespace shop is created by this apply"),
        "{out}"
    );
    assert!(
        server.with(|s| s.objects.is_empty()),
        "a dry run stores nothing"
    );
}

#[test]
fn context_and_kubeconfig_environment_are_honoured() {
    let server = HttpFake::start();
    // The current context points at a dead port: --context picks the working one.
    let env = setup(&server, &objects(), false);
    let (code, _, err) = text(&ferry_apply(&env, &["--context", "fake"]));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = text(&ferry_apply(&env, &[]));
    assert_eq!(
        code, 2,
        "the dead current context fails before anything: {err}"
    );

    let good = setup(&server, &objects(), true);
    let o = common::ferry(&good.cache)
        .arg("apply")
        .arg(&good.dir)
        .env("KUBECONFIG", &good.kubeconfig)
        .output()
        .expect("ferry runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn sealed_secrets_are_opened_in_memory_with_the_identity() {
    let server = HttpFake::start();
    let env = setup(&server, &objects(), true);
    let password = "c2VhbGVkLWh1bnRlcjI="; // base64 of the test value, as `data` holds it
    let (secret, key) = sealed_secret(env.dir.parent().expect("out/"), password);
    assert!(secret["data"]["password"]
        .as_str()
        .is_some_and(|v| v.starts_with("ENC[")));
    let mut all = objects();
    all.push(secret);
    write_artifact(&env.dir, "prod", &all);
    let on_disk: String = walk(&env.dir);
    assert!(
        !on_disk.contains(password),
        "the artifact holds ciphertext only"
    );

    let (code, out, err) = text(&ferry_apply(
        &env,
        &["--identity", key.to_str().expect("utf-8")],
    ));
    assert_eq!(code, 0, "{out}\n{err}");
    let live = server
        .with(|s| s.get("", "secrets", "shop", "db").cloned())
        .expect("the Secret was applied");
    assert_eq!(live["data"]["password"], password, "decrypted before apply");
    assert!(
        live.get("sops").is_none(),
        "no sops block reaches the cluster"
    );
    assert!(
        !out.contains(password) && !err.contains(password),
        "{out}\n{err}"
    );

    // The same identity through SOPS_AGE_KEY_FILE, as a mounted Secret in a Job provides it.
    let o = common::ferry(&env.cache)
        .arg("apply")
        .arg(&env.dir)
        .arg("--kubeconfig")
        .arg(&env.kubeconfig)
        .env_remove("KUBECONFIG")
        .env_remove("SOPS_AGE_KEY")
        .env("SOPS_AGE_KEY_FILE", &key)
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Another identity cannot open it: nothing is applied, and the error names the Secret.
    let other = env.dir.parent().expect("out/").join("other.key");
    ferry::secrets::identity::write_new(&other).expect("identity");
    let (code, out, err) = text(&ferry_apply(
        &env,
        &["--identity", other.to_str().expect("utf-8")],
    ));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("Secret/shop/db"), "{err}");
    assert!(err.contains("no identity can open"), "{err}");
}

/// Every file's text under `dir`, concatenated.
fn walk(dir: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            all.push_str(&walk(&p));
        } else {
            all.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    all
}

fn input_error(env: &Env, extra: &[&str], expect: &str) {
    let (code, out, err) = text(&ferry_apply(env, extra));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains(expect), "{err}");
}

#[test]
fn input_errors_exit_2_and_apply_nothing() {
    let server = HttpFake::start();
    let mut env = setup(&server, &objects(), true);

    // A sealed Secret and no identity: never applied as ciphertext.
    let mut sealed = objects();
    sealed.push(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
        "data": {"password": "ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]"},
        "sops": {"age": [{"recipient": "age1xyz", "enc": "-----BEGIN AGE ENCRYPTED FILE-----"}], "mac": "ENC[...]", "version": "3.11.0"}}));
    write_artifact(&env.dir, "prod", &sealed);
    input_error(
        &env,
        &[],
        "Secret/shop/db is SOPS-encrypted and no decryption identity is configured",
    );

    // A file changed after the build.
    write_artifact(&env.dir, "prod", &objects());
    let f = env.dir.join("app/configmap_shop_a.yaml");
    let t = std::fs::read_to_string(&f).expect("read");
    std::fs::write(&f, t.replace('1', "2")).expect("write");
    input_error(&env, &[], "does not match its digest in index.json");

    // A kind the cluster does not serve.
    std::fs::remove_dir_all(&env.dir).expect("rm");
    write_artifact(
        &env.dir,
        "prod",
        &[
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "web", "namespace": "shop"}}),
        ],
    );
    input_error(&env, &[], "Certificate.cert-manager.io/shop/web");

    // Not a build directory; an OCI reference with no key to verify it (refused before any
    // network access); bad flags.
    env.dir = Path::new("/nonexistent/out/prod").to_path_buf();
    input_error(&env, &[], "index.json");
    env.dir = "oci://registry.example/platform/prod:latest".into();
    input_error(&env, &[], "no public key to verify");
    input_error(&env, &["--max-prune", "lots"], "--max-prune");
    input_error(&env, &["--timeout", "soon"], "--timeout");

    // --offline forbids talking to the cluster at all.
    env.dir = "/tmp".into();
    input_error(&env, &["--offline"], "--offline");

    assert!(server.with(|s| s.objects.is_empty()), "nothing was applied");
}

#[test]
fn the_example_build_applies_crd_and_custom_resource_in_one_run() {
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    let repo = common::example_repo();
    let cache = tempfile::tempdir().expect("tempdir");
    let built = common::ferry(cache.path())
        .args(["build", "prod", "-C"])
        .arg(repo.path())
        .output()
        .expect("ferry build runs");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let server = HttpFake::start();
    let mut env = setup(&server, &[], true);
    env.dir = repo.path().join("out/prod");
    let cluster_key = common::example_key("cluster");
    let identity = ["--identity", cluster_key.to_str().expect("utf-8")];
    let (code, out, err) = text(&ferry_apply(&env, &identity));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("stage definitions: 3 objects: 3 created"),
        "{out}"
    );
    assert!(
        out.contains("summary: 12 created, 0 configured, 0 unchanged, 0 pruned, 0 failed"),
        "{out}"
    );
    assert!(server.with(|s| s
        .get("example.dev", "probes", "podinfo", "podinfo-http")
        .is_some()));
    let (code, out, _) = text(&ferry_apply(&env, &identity));
    assert_eq!(code, 0);
    assert!(
        out.contains("summary: 0 created, 0 configured, 12 unchanged"),
        "{out}"
    );
}

fn http_get(addr: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn the_interval_loop_corrects_drift_and_serves_health() {
    let server = HttpFake::start();
    let env = setup(&server, &objects(), true);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = common::ferry(&env.cache)
        .arg("apply")
        .arg(&env.dir)
        .arg("--kubeconfig")
        .arg(&env.kubeconfig)
        .args([
            "--interval",
            // The shortest interval ferry accepts.
            "10s",
            "--health-addr",
            &addr,
            "--output",
            "json",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ferry starts");
    wait_for("/readyz to answer 200 after the first run", || {
        http_get(&addr, "/readyz") == Some(200)
    });
    assert_eq!(http_get(&addr, "/healthz"), Some(200));
    server.with(|s| {
        let a = s.get_mut("", "configmaps", "shop", "a").expect("a");
        a["data"]["k"] = json!("edited by hand");
    });
    wait_for("the loop to re-apply the drifted field", || {
        server.with(|s| {
            s.get("", "configmaps", "shop", "a")
                .map(|a| a["data"]["k"] == "1")
        }) == Some(true)
    });
    // A failing run makes the loop not ready, but still alive.
    server.with(|s| {
        s.reject.insert("b".into());
        let b = s.get_mut("", "configmaps", "shop", "b").expect("b");
        b["data"]["k"] = json!("drifted");
    });
    wait_for("/readyz to answer 503", || {
        http_get(&addr, "/readyz") == Some(503)
    });
    assert_eq!(http_get(&addr, "/healthz"), Some(200));
    let _ = child.kill();
    let _ = child.wait();
}

/// A `ferry build --flux` output applies with no ferry.yaml, and what its Kustomizations say
/// of the apply is honoured: `prune: false` keeps an object that left the build, `prune: true`
/// deletes one, and `wait`/`timeout`/`healthChecks` decide what is waited for, and how long.
#[test]
fn a_flux_build_applies_with_its_kustomizations_prune_wait_and_health_checks() {
    use common::flux::{build, fixture, write};
    let (tmp, repo) = fixture();
    let infra =
        std::fs::read_to_string(repo.join("clusters/staging/infrastructure.yaml")).expect("read");
    write(
        &repo,
        "clusters/staging/infrastructure.yaml",
        &infra.replace("prune: true", "prune: false"),
    );
    let apps = std::fs::read_to_string(repo.join("clusters/staging/apps.yaml")).expect("read");
    write(
        &repo,
        "clusters/staging/apps.yaml",
        &apps.replace(
            "  prune: true\n",
            "  prune: true\n  wait: false\n  timeout: 2s\n  healthChecks:\n    - apiVersion: helm.toolkit.fluxcd.io/v2\n      kind: HelmRelease\n      name: frontend\n      namespace: podinfo\n    - apiVersion: v1\n      kind: Service\n      name: podinfo\n      namespace: podinfo\n    - apiVersion: v1\n      kind: Secret\n      name: elsewhere\n      namespace: podinfo\n",
        ),
    );
    let out = build(tmp.path(), &repo, &["staging"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = repo.join("out/staging");
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index"))
            .expect("json");
    assert_eq!(index["apps"]["flux-system.apps"]["flux"]["timeout"], "2s");
    assert_eq!(
        index["apps"]["flux-system.infra-configs"]["flux"]["prune"],
        false
    );
    assert_eq!(
        index["apps"]["flux-system.infra-configs"]["flux"]["timeout"],
        "1h"
    );
    let limits = std::fs::read_to_string(
        dir.join("flux-system.infra-configs/limitrange_podinfo_default-limits.yaml"),
    )
    .expect("limits");
    assert!(
        limits.contains("kustomize.toolkit.fluxcd.io/prune: disabled"),
        "{limits}"
    );
    let service =
        std::fs::read_to_string(dir.join("flux-system.apps/service_podinfo_podinfo.yaml"))
            .expect("service");
    assert!(!service.contains("prune"), "{service}");

    let server = HttpFake::start();
    server.with(|s| {
        for (group, kind, plural, namespaced) in [
            ("networking.k8s.io", "Ingress", "ingresses", true),
            ("", "LimitRange", "limitranges", true),
        ] {
            s.kinds.push(apply_fake::KindDef {
                group: group.into(),
                version: "v1".into(),
                kind: kind.into(),
                plural: plural.into(),
                namespaced,
            });
        }
    });
    // Flux's own namespace comes from its bootstrap, which this repository does not hold.
    server.with(|s| s.put("", "namespaces", "", namespace("flux-system")));
    let mut env = setup(&server, &[], true);
    env.dir = dir.clone();
    let o = ferry_apply(&env, &["--output", "json"]);
    let (_, stdout, stderr) = text(&o);
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(report["summary"]["failed"], 0, "{stdout}\n{stderr}");
    // Only the health checks are waited for: the frontend HelmRelease's objects (rendered by
    // ferry) and the Service, not the namespaces or the LimitRange.
    let mut waited: Vec<String> = report["health"]
        .as_array()
        .unwrap_or_else(|| panic!("no health: {stdout}"))
        .iter()
        .map(|h| h["object"].as_str().unwrap_or_default().to_string())
        .collect();
    waited.sort();
    let hr_objects: Vec<String> = index["apps"]["hr.podinfo.frontend"]["objects"]
        .as_array()
        .expect("hr objects")
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(waited.len(), hr_objects.len() + 1, "{waited:?}");
    assert!(
        waited
            .iter()
            .any(|w| w.contains("Service") && w.ends_with("podinfo/podinfo")),
        "{waited:?}"
    );
    assert!(
        !waited
            .iter()
            .any(|w| w.contains("LimitRange") || w.contains("Namespace")),
        "{waited:?}"
    );
    assert!(
        stderr.contains(
            "Secret podinfo/elsewhere (healthChecks of flux-system/apps) is not in the build"
        ),
        "{stderr}"
    );

    // The LimitRange (prune: false) and the Ingress (prune: true) leave the build.
    std::fs::remove_file(repo.join("infrastructure/configs/limits/limits.yaml")).expect("rm");
    let k = std::fs::read_to_string(repo.join("apps/staging/kustomization.yaml")).expect("read");
    write(
        &repo,
        "apps/staging/kustomization.yaml",
        &k.replace("  - ingress.yaml\n", ""),
    );
    let out = build(tmp.path(), &repo, &["staging"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = ferry_apply(&env, &["--output", "json"]);
    let (_, stdout, stderr) = text(&o);
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(report["summary"]["pruned"], 1, "{stdout}");
    let pruned = report["prune"]["pruned"].to_string();
    assert!(pruned.contains("Ingress"), "{pruned}");
    let kept = report["prune"]["kept"].to_string();
    assert!(
        kept.contains("LimitRange") && kept.contains("kustomize.toolkit.fluxcd.io/prune: disabled"),
        "{kept}"
    );
    assert!(server.with(|s| s
        .get("", "limitranges", "podinfo", "default-limits")
        .is_some()));
}
