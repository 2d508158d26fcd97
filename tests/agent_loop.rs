//! The agent's loop against the fake API server and a real registry (CNCF distribution) with
//! artifacts signed and pushed in-process: what a pass decides (unchanged digest: no pull, no
//! write; new digest: apply; failure: backoff), status, history, events, metrics, leader
//! election between two agents, a shutdown in the middle of an apply, suspend and reconcile.

mod agent_fake;
mod apply_fake;
mod common;
mod notify_fake;

use agent_fake::AgentFake;
use apply_fake::artifact::write_artifact;
use common::registry::Registry;
use ferry::agent::leader::{Always, Leader, LeaseLeader};
use ferry::agent::metrics::Metrics;
use ferry::agent::reconcile::Worker;
use ferry::agent::spec::Sync;
use ferry::agent::status::SyncStatus;
use ferry::agent::{AgentHealth, AgentOptions, Shared};
use ferry::artifact::sign::{keys::public_pem, new_signing_key, SigningKey};
use ferry::artifact::{ArtifactRef, Provenance, PushOptions, RegistryOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const NS: &str = "ferry-system";

struct World {
    registry: Registry,
    key: SigningKey,
    tmp: tempfile::TempDir,
    fake: AgentFake,
    client: kube::Client,
}

fn cm(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "shop"}, "data": {"k": value}})
}

fn ns(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

impl World {
    fn start() -> Option<World> {
        let registry = Registry::start()?;
        let (fake, client) = AgentFake::new();
        let key = new_signing_key();
        fake.put_secret(NS, "keys", "cosign.pub", &public_pem(key.verifying_key()));
        Some(World {
            registry,
            key,
            tmp: tempfile::tempdir().expect("tmp"),
            fake,
            client,
        })
    }

    fn url(&self) -> String {
        format!("oci://{}/platform/prod:latest", self.registry.addr)
    }

    /// Pushes `objects` as the prod artifact, signed, tagged `latest`; returns its digest.
    fn push(&self, objects: &[Value], commit: &str) -> String {
        let dir = self.tmp.path().join(format!("out-{commit}"));
        write_artifact(&dir, "prod", objects);
        let target = ArtifactRef::parse(&format!("{}/platform/prod", self.registry.addr))
            .expect("reference");
        let provenance = Provenance {
            revision: Some(format!("main@sha1:{commit}")),
            ..Provenance::default()
        };
        let opts = PushOptions {
            tags: vec!["latest".into()],
            signing_key: Some(self.key.clone()),
            registry: RegistryOptions::new(),
            ..PushOptions::default()
        };
        // The registry client is blocking with a runtime of its own: off the test's runtime.
        std::thread::scope(|s| {
            s.spawn(|| ferry::artifact::push_dir(&dir, &target, &provenance, &opts))
                .join()
                .expect("push thread")
        })
        .expect("push")
        .digest
    }

    fn spec(&self) -> Value {
        json!({"url": self.url(), "interval": "1m", "timeout": "30s",
               "verify": {"secretRef": {"name": "keys", "key": "cosign.pub"}}})
    }

    fn shared(&self, leader: Arc<dyn Leader>) -> (Arc<Shared>, watch::Sender<bool>) {
        self.shared_notifying(leader, ferry::notify::Notifier::disabled())
    }

    fn shared_notifying(
        &self,
        leader: Arc<dyn Leader>,
        notifier: ferry::notify::Notifier,
    ) -> (Arc<Shared>, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        let opts = AgentOptions {
            poll: Duration::from_millis(100),
            grace: Duration::from_secs(5),
            backoff_base: Duration::from_secs(10),
            event_window: Duration::from_secs(600),
            identity: "agent-a".into(),
            ..AgentOptions::default()
        };
        (
            Shared::notifying(
                self.client.clone(),
                leader,
                Arc::new(Metrics::new()),
                opts,
                rx,
                notifier,
            ),
            tx,
        )
    }

    fn sync(&self, name: &str) -> Sync {
        Sync::from_object(&self.fake.sync(NS, name)).expect("valid sync")
    }

    fn status(&self, name: &str) -> SyncStatus {
        SyncStatus::from_object(&self.fake.sync(NS, name))
    }

    fn configmap(&self, name: &str) -> Option<Value> {
        self.fake
            .with(|s| s.get("", "configmaps", "shop", name).cloned())
    }

    /// Object PATCHes (not the ApplySet parent, not status).
    fn object_patches(&self) -> Vec<String> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| {
                r.method == "PATCH"
                    && (r.path.contains("/namespaces/shop/") || r.path == "/api/v1/namespaces/shop")
            })
            .map(|r| r.path)
            .collect()
    }
}

fn near(d: Duration, secs: u64) -> bool {
    d >= Duration::from_secs(secs) * 9 / 10 && d <= Duration::from_secs(secs) * 11 / 10
}

