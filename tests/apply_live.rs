//! `ferry apply` against a real API server: run with `FERRY_TEST_KUBECONFIG=/path/kubeconfig`
//! (a kube-apiserver and kube-controller-manager suffice: pods stay Pending, and the health
//! test sets status itself through the status subresource). Without it every test prints SKIP.
//!
//! Each test works in its own namespaces and ApplySet parent, so they may run in parallel.

mod apply_fake;
mod common;

use apply_fake::artifact::write_artifact;

use ferry::manifest::to_yaml;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The kubeconfig of the live cluster, or `None` after printing SKIP.
fn live() -> Option<PathBuf> {
    match std::env::var_os("FERRY_TEST_KUBECONFIG") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "SKIP: FERRY_TEST_KUBECONFIG is not set; the live apply suite needs an API server"
            );
            None
        }
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    let bin = common::require_tool("kubectl").unwrap_or_else(|| PathBuf::from("kubectl"));
    Command::new(bin)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("KUBECTL_APPLYSET", "true")
        .output()
        .expect("kubectl runs")
}

fn kubectl_ok(kubeconfig: &Path, args: &[&str]) -> String {
    let out = kubectl(kubeconfig, args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ferry apply DIR --kubeconfig K --inventory-name NAME --output json ARGS`: exit code and
/// report. `--timeout 60s` unless ARGS give their own (clap refuses a flag given twice).
fn ferry_apply(
    kubeconfig: &Path,
    dir: &Path,
    inventory: &str,
    extra: &[&str],
) -> (i32, Value, String) {
    let cache = tempfile::tempdir().expect("tempdir");
    let timeout: &[&str] = if extra.contains(&"--timeout") {
        &[]
    } else {
        &["--timeout", "60s"]
    };
    let out = common::ferry(cache.path())
        .arg("apply")
        .arg(dir)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--inventory-name", inventory, "--output", "json"])
        .args(timeout)
        .args(extra)
        // The cluster's identity, as a Job mounts it: sealed Secrets open in memory.
        .env("SOPS_AGE_KEY_FILE", common::example_key("cluster"))
        .output()
        .expect("ferry runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// `ferry diff --against live DIR --output json` with the set's parent named: exit code,
/// report and stderr.
fn ferry_diff_live(kubeconfig: &Path, dir: &Path, inventory: &str) -> (i32, Value, String) {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = common::ferry(cache.path())
        .args(["diff", "--against", "live"])
        .arg(dir)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--inventory-name", inventory, "--output", "json"])
        .env("SOPS_AGE_KEY_FILE", common::example_key("cluster"))
        .output()
        .expect("ferry runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// The changes of a diff report as `(change, Kind/namespace/name)`.
fn diff_changes(report: &Value) -> Vec<(String, String)> {
    report["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (
                s("change"),
                format!("{}/{}/{}", s("kind"), s("namespace"), s("name")),
            )
        })
        .collect()
}

/// A suffix that makes this run's namespaces and parents its own, so the suite can run again
/// on the same cluster without meeting the state an earlier run left.
fn run_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        format!("{:x}", t % 0xfffff)
    })
}

fn unique(base: &str) -> String {
    format!("{base}-{}", run_id())
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn configmap(ns: &str, name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": value}})
}

fn summary(report: &Value, key: &str) -> u64 {
    report["summary"][key].as_u64().unwrap_or(u64::MAX)
}

fn applyset_id(report: &Value) -> String {
    report["applyset"]
        .as_str()
        .expect("applyset id in report")
        .to_string()
}

/// The health entries of an apply report that are not `current`.
fn not_current(report: &Value) -> Vec<Value> {
    report["health"]
        .as_array()
        .expect("health in the report")
        .iter()
        .filter(|h| h["status"] != "current")
        .cloned()
        .collect()
}

/// Sets an object's status through the status subresource, as its controller or kubelet would.
fn patch_status(kubeconfig: &Path, resource: &str, name: &str, ns: &str, body: &str) {
    kubectl_ok(
        kubeconfig,
        &[
            "patch",
            resource,
            name,
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            body,
        ],
    );
}

#[test]
fn example_applies_reapplies_unchanged_and_kubectl_understands_the_set() {
    let Some(kc) = live() else { return };
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
    let dir = repo.path().join("out/prod");

    let (code, first, err) = ferry_apply(&kc, &dir, "ferry-live-example", &[]);
    assert_eq!(code, 0, "{err}\n{first:#}");
    let total = first["objects"].as_array().map_or(0, Vec::len) as u64;
    assert!(total > 5, "{first:#}");

    let (code, again, err) = ferry_apply(&kc, &dir, "ferry-live-example", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        summary(&again, "unchanged"),
        total,
        "re-apply is a no-op: {:#}",
        again["summary"]
    );
    assert_eq!(
        summary(&again, "created") + summary(&again, "configured"),
        0
    );
    assert_eq!(summary(&again, "pruned"), 0);
    // The sealed Secret is opened in memory for the dry run: the live diff is empty too.
    let (code, diff, err) = ferry_diff_live(&kc, &dir, "ferry-live-example");
    assert_eq!(code, 0, "{err}\n{diff:#}");

    let id = applyset_id(&again);
    let members = kubectl_ok(
        &kc,
        &[
            "get",
            "deployments,services,namespaces",
            "-A",
            "-l",
            &format!("applyset.kubernetes.io/part-of={id}"),
            "-o",
            "name",
        ],
    );
    assert!(members.contains("deployment.apps/podinfo"), "{members}");
    assert!(members.contains("namespace/podinfo"), "{members}");

    // The sealed Secret reached the cluster decrypted, and without its sops block.
    let secret: Value = serde_json::from_str(&kubectl_ok(
        &kc,
        &[
            "get",
            "secret",
            "db-credentials",
            "-n",
            "podinfo",
            "-o",
            "json",
        ],
    ))
    .expect("secret json");
    use base64::Engine;
    let password = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["password"].as_str().unwrap_or_default())
        .expect("base64");
    assert_eq!(password, b"demo-prod-password-not-real");
    assert!(secret.get("sops").is_none());

    // kubectl recognises the parent as an ApplySet managed by another tool, and leaves it alone.
    let scratch = tempfile::tempdir().expect("tempdir");
    let f = scratch.path().join("cm.yaml");
    std::fs::write(
        &f,
        to_yaml(&configmap("ferry-system", "kubectl-probe", "1")),
    )
    .expect("write");
    let out = kubectl(
        &kc,
        &[
            "apply",
            "--server-side",
            "--prune",
            "--applyset=secrets/ferry-live-example",
            "-n",
            "ferry-system",
            "-f",
            f.to_str().unwrap_or_default(),
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tooling \"ferry\""), "{stderr}");
}

#[test]
fn changed_and_removed_objects_are_configured_and_pruned() {
    let Some(kc) = live() else { return };
    let ns = &unique("ferry-live-prune");
    let d = tempfile::tempdir().expect("tempdir");
    let mut objects = vec![namespace(ns)];
    objects.extend(["a", "b", "c", "d"].map(|n| configmap(ns, n, "1")));
    write_artifact(&d.path().join("v1"), "live", &objects);
    let (code, r, err) = ferry_apply(&kc, &d.path().join("v1"), ns, &[]);
    assert_eq!(code, 0, "{err}\n{r:#}");

    objects.pop();
    objects[1] = configmap(ns, "a", "2");
    write_artifact(&d.path().join("v2"), "live", &objects);
    // The dry run shows the prune and changes nothing.
    let (code, dry, err) = ferry_apply(&kc, &d.path().join("v2"), ns, &["--dry-run"]);
    assert_eq!(code, 0, "{err}\n{dry:#}");
    assert_eq!(dry["prune"]["pruned"], json!([format!("ConfigMap/{ns}/d")]));
    kubectl_ok(&kc, &["get", "configmap", "d", "-n", ns]);

    let (code, r, err) = ferry_apply(&kc, &d.path().join("v2"), ns, &[]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(summary(&r, "configured"), 1, "{:#}", r["summary"]);
    assert_eq!(summary(&r, "pruned"), 1);
    let gone = kubectl(&kc, &["get", "configmap", "d", "-n", ns]);
    assert!(!gone.status.success(), "d was pruned");
    assert_eq!(
        kubectl_ok(
            &kc,
            &[
                "get",
                "configmap",
                "a",
                "-n",
                ns,
                "-o",
                "jsonpath={.data.k}"
            ]
        ),
        "2"
    );
    let id = applyset_id(&r);
    let members = kubectl_ok(
        &kc,
        &[
            "get",
            "configmaps",
            "-n",
            ns,
            "-l",
            &format!("applyset.kubernetes.io/part-of={id}"),
            "-o",
            "name",
        ],
    );
    assert_eq!(members.lines().count(), 3, "{members}");
}

#[test]
fn a_conflict_with_another_field_manager_is_reported_then_forced() {
    let Some(kc) = live() else { return };
    let ns = &unique("ferry-live-conflict");
    let d = tempfile::tempdir().expect("tempdir");
    write_artifact(
        d.path(),
        "live",
        &[namespace(ns), configmap(ns, "owned", "ferry")],
    );
    let (code, _, err) = ferry_apply(&kc, d.path(), ns, &[]);
    assert_eq!(code, 0, "{err}");
    // Someone else takes the field over.
    let f = d.path().join("other.yaml");
    std::fs::write(&f, to_yaml(&configmap(ns, "owned", "other"))).expect("write");
    kubectl_ok(
        &kc,
        &[
            "apply",
            "--server-side",
            "--field-manager=someone-else",
            "--force-conflicts",
            "-f",
            f.to_str().unwrap_or_default(),
        ],
    );

    let (code, r, err) = ferry_apply(&kc, d.path(), ns, &[]);
    assert_eq!(code, 3, "{err}\n{r:#}");
    let text = r["objects"].to_string();
    assert!(text.contains("someone-else"), "{text}");
    assert!(text.contains(".data.k"), "{text}");

    let (code, _, err) = ferry_apply(&kc, d.path(), ns, &["--force-conflicts"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        kubectl_ok(
            &kc,
            &[
                "get",
                "configmap",
                "owned",
                "-n",
                ns,
                "-o",
                "jsonpath={.data.k}"
            ]
        ),
        "ferry"
    );
}

fn widget_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.live.ferry.dev"},
        "spec": {"group": "live.ferry.dev", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})
}

#[test]
fn a_crd_and_its_custom_resource_apply_in_one_run_and_health_is_waited_for() {
    let Some(kc) = live() else { return };
    let ns = &unique("ferry-live-crd");
    let d = tempfile::tempdir().expect("tempdir");
    let widget = json!({"apiVersion": "live.ferry.dev/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": ns}, "spec": {"size": 1}});
    write_artifact(d.path(), "live", &[widget_crd(), namespace(ns), widget]);
    let (code, r, err) = ferry_apply(&kc, d.path(), ns, &[]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(summary(&r, "failed"), 0);

    // Not ready: the status says why, and --wait names it on timeout.
    let not_ready = r#"{"status":{"conditions":[{"type":"Ready","status":"False","reason":"Provisioning","message":"waiting for the database"}]}}"#;
    patch_status(&kc, "widget.live.ferry.dev", "w1", ns, not_ready);
    let (code, r, err) = ferry_apply(&kc, d.path(), ns, &["--wait", "--timeout", "5s"]);
    assert_eq!(code, 3, "{err}\n{r:#}");
    let bad = not_current(&r);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(
        bad[0]["object"],
        format!("Widget.live.ferry.dev/{ns}/w1").as_str()
    );
    assert!(
        bad[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("waiting for the database"),
        "{bad:?}"
    );

    let ready = r#"{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Ready","message":"up"}]}}"#;
    patch_status(&kc, "widget.live.ferry.dev", "w1", ns, ready);
    let (code, r, err) = ferry_apply(&kc, d.path(), ns, &["--wait", "--timeout", "30s"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
}

#[test]
fn a_tampered_artifact_applies_nothing() {
    let Some(kc) = live() else { return };
    let ns = &unique("ferry-live-tamper");
    let d = tempfile::tempdir().expect("tempdir");
    write_artifact(d.path(), "live", &[namespace(ns), configmap(ns, "x", "1")]);
    let file = d.path().join(format!("app/configmap_{ns}_x.yaml"));
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(
        &file,
        text.replace("k: '1'", "k: '2'")
            .replace("k: \"1\"", "k: \"2\""),
    )
    .expect("write");
    let (code, _, err) = ferry_apply(&kc, d.path(), ns, &[]);
    assert_eq!(code, 2, "{err}");
    // The check `diff` and `push` run too, worded the same.
    assert!(
        err.contains("does not match its digest in index.json"),
        "{err}"
    );
    assert!(
        !kubectl(&kc, &["get", "namespace", ns]).status.success(),
        "nothing applied"
    );
}

#[test]
fn an_interrupted_apply_converges_on_rerun_with_nothing_lost() {
    let Some(kc) = live() else { return };
    let ns = &unique("ferry-live-interrupt");
    let d = tempfile::tempdir().expect("tempdir");
    let mut objects = vec![namespace(ns)];
    objects.extend((0..60).map(|i| configmap(ns, &format!("cm-{i:02}"), "1")));
    write_artifact(d.path(), "live", &objects);
    let cache = tempfile::tempdir().expect("tempdir");
    let mut child = common::ferry(cache.path())
        .arg("apply")
        .arg(d.path())
        .arg("--kubeconfig")
        .arg(&kc)
        .args(["--inventory-name", ns, "--concurrency", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ferry starts");
    std::thread::sleep(std::time::Duration::from_millis(400));
    let _ = child.kill();
    let _ = child.wait();

    let (code, r, err) = ferry_apply(&kc, d.path(), ns, &[]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(summary(&r, "pruned"), 0, "nothing wrongly pruned");
    let names = kubectl_ok(
        &kc,
        &[
            "get",
            "configmaps",
            "-n",
            ns,
            "-l",
            &format!("applyset.kubernetes.io/part-of={}", applyset_id(&r)),
            "-o",
            "name",
        ],
    );
    assert_eq!(names.lines().count(), 60, "nothing lost: {names}");
    // And a run without half of them prunes exactly those, under an explicit budget.
    write_artifact(&d.path().join("smaller"), "live", &objects[..31]);
    let (code, r, err) = ferry_apply(&kc, &d.path().join("smaller"), ns, &["--max-prune", "50%"]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(summary(&r, "pruned"), 30);
}

#[test]
fn deploy_manifests_pass_a_server_dry_run() {
    let Some(kc) = live() else { return };
    let _ = kubectl(&kc, &["create", "namespace", "ferry-system"]);
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    for f in [
        "namespace.yaml",
        "serviceaccount.yaml",
        "rbac.yaml",
        "rbac-cluster-admin.yaml",
        "secret.yaml",
        "cronjob.yaml",
        "deployment.yaml",
        "sync-crd.yaml",
        "agent.yaml",
    ] {
        let path = deploy.join(f);
        kubectl_ok(
            &kc,
            &[
                "apply",
                "--server-side",
                "--dry-run=server",
                "--field-manager=ferry-test",
                "-f",
                path.to_str().unwrap_or_default(),
            ],
        );
    }
}

#[test]
fn live_diff_is_empty_after_an_apply_then_shows_a_build_change_and_cluster_drift() {
    let Some(kc) = live() else { return };
    if common::require_tool("kubectl").is_none() {
        return;
    }
    let ns = &unique("ferry-live-diff");
    let d = tempfile::tempdir().expect("tempdir");
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": ns},
        "type": "Opaque", "stringData": {"password": "live-diff-pw"}});
    let mut objects = vec![
        namespace(ns),
        configmap(ns, "a", "1"),
        configmap(ns, "b", "1"),
        secret,
    ];
    let v1 = d.path().join("v1");
    write_artifact(&v1, "live", &objects);
    let (code, r, err) = ferry_apply(&kc, &v1, ns, &[]);
    assert_eq!(code, 0, "{err}\n{r:#}");

    let (code, report, err) = ferry_diff_live(&kc, &v1, ns);
    assert_eq!(
        code, 0,
        "no changes right after an apply: {err}\n{report:#}"
    );
    assert!(diff_changes(&report).is_empty(), "{report:#}");
    assert_eq!(report["summary"]["unchanged"], 4, "{report:#}");

    // A change in the build: exactly that change.
    objects[1] = configmap(ns, "a", "2");
    let v2 = d.path().join("v2");
    write_artifact(&v2, "live", &objects);
    let (code, report, err) = ferry_diff_live(&kc, &v2, ns);
    assert_eq!(code, 1, "{err}\n{report:#}");
    assert_eq!(
        diff_changes(&report),
        [("changed".to_string(), format!("ConfigMap/{ns}/a"))],
        "{report:#}"
    );
    let text = report["changes"][0]["diff"].as_str().unwrap_or_default();
    assert!(
        text.contains("-  k: \"1\"") && text.contains("+  k: \"2\""),
        "{text}"
    );
    assert!(
        !text.contains("managedFields") && !text.contains("resourceVersion"),
        "{text}"
    );

    // Someone edits b in the cluster: the drift shows against the unchanged build, and the
    // diff itself changes nothing.
    kubectl_ok(
        &kc,
        &[
            "patch",
            "configmap",
            "b",
            "-n",
            ns,
            "--type",
            "merge",
            "-p",
            r#"{"data":{"k":"drifted"}}"#,
        ],
    );
    let (code, report, err) = ferry_diff_live(&kc, &v1, ns);
    assert_eq!(code, 1, "{err}\n{report:#}");
    assert_eq!(
        diff_changes(&report),
        [("changed".to_string(), format!("ConfigMap/{ns}/b"))],
        "{report:#}"
    );
    let text = report["changes"][0]["diff"].as_str().unwrap_or_default();
    assert!(
        text.contains("-  k: drifted") && text.contains("+  k: \"1\""),
        "{text}"
    );
    assert_eq!(
        kubectl_ok(
            &kc,
            &[
                "get",
                "configmap",
                "b",
                "-n",
                ns,
                "-o",
                "jsonpath={.data.k}"
            ]
        ),
        "drifted",
        "the dry run stored nothing"
    );

    // An object that left the build is what the prune would delete: removed.
    let v3 = d.path().join("v3");
    let fewer: Vec<Value> = objects
        .iter()
        .filter(|o| o["metadata"]["name"] != "a")
        .cloned()
        .collect();
    write_artifact(&v3, "live", &fewer);
    let (code, report, err) = ferry_diff_live(&kc, &v3, ns);
    assert_eq!(code, 1, "{err}\n{report:#}");
    let changes = diff_changes(&report);
    assert!(
        changes.contains(&("removed".to_string(), format!("ConfigMap/{ns}/a"))),
        "{report:#}"
    );
    let all = report.to_string();
    assert!(
        !all.contains("live-diff-pw") && !err.contains("live-diff-pw"),
        "{all}"
    );
    kubectl_ok(&kc, &["get", "configmap", "a", "-n", ns]);
}

/// With no scheduler and no kubelet a Deployment's pod stays Pending: `--wait` names the
/// Deployment and why, and once the test marks the pod Ready itself (as a kubelet would, through
/// the status subresource), the ReplicaSet and Deployment controllers report it available and
/// the same `--wait` succeeds.
#[test]
fn a_deployment_is_healthy_only_once_its_pod_is_ready() {
    let Some(kc) = live() else { return };
    if common::require_tool("kubectl").is_none() {
        return;
    }
    let ns = &unique("ferry-live-health");
    let d = tempfile::tempdir().expect("tempdir");
    let web = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"automountServiceAccountToken": false,
                    "containers": [{"name": "web", "image": "registry.invalid/web:1"}]}}}});
    write_artifact(d.path(), "live", &[namespace(ns), web]);
    let (code, r, err) = ferry_apply(&kc, d.path(), ns, &[]);
    assert_eq!(code, 0, "{err}\n{r:#}");

    let (code, r, err) = ferry_apply(&kc, d.path(), ns, &["--wait", "--timeout", "5s"]);
    assert_eq!(code, 3, "the pod is Pending: {err}\n{r:#}");
    let bad = not_current(&r);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(
        bad[0]["object"],
        format!("Deployment.apps/{ns}/web").as_str()
    );
    assert!(
        !bad[0]["reason"].as_str().unwrap_or_default().is_empty(),
        "{bad:?}"
    );

    // The ReplicaSet controller creates the pod (once the namespace's default ServiceAccount
    // exists); nothing runs it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let pod = loop {
        let names = kubectl_ok(
            &kc,
            &[
                "get",
                "pods",
                "-n",
                ns,
                "-l",
                "app=web",
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ],
        );
        if let Some(p) = names.split_whitespace().next() {
            break p.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pod for the Deployment after 90s: is kube-controller-manager running?"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let ready = json!({"status": {"phase": "Running", "conditions": [
        {"type": "Initialized", "status": "True"},
        {"type": "ContainersReady", "status": "True"},
        {"type": "Ready", "status": "True"}]}})
    .to_string();
    patch_status(&kc, "pod", &pod, ns, &ready);
    let (code, r, err) = ferry_apply(&kc, d.path(), ns, &["--wait", "--timeout", "90s"]);
    assert_eq!(code, 0, "the pod is Ready: {err}\n{r:#}");
    assert!(not_current(&r).is_empty(), "{:#}", r["health"]);
}

/// Two `ferry apply --force-prune` of different artifacts into one inventory, started
/// together: without a lock each pruned what the other created and the cluster matched
/// neither. With the inventory's Lease the second waits (and says so), so the cluster and the
/// inventory end as the later apply left them, and the lock is free again.
#[test]
fn two_concurrent_applies_into_one_inventory_take_turns() {
    let Some(kc) = live() else { return };
    let ns = &unique("ferry-live-lock");
    let inventory = &unique("ferry-live-lock");
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let a_names = ["a1", "a2", "a3", "a4"];
    let b_names = ["b1", "b2"];
    let objects = |names: &[&str]| {
        let mut v = vec![namespace(ns)];
        v.extend(names.iter().map(|n| configmap(ns, n, n)));
        v
    };
    write_artifact(a.path(), "live", &objects(&a_names));
    write_artifact(b.path(), "live", &objects(&b_names));
    let spawn = |dir: &Path| {
        let cache = tempfile::tempdir().expect("tempdir");
        let child = common::ferry(cache.path())
            .arg("apply")
            .arg(dir)
            .arg("--kubeconfig")
            .arg(&kc)
            .args([
                "--inventory-name",
                inventory,
                "--force-prune",
                "--output",
                "json",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ferry runs");
        (child, cache)
    };
    let (first, _c1) = spawn(a.path());
    let (second, _c2) = spawn(b.path());
    let first = first.wait_with_output().expect("first ends");
    let second = second.wait_with_output().expect("second ends");
    let err = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(first.status.code(), Some(0), "{}", err(&first));
    assert_eq!(second.status.code(), Some(0), "{}", err(&second));
    let waited = [&first, &second]
        .iter()
        .filter(|o| err(o).contains("waiting: another apply into this inventory holds Lease"))
        .count();
    assert_eq!(
        waited,
        1,
        "one waited for the other:\n{}\n{}",
        err(&first),
        err(&second)
    );
    // The later one recorded its digest on the parent; the cluster holds exactly its objects.
    let digest = kubectl_ok(
        &kc,
        &[
            "get",
            "secret",
            inventory,
            "-n",
            "ferry-system",
            "-o",
            "jsonpath={.metadata.annotations.ferry\\.dev/artifact-digest}",
        ],
    );
    let report = |o: &Output| serde_json::from_slice::<Value>(&o.stdout).unwrap_or(Value::Null);
    let later = if report(&first)["digest"] == digest.trim() {
        &a_names[..]
    } else {
        assert_eq!(report(&second)["digest"], digest.trim(), "{digest}");
        &b_names[..]
    };
    let live = kubectl_ok(
        &kc,
        &[
            "get",
            "configmaps",
            "-n",
            ns,
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ],
    );
    let mut live: Vec<&str> = live
        .split_whitespace()
        .filter(|n| *n != "kube-root-ca.crt")
        .collect();
    live.sort_unstable();
    assert_eq!(live, later, "the cluster matches the later apply");
    let holder = kubectl_ok(
        &kc,
        &[
            "get",
            "lease",
            inventory,
            "-n",
            "ferry-system",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
    );
    assert_eq!(holder.trim(), "", "the lock was released");
    kubectl(&kc, &["delete", "namespace", ns, "--wait=false"]);
}
