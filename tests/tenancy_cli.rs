//! `ferry tenant create` and `ferry tenant list` (issue 20) on real repositories: the
//! manifests, the ferry.yaml entries with every comment kept, a build that then applies the
//! tenant's objects as the tenant, and the refusals that leave everything as it was.

mod common;

use serde_json::Value;
use std::path::Path;

const FERRY_YAML: &str = "# Our platform.
apiVersion: ferry.dev/v1alpha1
kind: Pipeline
environments:
  prod: {}        # the only cluster
apps:
  # the shop team's web front
  web:
    namespace: shop
    path: web

# keys
signing:
  publicKey: cosign.pub
";

fn repo(ferry_yaml: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(d.path().join("ferry.yaml"), ferry_yaml).expect("write");
    std::fs::create_dir_all(d.path().join("web")).expect("mkdir");
    std::fs::write(
        d.path().join("web/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
    )
    .expect("write");
    common::git(d.path(), &["init", "-q", "-b", "main"]);
    d
}

fn ferry(r: &Path, args: &[&str]) -> std::process::Output {
    let cache = tempfile::tempdir().expect("cache");
    common::ferry(cache.path())
        .arg("-C")
        .arg(r)
        .args(args)
        .output()
        .expect("ferry runs")
}

#[test]
fn create_writes_the_manifests_and_entries_keeps_comments_and_the_build_carries_the_tenant() {
    let d = repo(FERRY_YAML);
    let r = d.path();
    let args = [
        "tenant",
        "create",
        "shop",
        "--namespace",
        "shop",
        "--namespace",
        "shop-jobs",
        "--app",
        "web",
        "--recipient",
        "age1tr43k3a2thyrqx8tzum9a698admf4tlau0nvr473ak9rw58xq53q30cs93",
    ];
    common::succeeded(&args, ferry(r, &args));
    let text = std::fs::read_to_string(r.join("ferry.yaml")).expect("read");
    assert_eq!(
        text,
        "# Our platform.
apiVersion: ferry.dev/v1alpha1
kind: Pipeline
environments:
  prod: {}        # the only cluster
apps:
  # the shop team's web front
  web:
    namespace: shop
    path: web
  tenant-shop:            # the tenant's namespaces, ServiceAccount and RoleBindings
    path: tenants/shop

# keys
signing:
  publicKey: cosign.pub
tenants:
  shop:
    namespaces: [shop, shop-jobs]
    apps: [web]
    recipients: [age1tr43k3a2thyrqx8tzum9a698admf4tlau0nvr473ak9rw58xq53q30cs93]
"
    );
    let manifests = std::fs::read_to_string(r.join("tenants/shop/tenant.yaml")).expect("read");
    for want in [
        "kind: Namespace\nmetadata:\n  labels:\n    ferry.dev/tenant: shop\n  name: shop-jobs",
        "kind: ServiceAccount\nmetadata:\n  labels:\n    ferry.dev/tenant: shop\n  name: ferry\n  namespace: shop",
        "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: admin",
    ] {
        assert!(manifests.contains(want), "{want}\n---\n{manifests}");
    }

    let list = common::succeeded(
        &["tenant", "list"],
        ferry(r, &["tenant", "list", "--output", "json"]),
    );
    let list: Value = serde_json::from_str(&list).expect("json");
    assert_eq!(
        list,
        serde_json::json!([{"name": "shop", "namespaces": ["shop", "shop-jobs"],
            "serviceAccount": "shop/ferry", "apps": ["web"],
            "allowClusterScoped": [], "allowClusterRoles": [],
            "recipients": ["age1tr43k3a2thyrqx8tzum9a698admf4tlau0nvr473ak9rw58xq53q30cs93"]}])
    );
    let table = common::succeeded(&["tenant", "list"], ferry(r, &["tenant", "list"]));
    assert_eq!(
        table,
        "NAME  NAMESPACES      SERVICEACCOUNT  APPS  CLUSTER-SCOPED  CLUSTER-ROLES\nshop  shop,shop-jobs  shop/ferry      web   -               -\n"
    );

    // The build passes the tenant's rules (the manifests app is the platform's) and records
    // the tenant for `ferry apply`.
    common::commit_all(r, "tenant shop");
    common::succeeded(&["build"], ferry(r, &["build"]));
    let index: Value =
        serde_json::from_slice(&std::fs::read(r.join("out/prod/index.json")).expect("index"))
            .expect("json");
    assert_eq!(index["apps"]["web"]["tenant"], "shop");
    assert_eq!(index["tenants"]["shop"]["serviceAccount"], "shop/ferry");
    assert_eq!(
        index["apps"]["tenant-shop"]["objects"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
}

#[test]
fn refusals_name_the_problem_and_write_nothing() {
    let flow = FERRY_YAML.replace(
        "apps:\n  # the shop team's web front\n  web:\n    namespace: shop\n    path: web\n",
        "apps: {web: {namespace: shop, path: web}}\n",
    );
    let cases: [(&str, &[&str], &str); 4] = [
        (
            &flow,
            &["tenant", "create", "shop", "--namespace", "shop"],
            "`apps:` is written in flow style (`apps: {web: {namespace: shop, path: web}}`)",
        ),
        (
            FERRY_YAML,
            &[
                "tenant",
                "create",
                "shop",
                "--namespace",
                "other",
                "--app",
                "web",
            ],
            "apps.web.namespace: namespace `shop` is not one of tenant `shop`'s namespaces (other)",
        ),
        (
            FERRY_YAML,
            &["tenant", "create", "Shop", "--namespace", "shop"],
            "tenants.Shop: `Shop` is not a valid tenant name",
        ),
        (
            FERRY_YAML,
            &[
                "tenant",
                "create",
                "shop",
                "--namespace",
                "shop",
                "--dir",
                "../out",
            ],
            "--dir `../out`: give a path relative to the pipeline root",
        ),
    ];
    for (text, args, want) in cases {
        let d = repo(text);
        let before = common::snapshot(d.path());
        let out = ferry(d.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(want),
            "{args:?}\nwant: {want}\ngot: {stderr}"
        );
        assert_eq!(
            common::snapshot(d.path()),
            before,
            "{args:?} wrote something"
        );
    }
    // A second tenant of the same name.
    let d = repo(FERRY_YAML);
    let args = ["tenant", "create", "shop", "--namespace", "shop"];
    common::succeeded(&args, ferry(d.path(), &args));
    let out = ferry(d.path(), &args);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tenant `shop` exists already"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
