//! `ferry build` on the bundled example: it builds, it is reproducible, the cache re-renders
//! exactly the pairs whose inputs changed, and it reads the commit, not the disk.

mod common;

use serde_json::Value;
use std::path::Path;

fn build_json(repo: &Path, cache: &Path, extra: &[&str]) -> Value {
    build_json_env(repo, cache, extra, &[])
}

/// [`build_json`] with extra environment variables.
fn build_json_env(repo: &Path, cache: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Value {
    let mut cmd = common::ferry(cache);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["build", "-C"])
        .arg(repo)
        .args(["--output", "json"])
        .args(extra)
        .output()
        .expect("ferry runs");
    assert!(
        out.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json report")
}

/// `env -> apps rendered (not cached)` from a JSON report.
fn rendered(report: &Value) -> Vec<(String, Vec<String>)> {
    report["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|e| {
            let apps = e["renderedApps"]
                .as_array()
                .expect("renderedApps")
                .iter()
                .map(|a| a.as_str().unwrap_or("").to_string())
                .collect();
            (e["name"].as_str().unwrap_or("").to_string(), apps)
        })
        .collect()
}

fn tools_present() -> bool {
    common::require_tool("helm").is_some() && common::require_tool("kubectl").is_some()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

#[test]
fn example_builds_both_environments() {
    if !tools_present() {
        return;
    }
    let repo = common::example_repo();
    let cache = tempfile::tempdir().expect("tempdir");
    let report = build_json(repo.path(), cache.path(), &[]);
    let envs = report["environments"].as_array().expect("envs");
    assert_eq!(envs.len(), 2);
    for e in envs {
        assert_eq!(e["written"], true);
        assert!(e["objects"].as_u64().expect("count") >= 7, "{e}");
    }
    let out = repo.path().join("out");
    // Helm app, kustomize app with a generated ConfigMap, plain app, prod-only app.
    assert!(out
        .join("prod/podinfo/deployment.apps_podinfo_podinfo.yaml")
        .is_file());
    assert!(out
        .join("prod/podinfo/horizontalpodautoscaler.autoscaling_podinfo_podinfo.yaml")
        .is_file());
    assert!(!out
        .join("staging/podinfo/horizontalpodautoscaler.autoscaling_podinfo_podinfo.yaml")
        .exists());
    assert!(out
        .join("staging/frontend/deployment.apps_frontend_staging-frontend.yaml")
        .is_file());
    assert!(out.join("prod/monitoring-crds").is_dir());
    assert!(
        !out.join("staging/monitoring-crds").exists(),
        "environments filter"
    );
    // The namespace is set on namespaced objects, and the CRD's custom resource keeps its own.
    let svc = std::fs::read_to_string(
        out.join("staging/frontend/service_frontend_staging-frontend.yaml"),
    )
    .expect("svc");
    assert!(svc.contains("namespace: frontend"), "{svc}");
    let ns =
        std::fs::read_to_string(out.join("prod/namespaces/namespace_podinfo.yaml")).expect("ns");
    assert!(
        !ns.contains("namespace:"),
        "cluster-scoped objects carry no namespace: {ns}"
    );
    // Per-environment overrides and ${env} values files reach helm.
    let prod =
        std::fs::read_to_string(out.join("prod/podinfo/deployment.apps_podinfo_podinfo.yaml"))
            .expect("deploy");
    assert!(
        prod.contains("replicas: 3") || prod.contains("#34577c"),
        "{prod}"
    );
    // No helm test hooks: they are not desired state.
    assert!(!std::fs::read_dir(out.join("prod/podinfo"))
        .expect("dir")
        .any(|e| e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .contains("test")));
    // The index records the revision and every object with its digest.
    let index: Value =
        serde_json::from_slice(&std::fs::read(out.join("prod/index.json")).expect("index"))
            .expect("json");
    assert!(index["source"]["revision"]
        .as_str()
        .expect("revision")
        .starts_with("main@sha1:"));
    assert_eq!(index["source"]["created"], "2026-01-02T03:04:05Z");
    let listed: usize = index["apps"]
        .as_object()
        .expect("apps")
        .values()
        .map(|a| a["objects"].as_array().expect("objects").len())
        .sum();
    assert_eq!(
        listed as u64,
        envs.iter().find(|e| e["name"] == "prod").expect("prod")["objects"]
            .as_u64()
            .expect("n")
    );
}

#[test]
fn two_cold_builds_in_fresh_processes_are_byte_identical() {
    if !tools_present() {
        return;
    }
    let repo = common::example_repo();
    let (c1, c2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    build_json(repo.path(), c1.path(), &["--out", "out1"]);
    build_json(repo.path(), c2.path(), &["--out", "out2", "-j", "1"]);
    let a = common::snapshot(&repo.path().join("out1"));
    let b = common::snapshot(&repo.path().join("out2"));
    assert!(a.len() > 10);
    assert_eq!(a, b);
}

#[test]
fn each_input_change_re_renders_exactly_the_affected_pairs() {
    if !tools_present() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    let first = build_json(r, cache.path(), &[]);
    for e in first["environments"].as_array().expect("envs") {
        assert_eq!(
            e["rendered"].as_u64().expect("n") + e["cached"].as_u64().expect("n"),
            e["apps"].as_u64().expect("n")
        );
    }
    // Equal inputs in two environments (the plain `namespaces` app) share one render.
    let union = |rep: &[(String, Vec<String>)]| {
        let mut all: Vec<String> = rep.iter().flat_map(|(_, a)| a.clone()).collect();
        all.sort();
        all.dedup();
        all
    };
    assert_eq!(
        union(&rendered(&first)),
        [
            "db-credentials",
            "frontend",
            "monitoring-crds",
            "namespaces",
            "podinfo"
        ]
    );

    let nothing: Vec<(String, Vec<String>)> =
        vec![("prod".into(), vec![]), ("staging".into(), vec![])];
    assert_eq!(
        rendered(&build_json(r, cache.path(), &[])),
        nothing,
        "warm rebuild renders nothing"
    );

    let step = |what: &str, change: &dyn Fn(), want: Vec<(&str, Vec<&str>)>| {
        change();
        common::commit_all(r, what);
        let got = rendered(&build_json(r, cache.path(), &[]));
        let want: Vec<(String, Vec<String>)> = want
            .into_iter()
            .map(|(e, a)| (e.to_string(), a.into_iter().map(String::from).collect()))
            .collect();
        // Renders are shared deterministically: a changed app counts in every environment
        // that uses it, so the comparison is exact.
        assert_eq!(got, want, "after changing {what}");
    };
    step(
        "a values file",
        &|| {
            edit(
                &r.join("apps/podinfo/values-prod.yaml"),
                "maxReplicas: 6",
                "maxReplicas: 7",
            )
        },
        vec![("prod", vec!["podinfo"]), ("staging", vec![])],
    );
    step(
        "a chart file",
        &|| {
            edit(
                &r.join("charts/podinfo/templates/service.yaml"),
                "apiVersion: v1",
                "# touched\napiVersion: v1",
            )
        },
        vec![("prod", vec!["podinfo"]), ("staging", vec!["podinfo"])],
    );
    step(
        "an inline value",
        &|| {
            edit(
                &r.join("ferry.yaml"),
                "set: {replicaCount: 3}",
                "set: {replicaCount: 4}",
            )
        },
        vec![("prod", vec!["podinfo"]), ("staging", vec![])],
    );
    step(
        "the kube version",
        &|| {
            edit(
                &r.join("ferry.yaml"),
                "kubeVersion: \"1.31.0\"",
                "kubeVersion: \"1.30.0\"",
            )
        },
        vec![("prod", vec!["podinfo"]), ("staging", vec!["podinfo"])],
    );
    step(
        "a kustomize base",
        &|| {
            edit(
                &r.join("apps/frontend/base/deployment.yaml"),
                "nginx:1.27",
                "nginx:1.28",
            )
        },
        vec![("prod", vec!["frontend"]), ("staging", vec!["frontend"])],
    );
    step(
        "a plain manifest",
        &|| {
            edit(
                &r.join("infra/namespaces/namespaces.yaml"),
                "name: frontend",
                "name: web",
            )
        },
        vec![
            ("prod", vec!["namespaces"]),
            ("staging", vec!["namespaces"]),
        ],
    );

    // A new renderer version re-renders every pair of that renderer, and only those.
    let helm = common::require_tool("helm").expect("helm");
    let wrapper = r.join("helm-next");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo v9.9.9; exit 0; fi\nexec {} \"$@\"\n",
            helm.display()
        ),
    )
    .expect("wrapper");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let got = rendered(&build_json(
        r,
        cache.path(),
        &["--helm", wrapper.to_str().expect("utf-8")],
    ));
    assert_eq!(
        got,
        vec![
            ("prod".to_string(), vec!["podinfo".to_string()]),
            ("staging".to_string(), vec!["podinfo".to_string()])
        ],
        "helm pairs differ per environment, so both render"
    );
}

