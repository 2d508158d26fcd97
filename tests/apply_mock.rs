//! The apply engine against an in-memory API server behind kube-rs's mock service: the exact
//! requests (stage order, PATCH with apply-patch+yaml, fieldManager, force, dryRun) and the
//! decisions (what is pruned when, what is kept, what is reported).

mod apply_fake;

use apply_fake::{Fake, Recorded};
use ferry::apply::{
    self, applyset_id, ApplyOptions, ApplyReport, Artifact, MaxPrune, ObjectStatus, Outcome,
    PruneStatus,
};
use ferry::manifest::Object;
use serde_json::{json, Value};
use std::time::Duration;

const PARENT_NS: &str = "ferry-system";

fn obj(v: Value) -> Object {
    Object::from_value(v).expect("valid object")
}

fn namespace(name: &str) -> Object {
    obj(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
}

fn configmap(ns: &str, name: &str, value: &str) -> Object {
    obj(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns}, "data": {"k": value}}))
}

fn deployment(ns: &str, name: &str) -> Object {
    obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": "ghcr.io/stefanprodan/podinfo:6.7.0"}]}}}}))
}

fn cluster_role(name: &str) -> Object {
    obj(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
    )
}

fn webhook(name: &str) -> Object {
    obj(
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name}, "webhooks": []}),
    )
}

fn crd() -> Object {
    obj(
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}),
    )
}

fn widget(ns: &str, name: &str) -> Object {
    obj(json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": name, "namespace": ns}, "spec": {"size": 3}}))
}

fn artifact(objects: Vec<Object>) -> Artifact {
    Artifact {
        environment: "prod".into(),
        digest: "sha256:0123".into(),
        revision: Some("main@sha1:abcd".into()),
        objects,
        tenants: Default::default(),
        wait: None,
    }
}

fn opts() -> ApplyOptions {
    ApplyOptions {
        poll_interval: Duration::from_millis(10),
        crd_timeout: Duration::from_secs(2),
        ..ApplyOptions::default()
    }
}

fn expected_id() -> String {
    applyset_id("ferry-prod", PARENT_NS, "Secret", "")
}

async fn run(client: &kube::Client, objects: Vec<Object>, opts: &ApplyOptions) -> ApplyReport {
    apply::apply(client, artifact(objects), opts, &apply::NoProgress)
        .await
        .expect("apply runs")
}

fn patches(fake: &Fake) -> Vec<Recorded> {
    fake.with_method("PATCH")
}

/// The PATCHed objects' names in order, without the parent and its namespace.
fn member_patches(fake: &Fake) -> Vec<String> {
    patches(fake)
        .into_iter()
        .filter(|r| r.name() != "ferry-prod" && r.name() != PARENT_NS)
        .map(|r| r.name().to_string())
        .collect()
}

fn position(names: &[String], name: &str) -> usize {
    names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("{name} was not applied: {names:?}"))
}

fn four_configmaps() -> Vec<Object> {
    vec![
        namespace("shop"),
        configmap("shop", "a", "1"),
        configmap("shop", "b", "1"),
        configmap("shop", "c", "1"),
        configmap("shop", "d", "1"),
    ]
}

fn deletes(fake: &Fake) -> Vec<String> {
    fake.with_method("DELETE")
        .into_iter()
        .map(|r| r.path)
        .collect()
}

