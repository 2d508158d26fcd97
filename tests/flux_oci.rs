//! Kustomizations whose source is an OCIRepository, end to end against the real CNCF
//! registry on loopback: the content is pushed as a Flux artifact by oras (`oci-artifact`,
//! oras-py), `ferry vendor --flux` pins and unpacks it, and `ferry build --flux --offline`
//! renders each Kustomization's path in it to what `kubectl kustomize` of the same content
//! gives with the Kustomization's settings written into the kustomization file (as
//! kustomize-controller does). Then the refusals: not vendored, `--offline`, a Bucket.

mod common;

use common::flux::{assert_same, reference, write, written};
use common::oras::{
    content_and_broken, push, refused_build, revendor_offline, run, run_ok, CONTENT,
};
use common::registry::Registry;
use common::require_tool;
use std::collections::BTreeMap;

const SYNC: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 1m, url: 'https://git.example.com/fleet', ref: {branch: main}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 10m, path: ./clusters/prod, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n";

const APPS: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps/production
  prune: true
  sourceRef: {kind: OCIRepository, name: apps}
  targetNamespace: podinfo-prod
  namePrefix: prod-
  images:
    - name: ghcr.io/stefanprodan/podinfo
      newTag: 6.7.1
  patches:
    - patch: |
        - op: add
          path: /spec/revisionHistoryLimit
          value: 5
      target:
        kind: Deployment
  postBuild:
    substitute:
      cluster_env: production
      replicas: \"3\"
      app_version: \"6.7.1\"
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: base, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps/base/podinfo
  prune: true
  sourceRef: {kind: OCIRepository, name: selected}
  targetNamespace: selected
  postBuild:
    substitute: {cluster_env: selected, app_version: \"1.0.0\"}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: by-digest, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps/base/podinfo
  prune: true
  sourceRef: {kind: OCIRepository, name: pinned}
  targetNamespace: by-digest
  postBuild:
    substitute: {cluster_env: selected, app_version: \"1.0.0\"}
";

#[test]
fn kustomizations_from_oci_repositories_build_what_flux_applies() {
    let Some(kubectl) = require_tool("kubectl") else {
        return;
    };
    let Some(oras) = require_tool("oci-artifact") else {
        return;
    };
    let Some(reg) = Registry::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");

    // The content: the apps of testdata/flux. 1.2.0 is what the range picks; 2.0.0 is
    // outside it and 1.0.0 below the highest, both broken (as is the decoy layer below):
    // building them fails, so only the artifact Flux would pick can pass.
    let content = content_and_broken(tmp.path(), &work, &["apps/production", "apps/base/podinfo"]);
    let mut by_digest = String::new();
    for (tag, file) in [("1.0.0", "broken"), ("1.2.0", "good"), ("2.0.0", "broken")] {
        let digest = push(
            &oras,
            &work,
            &format!("{}/fleet/apps:{tag}", reg.addr),
            &[format!("{file}.tgz:{CONTENT}")],
        );
        if tag == "1.2.0" {
            by_digest = digest;
        }
    }
    assert!(by_digest.starts_with("sha256:"), "{by_digest}");
    // Two layers: the layer selector must pick the Flux content, not the first one.
    push(
        &oras,
        &work,
        &format!("{}/fleet/selected:stable", reg.addr),
        &[
            "broken.tgz:application/vnd.example.decoy.v1.tar+gzip".to_string(),
            format!("good.tgz:{CONTENT}"),
        ],
    );

    let repo = tmp.path().join("repo");
    write(&repo, "clusters/prod/flux-system/gotk-sync.yaml", SYNC);
    write(
        &repo,
        "clusters/prod/sources.yaml",
        &format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {{name: apps, namespace: flux-system}}\nspec: {{interval: 5m, url: 'oci://{a}/fleet/apps', ref: {{semver: '>=1.0.0 <2.0.0'}}}}\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {{name: selected, namespace: flux-system}}\nspec:\n  interval: 5m\n  url: oci://{a}/fleet/selected\n  ref: {{tag: stable}}\n  layerSelector: {{mediaType: '{CONTENT}', operation: copy}}\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {{name: pinned, namespace: flux-system}}\nspec: {{interval: 5m, url: 'oci://{a}/fleet/apps', ref: {{tag: '2.0.0', digest: '{by_digest}'}}}}\n", a = reg.addr),
    );
    write(&repo, "clusters/prod/apps.yaml", APPS);

    // Not vendored: each Kustomization named with its file and what to run.
    let err = refused_build(tmp.path(), &repo);
    for name in ["apps", "base", "by-digest"] {
        let line = err
            .lines()
            .find(|l| {
                l.contains(&format!(
                    "prod: Kustomization flux-system/{name} (clusters/prod/apps.yaml): "
                ))
            })
            .unwrap_or_else(|| panic!("{name} not reported:\n{err}"));
        assert!(line.contains("is not pinned in ferry.lock"), "{line}");
    }
    assert_eq!(
        err.matches("hint: run `ferry vendor --flux`").count(),
        3,
        "{err}"
    );
    assert!(!repo.join("out/prod").exists(), "nothing written");

    // `--offline` refuses to pull.
    let out = run(tmp.path(), &repo, &["vendor", "--flux", "--offline"]);
    assert_eq!(out.status.code(), Some(2), "--offline refuses to pull");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--offline"));
    assert!(!repo.join("ferry.lock").exists());

    let out = run_ok(tmp.path(), &repo, &["vendor", "--flux", "--output", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let apps_key = format!("oci://{}/fleet/apps:semver >=1.0.0 <2.0.0", reg.addr);
    let selected_key = format!("oci://{}/fleet/selected:stable#{CONTENT}", reg.addr);
    let mut fetched: Vec<&str> = report["fetched"]
        .as_array()
        .expect("fetched")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    fetched.sort();
    let digest_key = format!("oci://{}/fleet/apps@{by_digest}", reg.addr);
    assert_eq!(
        fetched,
        [
            apps_key.as_str(),
            digest_key.as_str(),
            selected_key.as_str()
        ],
        "{report}"
    );
    let lock: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(repo.join("ferry.lock")).expect("lock"))
            .expect("yaml");
    let pinned = &lock["artifacts"][apps_key.as_str()];
    assert_eq!(pinned["version"].as_str(), Some("1.2.0"), "{lock:?}");
    let layer = pinned["layer"].as_str().expect("layer digest");
    let good = std::fs::read(work.join("good.tgz")).expect("tgz");
    assert_eq!(
        layer,
        format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&good))
        ),
        "the layer pushed"
    );
    assert_eq!(
        lock["artifacts"][selected_key.as_str()]["layer"].as_str(),
        Some(layer)
    );
    assert!(pinned["digest"]
        .as_str()
        .is_some_and(|d| d.starts_with("sha256:")));

    // Built offline, with the registry gone.
    let addr = reg.addr.clone();
    drop(reg);
    run_ok(
        tmp.path(),
        &repo,
        &["build", "--flux", "--worktree", "--offline"],
    );
    let prod = repo.join("out/prod");
    let (vars, kustomization) = common::flux::production_apps();
    let want = reference(
        &kubectl,
        &content,
        "apps/production",
        kustomization,
        Some(&vars),
        &[],
    );
    assert!(want.len() >= 3, "{want:?}");
    assert_same("prod", "apps", &written(&prod, "flux-system.apps"), &want);

    let vars: BTreeMap<&str, &str> = [("cluster_env", "selected"), ("app_version", "1.0.0")].into();
    let want = reference(
        &kubectl,
        &content,
        "apps/base/podinfo",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n- service.yaml\n- config.yaml\nnamespace: selected\n",
        Some(&vars),
        &[],
    );
    let got = written(&prod, "flux-system.base");
    assert_same("prod", "base", &got, &want);
    let deploy = &got[&("Deployment".into(), "selected".into(), "podinfo".into())];
    assert_eq!(
        deploy["spec"]["replicas"], 1,
        "the default of ${{replicas:=1}}"
    );
    // `ref.digest` wins over `ref.tag` (2.0.0, broken), as in source-controller.
    let want = reference(
        &kubectl,
        &content,
        "apps/base/podinfo",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n- service.yaml\n- config.yaml\nnamespace: by-digest\n",
        Some(&vars),
        &[],
    );
    assert_same(
        "prod",
        "by-digest",
        &written(&prod, "flux-system.by-digest"),
        &want,
    );
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(prod.join("index.json")).expect("index"))
            .expect("json");
    let inputs = index["apps"]["flux-system.by-digest"]["inputs"].to_string();
    assert!(
        inputs.contains(&format!("{digest_key}//apps/base/podinfo")),
        "the index names the pinned artifact: {inputs}"
    );

    // Vendoring again finds everything in the cache and pins the same.
    revendor_offline(tmp.path(), &repo, 3);

    // `ferry init --from-flux`: ferry.yaml apps read only this repository, so a Kustomization
    // built from an artifact is not carried over, by name and with what to do, even when
    // nothing else in its spec stands in the way.
    write(
        &repo,
        "clusters/prod/plain.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: plain, namespace: flux-system}\nspec: {interval: 10m, path: ./apps/base/podinfo, prune: true, sourceRef: {kind: OCIRepository, name: selected}}\n",
    );
    let out = run(tmp.path(), &repo, &["init", "--from-flux", "clusters"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = err
        .lines()
        .find(|l| {
            l.contains(
                "Kustomization flux-system/plain (clusters/prod/plain.yaml): not carried over",
            )
        })
        .unwrap_or_else(|| panic!("plain not reported:\n{err}"));
    assert!(
        line.contains(&format!("spec.sourceRef OCIRepository flux-system/selected: its content is an OCI artifact (oci://{addr}/fleet/selected@sha256:"))
            && line.contains("keep building this Kustomization with `ferry build --flux`"),
        "{line}"
    );
    for name in ["apps", "base", "by-digest"] {
        assert!(
            err.contains(&format!("Kustomization flux-system/{name} (clusters/prod/apps.yaml): not carried over: spec.sourceRef OCIRepository")),
            "{name}: {err}"
        );
    }
    // Every Kustomization here builds from an artifact: nothing to write, and it says so.
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no Kustomization or HelmRelease of the Flux repository under clusters can be carried over"),
        "{err}"
    );
    assert!(!repo.join("ferry.yaml").exists(), "nothing written");
    // Beside one from this repository: that one is written, the others still named.
    write(
        &repo,
        "apps/local/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local, namespace: default}\ndata: {a: b}\n",
    );
    write(
        &repo,
        "clusters/prod/local.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: local, namespace: flux-system}\nspec: {interval: 10m, path: ./apps/local, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n",
    );
    let out = run(tmp.path(), &repo, &["init", "--from-flux", "clusters"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("Kustomization flux-system/plain (clusters/prod/plain.yaml): not carried over: spec.sourceRef OCIRepository"), "{err}");
    let config: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo.join("ferry.yaml")).expect("ferry.yaml"),
    )
    .expect("yaml");
    let apps: Vec<&str> = config["apps"]
        .as_mapping()
        .expect("apps")
        .keys()
        .filter_map(|k| k.as_str())
        .collect();
    assert_eq!(apps, ["local"], "{config:?}");
    assert_eq!(config["apps"]["local"]["path"].as_str(), Some("apps/local"));
    for f in [
        "ferry.yaml",
        "clusters/prod/local.yaml",
        "apps/local/config.yaml",
    ] {
        std::fs::remove_file(repo.join(f)).expect("rm");
    }
    std::fs::remove_file(repo.join("clusters/prod/plain.yaml")).expect("rm");

    // A Bucket: an error naming the Kustomization, its file and what to do instead.
    write(
        &repo,
        "clusters/prod/bucket.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: legacy, namespace: flux-system}\nspec: {interval: 5m, provider: aws, bucketName: fleet, endpoint: s3.amazonaws.com}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: legacy, namespace: flux-system}\nspec: {interval: 10m, path: ./, prune: true, sourceRef: {kind: Bucket, name: legacy}}\n",
    );
    let err = refused_build(tmp.path(), &repo);
    let line = err
        .lines()
        .find(|l| {
            l.contains("prod: Kustomization flux-system/legacy (clusters/prod/bucket.yaml): ")
        })
        .unwrap_or_else(|| panic!("the Bucket Kustomization not reported:\n{err}"));
    assert!(
        line.contains("spec.sourceRef Bucket flux-system/legacy is a Bucket"),
        "{line}"
    );
    assert!(
        err.contains("publish the content as an OCI artifact"),
        "{err}"
    );
}
