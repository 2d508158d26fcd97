//! `ferry images scan` and `ferry images update` against a real registry (CNCF distribution,
//! started by `../shared/tools/registry.sh`) holding an image repository with 324 tags pushed
//! here (distribution 2.8 answers a tag list in one page whatever `n` says; the Link pages are
//! covered by `images_pagination`); then a real Git repository: update, commit, `git log -p`,
//! `ferry build`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

mod common;
mod images_cases;

use common::registry::Registry;
use common::{git, git_output};
use images_cases::{CASES, TAGS};

const FILLER: usize = 300;

/// Every tag the repository holds: the policy cases' tags and filler that no case may pick.
fn all_tags() -> Vec<String> {
    let mut v: Vec<String> = TAGS.iter().map(|s| s.to_string()).collect();
    v.extend((0..FILLER).map(|i| format!("build-{i:03}")));
    v
}

fn push_tags(
    addr: &str,
    repo: &str,
    tags: &[String],
    creds: Option<(&str, &str)>,
) -> BTreeMap<String, String> {
    common::registry::push_image_tags(addr, repo, tags, creds)
}

struct Repo {
    tmp: tempfile::TempDir,
}

impl Repo {
    fn dir(&self) -> &Path {
        self.tmp.path()
    }
    fn root(&self) -> std::path::PathBuf {
        self.tmp.path().join("repo")
    }
    fn ferry(&self, args: &[&str]) -> Output {
        common::registry::ferry(self.dir())
            .arg("-C")
            .arg(self.root())
            .args(args)
            .env_remove("FERRY_GIT_AUTHOR")
            .env_remove("FERRY_GIT_COMMITTER")
            .output()
            .expect("ferry runs")
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.ferry(args);
        assert!(
            out.status.success(),
            "ferry {args:?}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn fails(&self, args: &[&str]) -> String {
        let out = self.ferry(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "ferry {args:?} should fail:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).expect("read")
    }
}

fn new_repo(files: &[(&str, String)]) -> Repo {
    let r = Repo {
        tmp: tempfile::tempdir().expect("tempdir"),
    };
    std::fs::create_dir_all(r.root()).expect("mkdir");
    for (p, t) in files {
        r.write(p, t);
    }
    git(&r.root(), &["init", "-q", "-b", "main"]);
    git(&r.root(), &["config", "user.name", "Repo Owner"]);
    git(&r.root(), &["config", "user.email", "owner@example.com"]);
    common::commit_all(&r.root(), "initial");
    r
}

const HEAD: &str =
    "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  staging: {}\n  prod: {}\n";

#[test]
fn policies_pick_what_flux_picks_from_a_real_registry() {
    let Some(reg) = Registry::start() else { return };
    let digests = push_tags(&reg.addr, "team/app", &all_tags(), None);
    let mut images = String::from("images:\n");
    for (i, (yaml, _, _)) in CASES.iter().enumerate() {
        images.push_str(&format!(
            "  case{i:02}:\n    image: {}/team/app\n{yaml}",
            reg.addr
        ));
    }
    let repo = new_repo(&[(
        "ferry.yaml",
        format!("{HEAD}apps:\n  web: {{path: web}}\n{images}"),
    )]);
    let out = repo.ok(&["images", "scan", "--output", "json", "--page-size", "50"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let decisions = v["decisions"].as_array().expect("decisions");
    assert_eq!(decisions.len(), CASES.len());
    let mut failures = Vec::new();
    for (i, (_, want, why)) in CASES.iter().enumerate() {
        let d = decisions
            .iter()
            .find(|d| d["policy"] == format!("case{i:02}"))
            .expect("decision");
        // distribution 2.8 ignores `n` on tag lists and sends every tag at once (pagination of
        // tags came with v3): the spec server test below covers the Link pages.
        assert_eq!(d["tags"], TAGS.len() + FILLER, "every tag was read");
        if d["latest"] != *want {
            failures.push(format!(
                "case{i:02}: want {want} ({why}), got {}",
                d["latest"]
            ));
        }
        assert_eq!(
            d["digest"], digests[*want],
            "case{i:02}: the digest of {want}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The text table names each policy, its rule, the latest tag and the reason.
    let text = repo.ok(&["images", "scan", "--cache-ttl", "0"]);
    assert!(text.contains("POLICY") && text.contains("LATEST"), "{text}");
    assert!(
        text.contains("case12") && text.contains("main-a1b2c3-1800"),
        "{text}"
    );
    assert!(text.contains("(extracted 1800)"), "{text}");
    assert!(text.contains("324 tags, 1 page"), "{text}");
}

/// The end to end repository: a plain manifest (whole reference), a kustomize `images:` entry
/// (`:tag`) and a Helm values file with an environment override that pins the digest.
fn e2e_files(addr: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "ferry.yaml",
            format!(
                "{HEAD}apps:\n  web:\n    path: apps/web\n  api:\n    kustomize: apps/api\n    renderer: native\n  chart:\n    namespace: chart\n    helm:\n      chart: charts/app\n      values: [\"apps/chart/values-${{env}}.yaml\"]\n\
images:\n  app:\n    image: {addr}/team/app\n    policy:\n      semver: {{range: '>=1.0.0'}}\n    overrides:\n      prod:\n        policy:\n          semver: {{range: '~1.2'}}\n        digest: true\n"
            ),
        ),
        (
            "apps/web/deployment.yaml",
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: {addr}/team/app:1.2.3 # {{\"$imagepolicy\": \"flux-system:app\"}}\n"),
        ),
        (
            "apps/api/kustomization.yaml",
            format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: api\nresources: [deployment.yaml]\nimages:\n  - name: app\n    newName: {addr}/team/app\n    newTag: \"1.2.3\" # {{\"$imagepolicy\": \"flux-system:app:tag\"}}\n"),
        ),
        (
            "apps/api/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: app\n".to_string(),
        ),
        ("charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n".to_string()),
        (
            "charts/app/values.yaml",
            "image:\n  repository: none\n  tag: none\n".to_string(),
        ),
        (
            "charts/app/templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: chart\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n".to_string(),
        ),
        (
            "apps/chart/values-staging.yaml",
            format!("# staging follows every release\nimage:\n  repository: {addr}/team/app # {{\"$imagepolicy\": \"staging:app:name\"}}\n  tag: 1.2.3 # {{\"$imagepolicy\": \"staging:app:tag\"}}\n"),
        ),
        (
            "apps/chart/values-prod.yaml",
            format!("# prod: ~1.2, pinned by digest\r\nimage:\r\n  repository: {addr}/team/app\r\n  tag: '1.2.3' # {{\"$imagepolicy\": \"prod:app:tag\"}}\r\n"),
        ),
    ]
}

/// The registry with every tag, and a repository of `e2e_files`; `None` (skipped) without the
/// registry or helm.
fn e2e_setup() -> Option<(Registry, BTreeMap<String, String>, Repo)> {
    let reg = Registry::start()?;
    common::require_tool("helm")?;
    let digests = push_tags(&reg.addr, "team/app", &all_tags(), None);
    let repo = new_repo(&e2e_files(&reg.addr));
    Some((reg, digests, repo))
}

#[test]
fn scan_update_commit_build_end_to_end() {
    let Some((reg, digests, repo)) = e2e_setup() else {
        return;
    };
    let root = repo.root();
    let before = git_output(&root, &["rev-parse", "HEAD"]);

    // Scan: the table says what would change.
    let text = repo.ok(&["images", "scan"]);
    assert!(
        text.contains("app (prod)") && text.contains("v1.2.5"),
        "{text}"
    );
    assert!(
        text.contains("2.0.0") && text.contains("yes (3 markers)"),
        "{text}"
    );

    // A dry run writes nothing.
    let dry = repo.ok(&["images", "update", "--dry-run"]);
    assert!(
        dry.contains("-          image: ") && dry.contains("dry run: 4 changes"),
        "{dry}"
    );
    assert_eq!(git_output(&root, &["rev-parse", "HEAD"]), before);
    assert_eq!(git_output(&root, &["status", "--porcelain"]), "");

    let out = repo.ok(&[
        "images",
        "update",
        "--author",
        "Image Bot <bot@example.com>",
        "--message",
        "chore: {count} image updates ({policies})\n\n{changes}",
        "--diff",
    ]);
    // --diff: what the commit changes in each environment's build, after the commit line.
    let shown = &out[out.find("committed").expect("committed")..];
    for env in ["prod", "staging"] {
        assert!(
            shown.contains(&format!("{env:<8} 3 changed, 0 unchanged")),
            "{out}"
        );
    }
    assert!(
        shown.contains("(app chart; prod)")
            && shown.contains(&format!("+      - image: {}/team/app:v1.2.5@", reg.addr))
            && shown.contains("(app web; prod, staging)"),
        "{out}"
    );
    let d125 = &digests["v1.2.5"];
    for line in [
        format!(
            "apps/web/deployment.yaml:11: {0}/team/app:1.2.3 -> {0}/team/app:2.0.0",
            reg.addr
        ),
        "apps/api/kustomization.yaml:8: 1.2.3 -> 2.0.0".to_string(),
        "apps/chart/values-staging.yaml:4: 1.2.3 -> 2.0.0".to_string(),
        format!("apps/chart/values-prod.yaml:4: 1.2.3 -> v1.2.5@{d125}"),
    ] {
        assert!(out.contains(&line), "missing {line:?} in\n{out}");
    }
    assert!(
        out.contains("committed") && out.contains("on main"),
        "{out}"
    );

    // The commit, as git sees it: the bot as author and committer, the message, and a diff
    // that changes exactly the four values.
    let log = git_output(
        &root,
        &["log", "-1", "-p", "--format=%an <%ae>|%cn <%ce>|%s%n%b"],
    );
    assert!(
        log.starts_with(
            "Image Bot <bot@example.com>|Image Bot <bot@example.com>|chore: 4 image updates (app)"
        ),
        "{log}"
    );
    let diff = &log[log.find("diff --git").expect("a diff")..];
    // split, not lines(): the CRLF file's lines keep their \r.
    let changed: Vec<&str> = diff
        .split('\n')
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(changed.len(), 8, "{log}");
    assert!(
        changed.contains(
            &format!("+  tag: 'v1.2.5@{d125}' # {{\"$imagepolicy\": \"prod:app:tag\"}}\r").as_str()
        ),
        "{log}"
    );
    assert!(
        changed.contains(&"+    newTag: \"2.0.0\" # {\"$imagepolicy\": \"flux-system:app:tag\"}"),
        "{log}"
    );
    assert_eq!(git_output(&root, &["rev-parse", "HEAD~1"]), before);
    // The working tree and the index follow the commit.
    assert_eq!(
        git_output(&root, &["status", "--porcelain"]),
        "",
        "clean after the commit"
    );
    assert!(repo
        .read("apps/chart/values-prod.yaml")
        .contains("\r\n  tag: 'v1.2.5@"));

    // `ferry diff` of the commit: each environment's build changes in exactly the image of
    // each app, to what that environment's policy chose.
    let report = repo.ferry(&[
        "diff", "--from", "HEAD~1", "--to", "HEAD", "--output", "json",
    ]);
    assert_eq!(report.status.code(), Some(1), "changes: exit 1");
    let v: serde_json::Value = serde_json::from_slice(&report.stdout).expect("diff json");
    assert_diff_of_update(&v, &reg.addr, d125);

    // A second run finds nothing to do.
    let again = repo.ok(&["images", "update"]);
    assert!(again.contains("all up to date"), "{again}");
    assert_eq!(
        git_output(&root, &["rev-list", "--count", "HEAD"]).trim(),
        "2"
    );

    // ferry build renders the new image in every environment.
    repo.ok(&["build"]);
    let grep = |env: &str, app: &str| -> String {
        let dir = root.join("out").join(env).join(app);
        let mut all = String::new();
        for e in walkdir::WalkDir::new(&dir)
            .into_iter()
            .filter_map(Result::ok)
        {
            if e.file_type().is_file() {
                all.push_str(&std::fs::read_to_string(e.path()).expect("read"));
            }
        }
        all
    };
    for env in ["staging", "prod"] {
        assert!(grep(env, "web").contains(&format!("image: {}/team/app:2.0.0", reg.addr)));
        assert!(grep(env, "api").contains(&format!("image: {}/team/app:2.0.0", reg.addr)));
    }
    assert!(grep("staging", "chart").contains(&format!("{}/team/app:2.0.0", reg.addr)));
    assert!(grep("prod", "chart").contains(&format!("{}/team/app:v1.2.5@{d125}", reg.addr)));
}

/// The JSON report of `ferry diff` between the commit before and after the update of
/// `scan_update_commit_build_end_to_end`.
fn assert_diff_of_update(v: &serde_json::Value, addr: &str, d125: &str) {
    let envs: Vec<&str> = v["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(envs, ["prod", "staging"], "{v:#}");
    for e in v["environments"].as_array().expect("environments") {
        assert_eq!(e["changed"], 3, "three apps per environment: {v:#}");
        assert_eq!(e["added"], 0, "{v:#}");
        assert_eq!(e["removed"], 0, "{v:#}");
    }
    let changes = v["changes"].as_array().expect("changes");
    let find = |name: &str, env: &str| -> String {
        let c = changes
            .iter()
            .find(|c| {
                c["name"] == name
                    && c["environments"]
                        .as_array()
                        .is_some_and(|e| e.iter().any(|e| e == env))
            })
            .unwrap_or_else(|| panic!("no change of {name} in {env}: {v:#}"));
        assert_eq!(c["kind"], "Deployment");
        assert_eq!(c["change"], "changed");
        c["diff"].as_str().expect("diff").to_string()
    };
    let only_image = |d: &str, old: &str, new: &str| {
        let lines: Vec<&str> = d
            .lines()
            .filter(|l| l.starts_with('+') || l.starts_with('-'))
            .collect();
        assert_eq!(lines.len(), 2, "one line out, one in:\n{d}");
        assert!(
            lines[0].starts_with('-') && lines[0].trim_end().ends_with(old),
            "{d}"
        );
        assert!(
            lines[1].starts_with('+') && lines[1].trim_end().ends_with(new),
            "{d}"
        );
    };
    let (old, new) = (
        format!("{addr}/team/app:1.2.3"),
        format!("{addr}/team/app:2.0.0"),
    );
    for env in ["staging", "prod"] {
        only_image(&find("web", env), &old, &new);
        only_image(&find("api", env), &old, &new);
    }
    only_image(&find("chart", "staging"), &old, &new);
    only_image(
        &find("chart", "prod"),
        &old,
        &format!("{addr}/team/app:v1.2.5@{d125}"),
    );
}

#[test]
fn update_on_a_branch_shows_its_diff_per_environment() {
    let Some((reg, digests, repo)) = e2e_setup() else {
        return;
    };
    let root = repo.root();
    let head = git_output(&root, &["rev-parse", "HEAD"]);

    // --no-commit --diff: HEAD against the files written.
    let out = repo.ok(&["images", "update", "--no-commit", "--diff"]);
    assert!(
        out.contains("4 changes written, not committed")
            && out.contains("prod     3 changed")
            && out.contains("(app chart; prod)"),
        "{out}"
    );
    git(&root, &["checkout", "--", "."]);

    // A branch for a pull request, with the diff in the JSON report.
    let out = repo.ok(&[
        "images",
        "update",
        "--branch",
        "images/next",
        "--diff",
        "--output",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["commit"]["parent"], head.trim(), "{out}");
    assert_eq!(v["commit"]["branch"], "images/next");
    let commit = v["commit"]["commit"].as_str().expect("commit").to_string();
    assert_eq!(
        git_output(&root, &["rev-parse", "images/next"]).trim(),
        commit
    );
    assert_eq!(v["diff"]["kind"], "DiffReport", "{out}");
    assert_diff_of_update(&v["diff"], &reg.addr, &digests["v1.2.5"]);
    assert_eq!(
        git_output(&root, &["rev-parse", "HEAD"]),
        head,
        "HEAD stays"
    );

    // What CI runs on the pull request shows the same.
    let pr = repo.ferry(&[
        "diff",
        "--from",
        "main",
        "--to",
        "images/next",
        "--output",
        "json",
    ]);
    assert_eq!(pr.status.code(), Some(1));
    let pr: serde_json::Value = serde_json::from_slice(&pr.stdout).expect("json");
    assert_eq!(pr["changes"], v["diff"]["changes"]);

    // --diff with --dry-run is refused by the argument parser (nothing to build).
    let err = repo.fails(&["images", "update", "--dry-run", "--diff"]);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn tag_lists_are_cached_for_their_ttl() {
    let Some(reg) = Registry::start() else { return };
    push_tags(&reg.addr, "team/app", &all_tags(), None);
    let repo = new_repo(&e2e_files(&reg.addr)[..2]);
    let root = repo.root();
    let head = git_output(&root, &["rev-parse", "HEAD"]);
    let first = repo.ok(&["images", "scan"]);
    assert!(
        first.contains("324 tags, 1 page)") && !first.contains("cached"),
        "{first}"
    );

    // The registry goes away: within the TTL the cached list (and digest) still decide.
    reg.stop();
    let second = repo.ok(&["images", "scan"]);
    assert!(second.contains("324 tags, 1 page, cached)"), "{second}");
    assert!(
        second.contains("v1.2.5"),
        "prod's digest pin is cached too: {second}"
    );

    // Without the cache the registry must answer: a clear error, and an update writes nothing.
    // The scan prints the table with the error in it (exit 2).
    let out = repo.ferry(&["images", "scan", "--cache-ttl", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("error: ") && table.contains("listing tags"),
        "{table}"
    );
    let err = repo.fails(&["images", "update", "--cache-ttl", "0"]);
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(git_output(&root, &["rev-parse", "HEAD"]), head);
    assert_eq!(git_output(&root, &["status", "--porcelain"]), "");
}

#[test]
fn new_branch_push_and_refusals() {
    let Some(reg) = Registry::start() else { return };
    push_tags(&reg.addr, "team/app", &all_tags(), None);
    let repo = new_repo(&e2e_files(&reg.addr)[..3]);
    let root = repo.root();
    // A bare remote to push to.
    let remote = repo.dir().join("remote.git");
    git(
        repo.dir(),
        &["init", "-q", "--bare", remote.to_str().expect("utf8")],
    );
    git(
        &root,
        &["remote", "add", "origin", remote.to_str().expect("utf8")],
    );
    let head = git_output(&root, &["rev-parse", "HEAD"]);
    let deployment = repo.read("apps/web/deployment.yaml");

    // A dirty file to change is refused, and nothing is written or committed.
    repo.write(
        "apps/web/deployment.yaml",
        &format!("{deployment}# local edit\n"),
    );
    let err = repo.fails(&["images", "update"]);
    assert!(
        err.contains("apps/web/deployment.yaml has uncommitted changes"),
        "{err}"
    );
    assert_eq!(
        repo.read("apps/web/deployment.yaml"),
        format!("{deployment}# local edit\n")
    );
    assert_eq!(git_output(&root, &["rev-parse", "HEAD"]), head);
    repo.write("apps/web/deployment.yaml", &deployment);

    // A new branch: the commit goes there and is pushed; the working tree and HEAD stay.
    let out = repo.ok(&["images", "update", "--branch", "images/update", "--push"]);
    assert!(
        out.contains("on images/update") && out.contains("pushed images/update"),
        "{out}"
    );
    assert_eq!(git_output(&root, &["rev-parse", "HEAD"]), head);
    assert_eq!(repo.read("apps/web/deployment.yaml"), deployment);
    let remote_log = git_output(
        &remote,
        &["log", "-1", "-p", "--format=%an|%s", "images/update"],
    );
    assert!(
        remote_log.starts_with("Repo Owner|ferry images: update 2 image reference(s)"),
        "{remote_log}"
    );
    assert!(
        remote_log.contains("+    newTag: \"2.0.0\""),
        "{remote_log}"
    );
    // The branch exists now: a second run with the same name is refused.
    let err = repo.fails(&["images", "update", "--branch", "images/update"]);
    assert!(
        err.contains("branch `images/update` exists already"),
        "{err}"
    );

    // No downgrade: a marker above what the policy picks stays.
    let newer = deployment.replace(":1.2.3 #", ":3.0.0 #");
    repo.write("apps/web/deployment.yaml", &newer);
    common::commit_all(&root, "ahead of the policy");
    let out = repo.ok(&["images", "update", "--dry-run"]);
    assert!(
        out.contains("kept") && out.contains("no downgrade"),
        "{out}"
    );
    assert!(!out.contains(":3.0.0 -> "), "{out}");
}

#[test]
fn bad_input_writes_nothing() {
    let Some(reg) = Registry::start_with(Some("bot:s3cret")) else {
        return;
    };
    push_tags(
        &reg.addr,
        "team/app",
        &all_tags()[..30],
        Some(("bot", "s3cret")),
    );
    let repo = new_repo(&e2e_files(&reg.addr)[..3]);
    let root = repo.root();
    let snapshot = || common::snapshot(&root);
    let before = snapshot();

    // The registry refuses: no credentials, or wrong ones.
    let err = repo.fails(&["images", "update"]);
    assert!(
        err.contains("access denied") && err.contains("nothing was written"),
        "{err}"
    );
    let err = repo.fails(&["images", "update", "--creds", "bot:wrong"]);
    assert!(err.contains("access denied"), "{err}");
    assert_eq!(snapshot(), before);
    // The right ones, from Docker's config as push and pull read them.
    let auth = base64_of("bot:s3cret");
    std::fs::write(
        repo.dir().join("docker/config.json"),
        format!("{{\"auths\":{{\"{}\":{{\"auth\":\"{auth}\"}}}}}}", reg.addr),
    )
    .expect("docker config");
    let out = repo.ok(&["images", "update", "--dry-run"]);
    assert!(out.contains("dry run: 2 changes"), "{out}");

    // Offline refuses before any request.
    let err = repo.fails(&["images", "scan", "--offline"]);
    assert!(err.contains("offline"), "{err}");

    // A marker naming no policy.
    let dep = repo.read("apps/web/deployment.yaml");
    repo.write(
        "apps/web/deployment.yaml",
        &dep.replace("flux-system:app\"", "flux-system:nope\""),
    );
    let err = repo.fails(&["images", "update"]);
    assert!(
        err.contains("apps/web/deployment.yaml:11: the marker names policy `nope`"),
        "{err}"
    );
    assert!(err.contains("known policies: app"), "{err}");
    repo.write("apps/web/deployment.yaml", &dep);

    // An unknown policy kind and an invalid range in ferry.yaml.
    let cfg = repo.read("ferry.yaml");
    repo.write(
        "ferry.yaml",
        &cfg.replace("semver: {range: '>=1.0.0'}", "newest: {}"),
    );
    let err = repo.fails(&["images", "scan"]);
    assert!(
        err.contains("ferry.yaml:") && err.contains("unknown field `newest`"),
        "{err}"
    );
    repo.write("ferry.yaml", &cfg.replace("'~1.2'", "'~1.2.x.9'"));
    let err = repo.fails(&["images", "update"]);
    assert!(
        err.contains("images.app.overrides.prod.policy.semver.range: invalid semver range"),
        "{err}"
    );
    repo.write("ferry.yaml", &cfg);

    assert_eq!(snapshot(), before, "no failing run wrote anything");
    assert_eq!(
        git_output(&root, &["rev-list", "--count", "HEAD"]).trim(),
        "1"
    );
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