#[tokio::test]
async fn first_apply_sends_server_side_apply_in_stage_order() {
    let (fake, client) = Fake::new();
    let report = run(
        &client,
        vec![
            webhook("guard"),
            deployment("shop", "web"),
            configmap("shop", "settings", "x"),
            cluster_role("reader"),
            namespace("shop"),
        ],
        &opts(),
    )
    .await;
    assert!(report.success(), "{report:#?}");
    assert_eq!(report.summary.created, 5);

    let all = patches(&fake);
    // The parent's namespace and the parent come first: the set is recorded before any member.
    assert_eq!(all[0].path, "/api/v1/namespaces/ferry-system");
    assert_eq!(
        all[1].path,
        "/api/v1/namespaces/ferry-system/secrets/ferry-prod"
    );
    let names = member_patches(&fake);
    assert!(position(&names, "shop") < position(&names, "reader"));
    assert!(position(&names, "reader") < position(&names, "web"));
    assert!(position(&names, "reader") < position(&names, "settings"));
    assert!(position(&names, "web") < position(&names, "guard"));
    assert!(position(&names, "settings") < position(&names, "guard"));
    // Then the parent again, with the artifact's digest.
    assert_eq!(all.last().map(|r| r.name()), Some("ferry-prod"));

    for r in &all {
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/apply-patch+yaml"),
            "{}",
            r.path
        );
        assert_eq!(
            r.query.get("fieldManager").map(String::as_str),
            Some("ferry"),
            "{}",
            r.path
        );
        assert_eq!(r.query.get("dryRun"), None, "{}", r.path);
    }
    for r in all.iter().filter(|r| r.name() != "ferry-prod") {
        assert_eq!(
            r.query.get("force"),
            None,
            "no force without --force-conflicts: {}",
            r.path
        );
    }
    let deploy = all
        .iter()
        .find(|r| r.path == "/apis/apps/v1/namespaces/shop/deployments/web")
        .expect("deployment patched at its resource path");
    let body = deploy.body.as_ref().expect("body");
    assert_eq!(
        body["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
        expected_id().as_str()
    );
    assert_eq!(body["spec"]["replicas"], 2);

    let parent = fake.with(|s| {
        s.get("", "secrets", PARENT_NS, "ferry-prod")
            .cloned()
            .expect("parent stored")
    });
    let ann = &parent["metadata"]["annotations"];
    assert_eq!(
        parent["metadata"]["labels"]["applyset.kubernetes.io/id"],
        expected_id().as_str()
    );
    assert_eq!(
        ann["applyset.kubernetes.io/tooling"],
        format!("ferry/{}", env!("CARGO_PKG_VERSION")).as_str()
    );
    assert_eq!(
        ann["applyset.kubernetes.io/contains-group-kinds"],
        "ClusterRole.rbac.authorization.k8s.io,ConfigMap,Deployment.apps,Namespace,ValidatingWebhookConfiguration.admissionregistration.k8s.io"
    );
    assert_eq!(ann["applyset.kubernetes.io/additional-namespaces"], "shop");
    assert_eq!(ann["ferry.dev/artifact-digest"], "sha256:0123");
    assert_eq!(ann["ferry.dev/artifact-revision"], "main@sha1:abcd");
}

#[tokio::test]
async fn reapply_is_unchanged_and_prunes_nothing() {
    let (fake, client) = Fake::new();
    run(&client, four_configmaps(), &opts()).await;
    let again = run(&client, four_configmaps(), &opts()).await;
    assert!(again.success());
    assert_eq!(again.summary.unchanged, 5, "{:#?}", again.summary);
    assert_eq!(again.summary.created + again.summary.configured, 0);
    assert_eq!(again.prune.status, PruneStatus::Done);
    assert!(again.prune.pruned.is_empty());
    assert!(deletes(&fake).is_empty());
}

#[tokio::test]
async fn changed_object_is_configured_and_removed_one_is_pruned() {
    let (fake, client) = Fake::new();
    run(&client, four_configmaps(), &opts()).await;
    let mut next = four_configmaps();
    next.pop(); // d left the artifact
    next[1] = configmap("shop", "a", "2");
    let report = run(&client, next, &opts()).await;
    assert!(report.success(), "{report:#?}");
    assert_eq!(report.summary.configured, 1);
    assert_eq!(report.summary.pruned, 1);
    assert_eq!(report.prune.pruned, vec!["ConfigMap/shop/d"]);
    assert_eq!(deletes(&fake), vec!["/api/v1/namespaces/shop/configmaps/d"]);
    let del = &fake.with_method("DELETE")[0];
    assert_eq!(
        del.body.as_ref().map(|b| b["propagationPolicy"].clone()),
        Some(json!("Background"))
    );
    // Members are found by label, as kubectl does.
    let lists: Vec<_> = fake
        .with_method("GET")
        .into_iter()
        .filter(|r| r.query.contains_key("labelSelector"))
        .collect();
    assert!(!lists.is_empty());
    let selector = format!("applyset.kubernetes.io/part-of={}", expected_id());
    assert!(lists.iter().all(|r| r.query["labelSelector"] == selector));
}

