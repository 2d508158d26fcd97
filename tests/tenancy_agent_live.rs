//! The agent with tenants (issue 20), against a real API server (`FERRY_TEST_KUBECONFIG`)
//! and a real registry: a Sync whose artifact holds two tenants is applied with each tenant's
//! objects as the tenant; one tenant's object aimed at the other's namespace is refused by
//! RBAC, the Sync says which tenant failed and why while the other tenant is applied, and the
//! next artifact without it makes the Sync Ready. Without the variable it prints SKIP.

mod apply_fake;
mod common;

use apply_fake::artifact::{write_tenant_artifact, AppObjects};
use common::registry::Registry;
use ferry::artifact::sign::{keys::public_pem, new_signing_key, SigningKey};
use ferry::artifact::{ArtifactRef, Provenance, PushOptions, RegistryOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD_B: &str = "dGVhbS1iLWFnZW50"; // base64, as `data` holds it

fn live() -> Option<PathBuf> {
    match std::env::var_os("FERRY_TEST_KUBECONFIG") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!("SKIP: FERRY_TEST_KUBECONFIG is not set; the agent's tenancy test needs an API server");
            None
        }
    }
}

fn kubectl(kc: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
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
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("kubectl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn cm(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": name}})
}

fn tenant_platform(ns: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ferry", "namespace": ns}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "ferry-tenant", "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
               "subjects": [{"kind": "ServiceAccount", "name": "ferry", "namespace": ns}]}),
    ]
}

fn push(
    registry: &Registry,
    key: &SigningKey,
    dir: &Path,
    apps: &[AppObjects<'_>],
    tenants: &[(&str, &str, &[&str])],
    commit: &str,
) {
    write_tenant_artifact(dir, "prod", apps, tenants);
    // team-b's identity is the `age` Secret of its namespace, as ferry.yaml's
    // `tenants.team-b.decryption.secretRef` records it in the index.
    let path = dir.join("index.json");
    let mut index: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("index")).expect("json");
    index["tenants"]["team-b"]["decryption"] =
        json!({"secretRef": {"name": "age", "key": "age.agekey"}});
    std::fs::write(&path, serde_json::to_vec_pretty(&index).expect("json")).expect("write");
    let target = ArtifactRef::parse(&format!("{}/tenants/prod", registry.addr)).expect("ref");
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
    ferry::artifact::push_dir(dir, &target, &provenance, &opts).expect("push");
}

struct Cleanup<'a> {
    kc: &'a Path,
    namespaces: Vec<String>,
    agent: Option<Child>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(mut a) = self.agent.take() {
            let _ = a.kill();
            let _ = a.wait();
        }
        for ns in &self.namespaces {
            kubectl(
                self.kc,
                &[
                    "delete",
                    "namespace",
                    ns,
                    "--wait=false",
                    "--ignore-not-found",
                ],
                None,
            );
        }
    }
}

fn sync_status(kc: &Path, ns: &str) -> Value {
    let (_, out) = kubectl(kc, &["get", "sync", "prod", "-n", ns, "-o", "json"], None);
    serde_json::from_str::<Value>(&out).unwrap_or(Value::Null)["status"].clone()
}

fn ready(status: &Value) -> (String, String) {
    let c = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .cloned()
        .unwrap_or(Value::Null);
    (
        c["status"].as_str().unwrap_or_default().to_string(),
        c["message"].as_str().unwrap_or_default().to_string(),
    )
}

