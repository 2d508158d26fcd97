//! `ferry agent` against a real API server (`FERRY_TEST_KUBECONFIG`) and a real registry:
//! the Sync CRD from deploy/, a first sync, a new artifact picked up, an edited object put back
//! on request, suspend and resume, `kubectl get syncs` and `kubectl events` showing it all,
//! and a clean stop on SIGTERM. Without the variable it prints SKIP.

mod apply_fake;
mod common;

use apply_fake::artifact::write_artifact;
use common::registry::Registry;
use ferry::artifact::sign::{keys::public_pem, new_signing_key, SigningKey};
use ferry::artifact::{ArtifactRef, Provenance, PushOptions, RegistryOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NS: &str = "ferry-agent-live";
const APP: &str = "agent-live-shop";

fn live() -> Option<PathBuf> {
    match std::env::var_os("FERRY_TEST_KUBECONFIG") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "SKIP: FERRY_TEST_KUBECONFIG is not set; the live agent suite needs an API server"
            );
            None
        }
    }
}

fn kubectl(kc: &Path, args: &[&str]) -> Output {
    let bin = common::require_tool("kubectl").unwrap_or_else(|| PathBuf::from("kubectl"));
    Command::new(bin)
        .arg("--kubeconfig")
        .arg(kc)
        .args(args)
        .output()
        .expect("kubectl runs")
}