#[tokio::test]
async fn failed_apply_prunes_nothing_and_says_so() {
    let (fake, client) = Fake::new();
    run(&client, four_configmaps(), &opts()).await;
    fake.with(|s| s.reject.insert("b".into()));
    let mut next = four_configmaps();
    next.pop();
    next[2] = configmap("shop", "b", "2");
    let report = run(&client, next, &opts()).await;
    assert!(!report.success());
    assert_eq!(report.summary.failed, 1);
    assert_eq!(report.prune.status, PruneStatus::Skipped);
    assert!(report
        .prune
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("1 object(s) failed"));
    assert!(
        deletes(&fake).is_empty(),
        "nothing deleted after a failed apply"
    );
    let failed = report
        .objects
        .iter()
        .find(|o| o.object == "ConfigMap/shop/b")
        .expect("b reported");
    assert!(
        matches!(&failed.result, ObjectStatus::Failed { error } if error.contains("Invalid (422)"))
    );
    // The parent still lists everything, so a later run can prune d.
    let parent = fake.with(|s| {
        s.get("", "secrets", PARENT_NS, "ferry-prod")
            .cloned()
            .expect("parent")
    });
    assert_eq!(
        parent["metadata"]["annotations"]["ferry.dev/artifact-digest"],
        "sha256:0123"
    );
}

#[tokio::test]
async fn annotated_and_protected_members_are_kept() {
    let (fake, client) = Fake::new();
    let mut first = four_configmaps();
    first.push(namespace("old"));
    first.push(obj(
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "shop"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    ));
    run(&client, first, &opts()).await;
    fake.with(|s| {
        let d = s.get_mut("", "configmaps", "shop", "d").expect("d");
        d["metadata"]["annotations"] = json!({"ferry.dev/prune": "disabled"});
        let c = s.get_mut("", "configmaps", "shop", "c").expect("c");
        c["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"});
    });
    let report = run(
        &client,
        vec![
            namespace("shop"),
            configmap("shop", "a", "1"),
            configmap("shop", "b", "1"),
        ],
        &opts(),
    )
    .await;
    assert!(report.success(), "{report:#?}");
    assert!(deletes(&fake).is_empty(), "{:?}", deletes(&fake));
    let mut kept: Vec<_> = report
        .prune
        .kept
        .iter()
        .map(|k| (k.object.as_str(), k.reason.as_str()))
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 4, "{kept:?}");
    assert_eq!(
        kept[0],
        (
            "ConfigMap/shop/c",
            "annotated kustomize.toolkit.fluxcd.io/prune: disabled"
        )
    );
    assert_eq!(
        kept[1],
        ("ConfigMap/shop/d", "annotated ferry.dev/prune: disabled")
    );
    assert!(kept[2].0 == "Namespace/old" && kept[2].1.starts_with("protected kind"));
    assert!(kept[3].0 == "PersistentVolumeClaim/shop/data");
    // Kept members stay in the inventory.
    let parent = fake.with(|s| {
        s.get("", "secrets", PARENT_NS, "ferry-prod")
            .cloned()
            .expect("parent")
    });
    let gks = parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
        .as_str()
        .unwrap_or_default();
    assert!(gks.contains("PersistentVolumeClaim"), "{gks}");
}

#[tokio::test]
async fn budget_refuses_a_mass_prune_unless_forced() {
    let (fake, client) = Fake::new();
    run(&client, four_configmaps(), &opts()).await;
    // An artifact that lost most of its objects (say, built for the wrong environment).
    let small = vec![namespace("shop"), configmap("shop", "a", "1")];
    let refused = run(&client, small.clone(), &opts()).await;
    assert!(!refused.success(), "a refused prune is a partial failure");
    assert_eq!(refused.prune.status, PruneStatus::Refused);
    assert!(
        refused
            .prune
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("3 of 5"),
        "{:?}",
        refused.prune.reason
    );
    assert!(deletes(&fake).is_empty());

    let budget = ApplyOptions {
        prune: apply::PrunePolicy {
            max: Some(MaxPrune::Count(3)),
            ..opts().prune
        },
        ..opts()
    };
    let allowed = run(&client, small, &budget).await;
    assert!(allowed.success(), "{allowed:#?}");
    assert_eq!(allowed.summary.pruned, 3);
    assert_eq!(deletes(&fake).len(), 3);
}