fn wait_for(kc: &Path, ns: &str, what: &str, done: impl Fn(&Value) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let s = sync_status(kc, ns);
        if done(&s) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{what}: {s:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_agent_applies_each_tenant_as_itself_and_a_refused_tenant_fails_alone() {
    let Some(kc) = live() else { return };
    let Some(registry) = Registry::start() else {
        return;
    };
    let id = common::unique_id();
    let (ns_a, ns_b, ns_s) = (
        format!("tenants-ga-{id}"),
        format!("tenants-gb-{id}"),
        format!("tenants-gs-{id}"),
    );
    let mut cleanup = Cleanup {
        kc: &kc,
        namespaces: vec![ns_a.clone(), ns_b.clone(), ns_s.clone()],
        agent: None,
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let key = new_signing_key();
    let crd = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/sync-crd.yaml");
    let (ok, out) = kubectl(
        &kc,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            crd.to_str().expect("utf8"),
        ],
        None,
    );
    assert!(ok, "{out}");
    kubectl(
        &kc,
        &[
            "wait",
            "--for=condition=Established",
            "crd/syncs.ferry.dev",
            "--timeout=60s",
        ],
        None,
    );
    let (ok, out) = kubectl(&kc, &["create", "namespace", &ns_s], None);
    assert!(ok, "{out}");
    let pubkey = tmp.path().join("cosign.pub");
    std::fs::write(&pubkey, public_pem(key.verifying_key())).expect("write");
    let (ok, out) = kubectl(
        &kc,
        &[
            "create",
            "secret",
            "generic",
            "keys",
            "-n",
            &ns_s,
            &format!("--from-file=cosign.pub={}", pubkey.display()),
        ],
        None,
    );
    assert!(ok, "{out}");

    let mut platform = tenant_platform(&ns_a);
    platform.extend(tenant_platform(&ns_b));
    let tenants: [(&str, String, [&str; 1]); 2] = [
        ("team-a", format!("{ns_a}/ferry"), [ns_a.as_str()]),
        ("team-b", format!("{ns_b}/ferry"), [ns_b.as_str()]),
    ];
    let tenant_refs: Vec<(&str, &str, &[&str])> = tenants
        .iter()
        .map(|(n, sa, nss)| (*n, sa.as_str(), nss.as_slice()))
        .collect();
    let a1 = [cm(&ns_a, "a1"), cm(&ns_b, "intruder")];
    // team-b's Secret is sealed to team-b's key only: the agent (with no decryption identity
    // of its own) opens it with the identity team-b's Secret holds, read as team-b.
    let keys = tmp.path().join("keys");
    std::fs::create_dir_all(&keys).expect("mkdir");
    let (sealed, key_b) = apply_fake::artifact::sealed_secret_in(&keys, &ns_b, PASSWORD_B);
    let b1 = [cm(&ns_b, "b1"), sealed];
    let (ok, out) = kubectl(&kc, &["create", "namespace", &ns_b], None);
    assert!(ok, "{out}");
    let (ok, out) = kubectl(
        &kc,
        &[
            "create",
            "secret",
            "generic",
            "age",
            "-n",
            &ns_b,
            &format!("--from-file=age.agekey={}", key_b.display()),
        ],
        None,
    );
    assert!(ok, "{out}");
    push(
        &registry,
        &key,
        &tmp.path().join("out-1"),
        &[
            ("platform", None, &platform),
            ("web", Some("team-a"), &a1),
            ("api", Some("team-b"), &b1),
        ],
        &tenant_refs,
        "1111111111111111111111111111111111111111",
    );
    let sync = format!(
        "apiVersion: ferry.dev/v1alpha1\nkind: Sync\nmetadata: {{name: prod, namespace: {ns_s}}}\nspec:\n  url: oci://{}/tenants/prod:latest\n  interval: 2s\n  timeout: 60s\n  verify: {{secretRef: {{name: keys, key: cosign.pub}}}}\n  inventory: {{kind: Secret, namespace: {ns_s}, name: ferry-prod}}\n",
        registry.addr
    );
    let (ok, out) = kubectl(&kc, &["apply", "-f", "-"], Some(&sync));
    assert!(ok, "{out}");
    cleanup.agent = Some(
        common::ferry(&tmp.path().join("cache"))
            .arg("agent")
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["-n", &ns_s, "--poll", "500ms", "--no-leader-election"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(tmp.path().join("agent.log")).expect("log"))
            .spawn()
            .expect("ferry agent"),
    );

    // team-a's intruder is refused by the API server; the Sync says so, naming the tenant and
    // quoting the server; team-b and the platform were applied.
    let took = wait_for(&kc, &ns_s, "the refused tenant reported", |s| {
        let (status, message) = ready(s);
        status == "False" && message.contains("tenant team-a")
    });
    let (_, message) = ready(&sync_status(&kc, &ns_s));
    eprintln!(
        "refused tenant reported after {} ms: {message}",
        took.as_millis()
    );
    assert!(
        message.contains(&format!(
            "tenant team-a (as system:serviceaccount:{ns_a}:ferry)"
        )) && message.contains(&format!("ConfigMap/{ns_b}/intruder"))
            && message.contains(&format!("in the namespace \"{ns_b}\"")),
        "{message}"
    );
    assert!(!message.contains("tenant team-b"), "{message}");
    let exists = |ns: &str, name: &str| kubectl(&kc, &["get", "cm", "-n", ns, name], None).0;
    assert!(exists(&ns_a, "a1") && exists(&ns_b, "b1"));
    assert!(!exists(&ns_b, "intruder"));
    assert!(
        kubectl(
            &kc,
            &["get", "secret", "-n", &ns_a, "ferry-prod-team-a"],
            None
        )
        .0,
        "team-a's own inventory in its namespace"
    );

    let (ok, live) = kubectl(
        &kc,
        &[
            "get",
            "secret",
            "-n",
            &ns_b,
            "db",
            "-o",
            "jsonpath={.data.password}",
        ],
        None,
    );
    assert!(ok, "{live}");
    assert_eq!(live.trim(), PASSWORD_B, "opened with team-b's own identity");

    // `ferry status --tenant`: each tenant sees its own apply, not the other's errors.
    let status = |tenant: &str, json: bool| {
        let out = common::ferry(&tmp.path().join("cache"))
            .arg("status")
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["-n", &ns_s, "--tenant", tenant])
            .args(if json {
                &["--output", "json"][..]
            } else {
                &[][..]
            })
            .output()
            .expect("ferry status");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, b) = status("team-b", true);
    assert_eq!(code, Some(0), "{b}");
    let b: Value = serde_json::from_str(&b).expect("json");
    assert_eq!(b[0]["sync"], "prod");
    assert_eq!(b[0]["tenant"]["ready"], "True", "{b:#}");
    assert_eq!(b[0]["tenant"]["objects"], 2, "{b:#}");
    assert_eq!(
        b[0]["tenant"]["inventory"],
        format!("Secret/{ns_b}/ferry-prod-team-b")
    );
    let (code, a) = status("team-a", true);
    assert_eq!(code, Some(0), "{a}");
    let a: Value = serde_json::from_str(&a).expect("json");
    assert_eq!(a[0]["tenant"]["ready"], "False", "{a:#}");
    assert!(
        a[0]["tenant"]["failed"][0]
            .as_str()
            .is_some_and(|f| f.starts_with(&format!("ConfigMap/{ns_b}/intruder: "))),
        "{a:#}"
    );
    let (_, text) = status("team-b", false);
    eprintln!("ferry status --tenant team-b:\n{text}");
    assert!(
        text.starts_with("SYNC") && !text.contains("intruder"),
        "{text}"
    );
    let (code, err) = status("team-c", false);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("no Sync has applied tenant `team-c`")
            && err.contains("tenants these Syncs apply: team-a, team-b"),
        "{err}"
    );

    // The next artifact drops the intruder: Ready.
    push(
        &registry,
        &key,
        &tmp.path().join("out-2"),
        &[
            ("platform", None, &platform),
            ("web", Some("team-a"), &a1[..1]),
            ("api", Some("team-b"), &b1),
        ],
        &tenant_refs,
        "2222222222222222222222222222222222222222",
    );
    let took = wait_for(&kc, &ns_s, "Ready after the fix", |s| {
        ready(s).0 == "True"
            && s["lastAppliedRevision"] == "main@sha1:2222222222222222222222222222222222222222"
    });
    eprintln!(
        "Ready {} ms after the fixed artifact was pushed",
        took.as_millis()
    );
}