#[test]
fn builds_the_commit_not_the_disk_unless_asked() {
    if !tools_present() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    edit(
        &r.join("infra/namespaces/namespaces.yaml"),
        "name: frontend",
        "name: uncommitted",
    );
    build_json(r, cache.path(), &["staging"]);
    assert!(
        r.join("out/staging/namespaces/namespace_frontend.yaml")
            .is_file(),
        "HEAD is built by default"
    );
    let report = build_json(r, cache.path(), &["staging", "--worktree"]);
    assert_eq!(report["revision"]["worktree"], true);
    assert!(
        r.join("out/staging/namespaces/namespace_uncommitted.yaml")
            .is_file(),
        "--worktree builds the disk"
    );
    common::commit_all(r, "rename");
    build_json(r, cache.path(), &["staging", "--revision", "HEAD~1"]);
    assert!(
        r.join("out/staging/namespaces/namespace_frontend.yaml")
            .is_file(),
        "--revision builds an older commit"
    );
}

#[test]
fn an_intact_up_to_date_environment_is_not_rewritten_and_a_damaged_one_is() {
    if !tools_present() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    build_json(r, cache.path(), &[]);
    let before = common::snapshot(&r.join("out"));
    let up_to_date = |report: &Value| -> Vec<bool> {
        report["environments"]
            .as_array()
            .expect("envs")
            .iter()
            .map(|e| e["upToDate"] == true)
            .collect()
    };
    assert_eq!(up_to_date(&build_json(r, cache.path(), &[])), [true, true]);
    assert_eq!(common::snapshot(&r.join("out")), before);

    // A hand edit in prod and a stray file in staging: both are put back.
    let svc = r.join("out/prod/frontend/service_frontend_prod-frontend.yaml");
    std::fs::write(&svc, "edited by hand\n").expect("tamper");
    std::fs::write(r.join("out/staging/stray.yaml"), "kind: Stray\n").expect("stray");
    assert_eq!(
        up_to_date(&build_json(r, cache.path(), &[])),
        [false, false]
    );
    assert_eq!(common::snapshot(&r.join("out")), before);

    // A new commit changes the recorded revision, so every environment's index.json is
    // written again; its object files are the same ones, not rendered, parsed or rewritten.
    let file = r.join("out/prod/frontend/service_frontend_prod-frontend.yaml");
    let inode =
        |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).expect("stat"));
    let (old_inode, old_index) = (
        inode(&file),
        std::fs::read_to_string(r.join("out/prod/index.json")).expect("index"),
    );
    std::fs::write(r.join("NOTES.md"), "not an input\n").expect("write");
    common::commit_all(r, "notes");
    let report = build_json(r, cache.path(), &[]);
    assert_eq!(up_to_date(&report), [false, false]);
    assert_eq!(
        rendered(&report),
        [
            ("prod".to_string(), vec![]),
            ("staging".to_string(), vec![])
        ]
    );
    assert_eq!(
        inode(&file),
        old_inode,
        "object files are linked, not rewritten"
    );
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(r.join("out/prod/index.json")).expect("index"),
    )
    .expect("json");
    let head = common::git_output(r, &["rev-parse", "HEAD"]);
    assert_eq!(index["source"]["commit"], head.trim(), "the new revision");
    let old: Value = serde_json::from_str(&old_index).expect("json");
    assert_eq!(index["apps"], old["apps"], "the same objects and digests");
    assert_ne!(index["buildDigest"], old["buildDigest"]);
    assert_eq!(index["contentDigest"], old["contentDigest"]);
    let strip = |snap: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        snap.into_iter()
            .filter(|(p, _)| !p.ends_with("index.json"))
            .collect()
    };
    assert_eq!(strip(common::snapshot(&r.join("out"))), strip(before));
    // And the restamped directory is a valid build: up to date on the next run.
    assert_eq!(up_to_date(&build_json(r, cache.path(), &[])), [true, true]);
}