#[tokio::test]
async fn an_artifact_that_would_prune_everything_is_refused() {
    let (fake, client) = Fake::new();
    let first = vec![
        configmap("default", "a", "1"),
        configmap("default", "b", "1"),
    ];
    fake.with(|s| {
        s.put(
            "",
            "namespaces",
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
        )
    });
    run(&client, first, &opts()).await;
    let report = run(&client, vec![], &opts()).await;
    assert_eq!(report.prune.status, PruneStatus::Refused);
    assert!(
        report
            .prune
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("every member"),
        "{:?}",
        report.prune.reason
    );
    assert!(deletes(&fake).is_empty());
    let forced = ApplyOptions {
        prune: apply::PrunePolicy {
            force: true,
            ..opts().prune
        },
        ..opts()
    };
    let report = run(&client, vec![], &forced).await;
    assert_eq!(report.summary.pruned, 2);
}

#[tokio::test]
async fn dry_run_changes_nothing_and_lists_the_prune() {
    let (fake, client) = Fake::new();
    run(&client, four_configmaps(), &opts()).await;
    let before = fake.with(|s| s.objects.clone());
    fake.clear_requests();
    let dry = ApplyOptions {
        ssa: apply::SsaOptions {
            dry_run: true,
            ..Default::default()
        },
        ..opts()
    };
    let mut next = four_configmaps();
    next.pop();
    next.push(namespace("fresh"));
    next.push(configmap("fresh", "new", "1"));
    let report = run(&client, next, &dry).await;
    assert!(report.dry_run);
    assert_eq!(report.prune.status, PruneStatus::DryRun);
    assert_eq!(report.prune.pruned, vec!["ConfigMap/shop/d"]);
    assert_eq!(report.summary.pruned, 0, "a dry run prunes nothing");
    for p in patches(&fake) {
        assert_eq!(
            p.query.get("dryRun").map(String::as_str),
            Some("All"),
            "{}",
            p.path
        );
    }
    assert!(deletes(&fake).is_empty());
    assert_eq!(fake.with(|s| s.objects.clone()), before, "nothing stored");
    // The new namespace's contents cannot be dry-run before it exists: skipped, not failed.
    let new = report
        .objects
        .iter()
        .find(|o| o.object == "ConfigMap/fresh/new")
        .expect("reported");
    assert!(
        matches!(&new.result, ObjectStatus::Skipped { reason } if reason.contains("namespace fresh"))
    );
    assert!(report.success());
}

#[tokio::test]
async fn conflicts_are_reported_with_their_managers_and_forced_only_on_request() {
    let (fake, client) = Fake::new();
    fake.with(|s| {
        s.conflicts.insert(
            "web".into(),
            ("kubectl-edit".into(), ".spec.replicas".into()),
        )
    });
    let objects = vec![namespace("shop"), deployment("shop", "web")];
    let report = run(&client, objects.clone(), &opts()).await;
    assert!(!report.success());
    let web = report
        .objects
        .iter()
        .find(|o| o.object == "Deployment.apps/shop/web")
        .expect("web");
    let ObjectStatus::Failed { error } = &web.result else {
        panic!("not failed: {web:?}");
    };
    assert!(
        error.contains(".spec.replicas is owned by \"kubectl-edit\""),
        "{error}"
    );
    assert!(error.contains("--force-conflicts"), "{error}");

    fake.clear_requests();
    let force = ApplyOptions {
        ssa: apply::SsaOptions {
            force_conflicts: true,
            ..Default::default()
        },
        ..opts()
    };
    let report = run(&client, objects, &force).await;
    assert!(report.success(), "{report:#?}");
    let web = patches(&fake)
        .into_iter()
        .find(|r| r.name() == "web")
        .expect("web patched");
    assert_eq!(web.query.get("force").map(String::as_str), Some("true"));
}

#[tokio::test]
async fn field_manager_is_configurable() {
    let (fake, client) = Fake::new();
    let o = ApplyOptions {
        ssa: apply::SsaOptions {
            field_manager: "ferry-prod".into(),
            ..Default::default()
        },
        ..opts()
    };
    run(&client, vec![namespace("shop")], &o).await;
    assert!(patches(&fake)
        .iter()
        .all(|p| p.query["fieldManager"] == "ferry-prod"));
}

#[tokio::test]
async fn a_crd_and_its_custom_resource_apply_in_one_run() {
    let (fake, client) = Fake::new();
    let report = run(
        &client,
        vec![widget("shop", "w1"), namespace("shop"), crd()],
        &opts(),
    )
    .await;
    assert!(report.success(), "{report:#?}");
    let names = member_patches(&fake);
    assert!(position(&names, "widgets.example.com") < position(&names, "w1"));
    let w = patches(&fake)
        .into_iter()
        .find(|r| r.name() == "w1")
        .expect("w1");
    assert_eq!(w.path, "/apis/example.com/v1/namespaces/shop/widgets/w1");
    // Discovery was asked again once the CRD was established.
    let discovery: Vec<_> = fake
        .with_method("GET")
        .into_iter()
        .filter(|r| r.path == "/apis/example.com/v1")
        .collect();
    assert_eq!(discovery.len(), 2, "once before (404), once after the CRD");
}

