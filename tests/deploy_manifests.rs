//! Every manifest in `deploy/` parses with ferry's own YAML codec and holds what running ferry
//! in a cluster needs: the kinds, the ServiceAccount wiring, the verbs ferry uses, the keys.

use ferry::manifest::{parse_documents, Object};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn load() -> BTreeMap<String, Vec<Object>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("deploy/ exists") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let docs = parse_documents(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!docs.is_empty(), "{} is empty", path.display());
        let objects = docs
            .into_iter()
            .map(|d| Object::from_value(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .collect();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        out.insert(name, objects);
    }
    out
}

fn find<'a>(all: &'a BTreeMap<String, Vec<Object>>, kind: &str, name: &str) -> &'a Object {
    all.values()
        .flatten()
        .find(|o| o.kind() == kind && o.name() == name)
        .unwrap_or_else(|| panic!("deploy/ has no {kind}/{name}"))
}

fn pod_spec(o: &Object) -> &Value {
    match o.kind() {
        "CronJob" => &o.value()["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &o.value()["spec"]["template"]["spec"],
    }
}

#[test]
fn every_manifest_parses_and_namespaced_ones_live_in_ferry_system() {
    let all = load();
    for f in [
        "namespace.yaml",
        "serviceaccount.yaml",
        "rbac.yaml",
        "rbac-cluster-admin.yaml",
        "secret.yaml",
        "cronjob.yaml",
        "deployment.yaml",
        "agent.yaml",
        "sync-crd.yaml",
        "sync.yaml",
    ] {
        assert!(all.contains_key(f), "deploy/{f} missing");
    }
    for o in all.values().flatten() {
        let cluster = matches!(
            o.kind(),
            "Namespace" | "ClusterRole" | "ClusterRoleBinding" | "CustomResourceDefinition"
        );
        if cluster {
            assert_eq!(o.namespace(), None, "{}", o.obj_ref());
        } else {
            assert_eq!(o.namespace(), Some("ferry-system"), "{}", o.obj_ref());
        }
        assert_eq!(
            o.value()["metadata"]["labels"]["app.kubernetes.io/name"],
            "ferry",
            "{}",
            o.obj_ref()
        );
    }
    assert!(Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/Dockerfile")
        .exists());
}

#[test]
fn workloads_run_ferry_apply_as_the_service_account_with_the_keys_mounted() {
    let all = load();
    for (kind, name) in [("CronJob", "ferry-apply"), ("Deployment", "ferry")] {
        let o = find(&all, kind, name);
        let spec = pod_spec(o);
        assert_eq!(spec["serviceAccountName"], "ferry", "{kind}");
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true, "{kind}");
        let c = &spec["containers"][0];
        let args: Vec<&str> = c["args"]
            .as_array()
            .expect("args")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(args[0], "apply", "{kind}");
        assert!(args[1].starts_with("oci://"), "{kind}: {args:?}");
        assert!(
            args.contains(&"--identity=/keys/age.agekey"),
            "{kind}: {args:?}"
        );
        assert!(args.contains(&"--key=/keys/cosign.pub"), "{kind}: {args:?}");
        assert_eq!(
            c["securityContext"]["readOnlyRootFilesystem"], true,
            "{kind}"
        );
        let volumes = spec["volumes"].as_array().expect("volumes");
        assert!(
            volumes
                .iter()
                .any(|v| v["secret"]["secretName"] == "ferry-keys"),
            "{kind}"
        );
    }
    let cron = find(&all, "CronJob", "ferry-apply");
    assert!(cron.value()["spec"]["schedule"].is_string());
    assert_eq!(cron.value()["spec"]["concurrencyPolicy"], "Forbid");
    let deploy = find(&all, "Deployment", "ferry");
    let args = deploy.value()["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("--interval="), "{args}");
}

#[test]
fn the_cli_accepts_the_workload_arguments() {
    use clap::Parser;
    let all = load();
    for (kind, name) in [("CronJob", "ferry-apply"), ("Deployment", "ferry")] {
        let o = find(&all, kind, name);
        let args: Vec<String> = pod_spec(o)["containers"][0]["args"]
            .as_array()
            .expect("args")
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        let cli = ferry::cli::Cli::try_parse_from(std::iter::once("ferry".to_string()).chain(args));
        assert!(
            cli.is_ok(),
            "{kind}: {:?}",
            cli.err().map(|e| e.to_string())
        );
    }
}

#[test]
fn rbac_grants_what_ferry_uses_and_binds_the_service_account() {
    let all = load();
    let role = find(&all, "ClusterRole", "ferry-applier");
    let rules = role.value()["rules"].as_array().expect("rules");
    let verbs_for = |group: &str, resource: &str| -> Vec<String> {
        rules
            .iter()
            .filter(|r| {
                r["apiGroups"]
                    .as_array()
                    .is_some_and(|g| g.iter().any(|g| g == group))
            })
            .filter(|r| {
                r["resources"]
                    .as_array()
                    .is_some_and(|x| x.iter().any(|x| x == resource))
            })
            .flat_map(|r| r["verbs"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    for (g, r) in [
        ("", "namespaces"),
        ("", "configmaps"),
        ("apps", "deployments"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
    ] {
        let verbs = verbs_for(g, r);
        for v in ["get", "list", "create", "patch", "delete"] {
            assert!(verbs.iter().any(|x| x == v), "{g}/{r} lacks {v}: {verbs:?}");
        }
        assert!(
            !verbs.iter().any(|x| x == "*"),
            "least privilege: no wildcard verbs"
        );
    }
    let inv = find(&all, "Role", "ferry-inventory");
    assert_eq!(inv.value()["rules"][0]["resources"][0], "secrets");
    // The inventory's lock: `ferry apply` takes, renews and releases a Lease beside the parent.
    let lease = &inv.value()["rules"][1];
    assert_eq!(lease["apiGroups"][0], "coordination.k8s.io");
    assert_eq!(lease["resources"][0], "leases");
    for v in ["get", "create", "update"] {
        assert!(
            lease["verbs"]
                .as_array()
                .is_some_and(|x| x.iter().any(|x| x == v)),
            "leases lacks {v}: {lease}"
        );
    }
    for (kind, name) in [
        ("ClusterRoleBinding", "ferry-applier"),
        ("RoleBinding", "ferry-inventory"),
        ("ClusterRoleBinding", "ferry-cluster-admin"),
    ] {
        let b = find(&all, kind, name);
        let s = &b.value()["subjects"][0];
        assert_eq!(
            (
                s["kind"].as_str(),
                s["name"].as_str(),
                s["namespace"].as_str()
            ),
            (Some("ServiceAccount"), Some("ferry"), Some("ferry-system")),
            "{kind}/{name}"
        );
    }
    assert_eq!(
        find(&all, "ClusterRoleBinding", "ferry-cluster-admin").value()["roleRef"]["name"],
        "cluster-admin"
    );
}

#[test]
fn the_keys_secret_is_a_template_without_real_keys() {
    let all = load();
    let s = find(&all, "Secret", "ferry-keys");
    let data = &s.value()["stringData"];
    for k in ["age.agekey", "cosign.pub"] {
        let v = data[k]
            .as_str()
            .unwrap_or_else(|| panic!("stringData.{k} missing"));
        // Placeholders only: a real identity or key never goes into Git.
        assert!(v.starts_with("# replace with"), "stringData.{k}: {v:?}");
        assert_eq!(
            v.lines().count(),
            1,
            "stringData.{k} holds more than a placeholder"
        );
    }
}

/// Paths of `original` that do not survive a round-trip through the typed Kubernetes API
/// structs: a misspelled or misplaced field is dropped there, so it shows up here.
fn lost_fields(original: &Value, typed: &Value, path: &str, out: &mut Vec<String>) {
    match (original, typed) {
        (Value::Object(o), Value::Object(t)) => {
            for (k, v) in o {
                match t.get(k) {
                    Some(tv) => lost_fields(v, tv, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}")),
                }
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            for (i, v) in o.iter().enumerate() {
                match t.get(i) {
                    Some(tv) => lost_fields(v, tv, &format!("{path}[{i}]"), out),
                    None => out.push(format!("{path}[{i}]")),
                }
            }
        }
        _ => {}
    }
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(
    v: &Value,
) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

fn schema_check(o: &Object) -> Result<Vec<String>, String> {
    use k8s_openapi::api::{apps, batch, core, rbac};
    let v = o.value();
    let typed = match o.kind() {
        "Namespace" => round_trip::<core::v1::Namespace>(v),
        "ServiceAccount" => round_trip::<core::v1::ServiceAccount>(v),
        "Secret" => round_trip::<core::v1::Secret>(v),
        "Role" => round_trip::<rbac::v1::Role>(v),
        "RoleBinding" => round_trip::<rbac::v1::RoleBinding>(v),
        "ClusterRole" => round_trip::<rbac::v1::ClusterRole>(v),
        "ClusterRoleBinding" => round_trip::<rbac::v1::ClusterRoleBinding>(v),
        "CronJob" => round_trip::<batch::v1::CronJob>(v),
        "Deployment" => round_trip::<apps::v1::Deployment>(v),
        "CustomResourceDefinition" => round_trip::<
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
        >(v),
        // ferry's own kind: its own reader refuses unknown fields and names the one at fault.
        "Sync" => ferry::agent::spec::Sync::from_object(v)
            .map(|_| v.clone())
            .map_err(|e| e.to_string()),
        other => return Err(format!("no schema check for kind {other}")),
    }?;
    let mut lost = Vec::new();
    lost_fields(v, &typed, "", &mut lost);
    Ok(lost)
}

#[test]
fn every_manifest_passes_the_kubernetes_schema() {
    for o in load().values().flatten() {
        let lost = schema_check(o).unwrap_or_else(|e| panic!("{}: {e}", o.obj_ref()));
        assert!(lost.is_empty(), "{}: unknown fields {lost:?}", o.obj_ref());
    }
}

#[test]
fn the_schema_check_catches_a_misspelled_field() {
    let all = load();
    let mut v = find(&all, "CronJob", "ferry-apply").value().clone();
    let spec = &mut v["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    spec["serviceAcountName"] = spec["serviceAccountName"].clone();
    let bad = Object::from_value(v).expect("object");
    let lost = schema_check(&bad).expect("checks");
    assert_eq!(
        lost,
        vec![".spec.jobTemplate.spec.template.spec.serviceAcountName"]
    );
}
