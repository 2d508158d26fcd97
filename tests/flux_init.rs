//! `ferry init --from-flux`: the ferry.yaml it writes for a Flux repository builds the same
//! objects as `ferry build --flux` does (except the labels helm-controller adds, which it says
//! it does not carry), and what has no equivalent is named.

mod common;

use common::flux::write;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn repository(r: &Path) {
    for (cluster, replicas) in [("staging", 1), ("production", 2)] {
        write(r, &format!("clusters/{cluster}/flux-system/gotk-sync.yaml"), &format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {{name: flux-system, namespace: flux-system}}\nspec: {{interval: 1m, url: 'https://git.example.com/fleet', ref: {{branch: main}}}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: flux-system, namespace: flux-system}}\nspec: {{interval: 10m, path: ./clusters/{cluster}, prune: true, sourceRef: {{kind: GitRepository, name: flux-system}}}}\n"
        ));
        write(r, &format!("clusters/{cluster}/kustomizations.yaml"), &format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: infra, namespace: flux-system}}\nspec: {{interval: 1h, path: ./infrastructure, prune: true, sourceRef: {{kind: GitRepository, name: flux-system}}}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: apps, namespace: flux-system}}\nspec: {{interval: 1h, path: ./apps/{cluster}, prune: true, sourceRef: {{kind: GitRepository, name: flux-system}}}}\n"
        ));
        write(r, &format!("clusters/{cluster}/release.yaml"), &format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: web, namespace: flux-system}}\nspec:\n  targetNamespace: apps\n  chart:\n    spec: {{chart: ./charts/web, sourceRef: {{kind: GitRepository, name: flux-system}}}}\n  values: {{replicas: {replicas}, greeting: hello}}\n"
        ));
        write(r, &format!("apps/{cluster}/kustomization.yaml"), &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: apps\nresources: [../base]\nlabels:\n  - pairs: {{cluster: {cluster}}}\n"
        ));
    }
    // Only staging substitutes variables: no ferry.yaml equivalent, so it is named.
    write(r, "clusters/staging/extras.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: extras, namespace: flux-system}\nspec:\n  interval: 1h\n  path: ./extras\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n  postBuild:\n    substitute: {color: blue}\n");
    write(r, "extras/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extras, namespace: apps}\ndata: {color: '${color}'}\n");
    write(r, "infrastructure/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [namespace.yaml]\n");
    write(
        r,
        "infrastructure/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
    );
    write(r, "apps/base/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [config.yaml]\n");
    write(
        r,
        "apps/base/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {level: info}\n",
    );
    write(
        r,
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    );
    write(r, "charts/web/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  labels: {app: web}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n  greeting: {{ .Values.greeting }}\n");
}

type Key = (String, String, String);

/// Every object under `dir`, by kind, namespace and name, without helm-controller's labels.
fn objects(dir: &Path) -> BTreeMap<Key, Value> {
    let mut m = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        let p = e.path();
        if !e.file_type().is_file() || p.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let mut v: Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(p).expect("read")).expect("yaml");
        if let Some(labels) = v["metadata"]["labels"].as_object_mut() {
            labels.remove("helm.toolkit.fluxcd.io/name");
            labels.remove("helm.toolkit.fluxcd.io/namespace");
        }
        let s = |f: &Value| f.as_str().unwrap_or_default().to_string();
        m.insert(
            (
                s(&v["kind"]),
                s(&v["metadata"]["namespace"]),
                s(&v["metadata"]["name"]),
            ),
            v,
        );
    }
    m
}

#[test]
fn init_from_flux_writes_a_ferry_yaml_that_builds_the_same_objects() {
    let tmp = tempfile::tempdir().expect("tmp");
    let r = tmp.path().join("repo");
    repository(&r);
    let cache = tmp.path().join("cache");
    let out = common::ferry(&cache)
        .current_dir(&r)
        .args(["init", "--from-flux", "clusters"])
        .output()
        .expect("ferry");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("not carried over: staging: Kustomization flux-system/extras (clusters/staging/extras.yaml): not carried over: spec.postBuild has no ferry.yaml equivalent"),
        "{stderr}"
    );
    assert!(stderr.contains("helm.toolkit.fluxcd.io/name"), "{stderr}");
    let yaml = std::fs::read_to_string(r.join("ferry.yaml")).expect("ferry.yaml");
    assert!(
        yaml.contains("# not carried over: staging: Kustomization flux-system/extras"),
        "{yaml}"
    );
    // One app where the clusters agree, one per cluster where they differ.
    let p: Value = serde_yaml_ng::from_str(&yaml).expect("yaml");
    assert_eq!(p["apps"]["infra"]["kustomize"], "infrastructure", "{yaml}");
    assert_eq!(
        p["apps"]["apps-staging"]["kustomize"], "apps/staging",
        "{yaml}"
    );
    assert_eq!(
        p["apps"]["web-production"]["helm"]["set"]["replicas"], 2,
        "{yaml}"
    );

    let again = common::ferry(&cache)
        .current_dir(&r)
        .args(["init", "--from-flux", "clusters"])
        .output()
        .expect("ferry");
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing ferry.yaml is kept"
    );

    for (args, dir) in [
        (vec!["build", "--worktree"], "out"),
        (
            vec!["build", "--flux", "--worktree", "--out", "out-flux"],
            "out-flux",
        ),
    ] {
        let out = common::ferry(&cache)
            .current_dir(&r)
            .args(&args)
            .output()
            .expect("ferry");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(r.join(dir).join("staging").is_dir());
    }
    for cluster in ["staging", "production"] {
        let from_yaml = objects(&r.join("out").join(cluster));
        let mut from_flux = objects(&r.join("out-flux").join(cluster));
        if cluster == "staging" {
            // The one Kustomization not carried over.
            assert!(from_flux
                .remove(&("ConfigMap".into(), "apps".into(), "extras".into()))
                .is_some());
        }
        assert!(from_yaml.len() >= 3, "{cluster}: {:?}", from_yaml.keys());
        assert_eq!(from_yaml, from_flux, "{cluster}");
    }
}