#[tokio::test]
async fn a_crd_that_never_establishes_fails_its_resources() {
    let (fake, client) = Fake::new();
    fake.with(|s| s.crds_never_establish = true);
    let o = ApplyOptions {
        crd_timeout: Duration::from_millis(50),
        ..opts()
    };
    let report = run(
        &client,
        vec![crd(), namespace("shop"), widget("shop", "w1")],
        &o,
    )
    .await;
    assert!(!report.success());
    let c = report
        .objects
        .iter()
        .find(|x| x.object.starts_with("CustomResourceDefinition"))
        .expect("crd");
    assert!(
        matches!(&c.result, ObjectStatus::Failed { error } if error.contains("not Established")),
        "{c:?}"
    );
    assert_eq!(report.prune.status, PruneStatus::Skipped);
}

#[tokio::test]
async fn unknown_kind_is_an_error_naming_the_object_and_nothing_is_sent() {
    let (fake, client) = Fake::new();
    let err = apply::apply(
        &client,
        artifact(vec![namespace("shop"), obj(json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "web", "namespace": "shop"}}))]),
        &opts(),
        &apply::NoProgress,
    )
    .await
    .expect_err("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("Certificate.cert-manager.io/shop/web"),
        "{msg}"
    );
    assert!(msg.contains("apiVersion cert-manager.io/v1"), "{msg}");
    assert!(patches(&fake).is_empty());
}

#[tokio::test]
async fn a_parent_owned_by_another_tool_is_refused() {
    let (fake, client) = Fake::new();
    fake.with(|s| {
        s.put(
            "",
            "namespaces",
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PARENT_NS}}),
        );
        s.put(
            "",
            "secrets",
            PARENT_NS,
            json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "ferry-prod", "namespace": PARENT_NS,
                "labels": {"applyset.kubernetes.io/id": expected_id()},
                "annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.31.0",
                                "applyset.kubernetes.io/contains-group-kinds": "ConfigMap"}}}),
        );
    });
    let err = apply::apply(
        &client,
        artifact(four_configmaps()),
        &opts(),
        &apply::NoProgress,
    )
    .await
    .expect_err("must fail");
    assert!(
        err.to_string().contains("managed by \"kubectl/v1.31.0\""),
        "{err}"
    );
    assert!(patches(&fake).is_empty());
}

#[tokio::test]
async fn a_member_kind_that_cannot_be_listed_is_not_pruned() {
    let (fake, client) = Fake::new();
    run(&client, four_configmaps(), &opts()).await;
    fake.with(|s| s.failing_lists.insert("configmaps".into()));
    let mut next = four_configmaps();
    next.pop();
    let report = run(&client, next, &opts()).await;
    assert!(deletes(&fake).is_empty());
    assert!(!report.prune.failed.is_empty());
    assert!(!report.success());
}

#[tokio::test]
async fn interrupted_apply_is_recorded_so_a_rerun_prunes_correctly() {
    let (fake, client) = Fake::new();
    run(&client, four_configmaps(), &opts()).await;
    // A run that adds e but dies after the superset parent write and e's apply: simulated by
    // a failing object, which stops before prune and the final parent write.
    fake.with(|s| s.reject.insert("c".into()));
    let mut next = four_configmaps();
    next[3] = configmap("shop", "c", "2");
    next.push(obj(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "e", "namespace": "shop"}, "data": {}})));
    let broken = run(&client, next, &opts()).await;
    assert!(!broken.success());
    let parent = fake.with(|s| {
        s.get("", "secrets", PARENT_NS, "ferry-prod")
            .cloned()
            .expect("parent")
    });
    assert!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
            .as_str()
            .unwrap_or_default()
            .contains("Secret"),
        "the superset lists the new kind before its members are written"
    );
    // The next artifact no longer has e: the re-run finds and prunes it, and nothing else.
    fake.with(|s| s.reject.clear());
    let report = run(&client, four_configmaps(), &opts()).await;
    assert!(report.success(), "{report:#?}");
    assert_eq!(report.prune.pruned, vec!["Secret/shop/e"]);
    let parent = fake.with(|s| {
        s.get("", "secrets", PARENT_NS, "ferry-prod")
            .cloned()
            .expect("parent")
    });
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap,Namespace"
    );
}

