//! HelmRelease semantics of `ferry build --flux` beyond tests/flux_build.rs: `valuesFrom`
//! Secrets (a SOPS Secret of the repository opened in memory, `valuesKey`, `targetPath`,
//! `optional`, in Flux's merge order) compared with the real `helm template` given the values
//! Flux would merge, with no plaintext in out/ or the output; and the CRD policies.

mod common;

use common::flux::{build, encrypt_for_ci as encrypt, files_holding, fixture, write};
use serde_json::Value;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

const SECRET: &str = "pa55-from-a-sops-secret";
const TOKEN: &str = "t0ken-from-a-sops-secret";

const CHART: &str = "apiVersion: v2\nname: vault-app\nversion: 0.1.0\n";
const SECRET_TEMPLATE: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-db\nstringData:\n  password: {{ .Values.db.password | quote }}\n  token: {{ .Values.db.token | quote }}\n";
const CM_TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  user: {{ .Values.db.user | quote }}\n  replicas: {{ .Values.replicas | quote }}\n  mode: {{ .Values.mode | quote }}\n";

/// The staging cluster plus a chart in the repository and a HelmRelease of it in the
/// cluster root, its values from a ConfigMap, a SOPS Secret (whole and one key by
/// `targetPath`), an optional Secret that does not exist, and `values`.
///
/// The Secret's keys are in alphabetical order: ferry opens a SOPS object of a Flux
/// repository after kustomize as a JSON map, and a MAC over keys in another order fails
/// (a limitation of the Flux path reported separately).
fn repository(repo: &Path, cm_template: &str) {
    write(repo, "charts/vault-app/Chart.yaml", CHART);
    write(
        repo,
        "charts/vault-app/templates/secret.yaml",
        SECRET_TEMPLATE,
    );
    write(
        repo,
        "charts/vault-app/templates/settings.yaml",
        cm_template,
    );
    write(
        repo,
        "clusters/staging/app-values.yaml",
        &encrypt(&format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-values\n  namespace: flux-system\nstringData:\n  token: {TOKEN}\n  values.yaml: |\n    db:\n      password: {SECRET}\n")),
    );
    write(
        repo,
        "clusters/staging/app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n  namespace: flux-system\ndata:\n  values.yaml: |\n    db:\n      user: admin\n      password: from-the-configmap\n    replicas: 1\n    mode: from-configmap\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: vault-app\n  namespace: flux-system\nspec:\n  targetNamespace: apps\n  chart:\n    spec:\n      chart: ./charts/vault-app\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n  valuesFrom:\n    - kind: ConfigMap\n      name: app-config\n    - kind: Secret\n      name: app-values\n    - kind: Secret\n      name: app-values\n      valuesKey: token\n      targetPath: db.token\n    - kind: Secret\n      name: not-there\n      optional: true\n  values:\n    replicas: 3\n",
    );
}

/// `helm template` of the chart with `values` on its stdin (never a file).
fn helm_template(repo: &Path, values: &Value) -> Vec<Value> {
    let mut child = Command::new("helm")
        .args([
            "template",
            "apps-vault-app",
            "charts/vault-app",
            "--namespace",
            "apps",
            "--values",
            "-",
        ])
        .current_dir(repo)
        .env("PATH", common::test_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("helm");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(values.to_string().as_bytes())
        .expect("values");
    let out = child.wait_with_output().expect("helm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_yaml_ng::Deserializer::from_str(&String::from_utf8_lossy(&out.stdout))
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect("yaml"))
        .filter(|v| !v.is_null())
        .collect()
}

#[test]
fn values_from_a_sops_secret_render_as_flux_merges_them_and_stay_sealed() {
    if common::require_tool("helm").is_none() {
        return;
    }
    let (tmp, repo) = fixture();
    repository(&repo, CM_TEMPLATE);
    let out = build(tmp.path(), &repo, &["staging"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    for needle in [SECRET, TOKEN] {
        assert_eq!(
            files_holding(&repo.join("out"), needle),
            Vec::<std::path::PathBuf>::new()
        );
        assert!(!stdout.contains(needle) && !stderr.contains(needle));
    }

    // What Flux merges: valuesFrom in order, the targetPath value, then values over them.
    let want = helm_template(
        &repo,
        &serde_json::json!({
            "db": {"user": "admin", "password": SECRET, "token": TOKEN},
            "replicas": 3,
            "mode": "from-configmap",
        }),
    );
    let dir = repo.join("out/staging/hr.flux-system.vault-app");
    let cm: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(dir.join("configmap_apps_apps-vault-app-settings.yaml"))
            .expect("configmap"),
    )
    .expect("yaml");
    let want_cm = want.iter().find(|v| v["kind"] == "ConfigMap").expect("cm");
    assert_eq!(cm["data"], want_cm["data"]);
    // The Secret is written sealed for the cluster; opened, it is what helm rendered.
    let sealed =
        std::fs::read_to_string(dir.join("secret_apps_apps-vault-app-db.yaml")).expect("secret");
    assert!(
        sealed.contains("ENC[") && sealed.contains("sops:"),
        "{sealed}"
    );
    let ids = ferry::secrets::Identities::from_file(&common::example_key("cluster")).expect("key");
    let opened =
        ferry::secrets::decrypt(&sealed, ferry::secrets::Format::Yaml, &ids).expect("opens");
    let opened: Value = serde_yaml_ng::from_str(&opened).expect("yaml");
    let want_secret = want.iter().find(|v| v["kind"] == "Secret").expect("secret");
    let decode = |v: &Value, k: &str| -> String {
        if let Some(s) = v["stringData"][k].as_str() {
            return s.to_string();
        }
        let b = v["data"][k].as_str().unwrap_or_default();
        String::from_utf8(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).expect("b64"),
        )
        .expect("utf-8")
    };
    for k in ["password", "token"] {
        assert_eq!(decode(&opened, k), decode(want_secret, k), "{k}");
    }
    assert_eq!(decode(&opened, "password"), SECRET);

    // The helm binary gets the same values (through a pipe) and renders the same objects.
    let native = std::fs::read(dir.join("configmap_apps_apps-vault-app-settings.yaml"));
    let out = build(
        tmp.path(),
        &repo,
        &["staging", "--renderer", "binary", "--no-cache"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains(SECRET) && !String::from_utf8_lossy(&out.stdout).contains(SECRET));
    assert!(files_holding(&repo.join("out"), SECRET).is_empty());
    assert_eq!(
        std::fs::read(dir.join("configmap_apps_apps-vault-app-settings.yaml")).ok(),
        native.ok()
    );
    let sealed =
        std::fs::read_to_string(dir.join("secret_apps_apps-vault-app-db.yaml")).expect("secret");
    let opened =
        ferry::secrets::decrypt(&sealed, ferry::secrets::Format::Yaml, &ids).expect("opens");
    let opened: Value = serde_yaml_ng::from_str(&opened).expect("yaml");
    assert_eq!(decode(&opened, "token"), TOKEN);
}

#[test]
fn a_secret_value_in_a_plain_object_or_a_missing_key_is_refused_without_showing_it() {
    let (tmp, repo) = fixture();
    // The chart writes the password into a ConfigMap: the build refuses the cluster.
    repository(
        &repo,
        &format!("{CM_TEMPLATE}  leaked: {{{{ .Values.db.password | quote }}}}\n"),
    );
    let out = build(tmp.path(), &repo, &["staging"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("hr.flux-system.vault-app"), "{stderr}");
    assert!(stderr.contains("Secret flux-system/app-values"), "{stderr}");
    assert!(!stderr.contains(SECRET) && !String::from_utf8_lossy(&out.stdout).contains(SECRET));
    assert!(files_holding(&repo.join("out"), SECRET).is_empty());

    // A valuesKey the Secret lacks: named, with its HelmRelease and file.
    repository(&repo, CM_TEMPLATE);
    let app = std::fs::read_to_string(repo.join("clusters/staging/app.yaml")).expect("read");
    write(
        &repo,
        "clusters/staging/app.yaml",
        &app.replace("valuesKey: token", "valuesKey: tokn"),
    );
    let out = build(tmp.path(), &repo, &["staging"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("staging: HelmRelease flux-system/vault-app (clusters/staging/app.yaml): spec.valuesFrom[2]: Secret flux-system/app-values has no key `tokn`"),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET) && !stderr.contains(TOKEN));
}

/// `install.crds` decides whether the chart's `crds/` reach the output: `Skip` leaves them out,
/// `Create` and `CreateReplace` (and the default, `Create`) write them, as helm-controller
/// installs them; `upgrade.crds` does not change the desired state ferry writes.
#[test]
fn install_crds_policies_decide_which_crds_are_written() {
    let (tmp, repo) = fixture();
    write(
        &repo,
        "charts/with-crds/Chart.yaml",
        "apiVersion: v2\nname: with-crds\nversion: 0.1.0\n",
    );
    write(
        &repo,
        "charts/with-crds/crds/widgets.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n",
    );
    write(
        &repo,
        "charts/with-crds/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata: {a: b}\n",
    );
    let hr = |name: &str, policy: &str| {
        format!("---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n{policy}  chart:\n    spec:\n      chart: ./charts/with-crds\n      sourceRef:\n        kind: GitRepository\n        name: flux-system\n")
    };
    // One HelmRelease at a time: two would write the same CRD, which a build refuses.
    for (policy, crd) in [
        (
            "  install:\n    crds: Skip\n  upgrade:\n    crds: CreateReplace\n",
            false,
        ),
        ("  install:\n    crds: Create\n", true),
        (
            "  install:\n    crds: CreateReplace\n  upgrade:\n    crds: Skip\n",
            true,
        ),
        ("", true),
    ] {
        write(&repo, "clusters/staging/crds.yaml", &hr("app", policy));
        let out = build(tmp.path(), &repo, &["staging"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let app = repo.join("out/staging/hr.flux-system.app");
        assert!(
            app.join("configmap_flux-system_app.yaml").is_file(),
            "{policy}"
        );
        assert_eq!(
            app.join("customresourcedefinition.apiextensions.k8s.io_widgets.example.com.yaml")
                .is_file(),
            crd,
            "{policy}"
        );
    }
}