#[test]
fn renderers_never_see_keys_from_the_environment() {
    if !tools_present() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    let helm = common::require_tool("helm").expect("helm");
    let seen = r.join("helm-env.txt");
    let wrapper = r.join("helm-spy");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nenv >> {}\nexec {} \"$@\"\n",
            seen.display(),
            helm.display()
        ),
    )
    .expect("wrapper");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    // The example's CI identity, given the way CI systems pass one: in the environment.
    let ci_key = std::fs::read_to_string(common::example_key("ci")).expect("demo key");
    let out = common::ferry(cache.path())
        .args([
            "build",
            "-q",
            "--no-cache",
            "--helm",
            wrapper.to_str().expect("utf-8"),
            "-C",
        ])
        .arg(r)
        .env_remove("SOPS_AGE_KEY_FILE")
        .env("SOPS_AGE_KEY", &ci_key)
        .env("FERRY_DIFF_KEY", "diff-key-test-only-0123456789")
        .env("COSIGN_PASSWORD", "cosign-test-only")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = std::fs::read_to_string(&seen).expect("helm ran");
    assert!(env.contains("KUBECONFIG=/dev/null"), "{env}");
    let key_line = ci_key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("an identity");
    for secret in [key_line, "diff-key-test-only", "cosign-test-only"] {
        assert!(!env.contains(secret), "a key reached helm");
    }
}