#[tokio::test]
async fn wait_names_each_object_that_is_not_ready_and_why() {
    let (fake, client) = Fake::new();
    let o = ApplyOptions {
        wait: Some(Duration::from_millis(60)),
        ..opts()
    };
    let report = run(
        &client,
        vec![
            namespace("shop"),
            deployment("shop", "web"),
            configmap("shop", "c", "1"),
        ],
        &o,
    )
    .await;
    assert!(!report.success());
    assert_eq!(report.summary.unhealthy, 2, "{:#?}", report.health);
    let health = report.health.as_ref().expect("health");
    let web = health
        .iter()
        .find(|h| h.object == "Deployment.apps/shop/web")
        .expect("web");
    assert!(
        web.health.reason().contains("not reported status"),
        "{web:?}"
    );
    // The namespace has no status.phase in the fake: the reason says so.
    let ns = health
        .iter()
        .find(|h| h.object == "Namespace/shop")
        .expect("ns");
    assert!(ns.health.reason().contains("status.phase"), "{ns:?}");

    // A controller catches up: the status subresource says the rollout is done.
    fake.with(|s| {
        let d = s.get_mut("apps", "deployments", "shop", "web").expect("web");
        d["status"] = json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2});
        let n = s.get_mut("", "namespaces", "", "shop").expect("shop");
        n["status"] = json!({"phase": "Active"});
    });
    let report = run(
        &client,
        vec![
            namespace("shop"),
            deployment("shop", "web"),
            configmap("shop", "c", "1"),
        ],
        &o,
    )
    .await;
    assert!(report.success(), "{:#?}", report.health);
    assert!(report.objects.iter().all(|o| o.result
        == ObjectStatus::Applied {
            outcome: Outcome::Unchanged
        }));
}

#[tokio::test]
async fn an_unchanged_reapply_lists_once_per_kind_and_patches_no_member() {
    let (fake, client) = Fake::new();
    run(&client, four_configmaps(), &opts()).await;
    fake.clear_requests();
    let report = run(&client, four_configmaps(), &opts()).await;
    assert_eq!(report.summary.unchanged, 5);
    assert!(
        member_patches(&fake).is_empty(),
        "{:?}",
        member_patches(&fake)
    );
    let gets = fake.with_method("GET");
    let lists = |path: &str| {
        gets.iter()
            .filter(|r| r.path == path && !r.query.contains_key("labelSelector"))
            .count()
    };
    assert_eq!(lists("/api/v1/namespaces/shop/configmaps"), 1);
    assert_eq!(lists("/api/v1/namespaces"), 1);
    assert!(
        !gets
            .iter()
            .any(|r| r.path.starts_with("/api/v1/namespaces/shop/configmaps/")),
        "no GET per object"
    );
}

#[tokio::test]
async fn drift_in_a_field_ferry_owns_is_reapplied() {
    let (fake, client) = Fake::new();
    run(&client, four_configmaps(), &opts()).await;
    fake.with(|s| {
        let a = s.get_mut("", "configmaps", "shop", "a").expect("a");
        a["data"]["k"] = json!("edited by hand");
    });
    fake.clear_requests();
    let report = run(&client, four_configmaps(), &opts()).await;
    assert!(report.success());
    assert_eq!(report.summary.configured, 1, "{:#?}", report.summary);
    assert_eq!(member_patches(&fake), vec!["a"]);
    let a = fake.with(|s| s.get("", "configmaps", "shop", "a").cloned().expect("a"));
    assert_eq!(a["data"]["k"], "1");
}

#[tokio::test]
async fn a_field_removed_from_the_artifact_is_applied_even_though_every_value_still_matches() {
    let (fake, client) = Fake::new();
    let with_extra = obj(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "shop"}, "data": {"k": "1", "extra": "x"}}));
    run(&client, vec![namespace("shop"), with_extra], &opts()).await;
    fake.clear_requests();
    let report = run(
        &client,
        vec![namespace("shop"), configmap("shop", "a", "1")],
        &opts(),
    )
    .await;
    assert_eq!(member_patches(&fake), vec!["a"]);
    assert_eq!(report.summary.configured, 1);
    let a = fake.with(|s| s.get("", "configmaps", "shop", "a").cloned().expect("a"));
    assert!(a["data"].get("extra").is_none(), "{a}");
}

