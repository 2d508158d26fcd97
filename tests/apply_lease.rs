//! The inventory's lock (`ferry::apply::lease`) at request level, against the in-memory API
//! server: two applies into one inventory run one after the other, a live holder is waited for
//! (and refused after the timeout), a crashed holder's lock is taken over only once it expired,
//! the lock is renewed while held and released at the end, and a lost lock stops the work.

mod apply_fake;

use apply_fake::{Fake, Recorded};
use ferry::apply::lease::{hold_while, LeaseConfig, LeaseError, LeaseLock};
use ferry::apply::{self, ApplyError, ApplyOptions, Artifact, LockOptions, PrunePolicy};
use ferry::manifest::Object;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const NS: &str = "ferry-system";
const LEASE_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/ferry-system/leases/ferry-prod";

fn configmap(name: &str) -> Object {
    Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"}, "data": {"k": name}}))
    .expect("object")
}

fn artifact(digest: &str, names: &[&str]) -> Artifact {
    let mut objects = vec![Object::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
    )
    .expect("object")];
    objects.extend(names.iter().map(|n| configmap(n)));
    Artifact {
        environment: "prod".into(),
        digest: digest.into(),
        revision: None,
        objects,
        tenants: Default::default(),
        wait: None,
    }
}

/// Short lock timings, so the tests take seconds; pruning forced, as in the reported case.
fn opts(timeout: Duration) -> ApplyOptions {
    ApplyOptions {
        poll_interval: Duration::from_millis(10),
        prune: PrunePolicy {
            enabled: true,
            force: true,
            ..PrunePolicy::default()
        },
        lock: LockOptions {
            enabled: true,
            timeout: Some(timeout),
            duration: Duration::from_secs(1),
            retry: Duration::from_millis(50),
        },
        ..ApplyOptions::default()
    }
}

fn lease(fake: &Fake) -> Option<Value> {
    fake.with(|s| {
        s.get("coordination.k8s.io", "leases", NS, "ferry-prod")
            .cloned()
    })
}

fn live_configmaps(fake: &Fake) -> Vec<String> {
    fake.with(|s| {
        s.objects
            .iter()
            .filter(|((g, p, ns, _), _)| g.is_empty() && p == "configmaps" && ns == "shop")
            .map(|((_, _, _, n), _)| n.clone())
            .collect()
    })
}

fn lease_writes(fake: &Fake) -> Vec<Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| {
            (r.method == "PUT" && r.path == LEASE_PATH)
                || (r.method == "POST" && r.path.ends_with("/leases"))
        })
        .collect()
}

/// Puts a Lease in place as another process holding it would have written it.
fn held_by(fake: &Fake, holder: &str, seconds: i64) {
    fake.with(|s| {
        s.put(
            "coordination.k8s.io",
            "leases",
            NS,
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "ferry-prod", "namespace": NS, "resourceVersion": "900"},
                "spec": {"holderIdentity": holder, "leaseDurationSeconds": seconds,
                         "renewTime": "2026-11-23T08:00:00.000000Z", "leaseTransitions": 0}}),
        );
    });
}

