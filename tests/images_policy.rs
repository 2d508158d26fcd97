//! Image policies: policy × tags → choice, each case with the reason Flux's documented
//! ImagePolicy semantics give; and the configuration errors, each naming the key and its line.

use ferry::images::Policies;
use std::path::Path;

mod images_cases;
use images_cases::{CASES, TAGS};

fn pipeline(images: &str) -> String {
    format!(
        "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  staging: {{}}\n  prod: {{}}\napps:\n  web: {{path: web}}\nimages:\n{images}"
    )
}

fn compile(images: &str) -> Result<Policies, String> {
    let text = pipeline(images);
    let file = Path::new("ferry.yaml");
    let p = ferry::config::parse(file, &text).map_err(|e| e.to_string())?;
    Policies::compile(&p, file, &text).map_err(|e| e.to_string())
}

fn pick(policy_yaml: &str, env: Option<&str>) -> Result<String, String> {
    let policies = compile(&format!(
        "  app:\n    image: 127.0.0.1:5000/team/app\n{policy_yaml}"
    ))?;
    let tags: Vec<String> = TAGS.iter().map(|s| s.to_string()).collect();
    let p = policies.get("app", env).expect("policy");
    p.choose(&tags).map(|c| c.tag).map_err(|e| e.to_string())
}

#[test]
fn policy_table() {
    let mut failures = Vec::new();
    for (yaml, want, why) in CASES {
        match pick(yaml, None) {
            Ok(got) if got == *want => {}
            other => failures.push(format!("{yaml}  want {want} ({why}), got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn skipped_tags_are_counted_and_nothing_unparseable_is_chosen() {
    let policies = compile(
        "  app:\n    image: ghcr.io/org/app\n    policy: {numerical: {}}\n    filterTags: {pattern: '^main-', extract: ''}\n",
    )
    .expect("compiles");
    let tags: Vec<String> = TAGS.iter().map(|s| s.to_string()).collect();
    let err = policies
        .get("app", None)
        .expect("policy")
        .choose(&tags)
        .expect_err("main-... tags are not numbers");
    assert_eq!(err.skipped.unparseable, 3, "{err}");
    assert_eq!(err.skipped.filtered, TAGS.len() - 3, "{err}");
    let p = compile("  app:\n    image: ghcr.io/org/app\n    policy: {semver: {range: '~1.2'}}\n")
        .expect("compiles");
    let p = p.get("app", None).expect("policy");
    let c = p.choose(&tags).expect("a choice");
    assert_eq!(c.candidates, 3, "1.2.2, 1.2.3, v1.2.5");
    assert!(
        c.skipped.unparseable > 10 && c.skipped.out_of_range > 3,
        "{c:?}"
    );
    assert!(p.reason(&c).contains("semver ~1.2"), "{}", p.reason(&c));
}

/// Registries refuse `+` in tags, so build metadata is checked here only: it does not order, a
/// tie keeps the first tag in lexical order (the order registries list tags in, which Flux's
/// strict "greater than" keeps too).
#[test]
fn build_metadata_does_not_order() {
    let p = compile("  app:\n    image: ghcr.io/org/app\n    policy: {semver: {range: '*'}}\n")
        .expect("compiles");
    let p = p.get("app", None).expect("policy");
    let tags = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        p.choose(&tags(&["1.0.0+b", "0.9.0", "1.0.0+a"]))
            .expect("ok")
            .tag,
        "1.0.0+a"
    );
    assert_eq!(
        p.choose(&tags(&["1.0.0+z", "1.0.1+a"])).expect("ok").tag,
        "1.0.1+a"
    );
    assert_eq!(
        p.choose(&tags(&["1.0.0+bad..x", "0.1.0"])).expect("ok").tag,
        "0.1.0"
    );
}

#[test]
fn environment_overrides() {
    let images = "  app:\n    image: ghcr.io/org/app\n    policy: {semver: {range: '>=1.2.0-0'}}\n    overrides:\n      prod:\n        policy: {semver: {range: '~1.2'}}\n        digest: true\n";
    let tags: Vec<String> = TAGS.iter().map(|s| s.to_string()).collect();
    let p = compile(images).expect("compiles");
    let staging = p.get("app", Some("staging")).expect("base");
    let prod = p.get("app", Some("prod")).expect("prod");
    assert_eq!(staging.choose(&tags).expect("ok").tag, "2.0.0");
    assert!(!staging.digest);
    assert_eq!(prod.choose(&tags).expect("ok").tag, "v1.2.5");
    assert!(prod.digest);
    assert_eq!(p.all().len(), 2);
}

#[test]
fn downgrades_are_recognised() {
    use ferry::images::policy::Versus;
    let p = compile("  app:\n    image: ghcr.io/org/app\n    policy: {semver: {range: '~1.2'}}\n")
        .expect("compiles");
    let p = p.get("app", None).expect("policy");
    assert_eq!(p.compare("1.2.5", "2.0.0"), Versus::Older);
    assert_eq!(p.compare("1.2.5", "1.2.3"), Versus::Newer);
    assert_eq!(p.compare("1.2.5", "latest"), Versus::Incomparable);
}

#[test]
fn configuration_errors_name_key_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "  app:\n    image: ghcr.io/org/app\n    policy: {latest: {}}\n",
            "ferry.yaml:11: images.app.policy.latest: unknown field `latest`, expected one of `semver`, `alphabetical`, `numerical`",
        ),
        (
            "  app:\n    image: ghcr.io/org/app\n    policy:\n      semver: {range: '>=1.x.2'}\n",
            "ferry.yaml:12: images.app.policy.semver.range: invalid semver range `>=1.x.2`",
        ),
        (
            "  app:\n    image: ghcr.io/org/app\n    policy: {}\n",
            "ferry.yaml:11: images.app.policy: no ordering is given",
        ),
        (
            "  app:\n    image: ghcr.io/org/app\n    policy: {alphabetical: {order: up}}\n",
            "images.app.policy.alphabetical.order: unknown order `up`",
        ),
        (
            "  app:\n    image: ghcr.io/org/app:1.0\n    policy: {numerical: {}}\n",
            "ferry.yaml:10: images.app.image: `ghcr.io/org/app:1.0`: an image policy names a repository, not a tag",
        ),
        (
            "  app:\n    image: ghcr.io/org/app\n    policy: {numerical: {}}\n    filterTags:\n      pattern: '^(?P<ts>[0-9]+'\n",
            "ferry.yaml:13: images.app.filterTags.pattern: invalid regular expression",
        ),
        (
            "  app:\n    image: ghcr.io/org/app\n    policy: {numerical: {}}\n    filterTags:\n      pattern: '^(?P<ts>[0-9]+)$'\n      extract: '$stamp'\n",
            "ferry.yaml:14: images.app.filterTags.extract: `$stamp` names no group of the pattern",
        ),
        (
            "  app:\n    image: ghcr.io/org/app\n    policy: {numerical: {}}\n    overrides:\n      qa: {digest: true}\n",
            "ferry.yaml:13: images.app.overrides.qa: unknown environment `qa`",
        ),
        (
            "  app:\n    image: ghcr.io/org/app\n    policy: {numerical: {}}\n    overrides:\n      prod:\n        policy:\n          semver: {range: 'one'}\n",
            "ferry.yaml:15: images.app.overrides.prod.policy.semver.range: invalid semver range `one`",
        ),
    ];
    for (images, want) in cases {
        let err = compile(images).expect_err(images);
        assert!(err.contains(want), "want {want:?}\ngot  {err}");
    }
}