/// Every file of `out` but the index (which records the renderer and the revision).
fn objects_only(out: &Path) -> Vec<(String, Vec<u8>)> {
    common::snapshot(out)
        .into_iter()
        .filter(|(p, _)| !p.ends_with("index.json"))
        .collect()
}

/// Builds to `out-binary` (with `first` flags), applies `change` to ferry.yaml so that `app`
/// renders natively, commits and builds to `out-native` (with `env`); checks that exactly
/// `app` re-rendered (its cache key names the renderer), that both outs hold the same objects
/// and that the index names the native renderer. Returns the binary's objects.
fn switch_to_native(
    r: &Path,
    cache: &Path,
    first: &[&str],
    change: (&str, &str),
    apps: &[&str],
    env: &[(&str, &Path)],
) -> Vec<(String, Vec<u8>)> {
    let mut args = vec!["--out", "out-binary"];
    args.extend_from_slice(first);
    build_json(r, cache, &args);
    edit(&r.join("ferry.yaml"), change.0, change.1);
    common::commit_all(r, "native renderer");
    let report = build_json_env(r, cache, &["--out", "out-native"], env);
    let apps: Vec<String> = apps.iter().map(|a| a.to_string()).collect();
    assert_eq!(
        rendered(&report),
        [
            ("prod".to_string(), apps.clone()),
            ("staging".to_string(), apps.clone())
        ]
    );
    let binary = objects_only(&r.join("out-binary"));
    assert_eq!(binary, objects_only(&r.join("out-native")));
    let index: Value = serde_json::from_slice(
        &std::fs::read(r.join("out-native/prod/index.json")).expect("index"),
    )
    .expect("json");
    for app in &apps {
        assert!(binary.iter().any(|(p, _)| p.contains(app.as_str())));
        let renderer = index["apps"][app]["renderer"].as_str().unwrap_or("");
        assert!(renderer.starts_with("ferry-native"), "{renderer}");
    }
    binary
}

#[test]
fn native_renderer_writes_the_same_out_as_the_binary() {
    if !tools_present() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    let binary = switch_to_native(
        r,
        cache.path(),
        &["--renderer", "binary"],
        (
            "kubeVersion: \"1.31.0\"",
            "kubeVersion: \"1.31.0\"\nrenderer: native",
        ),
        // The pipeline's `renderer` covers helm and kustomize apps.
        &["frontend", "podinfo"],
        &[],
    );
    // --renderer on the command line wins over ferry.yaml: the binary's renders of the first
    // build are still in the cache under their own keys, so nothing renders again.
    let report = build_json(
        r,
        cache.path(),
        &["--out", "out-flag", "--renderer", "binary"],
    );
    assert!(rendered(&report).iter().all(|(_, apps)| apps.is_empty()));
    assert_eq!(binary, objects_only(&r.join("out-flag")));
}

