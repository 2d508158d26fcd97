//! `ferry build --flux`: the Flux repository under testdata/flux, built by ferry, compared
//! object by object with what Flux would apply, computed independently: the kustomization
//! file kustomize-controller writes (spelled out here), the real `kubectl kustomize`, and a
//! reference substitution of `${var}`/`${var:=default}`/`$${escape}` over the YAML text.
//! Then the bad inputs, each a clear error naming the Flux object and its file.

mod common;

use common::flux::{assert_same, build, fixture, key, reference, write, written, Key};
use common::{copy_dir, ferry, require_tool};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

#[test]
fn flux_repository_builds_what_flux_applies() {
    let Some(kubectl) = require_tool("kubectl") else {
        return;
    };
    let (tmp, repo) = fixture();
    let out = build(tmp.path(), &repo, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let staging = repo.join("out/staging");
    let production = repo.join("out/production");

    // The cluster roots: Flux's own sync objects are carried out by ferry, the rest stays.
    let root = written(&staging, "root");
    assert_eq!(
        root.keys().collect::<Vec<_>>(),
        [&(
            "ConfigMap".into(),
            "flux-system".into(),
            "cluster-vars".into()
        )]
    );
    let left = std::fs::read_dir(production.join("root")).map_or(0, |d| d.count());
    assert_eq!(left, 0, "nothing left in production's root");

    // infrastructure/configs has no kustomization: Flux lists its YAML files in Walk order.
    let generated = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ./limits\n- ./namespaces.yaml\n";
    let generated = generated.replace("- ./limits\n", "- ./limits/limits.yaml\n");
    for (cluster, out) in [("staging", &staging), ("production", &production)] {
        let want = reference(
            &kubectl,
            &repo,
            "infrastructure/configs",
            &generated,
            None,
            &[("toolkit.fluxcd.io/tier", "infrastructure")],
        );
        assert_same(
            cluster,
            "infra-configs",
            &written(out, "flux-system.infra-configs"),
            &want,
        );
    }

    // staging: targetNamespace and variables from a ConfigMap the cluster root renders.
    let vars: BTreeMap<&str, &str> = [
        ("cluster_env", "staging"),
        ("replicas", "2"),
        ("domain", "staging.example.com"),
        ("app_version", "6.7.0"),
    ]
    .into();
    let want = reference(
        &kubectl,
        &repo,
        "apps/staging",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: podinfo\nresources:\n- ../base/podinfo\n- ingress.yaml\n- helm.yaml\n",
        Some(&vars),
        &[],
    );
    // ferry renders the HelmRelease itself (below) instead of writing it.
    let (want, releases): (BTreeMap<Key, Value>, BTreeMap<Key, Value>) =
        want.into_iter().partition(|(k, _)| k.0 != "HelmRelease");
    assert_eq!(releases.len(), 1);
    let got = written(&staging, "flux-system.apps");
    assert_same("staging", "apps", &got, &want);
    let deploy = &got[&("Deployment".into(), "podinfo".into(), "podinfo".into())];
    assert_eq!(deploy["spec"]["replicas"], 2, "substituted and typed again");
    let env = &deploy["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[1]["value"], "${not_a_variable}",
        "an escaped variable stays literal"
    );
    let raw = &got[&("ConfigMap".into(), "podinfo".into(), "podinfo-raw".into())];
    assert_eq!(
        raw["data"]["script"], "echo ${HOME} ${domain}",
        "substitute: disabled"
    );

    // The HelmRelease: `helm template` of the chart in this repository with valuesFrom
    // (a whole file, then one value at a targetPath) under the inline values, which the
    // Kustomization's substitution reached first.
    let Some(helm) = require_tool("helm") else {
        return;
    };
    let values = "replicaCount: 2\nredis:\n  enabled: true\nui:\n  logo: https://example.com/logo.png\n  color: \"#34577c\"\n  message: hello from staging\n";
    let values_file = tmp.path().join("values.yaml");
    std::fs::write(&values_file, values).expect("values");
    let out = Command::new(&helm)
        .args(["template", "frontend"])
        .arg(repo.join("charts/podinfo"))
        .args(["--namespace", "podinfo", "--include-crds", "-f"])
        .arg(&values_file)
        .output()
        .expect("helm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // helm-controller's post-render: the kustomize post renderer over helm's output, then
    // commonMetadata and the origin labels.
    let post = tempfile::tempdir().expect("tmp");
    std::fs::write(post.path().join("helm-output.yaml"), &out.stdout).expect("write");
    write(
        post.path(),
        "kustomization.yaml",
        "resources:\n- helm-output.yaml\npatches:\n- target:\n    kind: Deployment\n    name: frontend-podinfo\n  patch: |\n    - op: add\n      path: /spec/template/metadata/annotations/fleet.example.com~1team\n      value: web\nimages:\n- name: ghcr.io/stefanprodan/podinfo\n  newTag: 6.14.0\n",
    );
    let text = common::flux::kustomize(&kubectl, post.path());
    let mut want = BTreeMap::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let mut v: Value = serde::Deserialize::deserialize(doc).expect("doc");
        if v.is_null() {
            continue;
        }
        let hook = v["metadata"]["annotations"]["helm.sh/hook"]
            .as_str()
            .unwrap_or_default();
        if hook.starts_with("test") {
            continue;
        }
        if v["metadata"]["namespace"].is_null() {
            v["metadata"]["namespace"] = Value::String("podinfo".into());
        }
        for (k, val) in [
            ("team", "web"),
            ("helm.toolkit.fluxcd.io/name", "frontend"),
            ("helm.toolkit.fluxcd.io/namespace", "podinfo"),
        ] {
            v["metadata"]["labels"][k] = Value::String(val.into());
        }
        want.insert(key(&v), v);
    }
    assert!(want.len() >= 4, "{want:?}");
    assert_same(
        "staging",
        "frontend",
        &written(&staging, "hr.podinfo.frontend"),
        &want,
    );

    // production: prefix, images and a JSON patch written into the kustomization.
    let (vars, kustomization) = common::flux::production_apps();
    let want = reference(
        &kubectl,
        &repo,
        "apps/production",
        kustomization,
        Some(&vars),
        &[],
    );
    assert_same(
        "production",
        "apps",
        &written(&production, "flux-system.apps"),
        &want,
    );

    // The index says which Kustomization produced each object.
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(staging.join("index.json")).expect("index"))
            .expect("json");
    let apps = index["apps"].as_object().expect("apps");
    assert_eq!(
        apps.keys().collect::<Vec<_>>(),
        [
            "flux-system.apps",
            "flux-system.infra-configs",
            "hr.podinfo.frontend",
            "root"
        ]
    );
    assert!(apps["flux-system.apps"]["inputs"]
        .as_object()
        .expect("inputs")
        .contains_key("spec:flux-system/apps"));

    // Reproducible: a second build changes nothing.
    let again = build(tmp.path(), &repo, &[]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date"));
}

#[test]
fn sops_secret_in_substitute_from_leaves_no_plaintext() {
    let (tmp, repo) = fixture();
    const SECRET: &str = "hunter2-flux-s3cret";
    let plain = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n  namespace: flux-system\nstringData:\n  db_password: {SECRET}\n");
    let enc = common::flux::encrypt_for_ci(&plain);
    write(&repo, "clusters/staging/cluster-secrets.yaml", &enc);
    write(
        &repo,
        "apps/staging/db.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: ${db_password}\n",
    );
    write(
        &repo,
        "apps/staging/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/podinfo\n  - ingress.yaml\n  - db.yaml\n",
    );
    let out = build(tmp.path(), &repo, &["staging"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files = 0;
    // The output, and the render cache (Kustomization renders are kept there too).
    let scanned = [repo.join("out"), tmp.path().join("cache")];
    for e in scanned.iter().flat_map(walkdir::WalkDir::new) {
        let e = e.expect("entry");
        if e.file_type().is_file() {
            files += 1;
            let bytes = std::fs::read(e.path()).expect("read");
            assert!(
                !String::from_utf8_lossy(&bytes).contains(SECRET),
                "plaintext in {}",
                e.path().display()
            );
        }
    }
    assert!(files > 5);
    for stream in [&out.stdout, &out.stderr] {
        assert!(!String::from_utf8_lossy(stream).contains(SECRET));
    }
    // Both Secrets are written sealed (SOPS) for the cluster.
    let db =
        std::fs::read_to_string(repo.join("out/staging/flux-system.apps/secret_podinfo_db.yaml"))
            .expect("db secret");
    assert!(db.contains("sops:") && db.contains("ENC["), "{db}");

    // The same value substituted into a HelmRelease's values is refused before helm sees it.
    let helm = std::fs::read_to_string(repo.join("apps/staging/helm.yaml")).expect("read");
    write(
        &repo,
        "apps/staging/helm.yaml",
        &helm.replace("hello from ${cluster_env}", "${db_password}"),
    );
    write(
        &repo,
        "apps/staging/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/podinfo\n  - ingress.yaml\n  - db.yaml\n  - helm.yaml\n",
    );
    let out = build(tmp.path(), &repo, &["staging"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("staging: HelmRelease podinfo/frontend (apps/staging/helm.yaml): spec.values.ui.message holds a value of Secret flux-system/cluster-secrets"),
        "{err}"
    );
    assert!(!err.contains(SECRET) && !String::from_utf8_lossy(&out.stdout).contains(SECRET));
}

fn errors_of(tmp: &Path, repo: &Path, extra: &[&str]) -> String {
    let out = build(tmp, repo, extra);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_kustomizations_are_each_named_with_their_file() {
    let (tmp, repo) = fixture();
    // Three bad Kustomizations in staging: none hides the others.
    write(
        &repo,
        "clusters/staging/broken.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: broken\n  namespace: flux-system\nspec:\n  path: ./does/not/exist\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: foreign\n  namespace: flux-system\nspec:\n  path: ./x\n  sourceRef:\n    kind: GitRepository\n    name: other\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: other\n  namespace: flux-system\nspec:\n  url: https://github.com/example/other\n",
    );
    // production: a dependsOn cycle.
    let apps = std::fs::read_to_string(repo.join("clusters/production/infrastructure.yaml"))
        .expect("read");
    write(
        &repo,
        "clusters/production/infrastructure.yaml",
        &apps.replace(
            "spec:\n  interval: 1h\n",
            "spec:\n  interval: 1h\n  dependsOn:\n    - name: apps\n",
        ),
    );
    let err = errors_of(tmp.path(), &repo, &[]);
    assert!(err.contains("staging: Kustomization flux-system/broken (clusters/staging/broken.yaml): spec.path `does/not/exist` does not exist"), "{err}");
    assert!(err.contains("staging: Kustomization flux-system/foreign (clusters/staging/broken.yaml): spec.sourceRef GitRepository flux-system/other (https://github.com/example/other) is not this repository"), "{err}");
    assert!(err.contains("production: Kustomization flux-system/apps (clusters/production/apps.yaml): spec.dependsOn forms a cycle"), "{err}");
    assert!(err.contains("production: Kustomization flux-system/infra-configs (clusters/production/infrastructure.yaml): spec.dependsOn forms a cycle"), "{err}");
    assert!(!repo.join("out/staging").exists() && !repo.join("out/production").exists());
}

#[test]
fn strict_substitution_names_the_unset_variable() {
    let (tmp, repo) = fixture();
    write(
        &repo,
        "apps/staging/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  region: ${region}\n",
    );
    write(
        &repo,
        "apps/staging/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/podinfo\n  - ingress.yaml\n  - extra.yaml\n",
    );
    // Without the gate, the variable is the empty string: `region: ` reads back as null, in
    // Flux as here.
    let out = build(tmp.path(), &repo, &["staging"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cm = std::fs::read_to_string(
        repo.join("out/staging/flux-system.apps/configmap_podinfo_extra.yaml"),
    )
    .expect("cm");
    assert!(cm.contains("region: null"), "{cm}");
    let err = errors_of(tmp.path(), &repo, &["staging", "--strict-substitution"]);
    assert!(
        err.contains("staging: Kustomization flux-system/apps (clusters/staging/apps.yaml): post build failed for 'ConfigMap/extra': envsubst error: variable substitution failed: variable not set (strict mode): \"region\""),
        "{err}"
    );
}

#[test]
fn bad_helmreleases_are_each_named_with_their_file() {
    let (tmp, repo) = fixture();
    // A chart from a Helm repository that was never vendored, and a valuesFrom key that the
    // ConfigMap does not have: both reported, each naming its HelmRelease and file.
    write(
        &repo,
        "infrastructure/configs/redis.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: bitnami\n  namespace: flux-system\nspec:\n  url: https://charts.example.com/bitnami\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: redis\n  namespace: flux-system\nspec:\n  chart:\n    spec:\n      chart: redis\n      version: 18.1.0\n      sourceRef:\n        kind: HelmRepository\n        name: bitnami\n",
    );
    let helm = std::fs::read_to_string(repo.join("apps/staging/helm.yaml")).expect("read");
    write(
        &repo,
        "apps/staging/helm.yaml",
        &helm.replace("valuesKey: color", "valuesKey: colour"),
    );
    let err = errors_of(tmp.path(), &repo, &[]);
    for cluster in ["staging", "production"] {
        assert!(
            err.contains(&format!("{cluster}: HelmRelease flux-system/redis (infrastructure/configs/redis.yaml): chart https://charts.example.com/bitnami#redis@18.1.0 is not pinned in ferry.lock\nhint: run `ferry vendor --flux`")),
            "{err}"
        );
    }
    assert!(
        err.contains("staging: HelmRelease podinfo/frontend (apps/staging/helm.yaml): spec.valuesFrom[1]: ConfigMap podinfo/frontend-values has no key `colour`"),
        "{err}"
    );
    assert!(!repo.join("out/staging").exists() && !repo.join("out/production").exists());
}

#[test]
fn flux_build_reads_the_commit_not_the_working_tree() {
    let (tmp, repo) = fixture();
    common::git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join(".gitignore"), "out/\n").expect("write");
    common::commit_all(&repo, "fleet");
    let commit = common::git_output(&repo, &["rev-parse", "HEAD"]);
    // An uncommitted change: a Git build does not see it.
    let vars =
        std::fs::read_to_string(repo.join("clusters/staging/cluster-vars.yaml")).expect("read");
    write(
        &repo,
        "clusters/staging/cluster-vars.yaml",
        &vars.replace("replicas: \"2\"", "replicas: \"9\""),
    );
    let out = ferry(&tmp.path().join("cache"))
        .current_dir(&repo)
        .args(["build", "--flux", "clusters", "staging", "--output", "json"])
        .output()
        .expect("runs ferry");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["environments"][0]["name"], "staging");
    assert_eq!(report["environments"].as_array().map(Vec::len), Some(1));
    let deploy = &written(&repo.join("out/staging"), "flux-system.apps")
        [&("Deployment".into(), "podinfo".into(), "podinfo".into())];
    assert_eq!(deploy["spec"]["replicas"], 2, "the committed variable");
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("out/staging/index.json")).expect("index"),
    )
    .expect("json");
    assert_eq!(index["source"]["commit"].as_str(), Some(commit.trim()));
    // `ferry diff` compares two Flux builds as it compares any two builds, naming the
    // Kustomization that produced each change.
    copy_dir(&repo.join("out/staging"), &tmp.path().join("old"));
    let out = build(tmp.path(), &repo, &["staging"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ferry(&tmp.path().join("cache"))
        .current_dir(&repo)
        .arg("diff")
        .arg(tmp.path().join("old"))
        .arg(repo.join("out/staging"))
        .output()
        .expect("runs ferry diff");
    let diff = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{diff}");
    assert!(
        diff.contains("~ changed Deployment.apps/podinfo/podinfo  (app flux-system.apps; staging)"),
        "{diff}"
    );
    assert!(diff.contains("+  replicas: 9"), "{diff}");
    // An unknown cluster is refused, naming the known ones.
    let out = ferry(&tmp.path().join("cache"))
        .current_dir(&repo)
        .args(["build", "--flux", "clusters", "qa"])
        .output()
        .expect("runs ferry");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown cluster `qa` under clusters") && err.contains("production, staging"),
        "{err}"
    );
}

#[test]
fn the_bootstrap_kustomization_settings_apply_to_the_cluster_root() {
    let (tmp, repo) = fixture();
    let sync = std::fs::read_to_string(repo.join("clusters/staging/flux-system/gotk-sync.yaml"))
        .expect("read");
    write(
        &repo,
        "clusters/staging/flux-system/gotk-sync.yaml",
        &sync.replace(
            "  prune: true\n",
            "  prune: true\n  commonMetadata:\n    labels:\n      owner: platform\n  postBuild:\n    substitute:\n      region: eu-west-1\n",
        ),
    );
    let vars =
        std::fs::read_to_string(repo.join("clusters/staging/cluster-vars.yaml")).expect("read");
    write(
        &repo,
        "clusters/staging/cluster-vars.yaml",
        &format!("{vars}  region: ${{region}}\n"),
    );
    let out = build(tmp.path(), &repo, &["staging"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = written(&repo.join("out/staging"), "root");
    let cm = &root[&(
        "ConfigMap".into(),
        "flux-system".into(),
        "cluster-vars".into(),
    )];
    assert_eq!(cm["data"]["region"], "eu-west-1");
    assert_eq!(cm["metadata"]["labels"]["owner"], "platform");
    // The apps Kustomization still reads the root's ConfigMap for its variables.
    let apps = written(&repo.join("out/staging"), "flux-system.apps");
    let deploy = &apps[&("Deployment".into(), "podinfo".into(), "podinfo".into())];
    assert_eq!(deploy["metadata"]["labels"]["env"], "staging");
}
