//! `ferry diff` per tenant (issue 20): real builds of a Git repository with two tenants and a
//! platform app, compared between revisions and between build directories. `--tenant` keeps
//! one owner's objects as `index.json` attributes them (not by namespace), the Markdown for a
//! pull request has a section per tenant with its counts and its build-rule violations, and
//! text and JSON name each object's tenant.

mod common;

use serde_json::Value;
use std::path::Path;

const FERRY_YAML: &str = "apiVersion: ferry.dev/v1alpha1
kind: Pipeline
environments:
  prod: {}
  staging: {}
apps:
  tenants:
    path: platform
  web:
    namespace: team-a
    path: web
  api:
    namespace: team-b
    path: api
    environments: [prod]
tenants:
  team-a:
    namespaces: [team-a]
    apps: [web]
  team-b:
    namespaces: [team-b]
    apps: [api]
";

fn cm(name: &str, ns: Option<&str>, value: &str) -> String {
    let ns = ns.map(|n| format!(", namespace: {n}")).unwrap_or_default();
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}{ns}}}\ndata: {{value: {value}}}\n")
}

/// Two commits: the second changes one object of each owner and adds one to team-b. The
/// platform's ConfigMap sits in team-a's namespace on purpose: ownership is the index's.
fn repo() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let r = d.path();
    common::write_file(r, "ferry.yaml", FERRY_YAML);
    common::write_file(
        r,
        "platform/all.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: team-a}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: team-b}}\n---\n{}",
            cm("quota-notes", Some("team-a"), "one")
        ),
    );
    common::write_file(r, "web/cm.yaml", &cm("settings", None, "blue"));
    common::write_file(r, "api/cm.yaml", &cm("api", None, "v1"));
    common::git(r, &["init", "-q", "-b", "main"]);
    common::commit_all(r, "tenants");
    common::write_file(
        r,
        "platform/all.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: team-a}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: team-b}}\n---\n{}",
            cm("quota-notes", Some("team-a"), "two")
        ),
    );
    common::write_file(r, "web/cm.yaml", &cm("settings", None, "green"));
    common::write_file(
        r,
        "api/cm.yaml",
        &format!("{}---\n{}", cm("api", None, "v2"), cm("jobs", None, "on")),
    );
    common::commit_all(r, "change every owner");
    d
}

fn diff(r: &Path, args: &[&str]) -> std::process::Output {
    let cache = tempfile::tempdir().expect("cache");
    common::ferry(cache.path())
        .arg("-C")
        .arg(r)
        .arg("diff")
        .args(args)
        .output()
        .expect("ferry runs")
}

fn stdout(out: &std::process::Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (change, kind/namespace/name, app, tenant) of every change of a JSON report.
fn changes(json: &str) -> Vec<(String, String, String, Option<String>)> {
    let v: Value = serde_json::from_str(json).expect("json");
    v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["change"].as_str().expect("change").to_string(),
                format!(
                    "{}/{}/{}",
                    c["kind"].as_str().expect("kind"),
                    c["namespace"].as_str().expect("ns"),
                    c["name"].as_str().expect("name")
                ),
                c["app"].as_str().expect("app").to_string(),
                c.get("tenant")
                    .map(|t| t.as_str().expect("tenant").to_string()),
            )
        })
        .collect()
}

fn owned(
    change: &str,
    obj: &str,
    app: &str,
    tenant: Option<&str>,
) -> (String, String, String, Option<String>) {
    (
        change.into(),
        obj.into(),
        app.into(),
        tenant.map(str::to_string),
    )
}

#[test]
fn markdown_groups_changes_by_tenant_with_counts() {
    let d = repo();
    let out = diff(d.path(), &["--from", "HEAD~1", "--output", "markdown"]);
    let md = stdout(&out, 1);
    insta::assert_snapshot!("tenancy_diff_markdown", md);
    // The platform first, then the tenants in name order, each with its own counts.
    let platform = md
        .find("#### platform: 1 changed")
        .expect("platform section");
    let a = md
        .find("#### tenant team-a: 1 changed")
        .expect("team-a section");
    let b = md
        .find("#### tenant team-b: 1 added, 1 changed")
        .expect("team-b section");
    assert!(platform < a && a < b, "{md}");
    // The platform's ConfigMap in team-a's namespace is the platform's: it is in its section.
    let quota = md
        .find("`ConfigMap/team-a/quota-notes`")
        .expect("quota-notes");
    assert!(platform < quota && quota < a, "{md}");
    assert!(md.contains("| team-b | 1 | 1 | 0 | 0 | 0 |"), "{md}");
}