#[tokio::test]
async fn an_object_that_moved_to_another_set_is_adopted_not_deleted() {
    let (fake, client) = Fake::new();
    let set = |name: &str| ApplyOptions {
        inventory_name: Some(name.into()),
        ..opts()
    };
    let mut a = four_configmaps();
    a.push(configmap("shop", "shared", "1"));
    run(&client, a, &set("app-a")).await;
    // The object moves to app-b: app-b adopts it (its label now names app-b's set)...
    let b = run(
        &client,
        vec![configmap("shop", "shared", "1")],
        &set("app-b"),
    )
    .await;
    assert!(b.success(), "{b:#?}");
    assert_eq!(b.summary.configured, 1, "adopted in place, not re-created");
    let b_id = applyset_id("app-b", PARENT_NS, "Secret", "");
    let shared = fake.with(|s| {
        s.get("", "configmaps", "shop", "shared")
            .cloned()
            .expect("shared")
    });
    assert_eq!(
        shared["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
        b_id.as_str()
    );
    // ...and app-a, which no longer has it, does not delete it.
    let a = run(&client, four_configmaps(), &set("app-a")).await;
    assert!(a.success(), "{a:#?}");
    assert!(a.prune.pruned.is_empty());
    assert!(deletes(&fake).is_empty());
    assert!(fake.with(|s| s.get("", "configmaps", "shop", "shared").is_some()));
}

#[tokio::test]
async fn with_pruning_off_nothing_is_deleted_and_the_set_keeps_its_members() {
    let (fake, client) = Fake::new();
    run(&client, four_configmaps(), &opts()).await;
    let off = ApplyOptions {
        prune: apply::PrunePolicy {
            enabled: false,
            ..opts().prune
        },
        ..opts()
    };
    let report = run(&client, vec![namespace("shop")], &off).await;
    assert!(report.success());
    assert_eq!(report.prune.status, PruneStatus::Disabled);
    assert!(deletes(&fake).is_empty());
    let parent = fake.with(|s| {
        s.get("", "secrets", PARENT_NS, "ferry-prod")
            .cloned()
            .expect("parent")
    });
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap,Namespace"
    );
    // Turned back on, the next run prunes what left meanwhile (under an explicit budget).
    let on = ApplyOptions {
        prune: apply::PrunePolicy {
            force: true,
            ..opts().prune
        },
        ..opts()
    };
    let report = run(&client, vec![namespace("shop")], &on).await;
    assert_eq!(report.summary.pruned, 4);
}

#[tokio::test]
async fn objects_in_a_stage_apply_in_parallel_within_the_concurrency_bound() {
    let (fake, client) = Fake::new();
    fake.with(|s| s.patch_delay = Some(Duration::from_millis(100)));
    let mut objects = vec![namespace("shop")];
    objects.extend((0..24).map(|i| configmap("shop", &format!("c{i}"), "1")));
    let o = ApplyOptions {
        concurrency: 3,
        ..opts()
    };
    let report = run(&client, objects, &o).await;
    assert!(report.success());
    let max = fake.with(|s| s.max_patches_in_flight);
    assert_eq!(max, 3, "parallel, and never more than --concurrency");
}

#[tokio::test]
async fn a_configmap_parent_works_the_same() {
    let (fake, client) = Fake::new();
    let o = ApplyOptions {
        parent_kind: apply::ParentKind::ConfigMap,
        inventory_namespace: "ops".into(),
        ..opts()
    };
    let report = run(&client, four_configmaps(), &o).await;
    assert!(report.success(), "{report:#?}");
    assert_eq!(report.parent, "ConfigMap/ops/ferry-prod");
    let id = applyset_id("ferry-prod", "ops", "ConfigMap", "");
    assert_eq!(report.applyset, id);
    let parent = fake.with(|s| {
        s.get("", "configmaps", "ops", "ferry-prod")
            .cloned()
            .expect("parent")
    });
    assert_eq!(
        parent["metadata"]["labels"]["applyset.kubernetes.io/id"],
        id.as_str()
    );
    assert!(fake.with(|s| s.get("", "secrets", "ops", "ferry-prod").is_none()));
    let a = fake.with(|s| s.get("", "configmaps", "shop", "a").cloned().expect("a"));
    assert_eq!(
        a["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
        id.as_str()
    );
}