/// The reported case: two applies of different artifacts into one inventory, started together.
/// Without a lock each pruned what the other created and the cluster matched neither.
#[tokio::test]
async fn two_concurrent_applies_into_one_inventory_run_one_after_the_other() {
    let (fake, client) = Fake::new();
    // Slow PATCHes, so the two would overlap.
    fake.with(|s| s.patch_delay = Some(Duration::from_millis(40)));
    let o = opts(Duration::from_secs(30));
    let (a, b) = tokio::join!(
        apply::apply(
            &client,
            artifact("sha256:aa", &["a1", "a2", "a3"]),
            &o,
            &apply::NoProgress
        ),
        apply::apply(
            &client,
            artifact("sha256:bb", &["b1", "b2"]),
            &o,
            &apply::NoProgress
        ),
    );
    let (a, b) = (a.expect("first apply"), b.expect("second apply"));
    assert!(a.success() && b.success());
    // Whichever ran second saw the other's objects in the inventory and pruned them; the
    // cluster and the inventory hold exactly its own.
    let parent = fake.with(|s| {
        s.get("", "secrets", NS, "ferry-prod")
            .cloned()
            .expect("parent")
    });
    let recorded = parent["metadata"]["annotations"][ferry::apply::inventory::DIGEST_ANNOTATION]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let last = if recorded == "sha256:bb" {
        ["b1", "b2"].as_slice()
    } else {
        ["a1", "a2", "a3"].as_slice()
    };
    assert!(
        recorded == "sha256:aa" || recorded == "sha256:bb",
        "{parent:#}"
    );
    assert_eq!(
        live_configmaps(&fake),
        last,
        "the cluster matches the last apply"
    );
    // Never at once: every member PATCH of the second came after the first released.
    let requests = fake.requests();
    let release = requests
        .iter()
        .position(|r| {
            r.method == "PUT"
                && r.path == LEASE_PATH
                && r.body
                    .as_ref()
                    .is_some_and(|b| b["spec"]["holderIdentity"].is_null())
        })
        .expect("the first apply released the lock");
    let second = if last[0] == "b1" { "b" } else { "a" };
    let first_patch_of_second = requests
        .iter()
        .position(|r| {
            r.method == "PATCH" && r.name().starts_with(second) && r.path.contains("/configmaps/")
        })
        .expect("the second apply patched");
    assert!(
        first_patch_of_second > release,
        "the two applies overlapped"
    );
    // Both released: the lock is free.
    assert!(lease(&fake).expect("lease")["spec"]["holderIdentity"].is_null());
}

#[tokio::test]
async fn a_lock_held_by_a_live_apply_is_waited_for_then_refused_after_the_timeout() {
    let (fake, client) = Fake::new();
    held_by(&fake, "ferry@ci-runner pid 7 0badc0de", 1);
    // The other holder keeps renewing (its record changes), so it never expires.
    let renewing = {
        let state = fake.state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let mut st = state.lock().expect("state");
                if let Some(l) = st.get_mut("coordination.k8s.io", "leases", NS, "ferry-prod") {
                    let rv: u64 = l["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or("0")
                        .parse()
                        .unwrap_or(0);
                    l["metadata"]["resourceVersion"] = json!((rv + 1).to_string());
                }
            }
        })
    };
    let started = Instant::now();
    let err = apply::apply(
        &client,
        artifact("sha256:aa", &["a1"]),
        &opts(Duration::from_millis(1500)),
        &apply::NoProgress,
    )
    .await
    .expect_err("refused");
    renewing.abort();
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "it waited first"
    );
    let msg = err.to_string();
    assert!(
        matches!(err, ApplyError::Lock(LeaseError::Timeout { .. })),
        "{msg}"
    );
    assert!(
        msg.contains("ferry@ci-runner pid 7 0badc0de") && msg.contains("--lock-timeout"),
        "{msg}"
    );
    assert!(live_configmaps(&fake).is_empty(), "nothing applied");
    assert_eq!(
        lease(&fake).expect("lease")["spec"]["holderIdentity"],
        "ferry@ci-runner pid 7 0badc0de",
        "the holder keeps its lock"
    );
}

#[tokio::test]
async fn a_lock_left_by_a_crashed_apply_is_taken_over_only_after_it_expired() {
    let (fake, client) = Fake::new();
    // Written long ago by a process that died: never renewed again.
    held_by(&fake, "ferry@gone pid 1 00000000", 1);
    let started = Instant::now();
    let report = apply::apply(
        &client,
        artifact("sha256:aa", &["a1"]),
        &opts(Duration::from_secs(30)),
        &apply::NoProgress,
    )
    .await
    .expect("applied once the lock expired");
    assert!(report.success());
    // Its record had to stay unchanged for a whole leaseDurationSeconds while we watched.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let taken = lease_writes(&fake)
        .into_iter()
        .find(|r| {
            r.body
                .as_ref()
                .is_some_and(|b| b["spec"]["holderIdentity"].is_string())
        })
        .expect("taken over");
    let spec = &taken.body.expect("body")["spec"];
    assert_eq!(spec["leaseTransitions"], 1, "{spec}");
    assert_ne!(spec["holderIdentity"], "ferry@gone pid 1 00000000");
    assert!(
        lease(&fake).expect("lease")["spec"]["holderIdentity"].is_null(),
        "released"
    );
}