#[test]
fn native_helm_writes_the_same_out_as_the_binary() {
    if !tools_present() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    edit(
        &r.join("ferry.yaml"),
        "    namespace: podinfo\n    helm:",
        "    namespace: podinfo\n    renderer: binary\n    helm:",
    );
    common::commit_all(r, "podinfo through helm");
    // No helm binary in reach for the native build: the native renderer needs none.
    let no_helm = r.join("no-such-helm");
    switch_to_native(
        r,
        cache.path(),
        &[],
        ("    renderer: binary\n", "    renderer: native\n"),
        &["podinfo"],
        &[("FERRY_HELM", no_helm.as_path())],
    );
}

/// The default (`auto`) renders the example's chart natively: with no helm and no kubectl
/// anywhere, the build writes what `--renderer binary` writes, and the index names the
/// native renderer.
#[test]
fn the_example_builds_with_no_binary_at_all() {
    if !tools_present() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    let empty = tempfile::tempdir().expect("tempdir");
    let report = build_json_env(
        r,
        cache.path(),
        &["--out", "out-nobin"],
        &[("PATH", empty.path())],
    );
    assert!(
        report["environments"][0]["objects"].as_u64() > Some(3),
        "{report}"
    );
    let index: Value =
        serde_json::from_slice(&std::fs::read(r.join("out-nobin/prod/index.json")).expect("index"))
            .expect("json");
    let renderer = index["apps"]["podinfo"]["renderer"].as_str().unwrap_or("");
    assert!(
        renderer.starts_with("auto: ferry-native") && renderer.ends_with("| no binary"),
        "{renderer}"
    );
    build_json(
        r,
        cache.path(),
        &["--out", "out-binary", "--renderer", "binary"],
    );
    assert_eq!(
        objects_only(&r.join("out-nobin")),
        objects_only(&r.join("out-binary"))
    );
}