#[test]
fn tenant_filters_revisions_and_json_names_the_tenant() {
    let d = repo();
    let all = stdout(
        &diff(d.path(), &["--from", "HEAD~1", "--output", "json"]),
        1,
    );
    let mut got = changes(&all);
    got.sort();
    let mut want = vec![
        owned("changed", "ConfigMap/team-a/quota-notes", "tenants", None),
        owned(
            "changed",
            "ConfigMap/team-a/settings",
            "web",
            Some("team-a"),
        ),
        owned("changed", "ConfigMap/team-b/api", "api", Some("team-b")),
        owned("added", "ConfigMap/team-b/jobs", "api", Some("team-b")),
    ];
    want.sort();
    assert_eq!(got, want);

    let a = stdout(
        &diff(
            d.path(),
            &["--from", "HEAD~1", "--tenant", "team-a", "--output", "json"],
        ),
        1,
    );
    assert_eq!(
        changes(&a),
        [owned(
            "changed",
            "ConfigMap/team-a/settings",
            "web",
            Some("team-a")
        )]
    );
    let v: Value = serde_json::from_str(&a).expect("json");
    // Counts are the filtered ones: team-a has one object per environment.
    assert_eq!(v["summary"]["changed"], 2, "{a}");
    assert_eq!(v["summary"]["unchanged"], 0, "{a}");

    let p = stdout(
        &diff(
            d.path(),
            &[
                "--from", "HEAD~1", "--tenant", "platform", "--output", "json",
            ],
        ),
        1,
    );
    assert_eq!(
        changes(&p),
        [owned(
            "changed",
            "ConfigMap/team-a/quota-notes",
            "tenants",
            None
        )]
    );
    let two = stdout(
        &diff(
            d.path(),
            &[
                "--from", "HEAD~1", "--tenant", "team-b", "--tenant", "platform", "--output",
                "json",
            ],
        ),
        1,
    );
    assert_eq!(changes(&two).len(), 3, "{two}");

    // Text names each object's owner.
    let text = stdout(&diff(d.path(), &["--from", "HEAD~1"]), 1);
    assert!(
        text.contains(
            "~ changed ConfigMap/team-a/settings  (app web, tenant team-a; prod, staging)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "~ changed ConfigMap/team-a/quota-notes  (app tenants, platform; prod, staging)"
        ),
        "{text}"
    );
}

#[test]
fn an_unknown_tenant_is_refused_naming_the_known_ones() {
    let d = repo();
    let err = common::refused(
        &["diff", "--tenant"],
        diff(d.path(), &["--from", "HEAD~1", "--tenant", "team-c"]),
    );
    assert!(
        err.contains("unknown tenant `team-c`: no compared build has it")
            && err
                .contains("hint: tenants: team-a, team-b (and `platform` for the platform's apps)"),
        "{err}"
    );
    // A tenant with apps in one environment only is known (staging has no team-b app).
    let b = stdout(
        &diff(
            d.path(),
            &["--from", "HEAD~1", "--tenant", "team-b", "staging"],
        ),
        0,
    );
    assert!(b.contains("no changes"), "{b}");
}

#[test]
fn tenant_filters_build_directories() {
    let d = repo();
    let r = d.path();
    let cache = tempfile::tempdir().expect("cache");
    let build = |rev: &str, out: &str| {
        common::succeeded(
            &["build"],
            common::ferry(cache.path())
                .arg("-C")
                .arg(r)
                .args(["build", "prod", "--revision", rev, "--out"])
                .arg(r.join(out))
                .output()
                .expect("ferry runs"),
        )
    };
    build("HEAD~1", "old");
    build("HEAD", "new");
    let (old, new) = (r.join("old/prod"), r.join("new/prod"));
    let (old, new) = (old.to_str().expect("utf-8"), new.to_str().expect("utf-8"));
    let b = stdout(
        &diff(r, &[old, new, "--tenant", "team-b", "--output", "json"]),
        1,
    );
    let mut got = changes(&b);
    got.sort();
    assert_eq!(
        got,
        [
            owned("added", "ConfigMap/team-b/jobs", "api", Some("team-b")),
            owned("changed", "ConfigMap/team-b/api", "api", Some("team-b")),
        ]
    );
    let err = common::refused(&["diff"], diff(r, &[old, new, "--tenant", "nobody"]));
    assert!(err.contains("unknown tenant `nobody`"), "{err}");
}

#[test]
fn a_violation_is_shown_in_its_tenants_section_and_fails_the_diff() {
    let d = repo();
    let r = d.path();
    // team-a's app now writes into team-b's namespace.
    common::write_file(
        r,
        "web/cm.yaml",
        &format!(
            "{}---\n{}",
            cm("settings", None, "green"),
            cm("intruder", Some("team-b"), "x")
        ),
    );
    common::commit_all(r, "team-a leaves its namespace");
    let out = diff(r, &["--from", "HEAD~1", "--output", "markdown", "prod"]);
    let md = stdout(&out, 2);
    insta::assert_snapshot!("tenancy_diff_violation_markdown", md);
    let a = md
        .find("#### tenant team-a: 1 added")
        .expect("team-a section");
    let v = md
        .find("- `prod/web` `ConfigMap/team-b/intruder` `metadata.namespace`")
        .expect("the violation, in team-a's section");
    assert!(a < v, "{md}");
    assert!(md.contains("| team-a | 1 | 0 | 0 | 0 | 1 |"), "{md}");
    // JSON carries the violations; filtering on another tenant leaves them out.
    let json = stdout(
        &diff(r, &["--from", "HEAD~1", "--output", "json", "prod"]),
        2,
    );
    let v: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["violations"][0]["tenant"], "team-a", "{json}");
    assert_eq!(v["violations"][0]["rule"], "tenant-namespaces", "{json}");
    let b = stdout(
        &diff(
            r,
            &[
                "--from", "HEAD~1", "--output", "json", "--tenant", "team-b", "prod",
            ],
        ),
        0,
    );
    assert!(!b.contains("violations"), "{b}");
}