fn kubectl_ok(kc: &Path, args: &[&str]) -> String {
    let out = kubectl(kc, args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kubectl_stdin(kc: &Path, args: &[&str], input: &str) {
    use std::io::Write;
    let bin = common::require_tool("kubectl").unwrap_or_else(|| PathBuf::from("kubectl"));
    let mut child = Command::new(bin)
        .arg("--kubeconfig")
        .arg(kc)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("kubectl");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn push(
    registry: &Registry,
    key: &SigningKey,
    tmp: &Path,
    objects: &[Value],
    commit: &str,
) -> String {
    let dir = tmp.join(format!("out-{commit}"));
    write_artifact(&dir, "prod", objects);
    let target = ArtifactRef::parse(&format!("{}/live/prod", registry.addr)).expect("ref");
    let provenance = Provenance {
        revision: Some(format!("main@sha1:{commit}")),
        ..Provenance::default()
    };
    let opts = PushOptions {
        tags: vec!["latest".into()],
        signing_key: Some(key.clone()),
        registry: RegistryOptions::new(),
        ..PushOptions::default()
    };
    ferry::artifact::push_dir(&dir, &target, &provenance, &opts)
        .expect("push")
        .digest
}

fn sync_json(kc: &Path) -> Value {
    serde_json::from_str(&kubectl_ok(
        kc,
        &["get", "sync", "prod", "-n", NS, "-o", "json"],
    ))
    .expect("json")
}

/// Polls the Sync until `done` holds; returns how long it took.
fn wait_for(kc: &Path, what: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let v = sync_json(kc);
        if done(&v) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{what}: not within {limit:?}: {:#}",
            v["status"]
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ready(v: &Value) -> Option<&str> {
    v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?["status"]
        .as_str()
}

fn cm(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": APP}, "data": {"k": value}})
}

/// Who holds the Sync's Lease ("" when nobody).
fn holder(kc: &Path) -> String {
    let jsonpath = "jsonpath={.spec.holderIdentity}";
    kubectl_ok(
        kc,
        &["get", "lease", "ferry-sync-prod", "-n", NS, "-o", jsonpath],
    )
}

/// `data.k` of ConfigMap `name` in the app's namespace.
fn cm_value(kc: &Path, name: &str) -> String {
    kubectl_ok(
        kc,
        &["get", "cm", name, "-n", APP, "-o", "jsonpath={.data.k}"],
    )
}

/// Someone else's change: `kubectl patch` of `data.k` (field manager kubectl-patch).
fn edit_cm(kc: &Path, name: &str, value: &str) {
    let patch = format!(r#"{{"data":{{"k":"{value}"}}}}"#);
    kubectl_ok(
        kc,
        &["patch", "cm", name, "-n", APP, "--type=merge", "-p", &patch],
    );
}

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ferry(tmp: &Path, kc: &Path, args: &[&str]) -> Output {
    common::ferry(&tmp.join("cache"))
        .args(args)
        .arg("--kubeconfig")
        .arg(kc)
        .args(["-n", NS])
        .output()
        .expect("ferry")
}

#[test]
fn the_agent_syncs_picks_up_a_new_artifact_corrects_on_request_and_suspends() {
    let Some(kc) = live() else { return };
    let Some(registry) = Registry::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let key = new_signing_key();
    let crd = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/sync-crd.yaml");
    kubectl_ok(
        &kc,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            crd.to_str().expect("utf8"),
        ],
    );
    kubectl_ok(
        &kc,
        &[
            "wait",
            "--for=condition=Established",
            "crd/syncs.ferry.dev",
            "--timeout=60s",
        ],
    );
    // deploy/sync.yaml is a valid Sync for the API server (in ferry-system, as shipped).
    let _ = kubectl(&kc, &["create", "namespace", "ferry-system"]);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/sync.yaml");
    let example = example.to_str().expect("utf8");
    kubectl_ok(
        &kc,
        &["apply", "--server-side", "--dry-run=server", "-f", example],
    );
    let _ = kubectl(
        &kc,
        &["delete", "namespace", APP, "--wait=true", "--timeout=60s"],
    );
    let _ = kubectl(
        &kc,
        &["delete", "sync", "prod", "-n", NS, "--ignore-not-found"],
    );
    kubectl_stdin(
        &kc,
        &["apply", "-f", "-"],
        &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NS}}}\n"),
    );
    let _ = kubectl(
        &kc,
        &["delete", "secret", "keys", "-n", NS, "--ignore-not-found"],
    );
    let pubkey = tmp.path().join("cosign.pub");
    std::fs::write(&pubkey, public_pem(key.verifying_key())).expect("write");
    kubectl_ok(
        &kc,
        &[
            "create",
            "secret",
            "generic",
            "keys",
            "-n",
            NS,
            &format!("--from-file=cosign.pub={}", pubkey.display()),
        ],
    );

    let d1 = push(
        &registry,
        &key,
        tmp.path(),
        &[
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP}}),
            cm("a", "1"),
            cm("old", "x"),
        ],
        "1111111111111111111111111111111111111111",
    );
    kubectl_stdin(&kc, &["apply", "-f", "-"], &format!(
        "apiVersion: ferry.dev/v1alpha1\nkind: Sync\nmetadata: {{name: prod, namespace: {NS}}}\nspec:\n  url: oci://{}/live/prod:latest\n  interval: 2s\n  timeout: 60s\n  verify: {{secretRef: {{name: keys, key: cosign.pub}}}}\n",
        registry.addr
    ));

    let started = Instant::now();
    std::env::set_var("AGENT_LOG", tmp.path().join("agent.log"));
    let agent = Agent(
        common::ferry(&tmp.path().join("cache"))
            .arg("agent")
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["-n", NS, "--poll", "500ms", "--health-addr", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(tmp.path().join("agent.log")).expect("log"))
            .spawn()
            .expect("ferry agent"),
    );
    let first = wait_for(&kc, "first sync", Duration::from_secs(60), |v| {
        ready(v) == Some("True")
    });
    let v = sync_json(&kc);
    assert_eq!(v["status"]["lastAppliedDigest"], d1.as_str());
    assert_eq!(
        v["status"]["lastAppliedRevision"],
        "main@sha1:1111111111111111111111111111111111111111"
    );
    eprintln!(
        "LIVE first sync Ready after {:.2}s (agent start to Ready)",
        started.elapsed().as_secs_f64()
    );
    let _ = first;
    let table = kubectl_ok(&kc, &["get", "syncs", "-n", NS]);
    eprintln!("LIVE kubectl get syncs:\n{table}");
    assert!(
        table.contains("READY")
            && table.contains("True")
            && table.contains("main@sha1:1111111111111111111111111111111111111111"),
        "{table}"
    );

    // A new artifact behind the tag is picked up within the interval (2s) plus a pass.
    let pushed = Instant::now();
    let d2 = push(
        &registry,
        &key,
        tmp.path(),
        &[
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP}}),
            cm("a", "2"),
        ],
        "2222222222222222222222222222222222222222",
    );
    let took = wait_for(&kc, "new digest", Duration::from_secs(30), |v| {
        v["status"]["lastAppliedDigest"] == d2.as_str()
    });
    eprintln!(
        "LIVE new digest applied {:.2}s after the push (interval 2s)",
        pushed.elapsed().as_secs_f64()
    );
    let _ = took;
    assert_eq!(cm_value(&kc, "a"), "2");
    assert!(
        !kubectl(&kc, &["get", "cm", "old", "-n", APP])
            .status
            .success(),
        "pruned"
    );

    // Someone edits an object: the agent's drift check (every interval) puts it back.
    edit_cm(&kc, "a", "edited");
    let edited = Instant::now();
    loop {
        if cm_value(&kc, "a") == "2" {
            break;
        }
        assert!(
            edited.elapsed() < Duration::from_secs(30),
            "drift not corrected"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "LIVE kubectl patch corrected by the drift check after {:.2}s (interval 2s)",
        edited.elapsed().as_secs_f64()
    );
    let v = sync_json(&kc);
    assert_eq!(
        v["status"]["history"][0]["outcome"], "DriftCorrected",
        "{:#}",
        v["status"]
    );

    // Edited again; `ferry reconcile` puts it back and returns once the agent acted.
    edit_cm(&kc, "a", "edited");
    let asked = Instant::now();
    let out = ferry(tmp.path(), &kc, &["reconcile", "prod", "--timeout", "30s"]);
    assert!(
        out.status.success(),
        "reconcile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "LIVE ferry reconcile returned after {:.2}s: {}",
        asked.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    assert_eq!(cm_value(&kc, "a"), "2");

    // Suspend: the agent says so and stops applying; resume: it applies what was pushed meanwhile.
    let out = ferry(tmp.path(), &kc, &["suspend", "prod", "--timeout", "30s"]);
    assert!(
        out.status.success(),
        "suspend: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sync_json(&kc)["status"]["suspended"], true);
    let d3 = push(
        &registry,
        &key,
        tmp.path(),
        &[
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP}}),
            cm("a", "3"),
        ],
        "3333333333333333333333333333333333333333",
    );
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(cm_value(&kc, "a"), "2", "suspended");
    let out = ferry(tmp.path(), &kc, &["resume", "prod", "--timeout", "30s"]);
    assert!(
        out.status.success(),
        "resume: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(&kc, "after resume", Duration::from_secs(30), |v| {
        v["status"]["lastAppliedDigest"] == d3.as_str()
    });
    assert_eq!(cm_value(&kc, "a"), "3");

    // ferry status: the table and the detail with its history.
    let out = ferry(tmp.path(), &kc, &["status"]);
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("LIVE ferry status:\n{table}");
    assert!(
        table.contains("prod")
            && table.contains("main@sha1:3333333333333333333333333333333333333333"),
        "{table}"
    );
    let out = ferry(tmp.path(), &kc, &["status", "prod", "--output", "json"]);
    let detail: Value = serde_json::from_slice(&out.stdout).expect("json");
    let history = detail["status"]["history"].as_array().expect("history");
    assert!(history.len() >= 3, "{history:#?}");
    assert_eq!(
        history[0]["revision"],
        "main@sha1:3333333333333333333333333333333333333333"
    );

    // Report mode: an edit is recorded with the time it began, and left alone.
    kubectl_ok(
        &kc,
        &[
            "patch",
            "sync",
            "prod",
            "-n",
            NS,
            "--type=merge",
            "-p",
            r#"{"spec":{"drift":{"mode":"report"}}}"#,
        ],
    );
    wait_for(&kc, "report mode seen", Duration::from_secs(30), |v| {
        v["status"]["observedGeneration"] == v["metadata"]["generation"]
    });
    let edited_at = k8s_openapi::jiff::Timestamp::now();
    edit_cm(&kc, "a", "by-hand");
    wait_for(&kc, "drift reported", Duration::from_secs(30), |v| {
        v["status"]["drift"].as_array().is_some_and(|d| {
            d.iter()
                .any(|x| x["object"].as_str().is_some_and(|o| o.ends_with("/a")))
        })
    });
    let drift = sync_json(&kc)["status"]["drift"].clone();
    eprintln!("LIVE drift reported: {drift}");
    let since = drift[0]["since"].as_str().expect("since");
    let since: k8s_openapi::jiff::Timestamp = since.parse().expect("RFC 3339");
    assert!(
        since.as_second() >= edited_at.as_second() - 1
            && since.as_second() <= k8s_openapi::jiff::Timestamp::now().as_second(),
        "drift began {since}, edited {edited_at}"
    );
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(cm_value(&kc, "a"), "by-hand", "report mode never writes");
    assert_eq!(
        sync_json(&kc)["status"]["drift"][0]["since"],
        drift[0]["since"],
        "the start is kept"
    );
    kubectl_ok(
        &kc,
        &[
            "patch",
            "sync",
            "prod",
            "-n",
            NS,
            "--type=merge",
            "-p",
            r#"{"spec":{"drift":{"mode":"correct"}}}"#,
        ],
    );
    wait_for(&kc, "corrected again", Duration::from_secs(30), |v| {
        v["status"]["drift"].as_array().is_none_or(Vec::is_empty)
    });
    assert_eq!(cm_value(&kc, "a"), "3");

    // This run's Sync only (earlier runs' events linger until they expire).
    let uid = sync_json(&kc)["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let events = kubectl_ok(
        &kc,
        &[
            "get",
            "events",
            "-n",
            NS,
            "--field-selector",
            &format!("involvedObject.uid={uid}"),
            "-o",
            "json",
        ],
    );
    let events: Value = serde_json::from_str(&events).expect("json");
    let reasons: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    eprintln!("LIVE events on the Sync: {reasons:?}");
    for r in [
        "Applied",
        "Pruned",
        "Suspended",
        "DriftDetected",
        "DriftCorrected",
    ] {
        assert!(reasons.contains(&r), "{r} in {reasons:?}");
    }
    let lease = holder(&kc);
    assert!(!lease.is_empty());

    // SIGTERM: the agent stops cleanly and gives its lease up.
    let mut agent = agent;
    let pid = agent.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(s) = agent.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the agent did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(code.success(), "{code:?}");
    let lease = holder(&kc);
    assert_eq!(lease, "", "released on shutdown");
    let _ = kubectl(&kc, &["delete", "namespace", APP, "--wait=false"]);
}