#[tokio::test]
async fn digest_unchanged_pulls_nothing_and_writes_nothing_a_new_digest_applies() {
    let Some(w) = World::start() else { return };
    let d1 = w.push(
        &[ns("shop"), cm("a", "1"), cm("old", "x")],
        "1111111111111111111111111111111111111111",
    );
    w.fake.put_sync(NS, "prod", w.spec());
    let (shared, _tx) = w.shared(Arc::new(Always));
    let mut worker = Worker::new(shared.clone(), SyncStatus::default());

    let wait = worker.pass(&w.sync("prod")).await;
    assert!(
        near(wait, 60),
        "next pass after the jittered interval: {wait:?}"
    );
    let s = w.status("prod");
    assert_eq!(s.ready(), "True", "{s:#?}");
    let ready = s.condition("Ready").expect("Ready");
    assert_eq!(ready.reason, "ReconciliationSucceeded");
    assert_eq!(
        ready.message,
        "Applied revision: main@sha1:1111111111111111111111111111111111111111"
    );
    assert_eq!(s.last_applied_digest.as_deref(), Some(d1.as_str()));
    assert_eq!(s.last_attempted_digest.as_deref(), Some(d1.as_str()));
    assert_eq!(
        s.last_applied_revision.as_deref(),
        Some("main@sha1:1111111111111111111111111111111111111111")
    );
    assert!(s.condition("Reconciling").is_none() && s.condition("Stalled").is_none());
    assert_eq!(s.observed_generation, 1);
    assert_eq!(
        s.inventory.as_deref(),
        Some("Secret/ferry-system/ferry-prod")
    );
    assert_eq!(s.history.len(), 1);
    assert_eq!(s.history[0].outcome, "Applied");
    assert_eq!(s.history[0].digest.as_deref(), Some(d1.as_str()));
    assert_eq!(
        s.history[0].message,
        "3 created, 0 configured, 0 unchanged, 0 pruned"
    );
    assert_eq!(w.configmap("a").expect("applied")["data"]["k"], "1");
    assert_eq!(
        w.fake.event_reasons(),
        [("Normal".to_string(), "Applied".to_string())]
    );

    // Unchanged digest: the layer is gone from the registry, so a pull would fail; the pass
    // must not try, and must send nothing to the API server.
    std::fs::remove_file(w.registry.blob_file(&layer_of(&w, &d1))).expect("remove layer");
    w.fake.clear_requests();
    let wait = worker.pass(&w.sync("prod")).await;
    assert!(near(wait, 60), "{wait:?}");
    assert!(
        w.fake.writes().is_empty(),
        "a no-change pass writes nothing: {:?}",
        w.fake.writes()
    );
    // What it reads is the drift check: one LIST per kind and namespace (and discovery).
    let mut lists: Vec<String> = w
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/configmaps") || r.path.ends_with("/namespaces"))
        .map(|r| r.path)
        .collect();
    lists.sort();
    assert_eq!(
        lists,
        ["/api/v1/namespaces", "/api/v1/namespaces/shop/configmaps"]
    );
    assert_eq!(w.status("prod").ready(), "True");
    let discovered = |w: &World| {
        w.fake
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && (r.path == "/api/v1" || r.path.starts_with("/apis/")))
            .count()
    };
    assert!(discovered(&w) > 0, "the first check asks discovery");
    // The next check of the same artifact trusts what discovery said: only the LISTs.
    w.fake.clear_requests();
    worker.pass(&w.sync("prod")).await;
    assert_eq!(
        discovered(&w),
        0,
        "{:?}",
        w.fake
            .requests()
            .iter()
            .map(|r| &r.path)
            .collect::<Vec<_>>()
    );
    assert!(w.fake.writes().is_empty());

    // A new digest behind the tag: pulled and applied, the left-out member pruned.
    let d2 = w.push(
        &[ns("shop"), cm("a", "2")],
        "2222222222222222222222222222222222222222",
    );
    assert_ne!(d1, d2);
    worker.pass(&w.sync("prod")).await;
    let s = w.status("prod");
    assert_eq!(s.ready(), "True", "{s:#?}");
    assert_eq!(s.last_applied_digest.as_deref(), Some(d2.as_str()));
    assert_eq!(
        s.last_applied_revision.as_deref(),
        Some("main@sha1:2222222222222222222222222222222222222222")
    );
    assert_eq!(s.history.len(), 2);
    assert_eq!(s.history[0].digest.as_deref(), Some(d2.as_str()));
    assert_eq!(
        s.history[0].message,
        "0 created, 1 configured, 1 unchanged, 1 pruned"
    );
    assert_eq!(s.history[1].digest.as_deref(), Some(d1.as_str()));
    assert_eq!(w.configmap("a").expect("a")["data"]["k"], "2");
    assert!(w.configmap("old").is_none(), "pruned");
    let reasons: Vec<String> = w.fake.event_reasons().into_iter().map(|(_, r)| r).collect();
    assert_eq!(reasons, ["Applied", "Applied", "Pruned"]);
    let pruned = &w.fake.events()[2];
    assert_eq!(pruned["involvedObject"]["kind"], "Sync");
    assert_eq!(pruned["involvedObject"]["name"], "prod");
    assert!(
        pruned["message"]
            .as_str()
            .expect("message")
            .contains("ConfigMap/shop/old"),
        "{pruned}"
    );

    // Metrics, parsed.
    let m = parse_metrics(&shared.metrics.text());
    let l = r#"sync="ferry-system/prod""#;
    assert_eq!(
        m[&format!("ferry_agent_reconciliations_total{{{l},result=\"applied\"}}")],
        2.0
    );
    assert_eq!(
        m[&format!("ferry_agent_reconciliations_total{{{l},result=\"unchanged\"}}")],
        2.0
    );
    assert_eq!(
        m[&format!("ferry_agent_reconcile_duration_seconds_count{{{l}}}")],
        2.0
    );
    // No-change passes are timed on their own.
    assert_eq!(
        m[&format!("ferry_agent_check_duration_seconds_count{{{l}}}")],
        2.0
    );
    assert!(m[&format!("ferry_agent_check_duration_seconds_sum{{{l}}}")] > 0.0);
    assert_eq!(m[&format!("ferry_agent_objects_applied_total{{{l}}}")], 4.0);
    assert_eq!(m[&format!("ferry_agent_objects_pruned_total{{{l}}}")], 1.0);
    assert_eq!(m[&format!("ferry_agent_ready{{{l}}}")], 1.0);
    assert!(m[&format!("ferry_agent_last_success_timestamp_seconds{{{l}}}")] > 1.7e9);
}

