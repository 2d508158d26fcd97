//! The command line itself: init, completions, cache pruning, help, and the build summary a
//! person reads (an insta snapshot, reviewed; the assertions beside it are what the test checks).

mod common;

#[test]
fn init_writes_a_starting_file_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let out = common::ferry(cache.path())
        .args(["init", "-C"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = std::fs::read_to_string(dir.path().join("ferry.yaml")).expect("written");
    assert!(text.contains("apiVersion: ferry.dev/v1alpha1") && text.contains("environments:"));
    ferry::config::parse(std::path::Path::new("ferry.yaml"), &text)
        .expect_err("no apps yet: the starter says to add them");
    let again = common::ferry(cache.path())
        .args(["init", "-C"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = common::ferry(cache.path())
        .args(["init", "--force", "-C"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(forced.status.success());
}

#[test]
fn completions_and_help() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = common::ferry(cache.path())
        .args(["completions", "bash"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ferry"));
    let help = common::ferry(cache.path())
        .args(["build", "--help"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--revision",
        "--worktree",
        "--jobs",
        "--no-cache",
        "--output",
    ] {
        assert!(text.contains(flag), "build --help lacks {flag}");
    }
    let top = common::ferry(cache.path())
        .arg("--help")
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&top.stdout).contains("Exit codes"));
}

#[test]
fn cache_prune_all_empties_the_cache() {
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    let repo = common::example_repo();
    let cache = tempfile::tempdir().expect("tempdir");
    assert!(common::ferry(cache.path())
        .args(["build", "-q", "-C"])
        .arg(repo.path())
        .status()
        .expect("runs")
        .success());
    let kept = common::ferry(cache.path())
        .args(["cache", "prune"])
        .output()
        .expect("runs");
    assert!(
        String::from_utf8_lossy(&kept.stdout).starts_with("removed 0 entries"),
        "recent entries are kept"
    );
    let all = common::ferry(cache.path())
        .args(["cache", "prune", "--all"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&all.stdout);
    assert!(
        !text.starts_with("removed 0 ") && text.contains("0 entries (0 bytes) kept"),
        "{text}"
    );
}

#[test]
fn build_summary_for_people() {
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    let repo = common::example_repo();
    let cache = tempfile::tempdir().expect("tempdir");
    let out = common::ferry(cache.path())
        .args(["build", "-C"])
        .arg(repo.path())
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout).replace(
        &repo
            .path()
            .canonicalize()
            .expect("path")
            .display()
            .to_string(),
        "[REPO]",
    );
    assert!(
        stdout.contains("prod") && stdout.contains("staging") && stdout.contains("12 objects"),
        "{stdout}"
    );
    assert!(
        out.stderr.is_empty(),
        "no progress bar off a terminal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::with_settings!({snapshot_path => "../fixtures/snapshots", filters => vec![(r"sha1:[0-9a-f]{40}", "sha1:[COMMIT]")]}, {
        insta::assert_snapshot!(stdout);
    });
}

#[test]
fn render_kustomize_compare_reports_each_directory_and_fails_on_a_difference() {
    if common::require_tool("kubectl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: {k: v}\n";
    for (sub, kustomization) in [
        ("same", "resources: [cm.yaml]\nnamePrefix: p-\n"),
        // Once handed to the binary, now native (issue 18).
        (
            "meta",
            "resources: [cm.yaml]\nbuildMetadata: [originAnnotations, transformerAnnotations]\nnamePrefix: p-\n",
        ),
        // An external plugin: native refuses it and kubectl cannot run it either.
        (
            "plugin",
            "resources: [cm.yaml]\ntransformers:\n- |-\n  apiVersion: example.com/v1\n  kind: Mine\n  metadata:\n    name: m\n",
        ),
    ] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        std::fs::write(dir.path().join(sub).join("cm.yaml"), cm).expect("write");
        std::fs::write(
            dir.path().join(sub).join("kustomization.yaml"),
            kustomization,
        )
        .expect("write");
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let run = |dirs: &[&str]| {
        common::ferry(cache.path())
            .args(["render", "kustomize", "--compare", "-C"])
            .arg(dir.path())
            .args(dirs)
            .output()
            .expect("ferry runs")
    };
    let ok = run(&["same", "meta"]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("same: same ("), "{stdout}");
    assert!(
        stdout.contains("meta: same (") && stdout.contains("2 of 2 directories render identically"),
        "{stdout}"
    );
    let bad = run(&["same", "plugin"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_ne!(bad.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("plugin: the binary failed, so there is nothing to compare"),
        "{stderr}"
    );
}