/// `ferry bootstrap` installs everything from deploy/ into a fresh namespace and waits for
/// the first Sync to be Ready. No kubelet runs here, so the agent's pod stays Pending: the
/// agent runs as a process beside the test, as the pod would, under the same kubeconfig.
#[test]
fn bootstrap_installs_the_agent_waits_for_ready_and_is_idempotent() {
    const BNS: &str = "ferry-bootstrap-live";
    const BAPP: &str = "bootstrap-live-app";
    let Some(kc) = live() else { return };
    let Some(registry) = Registry::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let key = new_signing_key();
    let cleanup = |kc: &Path| {
        for (kind, name) in [("namespace", BNS), ("namespace", BAPP)] {
            let _ = kubectl(kc, &["delete", kind, name, "--wait=true", "--timeout=60s"]);
        }
        let _ = kubectl(
            kc,
            &[
                "delete",
                "clusterrolebinding",
                "ferry-applier-ferry-bootstrap-live",
                "--ignore-not-found",
            ],
        );
    };
    cleanup(&kc);
    let objects = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": BAPP}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": BAPP}, "data": {"k": "1"}}),
    ];
    let digest = push(
        &registry,
        &key,
        tmp.path(),
        &objects,
        "3333333333333333333333333333333333333333",
    );
    let pubkey = tmp.path().join("cosign.pub");
    std::fs::write(&pubkey, public_pem(key.verifying_key())).expect("write");
    let url = format!("oci://{}/live/prod:latest", registry.addr);
    let bootstrap = |extra: &[&str]| {
        let mut c = common::ferry(&tmp.path().join("cache"));
        c.args(["bootstrap", "--kubeconfig"])
            .arg(&kc)
            .args([
                "-n",
                BNS,
                "--image",
                "example.test/ferry:live",
                "--url",
                &url,
                "--key",
            ])
            .arg(&pubkey)
            .args([
                "--interval",
                "2s",
                "--sync-timeout",
                "60s",
                "--timeout",
                "90s",
            ])
            .args(extra);
        c
    };

    // --dry-run shows the objects and touches nothing.
    let dry = bootstrap(&["--dry-run"]).output().expect("ferry");
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let shown = String::from_utf8_lossy(&dry.stdout);
    assert!(shown.contains("kind: Deployment") && shown.contains("example.test/ferry:live"));
    assert!(
        shown.contains("<redacted, ") && !shown.contains("BEGIN PUBLIC KEY"),
        "{shown}"
    );
    assert!(
        !kubectl(&kc, &["get", "namespace", BNS]).status.success(),
        "dry run created nothing"
    );

    // The real run; the agent starts once bootstrap has made its Sync.
    let started = Instant::now();
    let child = bootstrap(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferry bootstrap");
    while !kubectl(&kc, &["get", "sync", "prod", "-n", BNS])
        .status
        .success()
    {
        assert!(started.elapsed() < Duration::from_secs(60), "no Sync made");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _agent = Agent(
        common::ferry(&tmp.path().join("cache"))
            .arg("agent")
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["-n", BNS, "--poll", "500ms", "--health-addr", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(tmp.path().join("agent.log")).expect("log"))
            .spawn()
            .expect("ferry agent"),
    );
    let out = child.wait_with_output().expect("bootstrap");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}\n{stdout}");
    eprintln!(
        "LIVE bootstrap to Ready in {:.2}s:\n{stderr}{stdout}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        stdout.contains("True") && stdout.contains("main@sha1:3333333"),
        "{stdout}"
    );
    assert!(
        stderr.contains("created    CustomResourceDefinition syncs.ferry.dev")
            || stderr.contains("configured CustomResourceDefinition syncs.ferry.dev")
            || stderr.contains("unchanged  CustomResourceDefinition syncs.ferry.dev"),
        "{stderr}"
    );
    let image = kubectl_ok(
        &kc,
        &[
            "get",
            "deploy",
            "ferry-agent",
            "-n",
            BNS,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(image, "example.test/ferry:live");
    let applied = kubectl_ok(
        &kc,
        &[
            "get",
            "sync",
            "prod",
            "-n",
            BNS,
            "-o",
            "jsonpath={.status.lastAppliedDigest}",
        ],
    );
    assert_eq!(applied, digest);
    assert_eq!(
        kubectl_ok(
            &kc,
            &["get", "cm", "a", "-n", BAPP, "-o", "jsonpath={.data.k}"]
        ),
        "1"
    );
    // The agent's ServiceAccount may do what the agent needs (checked by the API server).
    let sa = format!("system:serviceaccount:{BNS}:ferry");
    for args in [
        ["patch", "syncs.ferry.dev", "--subresource=status"],
        ["update", "leases", ""],
        ["create", "configmaps", ""],
    ] {
        let mut a = vec!["auth", "can-i", "-n", BNS, "--as", &sa];
        a.extend(args.iter().filter(|x| !x.is_empty()));
        assert!(kubectl(&kc, &a).status.success(), "{sa} may {args:?}");
    }
    assert!(
        !kubectl(
            &kc,
            &["auth", "can-i", "create", "clusterroles", "--as", &sa]
        )
        .status
        .success(),
        "least privilege: no RBAC rights"
    );

    // Again: everything is unchanged, and it is Ready at once.
    let again = bootstrap(&[]).output().expect("ferry");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains(" 0 changed"), "{stderr}");
    drop(_agent);
    cleanup(&kc);
}

fn crd(group: &str, kind: &str, plural: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "versions": [{"name": "v1beta1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    })
}

/// `wait: true` holds the Sync until a Flagger Canary is promoted and a custom resource meets
/// the Sync's CEL health rule: both judged on what a real API server stores.
#[test]
fn wait_follows_flagger_canaries_and_cel_health_rules() {
    const HNS: &str = "ferry-health-live";
    const HAPP: &str = "health-live-app";
    let Some(kc) = live() else { return };
    let Some(registry) = Registry::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let key = new_signing_key();
    for ns in [HNS, HAPP] {
        let _ = kubectl(
            &kc,
            &["delete", "namespace", ns, "--wait=true", "--timeout=60s"],
        );
    }
    let crd_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/sync-crd.yaml");
    kubectl_ok(
        &kc,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            crd_file.to_str().expect("utf8"),
        ],
    );
    kubectl_ok(
        &kc,
        &[
            "wait",
            "--for=condition=Established",
            "crd/syncs.ferry.dev",
            "--timeout=60s",
        ],
    );
    kubectl_ok(&kc, &["create", "namespace", HNS]);
    let pubkey = tmp.path().join("cosign.pub");
    std::fs::write(&pubkey, public_pem(key.verifying_key())).expect("write");
    kubectl_ok(
        &kc,
        &[
            "create",
            "secret",
            "generic",
            "keys",
            "-n",
            HNS,
            &format!("--from-file=cosign.pub={}", pubkey.display()),
        ],
    );
    let objects = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": HAPP}}),
        crd("flagger.app", "Canary", "canaries"),
        crd("ferry-live.example.com", "Widget", "widgets"),
        json!({"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": {"name": "web", "namespace": HAPP}, "spec": {"targetRef": {"kind": "Deployment", "name": "web"}}}),
        json!({"apiVersion": "ferry-live.example.com/v1beta1", "kind": "Widget", "metadata": {"name": "w", "namespace": HAPP}, "spec": {"size": 3}}),
    ];
    push(
        &registry,
        &key,
        tmp.path(),
        &objects,
        "4444444444444444444444444444444444444444",
    );
    kubectl_stdin(&kc, &["apply", "-f", "-"], &format!(
        "apiVersion: ferry.dev/v1alpha1\nkind: Sync\nmetadata: {{name: prod, namespace: {HNS}}}\nspec:\n  url: oci://{}/live/prod:latest\n  interval: 2s\n  timeout: 90s\n  wait: true\n  verify: {{secretRef: {{name: keys, key: cosign.pub}}}}\n  healthCheckExprs:\n  - apiVersion: ferry-live.example.com/v1beta1\n    kind: Widget\n    current: \"has(status.phase) && status.phase == 'Ready'\"\n    failed: \"has(status.phase) && status.phase == 'Broken'\"\n",
        registry.addr
    ));
    let _agent = Agent(
        common::ferry(&tmp.path().join("cache"))
            .arg("agent")
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["-n", HNS, "--poll", "500ms", "--health-addr", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(tmp.path().join("agent.log")).expect("log"))
            .spawn()
            .expect("ferry agent"),
    );
    let sync = |kc: &Path| -> Value {
        serde_json::from_str(&kubectl_ok(
            kc,
            &["get", "sync", "prod", "-n", HNS, "-o", "json"],
        ))
        .expect("json")
    };
    // Applied, then held: neither the Canary nor the Widget is healthy yet.
    let started = Instant::now();
    while !kubectl(
        &kc,
        &["get", "widget.ferry-live.example.com", "w", "-n", HAPP],
    )
    .status
    .success()
    {
        assert!(started.elapsed() < Duration::from_secs(60), "not applied");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    assert_ne!(
        ready(&sync(&kc)),
        Some("True"),
        "Ready before the canary was promoted"
    );

    let merge = |kind: &str, name: &str, patch: &str| {
        kubectl_ok(
            &kc,
            &["patch", kind, name, "-n", HAPP, "--type=merge", "-p", patch],
        );
    };
    merge(
        "canary.flagger.app",
        "web",
        r#"{"status":{"phase":"Succeeded"}}"#,
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_ne!(
        ready(&sync(&kc)),
        Some("True"),
        "Ready before the Widget rule held"
    );
    let released = Instant::now();
    merge(
        "widget.ferry-live.example.com",
        "w",
        r#"{"status":{"phase":"Ready"}}"#,
    );
    while ready(&sync(&kc)) != Some("True") {
        assert!(
            released.elapsed() < Duration::from_secs(60),
            "not Ready: {:#}",
            sync(&kc)["status"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "LIVE Ready {:.2}s after the Widget met its CEL rule (canary promoted before)",
        released.elapsed().as_secs_f64()
    );
    drop(_agent);
    for ns in [HNS, HAPP] {
        let _ = kubectl(&kc, &["delete", "namespace", ns, "--wait=false"]);
    }
    for c in ["canaries.flagger.app", "widgets.ferry-live.example.com"] {
        let _ = kubectl(&kc, &["delete", "crd", c, "--wait=false"]);
    }
}

/// A loopback TCP relay to the API server that can be cut: while down it closes every open
/// connection and every new one, as a restarting API server or a broken network does.
struct Relay {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn start(target: String) -> Relay {
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::<TcpStream>::new()));
        let (up2, open2) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut list = open2.lock().expect("open");
                for s in [&client, &server] {
                    if let Ok(c) = s.try_clone() {
                        list.push(c);
                    }
                }
                drop(list);
                for (mut from, mut to) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Write);
                    });
                }
            }
        });
        Relay { port, up, open }
    }

    fn down(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for s in self.open.lock().expect("open").drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The agent through an API server that goes away for 10 s and comes back: it keeps running,
/// says in its log that it lost the Syncs' watch, lists them again, and applies the digest
/// pushed during the outage; a reconcile request afterwards proves the watch is back.
#[test]
fn the_agent_rides_out_an_api_server_outage_and_converges_after() {
    const ONS: &str = "ferry-agent-outage";
    const OAPP: &str = "agent-outage-shop";
    let Some(kc) = live() else { return };
    let Some(registry) = Registry::start() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let key = new_signing_key();
    let crd = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/sync-crd.yaml");
    kubectl_ok(
        &kc,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            crd.to_str().expect("utf8"),
        ],
    );
    kubectl_ok(
        &kc,
        &[
            "wait",
            "--for=condition=Established",
            "crd/syncs.ferry.dev",
            "--timeout=60s",
        ],
    );
    for ns in [ONS, OAPP] {
        let _ = kubectl(
            &kc,
            &["delete", "namespace", ns, "--wait=true", "--timeout=60s"],
        );
    }
    kubectl_ok(&kc, &["create", "namespace", ONS]);
    let pubkey = tmp.path().join("cosign.pub");
    std::fs::write(&pubkey, public_pem(key.verifying_key())).expect("write");
    kubectl_ok(
        &kc,
        &[
            "create",
            "secret",
            "generic",
            "keys",
            "-n",
            ONS,
            &format!("--from-file=cosign.pub={}", pubkey.display()),
        ],
    );
    let objects = |v: &str| {
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OAPP}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "a", "namespace": OAPP}, "data": {"VERSION": v}}),
        ]
    };
    push(
        &registry,
        &key,
        tmp.path(),
        &objects("1"),
        "1111111111111111111111111111111111111111",
    );
    kubectl_stdin(&kc, &["apply", "-f", "-"], &format!(
        "apiVersion: ferry.dev/v1alpha1\nkind: Sync\nmetadata: {{name: prod, namespace: {ONS}}}\nspec:\n  url: oci://{}/live/prod:latest\n  interval: 2s\n  timeout: 30s\n  verify: {{secretRef: {{name: keys, key: cosign.pub}}}}\n",
        registry.addr
    ));
    let get = || -> Value {
        serde_json::from_str(&kubectl_ok(
            &kc,
            &["get", "sync", "prod", "-n", ONS, "-o", "json"],
        ))
        .expect("json")
    };
    let wait = |what: &str, limit: Duration, done: &dyn Fn(&Value) -> bool| {
        let started = Instant::now();
        loop {
            let v = get();
            if done(&v) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "{what}: not within {limit:?}: {:#}",
                v["status"]
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    // The agent reaches the API server only through the relay.
    let config = std::fs::read_to_string(&kc).expect("kubeconfig");
    let server = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("server in the kubeconfig")
        .trim()
        .to_string();
    let target = server.trim_start_matches("https://").to_string();
    let relay = Relay::start(target.clone());
    let relayed = tmp.path().join("relayed.kubeconfig");
    std::fs::write(
        &relayed,
        config.replace(&server, &format!("https://127.0.0.1:{}", relay.port)),
    )
    .expect("write kubeconfig");
    let log = tmp.path().join("agent.log");
    let agent = Agent(
        common::ferry(&tmp.path().join("cache"))
            .arg("agent")
            .arg("--kubeconfig")
            .arg(&relayed)
            .args(["-n", ONS, "--poll", "1s", "--no-leader-election"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("ferry agent"),
    );
    wait("first sync", Duration::from_secs(60), &|v| {
        ready(v) == Some("True")
    });

    relay.down();
    let d2 = push(
        &registry,
        &key,
        tmp.path(),
        &objects("2"),
        "2222222222222222222222222222222222222222",
    );
    std::thread::sleep(Duration::from_secs(10));
    let mut agent = agent;
    assert!(
        agent.0.try_wait().expect("agent").is_none(),
        "the agent exited during the outage: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    relay.restore();
    let back = Instant::now();
    wait(
        "the digest pushed during the outage",
        Duration::from_secs(60),
        &|v| v["status"]["lastAppliedDigest"] == d2.as_str() && ready(v) == Some("True"),
    );
    eprintln!(
        "LIVE after a 10 s API server outage, the digest pushed meanwhile applied {:.2}s after it came back",
        back.elapsed().as_secs_f64()
    );
    let cm = kubectl_ok(
        &kc,
        &[
            "get",
            "cm",
            "a",
            "-n",
            OAPP,
            "-o",
            "jsonpath={.data.VERSION}",
        ],
    );
    assert_eq!(cm, "2");
    // The Syncs' watch is back: a reconcile request is seen and acted on.
    let out = common::ferry(&tmp.path().join("cache"))
        .args(["reconcile", "prod", "--timeout", "30s", "--kubeconfig"])
        .arg(&kc)
        .args(["-n", ONS])
        .output()
        .expect("ferry reconcile");
    assert!(
        out.status.success(),
        "reconcile after the outage: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("listing them again") || text.contains("cannot list Syncs"),
        "the agent says it lost the watch:\n{text}"
    );
    drop(agent);
    for ns in [ONS, OAPP] {
        let _ = kubectl(&kc, &["delete", "namespace", ns, "--wait=false"]);
    }
}
