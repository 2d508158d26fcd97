//! `ferry images scan/update` through the bearer token flow of the real CNCF distribution
//! registry (`auth: token`), with a specification-following token server on loopback
//! (`token_server`: none can be installed from the package registries here). The registry
//! verifies every token itself (signature against its `rootcertbundle`, issuer, audience,
//! expiry, the `access` claim), so a scan that succeeds went through the whole flow: anonymous
//! try, the registry's challenge, a token for `repository:NAME:pull` from the realm with the
//! credentials of `--creds` or Docker's config, the request again with the token.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

mod common;
mod token_server;

use common::{git, git_output};
use token_server::{status_of, Account, TokenRegistry, TokenServer, TokenSigner};

const TAGS: &[&str] = &[
    "1.0.0",
    "1.2.3",
    "1.2.4",
    "1.3.0-rc.1",
    "1.3.0",
    "2.0.0-beta.1",
    "latest",
];

fn accounts() -> Vec<Account> {
    vec![
        Account {
            user: "pusher",
            password: "push-pw",
            grants: &[("team/app", &["pull", "push"])],
        },
        Account {
            user: "robot",
            password: "robot-pw",
            grants: &[("team/app", &["pull"])],
        },
        // A valid login that may read another repository only.
        Account {
            user: "other",
            password: "other-pw",
            grants: &[("team/other", &["pull"])],
        },
    ]
}

/// One small image manifest per tag, pushed by `pusher` through the token flow (oci-client's).
fn push_tags(addr: &str) -> BTreeMap<String, String> {
    let tags: Vec<String> = TAGS.iter().map(|t| t.to_string()).collect();
    common::registry::push_image_tags(addr, "team/app", &tags, Some(("pusher", "push-pw")))
}

struct Setup {
    tmp: tempfile::TempDir,
    tokens: TokenServer,
    signer: Arc<TokenSigner>,
    registry: TokenRegistry,
}