#[test]
fn build_compare_reports_each_helm_app_and_kustomize_root() {
    if !tools_present() {
        return;
    }
    let repo = common::example_repo();
    let cache = tempfile::tempdir().expect("tempdir");
    let out = common::ferry(cache.path())
        .args(["build", "-C"])
        .arg(repo.path())
        .arg("--compare")
        .output()
        .expect("ferry runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("prod/frontend (apps/frontend/overlays/prod): same"));
    assert!(stdout.contains("2 of 2 kustomize roots render identically"));
    // The chart's test hook draws a random name; the build leaves it out, and so does this.
    assert!(
        stdout.contains("prod/podinfo (charts/podinfo): same"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 of 2 helm apps render identically"),
        "{stdout}"
    );
    assert!(
        !repo.path().join("out").exists(),
        "--compare writes nothing"
    );
}

#[test]
fn bad_renderer_values_name_key_and_line() {
    let cases = [
        (
            "kubeVersion: \"1.31.0\"",
            "kubeVersion: \"1.31.0\"\nrenderer: fast",
            "renderer: unknown variant `fast`",
        ),
        (
            "kustomize: apps/frontend/overlays/${env}",
            "kustomize: apps/frontend/overlays/${env}\n    renderer: nativ",
            "apps.frontend.renderer: unknown variant `nativ`",
        ),
        (
            "    path: infra/namespaces\n",
            "    path: infra/namespaces\n    renderer: native\n",
            "apps.namespaces.renderer: `renderer` only applies to kustomize and helm apps",
        ),
    ];
    let located = regex::Regex::new(r"ferry\.yaml:\d+: ").expect("regex");
    for (from, to, want) in cases {
        let repo = common::example_repo();
        let cache = tempfile::tempdir().expect("tempdir");
        edit(&repo.path().join("ferry.yaml"), from, to);
        let out = common::ferry(cache.path())
            .args(["build", "--worktree", "-C"])
            .arg(repo.path())
            .output()
            .expect("ferry runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(want), "want {want:?} in:\n{stderr}");
        assert!(located.is_match(&stderr), "no line in {stderr}");
    }
}

/// `ferry build` with nothing on PATH (no helm, no kubectl).
fn build_without_binaries(r: &Path) -> std::process::Output {
    let empty = tempfile::tempdir().expect("tempdir");
    common::ferry(empty.path())
        .args(["build", "-o", "out-nobin", "-C"])
        .arg(r)
        .env("PATH", empty.path())
        .output()
        .expect("runs")
}

/// [`build_without_binaries`], which must fail: its stderr.
fn failing_build_without_binaries(r: &Path) -> String {
    let out = build_without_binaries(r);
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn auto_renders_every_kustomize_root_natively_issue_18() {
    if common::require_tool("kubectl").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let r = tmp.path();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  k: v\n";
    for app in ["plain", "meta"] {
        std::fs::create_dir_all(r.join(app)).expect("mkdir");
        std::fs::write(r.join(app).join("cm.yaml"), cm).expect("write");
    }
    std::fs::write(r.join("plain/kustomization.yaml"), "resources: [cm.yaml]\n").expect("write");
    // `buildMetadata: [originAnnotations]` was the last field handed to the binary.
    std::fs::write(
        r.join("meta/kustomization.yaml"),
        "resources: [cm.yaml]\nnamePrefix: meta-\nbuildMetadata: [originAnnotations]\n",
    )
    .expect("write");
    std::fs::write(
        r.join("ferry.yaml"),
        "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  dev: {}\napps:\n  plain:\n    namespace: a\n    kustomize: plain\n  meta:\n    namespace: b\n    kustomize: meta\n",
    )
    .expect("write");
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "two kustomize apps");
    let cache = tempfile::tempdir().expect("tempdir");

    // Both roots render natively; native writes the origin annotation kubectl writes.
    let report = build_json(r, cache.path(), &[]);
    assert_eq!(report["environments"][0]["objects"], 2, "{report}");
    let meta = std::fs::read_to_string(r.join("out/dev/meta/configmap_b_meta-settings.yaml"))
        .expect("written");
    assert!(meta.contains("config.kubernetes.io/origin"), "{meta}");
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(r.join("out/dev/index.json")).expect("index"),
    )
    .expect("json");
    for app in ["plain", "meta"] {
        assert!(
            index["apps"][app]["renderer"]
                .as_str()
                .is_some_and(|v| v.starts_with("auto: ferry-native")),
            "{index}"
        );
    }
    assert!(meta.contains("path: cm.yaml"), "{meta}");

    // Without any binary every root still renders.
    let out = build_without_binaries(r);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn auto_renders_charts_natively_and_hands_unsupported_features_to_helm() {
    if common::require_tool("helm").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let r = tmp.path();
    let cm = |name: &str, value: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n")
    };
    for (chart, value) in [
        ("plain", "{{ .Values.v | quote }}"),
        // An EC key on P-384 (base64 of its PEM) is what the native renderer lacks yet.
        ("hashed", common::P384_CA),
    ] {
        std::fs::create_dir_all(r.join(chart).join("templates")).expect("mkdir");
        std::fs::write(
            r.join(chart).join("Chart.yaml"),
            format!("apiVersion: v2\nname: {chart}\nversion: 0.1.0\n"),
        )
        .expect("write");
        std::fs::write(r.join(chart).join("values.yaml"), "v: one\n").expect("write");
        std::fs::write(r.join(chart).join("templates/cm.yaml"), cm(chart, value)).expect("write");
    }
    std::fs::write(
        r.join("ferry.yaml"),
        "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  dev: {}\napps:\n  plain:\n    namespace: a\n    helm: {chart: plain}\n  hashed:\n    namespace: b\n    helm: {chart: hashed}\n",
    )
    .expect("write");
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "two charts");
    let cache = tempfile::tempdir().expect("tempdir");

    // With helm: the chart native refuses goes to helm; the other renders natively. The
    // fingerprint (the cache key's) names both renderers.
    let report = build_json(r, cache.path(), &[]);
    assert_eq!(report["environments"][0]["objects"], 2, "{report}");
    let hashed =
        std::fs::read_to_string(r.join("out/dev/hashed/configmap_b_hashed.yaml")).expect("written");
    assert!(hashed.contains("k: sprig.certificate"), "{hashed}");
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(r.join("out/dev/index.json")).expect("index"),
    )
    .expect("json");
    let fingerprint = index["apps"]["plain"]["renderer"].as_str().unwrap_or("");
    assert!(
        fingerprint.starts_with("auto: ferry-native") && fingerprint.contains("| helm v4"),
        "{index}"
    );

    // Without helm the supported chart still renders; the other is an error naming the
    // function it lacks and what to do.
    let err = failing_build_without_binaries(r);
    assert!(
        err.contains("dev/hashed")
            && err.contains("`genCAWithKey`")
            && err.contains("install helm"),
        "{err}"
    );
    assert!(
        !err.contains("dev/plain"),
        "the supported chart rendered: {err}"
    );
}