#[tokio::test]
async fn the_lock_is_renewed_during_a_long_apply_and_released_at_the_end() {
    let (fake, client) = Fake::new();
    // ~2.5 s of PATCHes one at a time against a 1 s lease: it lapses unless renewed.
    fake.with(|s| s.patch_delay = Some(Duration::from_millis(250)));
    let names: Vec<String> = (0..8).map(|i| format!("c{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let o = ApplyOptions {
        concurrency: 1,
        ..opts(Duration::from_secs(5))
    };
    let report = apply::apply(
        &client,
        artifact("sha256:aa", &refs),
        &o,
        &apply::NoProgress,
    )
    .await
    .expect("applied");
    assert!(report.success());
    let writes = lease_writes(&fake);
    assert_eq!(writes[0].method, "POST", "created on first use");
    let holder = writes[0].body.as_ref().expect("body")["spec"]["holderIdentity"].clone();
    let renewals = writes[1..]
        .iter()
        .filter(|r| {
            r.body
                .as_ref()
                .is_some_and(|b| b["spec"]["holderIdentity"] == holder)
        })
        .count();
    assert!(
        renewals >= 3,
        "renewed every third of its duration: {renewals} renewals"
    );
    let last = writes.last().expect("release").body.clone().expect("body");
    assert!(last["spec"]["holderIdentity"].is_null(), "released: {last}");
}

#[tokio::test]
async fn a_dry_run_takes_no_lock() {
    let (fake, client) = Fake::new();
    let o = ApplyOptions {
        ssa: apply::SsaOptions {
            dry_run: true,
            ..apply::SsaOptions::default()
        },
        ..opts(Duration::from_secs(1))
    };
    apply::apply(
        &client,
        artifact("sha256:aa", &["a1"]),
        &o,
        &apply::NoProgress,
    )
    .await
    .expect("dry run");
    assert!(fake.requests().iter().all(|r| !r.path.contains("/leases")));
}

/// The reusable API, as an agent electing a leader per sync would use it: a lock taken from
/// under its holder stops the holder's work instead of letting two act at once.
#[tokio::test]
async fn a_lost_lock_stops_the_work_it_guarded() {
    let (fake, client) = Fake::new();
    let cfg = LeaseConfig {
        duration: Duration::from_secs(1),
        retry: Duration::from_millis(50),
        ..LeaseConfig::new(NS, "sync-podinfo")
    };
    let mut lock = LeaseLock::new(client.clone(), cfg);
    let held = lock
        .acquire(Some(Duration::from_secs(1)), |_| {})
        .await
        .expect("free");
    // A second candidate sees it held.
    let mut other = LeaseLock::new(client.clone(), LeaseConfig::new(NS, "sync-podinfo"));
    assert!(matches!(
        other.try_acquire().await.expect("asks"),
        ferry::apply::lease::Attempt::Busy(_)
    ));
    // Someone overwrites it (as a takeover after a network partition would).
    fake.with(|s| {
        let l = s
            .get_mut("coordination.k8s.io", "leases", NS, "sync-podinfo")
            .expect("lease");
        l["spec"]["holderIdentity"] = json!("usurper");
        l["metadata"]["resourceVersion"] = json!("999999");
    });
    let started = Instant::now();
    let err = hold_while(held, tokio::time::sleep(Duration::from_secs(30)))
        .await
        .expect_err("lost");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped at the next renewal"
    );
    assert!(err.to_string().contains("now held by usurper"), "{err}");
}