/// The digest of the content layer of the manifest `digest`.
fn layer_of(w: &World, digest: &str) -> String {
    let manifest = std::fs::read(w.registry.blob_file(digest)).expect("manifest blob");
    let v: Value = serde_json::from_slice(&manifest).expect("manifest json");
    v["layers"][0]["digest"]
        .as_str()
        .expect("layer")
        .to_string()
}

/// OpenMetrics text into `name{labels}` -> value; comments and `# EOF` checked, not kept.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("# ") {
            let kind = rest.split_whitespace().next().unwrap_or_default();
            assert!(
                matches!(kind, "HELP" | "TYPE" | "UNIT" | "EOF"),
                "bad line {line}"
            );
            if kind == "EOF" {
                assert!(lines.peek().is_none(), "# EOF is last");
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "metric names are snake_case: {name}"
        );
        out.insert(series.to_string(), value);
    }
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    out
}

#[tokio::test]
async fn a_failure_backs_off_doubling_and_says_why_in_status_and_one_event() {
    let Some(w) = World::start() else { return };
    w.push(
        &[ns("shop"), cm("a", "1")],
        "1111111111111111111111111111111111111111",
    );
    w.fake.put_sync(NS, "prod", w.spec());
    let (shared, _tx) = w.shared(Arc::new(Always));
    let mut worker = Worker::new(shared.clone(), SyncStatus::default());
    w.registry.stop();
    let waits = [
        worker.pass(&w.sync("prod")).await,
        worker.pass(&w.sync("prod")).await,
        worker.pass(&w.sync("prod")).await,
    ];
    assert!(
        near(waits[0], 10) && near(waits[1], 20) && near(waits[2], 40),
        "{waits:?}"
    );
    let s = w.status("prod");
    let ready = s.condition("Ready").expect("Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "ArtifactFailed")
    );
    assert!(
        ready.message.contains(&w.registry.addr),
        "{}",
        ready.message
    );
    assert_eq!(
        s.condition("Reconciling").expect("retrying").reason,
        "ProgressingWithRetry"
    );
    assert_eq!(s.last_error.as_deref(), Some(ready.message.as_str()));
    assert_eq!(
        s.history.len(),
        1,
        "a repeated failure is one entry: {:#?}",
        s.history
    );
    assert_eq!(s.history[0].outcome, "Failed");
    assert_eq!(
        w.fake.event_reasons(),
        [("Warning".to_string(), "ArtifactFailed".to_string())],
        "the same failure is one event"
    );
    assert!(w.configmap("a").is_none());
    let m = parse_metrics(&shared.metrics.text());
    assert_eq!(
        m[r#"ferry_agent_reconciliations_total{sync="ferry-system/prod",result="failed"}"#],
        3.0
    );
    assert_eq!(m[r#"ferry_agent_ready{sync="ferry-system/prod"}"#], 0.0);

    // Back up: the next pass applies and clears the error.
    w.registry.restart();
    let wait = worker.pass(&w.sync("prod")).await;
    assert!(near(wait, 60), "{wait:?}");
    let s = w.status("prod");
    assert_eq!(s.ready(), "True");
    assert_eq!(s.last_error, None);
    assert_eq!(s.history[0].outcome, "Applied");
    assert_eq!(s.history[1].outcome, "Failed");
}

#[tokio::test]
async fn a_bad_signature_applies_nothing_and_a_missing_key_secret_is_named() {
    let Some(w) = World::start() else { return };
    w.push(
        &[ns("shop"), cm("a", "1")],
        "1111111111111111111111111111111111111111",
    );
    let other = new_signing_key();
    w.fake.put_secret(
        NS,
        "other",
        "cosign.pub",
        &public_pem(other.verifying_key()),
    );
    let mut spec = w.spec();
    spec["verify"]["secretRef"]["name"] = json!("other");
    w.fake.put_sync(NS, "prod", spec.clone());
    let (shared, _tx) = w.shared(Arc::new(Always));
    let mut worker = Worker::new(shared, SyncStatus::default());
    worker.pass(&w.sync("prod")).await;
    let s = w.status("prod");
    let ready = s.condition("Ready").expect("Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "VerificationFailed")
    );
    assert!(
        ready.message.contains("nothing was applied"),
        "{}",
        ready.message
    );
    assert!(w.object_patches().is_empty(), "{:?}", w.object_patches());
    assert_eq!(s.last_applied_digest, None);

    spec["verify"]["secretRef"]["name"] = json!("missing");
    w.fake.put_sync(NS, "prod", spec);
    worker.pass(&w.sync("prod")).await;
    let ready = w.status("prod").condition("Ready").cloned().expect("Ready");
    assert_eq!(ready.reason, "SecretError");
    assert!(
        ready
            .message
            .starts_with("spec.verify.secretRef: Secret ferry-system/missing not found"),
        "{}",
        ready.message
    );
}

#[tokio::test]
async fn suspend_stops_and_a_reconcile_request_applies_again() {
    let Some(w) = World::start() else { return };
    w.push(
        &[ns("shop"), cm("a", "1")],
        "1111111111111111111111111111111111111111",
    );
    let mut spec = w.spec();
    spec["suspend"] = json!(true);
    // No drift check here: only the request may put the edited object back.
    spec["drift"] = json!({"mode": "disabled"});
    w.fake.put_sync(NS, "prod", spec.clone());
    let (shared, _tx) = w.shared(Arc::new(Always));
    let mut worker = Worker::new(shared, SyncStatus::default());
    worker.pass(&w.sync("prod")).await;
    let s = w.status("prod");
    assert!(s.suspended && s.observed_generation == 1, "{s:#?}");
    assert!(w.configmap("a").is_none(), "suspended: nothing applied");
    assert_eq!(
        w.fake.event_reasons(),
        [("Normal".to_string(), "Suspended".to_string())]
    );

    spec["suspend"] = json!(false);
    w.fake.put_sync(NS, "prod", spec);
    worker.pass(&w.sync("prod")).await;
    let s = w.status("prod");
    assert!(
        !s.suspended && s.observed_generation == 2 && s.ready() == "True",
        "{s:#?}"
    );
    assert!(w.configmap("a").is_some());

    // Someone changes the object; a reconcile request applies again with the same digest.
    w.fake.with(|st| {
        st.get_mut("", "configmaps", "shop", "a").expect("a")["data"]["k"] = json!("edited")
    });
    w.fake.clear_requests();
    worker.pass(&w.sync("prod")).await;
    assert!(w.fake.requests().is_empty(), "no request, no action");
    w.fake.with(|st| {
        st.get_mut("ferry.dev", "syncs", NS, "prod").expect("sync")["metadata"]["annotations"] =
            json!({"ferry.dev/reconcile-requested-at": "2026-12-07T03:00:00Z"})
    });
    worker.pass(&w.sync("prod")).await;
    let s = w.status("prod");
    assert_eq!(
        s.last_handled_reconcile_at.as_deref(),
        Some("2026-12-07T03:00:00Z")
    );
    assert_eq!(s.ready(), "True");
    assert_eq!(w.configmap("a").expect("a")["data"]["k"], "1", "corrected");
    assert_eq!(s.history.len(), 2);
}

#[tokio::test]
async fn two_agents_never_lead_one_sync_at_once() {
    let Some(w) = World::start() else { return };
    w.push(
        &[ns("shop"), cm("a", "1")],
        "1111111111111111111111111111111111111111",
    );
    w.fake.put_sync(NS, "prod", w.spec());
    let a = Arc::new(LeaseLeader::new(w.client.clone(), "agent-a"));
    let b = Arc::new(LeaseLeader::new(w.client.clone(), "agent-b"));
    let (shared_a, _ta) = w.shared(a.clone());
    let (shared_b, _tb) = w.shared(b.clone());
    let mut worker_a = Worker::new(shared_a, SyncStatus::default());
    let mut worker_b = Worker::new(shared_b, SyncStatus::default());
    worker_a.pass(&w.sync("prod")).await;
    let applied = w.object_patches().len();
    assert!(applied > 0);
    let lease = w
        .fake
        .with(|s| {
            s.get("coordination.k8s.io", "leases", NS, "ferry-sync-prod")
                .cloned()
        })
        .expect("lease");
    assert_eq!(lease["spec"]["holderIdentity"], "agent-a");
    assert_eq!(
        lease["spec"]["leaseDurationSeconds"],
        60 + 2 * (30 + 5) + 15
    );

    // B finds the lease held: it neither applies nor writes status.
    let mut spec = w.spec();
    spec["timeout"] = json!("31s");
    w.fake.put_sync(NS, "prod", spec);
    w.fake.clear_requests();
    worker_b.pass(&w.sync("prod")).await;
    assert!(
        w.fake.writes().is_empty(),
        "the follower writes nothing: {:?}",
        w.fake.writes()
    );
    assert_eq!(w.status("prod").observed_generation, 1);
    // A renews it and acts on the change.
    worker_a.pass(&w.sync("prod")).await;
    assert_eq!(w.status("prod").observed_generation, 2);

    // Both try at once: exactly one gets it.
    let (ra, rb) = tokio::join!(
        a.acquire(NS, "race", Duration::from_secs(30)),
        b.acquire(NS, "race", Duration::from_secs(30))
    );
    assert_eq!(
        [ra.expect("a"), rb.expect("b")]
            .iter()
            .filter(|x| **x)
            .count(),
        1
    );

    // A gives it up (shutdown): B takes over at once, and reads what A wrote.
    a.release(NS, "prod").await;
    assert!(b
        .acquire(NS, "prod", Duration::from_secs(30))
        .await
        .expect("b"));
    assert!(!a
        .acquire(NS, "prod", Duration::from_secs(30))
        .await
        .expect("a"));

    // An expired lease is taken over.
    assert!(a
        .acquire(NS, "short", Duration::from_secs(1))
        .await
        .expect("a"));
    assert!(!b
        .acquire(NS, "short", Duration::from_secs(1))
        .await
        .expect("b"));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(b
        .acquire(NS, "short", Duration::from_secs(1))
        .await
        .expect("b"));
    let lease = w
        .fake
        .with(|s| {
            s.get("coordination.k8s.io", "leases", NS, "ferry-sync-short")
                .cloned()
        })
        .expect("lease");
    assert_eq!(lease["spec"]["holderIdentity"], "agent-b");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
}

#[tokio::test]
async fn a_shutdown_mid_apply_stops_between_stages_and_never_prunes() {
    let Some(w) = World::start() else { return };
    w.push(
        &[ns("shop"), cm("a", "1"), cm("old", "x")],
        "1111111111111111111111111111111111111111",
    );
    w.fake.put_sync(NS, "prod", w.spec());
    let (shared, tx) = w.shared(Arc::new(Always));
    let mut worker = Worker::new(shared, SyncStatus::default());
    worker.pass(&w.sync("prod")).await;
    assert_eq!(w.status("prod").ready(), "True");

    // v2: a new namespace (first stage) and changed objects (second stage); `old` left out.
    w.push(
        &[ns("shop"), ns("shop2"), cm("a", "2")],
        "2222222222222222222222222222222222222222",
    );
    w.fake
        .with(|s| s.patch_delay = Some(Duration::from_millis(400)));
    w.fake.clear_requests();
    let sync = w.sync("prod");
    let pass = worker.pass(&sync);
    tokio::pin!(pass);
    // Stop while the first stage (namespaces) is in flight: its LIST went out, its PATCH of
    // shop2 is being answered slowly.
    let stop = async {
        loop {
            let listed = w
                .fake
                .requests()
                .iter()
                .any(|r| r.method == "GET" && r.path == "/api/v1/namespaces");
            if listed {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = tx.send(true);
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let (wait, ()) = tokio::join!(&mut pass, stop);
    assert!(wait > Duration::ZERO);
    let deletes: Vec<_> = w
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert!(
        deletes.is_empty(),
        "never prune after a partial apply: {deletes:?}"
    );
    assert!(w.configmap("old").is_some());
    assert!(
        w.fake
            .with(|s| s.get("", "namespaces", "", "shop2").is_some()),
        "the stage in flight finished"
    );
    assert_eq!(
        w.configmap("a").expect("a")["data"]["k"],
        "1",
        "the second stage was not sent"
    );
    let s = w.status("prod");
    let ready = s.condition("Ready").expect("Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "Interrupted"),
        "{s:#?}"
    );
    assert!(
        ready.message.contains("nothing was pruned"),
        "{}",
        ready.message
    );
    assert_eq!(s.history[0].outcome, "Failed");
    // The inventory still lists `old`, so a later agent prunes it.
    let parent = w
        .fake
        .with(|s| s.get("", "secrets", NS, "ferry-prod").cloned())
        .expect("parent");
    let kinds = parent["metadata"]["annotations"].to_string();
    assert!(kinds.contains("ConfigMap"), "{kinds}");
}

#[tokio::test]
async fn the_agent_runs_syncs_independently_marks_invalid_ones_stalled_and_stops_on_shutdown() {
    let Some(w) = World::start() else { return };
    w.push(
        &[ns("shop"), cm("a", "1")],
        "1111111111111111111111111111111111111111",
    );
    w.fake.put_sync(NS, "good", w.spec());
    let mut bad = w.spec();
    bad["url"] = json!(format!("oci://{}/platform/missing:latest", w.registry.addr));
    bad["inventory"] = json!({"name": "ferry-bad"});
    w.fake.put_sync(NS, "bad", bad);
    let mut invalid = w.spec();
    invalid["interval"] = json!("soon");
    w.fake.put_sync(NS, "invalid", invalid);
    let (shared, tx) = w.shared(Arc::new(Always));
    let health = Arc::new(AgentHealth::default());
    let agent = ferry::agent::run(shared.clone(), health);
    let check = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while w.status("good").ready() != "True"
            || w.status("bad").ready() != "False"
            || w.status("invalid").condition("Stalled").is_none()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "good {:#?}\nbad {:#?}\ninvalid {:#?}",
                w.status("good"),
                w.status("bad"),
                w.status("invalid")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let stalled = w
            .status("invalid")
            .condition("Stalled")
            .cloned()
            .expect("stalled");
        assert_eq!(stalled.reason, "InvalidSpec");
        assert!(
            stalled
                .message
                .contains("spec.interval: `soon` is not a duration"),
            "{}",
            stalled.message
        );
        assert_eq!(
            w.status("bad").condition("Ready").expect("ready").reason,
            "ArtifactFailed"
        );
        assert!(w
            .fake
            .event_reasons()
            .contains(&("Warning".to_string(), "InvalidSpec".to_string())));

        // Changes arrive through the watch: a new Sync, a fixed one, a deleted one.
        w.fake.put_sync(NS, "late", {
            let mut late = w.spec();
            late["inventory"] = json!({"name": "ferry-late"});
            late
        });
        let mut fixed = w.spec();
        fixed["inventory"] = json!({"name": "ferry-invalid"});
        w.fake.put_sync(NS, "invalid", fixed);
        let _ = shared
            .client
            .request::<Value>(
                http::Request::delete(format!(
                    "/apis/ferry.dev/v1alpha1/namespaces/{NS}/syncs/bad"
                ))
                .body(Vec::new())
                .expect("request"),
            )
            .await
            .expect("delete the Sync");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while w.status("late").ready() != "True"
            || w.status("invalid").ready() != "True"
            || shared.metrics.text().contains("sync=\"ferry-system/bad\"")
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "late {:#?}\ninvalid {:#?}\nmetrics {}",
                w.status("late"),
                w.status("invalid"),
                shared.metrics.text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let lists = w
            .fake
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.ends_with("/syncs"))
            .count();
        assert_eq!(lists, 1, "one LIST, then only the watch");
        let _ = tx.send(true);
    };
    // The agent returns once told to stop.
    tokio::time::timeout(Duration::from_secs(40), async {
        tokio::join!(agent, check)
    })
    .await
    .expect("the agent stops on shutdown");
}

#[tokio::test]
async fn drift_is_corrected_or_only_reported_with_its_start_kept_and_ignore_rules_hold() {
    let Some(w) = World::start() else { return };
    w.push(
        &[ns("shop"), cm("a", "1"), cm("b", "1"), cm("scaled", "1")],
        "1111111111111111111111111111111111111111",
    );
    let mut spec = w.spec();
    spec["drift"] = json!({"mode": "correct", "ignore": [{"target": {"kind": "ConfigMap", "name": "scaled"}, "paths": ["/data/k"]}]});
    w.fake.put_sync(NS, "prod", spec.clone());
    let (shared, _tx) = w.shared(Arc::new(Always));
    let mut worker = Worker::new(shared.clone(), SyncStatus::default());
    worker.pass(&w.sync("prod")).await;
    assert_eq!(w.status("prod").ready(), "True");
    assert!(
        w.configmap("scaled").expect("scaled")["data"]
            .get("k")
            .is_none(),
        "an ignored field is not applied"
    );

    // Correct mode: an edited field and a deleted object are put back.
    let edit = |name: &str, value: &str| {
        w.fake.with(|st| {
            st.get_mut("", "configmaps", "shop", name).expect("cm")["data"]["k"] = json!(value)
        })
    };
    edit("a", "edited");
    edit("scaled", "5");
    w.fake.with(|st| {
        st.objects
            .retain(|(_, p, _, n), _| !(p == "configmaps" && n == "b"))
    });
    worker.pass(&w.sync("prod")).await;
    assert_eq!(w.configmap("a").expect("a")["data"]["k"], "1");
    assert!(w.configmap("b").is_some(), "re-created");
    assert_eq!(
        w.configmap("scaled").expect("scaled")["data"]["k"],
        "5",
        "ignored: another controller's"
    );
    let s = w.status("prod");
    assert!(s.drift.is_empty(), "{:#?}", s.drift);
    assert_eq!(s.history[0].outcome, "DriftCorrected");
    let reasons: Vec<String> = w.fake.event_reasons().into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        reasons,
        ["Applied", "DriftDetected", "DriftCorrected", "Applied"]
    );
    let detected = &w.fake.events()[1]["message"];
    assert_eq!(
        detected,
        "2 object(s) drifted: ConfigMap/shop/a (/data/k), ConfigMap/shop/b (deleted); correcting"
    );
    let m = parse_metrics(&shared.metrics.text());
    assert_eq!(
        m[r#"ferry_agent_reconciliations_total{sync="ferry-system/prod",result="corrected"}"#],
        1.0
    );

    // Report mode: recorded with its start, never applied, kept across a restart.
    spec["drift"]["mode"] = json!("report");
    w.fake.put_sync(NS, "prod", spec);
    worker.pass(&w.sync("prod")).await; // the new generation applies
    edit("a", "edited");
    w.fake.clear_requests();
    worker.pass(&w.sync("prod")).await;
    assert_eq!(
        w.configmap("a").expect("a")["data"]["k"],
        "edited",
        "report mode never writes"
    );
    assert!(w.object_patches().is_empty());
    let s = w.status("prod");
    assert_eq!(s.drift.len(), 1, "{:#?}", s.drift);
    assert_eq!(s.drift[0].object, "ConfigMap/shop/a");
    assert_eq!(s.drift[0].fields, ["/data/k"]);
    let since = s.drift[0].since.clone();
    assert!(since.ends_with('Z'), "{since}");
    assert_eq!(s.ready(), "True", "drift does not make the sync unready");
    let m = parse_metrics(&shared.metrics.text());
    assert_eq!(
        m[r#"ferry_agent_drifted_objects{sync="ferry-system/prod"}"#],
        1.0
    );

    // A pass later (after a restart: a new worker reading the status) the start is the same,
    // and an unchanged drift writes nothing.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut restarted = Worker::new(shared.clone(), w.status("prod"));
    w.fake.clear_requests();
    restarted.pass(&w.sync("prod")).await;
    assert_eq!(w.status("prod").drift[0].since, since);
    assert!(w.fake.writes().is_empty(), "{:?}", w.fake.writes());

    // The drift ends when the object is put back by hand: cleared, and said so.
    edit("a", "1");
    restarted.pass(&w.sync("prod")).await;
    assert!(w.status("prod").drift.is_empty());
    let reasons: Vec<String> = w.fake.event_reasons().into_iter().map(|(_, r)| r).collect();
    assert_eq!(reasons.last().map(String::as_str), Some("DriftEnded"));
}

/// The agent tells a real HTTP receiver what happened, once per piece of news: the first
/// apply, drift found and corrected, a refused artifact (not again on the retry).
#[tokio::test]
async fn outcomes_drift_and_refusals_are_notified_once_each() {
    let Some(w) = World::start() else { return };
    let rx = notify_fake::Receiver::start(notify_fake::Answer::code(200, "{}"));
    let yaml = format!(
        "providers:\n  - name: hook\n    type: webhook\n    url: {}/h\nalerts:\n  - providers: [hook]\n",
        rx.url
    );
    let cfg = ferry::notify::NotifyConfig::from_yaml("notify.yaml", &yaml)
        .expect("parses")
        .resolve()
        .expect("resolves");
    let notifier =
        ferry::notify::Notifier::start(cfg, false, 64, Arc::new(|_: &str| {})).expect("starts");
    let d1 = w.push(
        &[ns("shop"), cm("a", "1")],
        "1111111111111111111111111111111111111111",
    );
    let mut spec = w.spec();
    spec["drift"] = json!({"mode": "correct"});
    w.fake.put_sync(NS, "prod", spec.clone());
    let (shared, _tx) = w.shared_notifying(Arc::new(Always), notifier.clone());
    let mut worker = Worker::new(shared, SyncStatus::default());
    worker.pass(&w.sync("prod")).await;
    w.fake.with(|st| {
        st.get_mut("", "configmaps", "shop", "a").expect("cm")["data"]["k"] = json!("edited")
    });
    worker.pass(&w.sync("prod")).await;
    assert_eq!(w.configmap("a").expect("a")["data"]["k"], "1");
    // A key that did not sign the artifact: refused, twice, told once.
    let other = new_signing_key();
    w.fake.put_secret(
        NS,
        "other",
        "cosign.pub",
        &public_pem(other.verifying_key()),
    );
    spec["verify"]["secretRef"]["name"] = json!("other");
    w.fake.put_sync(NS, "prod", spec);
    worker.pass(&w.sync("prod")).await;
    worker.pass(&w.sync("prod")).await;
    assert!(notifier.flush(Duration::from_secs(20)), "delivered");

    let got: Vec<Value> = rx.requests().iter().map(|r| r.json()).collect();
    let kinds: Vec<&str> = got.iter().filter_map(|v| v["kind"].as_str()).collect();
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(count("applied"), 1, "{kinds:?}");
    assert_eq!(count("driftBegan"), 1, "{kinds:?}");
    assert_eq!(count("driftCorrected"), 1, "{kinds:?}");
    assert_eq!(count("verificationRefused"), 1, "{kinds:?}");
    let applied = got
        .iter()
        .find(|v| v["kind"] == "applied")
        .expect("applied");
    assert_eq!(applied["environment"], "prod");
    assert_eq!(applied["digest"], d1.as_str());
    assert_eq!(
        applied["revision"],
        "main@sha1:1111111111111111111111111111111111111111"
    );
    assert_eq!(applied["counts"]["created"], 2);
    let drift = got
        .iter()
        .find(|v| v["kind"] == "driftBegan")
        .expect("drift");
    assert!(
        drift["details"].to_string().contains("ConfigMap/shop/a"),
        "{drift}"
    );
    let refused = got
        .iter()
        .find(|v| v["kind"] == "verificationRefused")
        .expect("refused");
    assert_eq!(refused["severity"], "error");
    assert!(
        refused["summary"]
            .to_string()
            .contains("did not verify; nothing was applied")
            && refused["details"].to_string().contains("no signature"),
        "{refused}"
    );
    assert_eq!(notifier.stats().failed, 0);
}

/// A receiver that refuses notifications: the Sync's status says so (how many, the last
/// error, with the webhook's address redacted), until a delivery succeeds again.
#[tokio::test]
async fn undelivered_notifications_show_in_the_sync_status() {
    let Some(w) = World::start() else { return };
    let rx = notify_fake::Receiver::start(notify_fake::Answer::code(400, "bad request"));
    let yaml = format!(
        "providers:\n  - name: hook\n    type: webhook\n    url: {}/h\nalerts:\n  - providers: [hook]\n",
        rx.url
    );
    let cfg = ferry::notify::NotifyConfig::from_yaml("notify.yaml", &yaml)
        .expect("parses")
        .resolve()
        .expect("resolves");
    let notifier =
        ferry::notify::Notifier::start(cfg, false, 64, Arc::new(|_: &str| {})).expect("starts");
    w.push(
        &[ns("shop"), cm("a", "1")],
        "1111111111111111111111111111111111111111",
    );
    w.fake.put_sync(NS, "prod", w.spec());
    let (shared, _tx) = w.shared_notifying(Arc::new(Always), notifier.clone());
    let mut worker = Worker::new(shared, SyncStatus::default());
    worker.pass(&w.sync("prod")).await;
    assert!(notifier.flush(Duration::from_secs(20)));
    // The next pass writes what the notifier knows by then.
    worker.pass(&w.sync("prod")).await;
    let failing = w.status("prod").notifications_failing.expect("failing");
    assert!(failing.failed >= 1, "{failing:?}");
    assert!(failing.last_error.starts_with("hook: "), "{failing:?}");
    assert!(failing.last_error.contains("400"), "{failing:?}");
    // The receiver recovers: the next delivery clears it.
    rx.script([notify_fake::Answer::code(200, "{}")]);
    notifier.send(ferry::notify::Event::new(
        ferry::notify::Kind::Applied,
        "prod",
        "prod applied again",
    ));
    assert!(notifier.flush(Duration::from_secs(20)));
    w.fake.put_sync(NS, "prod", {
        let mut s = w.spec();
        s["timeout"] = json!("31s");
        s
    });
    worker.pass(&w.sync("prod")).await;
    assert_eq!(w.status("prod").notifications_failing, None);
}

#[tokio::test]
async fn the_registry_pool_keeps_one_client_per_registry_follows_the_tag_and_drops_a_failed_one() {
    let Some(w) = World::start() else { return };
    let d1 = w.push(&[cm("a", "1")], "1111111111111111111111111111111111111111");
    let pool = ferry::artifact::RegistryPool::new();
    let tag =
        ArtifactRef::parse(&format!("{}/platform/prod:latest", w.registry.addr)).expect("ref");
    let opts = RegistryOptions::new();
    let resolve = |r: &ArtifactRef| {
        let (pool, r, opts) = (&pool, r.clone(), opts.clone());
        std::thread::scope(|s| {
            s.spawn(move || pool.resolve_digest(&r, &opts))
                .join()
                .expect("thread")
        })
    };
    assert_eq!(resolve(&tag).expect("resolve"), d1);
    assert_eq!(resolve(&tag).expect("resolve"), d1);
    assert_eq!(pool.len(), 1, "one client for the registry, kept");
    let d2 = w.push(&[cm("a", "2")], "2222222222222222222222222222222222222222");
    assert_ne!(d1, d2);
    assert_eq!(
        resolve(&tag).expect("resolve"),
        d2,
        "the kept client sees the tag move"
    );
    assert_eq!(pool.len(), 1);
    // Nothing listens there: the error is the registry's, and no broken client is kept.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let gone = ArtifactRef::parse(&format!("127.0.0.1:{port}/platform/prod:latest")).expect("ref");
    let quick = RegistryOptions {
        attempts: 1,
        ..RegistryOptions::new()
    };
    let err = {
        let (pool, r) = (&pool, gone.clone());
        std::thread::scope(|s| {
            s.spawn(move || pool.resolve_digest(&r, &quick))
                .join()
                .expect("thread")
        })
    }
    .expect_err("nothing listens");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert_eq!(pool.len(), 1, "the failed registry's client is dropped");
    // A client owns a runtime, which may not be dropped on the test's.
    std::thread::spawn(move || drop(pool)).join().expect("drop");
}