impl Setup {
    fn root(&self) -> std::path::PathBuf {
        self.tmp.path().join("repo")
    }
    fn ferry(&self, args: &[&str]) -> Output {
        common::registry::ferry(self.tmp.path())
            .arg("-C")
            .arg(self.root())
            .args(args)
            .env_remove("FERRY_GIT_AUTHOR")
            .env_remove("FERRY_GIT_COMMITTER")
            .output()
            .expect("ferry runs")
    }
    fn refused(&self, args: &[&str]) -> String {
        let out = self.ferry(args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "ferry {args:?}:\n{text}");
        text
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.ferry(args);
        assert!(
            out.status.success(),
            "ferry {args:?}:\n{}\n{}\nregistry log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.registry.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn setup() -> Option<Setup> {
    let bin = common::require_tool("docker-registry")?;
    let signer = Arc::new(TokenSigner::new("ferry test token issuer"));
    let tokens = TokenServer::start(signer.clone(), accounts());
    let registry = TokenRegistry::start(&bin, &tokens.addr, &signer.cert_pem);
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = Setup {
        tmp,
        tokens,
        signer,
        registry,
    };
    let root = s.root();
    std::fs::create_dir_all(root.join("apps/web")).expect("mkdir");
    std::fs::write(
        root.join("ferry.yaml"),
        format!(
            "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  prod: {{}}\napps:\n  web:\n    path: apps/web\nimages:\n  app:\n    image: {}/team/app\n    policy:\n      semver: {{range: '>=1.0.0 <2.0.0'}}\n    digest: true\n",
            s.registry.addr
        ),
    )
    .expect("write");
    std::fs::write(
        root.join("apps/web/deployment.yaml"),
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: {}/team/app:1.0.0 # {{\"$imagepolicy\": \"flux-system:app\"}}\n", s.registry.addr),
    )
    .expect("write");
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["config", "user.name", "Repo Owner"]);
    git(&root, &["config", "user.email", "owner@example.com"]);
    common::commit_all(&root, "initial");
    Some(s)
}

#[test]
fn the_registry_enforces_the_tokens_of_the_token_server() {
    let Some(s) = setup() else { return };
    let addr = &s.registry.addr;
    push_tags(addr);
    let list = "/v2/team/app/tags/list";

    // No token: the registry's challenge names our realm, its service and the pull scope.
    assert_eq!(status_of(addr, list, None), Some(401));
    let ch = token_server::challenge_of(addr, list);
    assert_eq!(ch["realm"], format!("http://{}/token", s.tokens.addr));
    assert_eq!(ch["service"], token_server::SERVICE);
    assert_eq!(ch["scope"], "repository:team/app:pull");

    let pull = vec![("team/app".to_string(), vec!["pull".to_string()])];
    // A token the server would issue is accepted...
    let good = s.signer.token("robot", &pull, 300);
    assert_eq!(
        status_of(addr, list, Some(&format!("Bearer {good}"))),
        Some(200)
    );
    // ...the same claims signed by a key the registry does not trust are not,
    let forger = TokenSigner::new("ferry test token issuer");
    let forged = forger.token("robot", &pull, 300);
    assert_eq!(
        status_of(addr, list, Some(&format!("Bearer {forged}"))),
        Some(401)
    );
    // nor an expired token (beyond distribution's leeway), nor one for another repository.
    let expired = s.signer.token("robot", &pull, -600);
    assert_eq!(
        status_of(addr, list, Some(&format!("Bearer {expired}"))),
        Some(401)
    );
    let elsewhere = s.signer.token(
        "other",
        &[("team/other".to_string(), vec!["pull".to_string()])],
        300,
    );
    assert_eq!(
        status_of(addr, list, Some(&format!("Bearer {elsewhere}"))),
        Some(401)
    );
}

#[test]
fn scan_and_update_through_the_bearer_token_flow() {
    let Some(s) = setup() else { return };
    let addr = s.registry.addr.clone();
    let digests = push_tags(&addr);
    s.tokens.take_log();
    let root = s.root();
    let head = git_output(&root, &["rev-parse", "HEAD"]);
    let unchanged = |what: &str| {
        assert_eq!(git_output(&root, &["rev-parse", "HEAD"]), head, "{what}");
        assert_eq!(git_output(&root, &["status", "--porcelain"]), "", "{what}");
    };

    // Each refusal: the error says what to do, nothing is written, and the token server saw
    // the attempt. Anonymous: a token that grants nothing, which the registry refuses. A wrong
    // password: the token server refuses. A valid login without access to the repository: the
    // registry refuses its token.
    for (creds, seen) in [
        (
            None,
            "- [\"repository:team/app:pull\"] -> [(\"team/app\", [])]",
        ),
        (
            Some("robot:wrong"),
            "robot refused ([\"repository:team/app:pull\"])",
        ),
        (
            Some("other:other-pw"),
            "other [\"repository:team/app:pull\"] -> [(\"team/app\", [])]",
        ),
    ] {
        let mut args = vec!["images", "update", "--cache-ttl", "0"];
        args.extend(creds.iter().flat_map(|c| ["--creds", *c]));
        let err = s.refused(&args);
        assert!(
            err.contains("access denied") && err.contains("--creds"),
            "{creds:?}: {err}"
        );
        unchanged(&format!("{creds:?}"));
        let log = s.tokens.take_log();
        assert!(log.iter().any(|l| l == seen), "{creds:?}: {log:#?}");
    }

    // Docker's config.json holds the robot's login for this registry: the scan uses it.
    std::fs::write(
        s.tmp.path().join("docker/config.json"),
        serde_json::json!({"auths": {addr.as_str(): {"auth": base64_of("robot:robot-pw")}}})
            .to_string(),
    )
    .expect("docker config");
    let out = s.ok(&["images", "scan", "--cache-ttl", "0", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let d = &v["decisions"][0];
    assert_eq!(d["latest"], "1.3.0", "{out}");
    assert_eq!(d["digest"], digests["1.3.0"].as_str(), "{out}");
    assert_eq!(d["tags"], TAGS.len(), "{out}");
    let log = s.tokens.take_log();
    assert!(
        !log.is_empty()
            && log.iter().all(
                |l| l == "robot [\"repository:team/app:pull\"] -> [(\"team/app\", [\"pull\"])]"
            ),
        "one pull scope, granted to robot: {log:#?}"
    );
    std::fs::remove_file(s.tmp.path().join("docker/config.json")).expect("rm");

    // --creds, and the update becomes a commit.
    let out = s.ok(&[
        "images",
        "update",
        "--cache-ttl",
        "0",
        "--creds",
        "robot:robot-pw",
        "--author",
        "Image Bot <bot@example.com>",
    ]);
    let want = format!("{addr}/team/app:1.3.0@{}", digests["1.3.0"]);
    assert!(
        out.contains(&format!(
            "apps/web/deployment.yaml:10: {addr}/team/app:1.0.0 -> {want}"
        )),
        "{out}"
    );
    let show = git_output(&root, &["show", "HEAD", "--format=%an"]);
    assert!(show.starts_with("Image Bot"), "{show}");
    assert!(
        show.contains(&format!("+          image: {want} # ")),
        "{show}"
    );
    assert_eq!(git_output(&root, &["status", "--porcelain"]), "");
    assert!(Path::new(&root.join("apps/web/deployment.yaml")).is_file());
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
