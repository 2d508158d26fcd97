//! `ferry diff --against pushed` and `oci://` sides of `ferry diff`, against a real registry
//! (CNCF distribution): the signing keys come from ferry.yaml (`signing:`), `ferry push` signs
//! with them, and every pull verifies with them before anything is compared.

mod common;

use common::registry::{self, Registry};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

fn configmap(value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  greeting: {value}\n")
}

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n";

struct Repo {
    tmp: tempfile::TempDir,
    addr: String,
}

impl Repo {
    /// A pipeline with two environments pushed to the registry at `addr`, signed with the
    /// (untracked) key pair under keys/ that ferry.yaml names.
    fn new(addr: &str) -> Repo {
        let tmp = tempfile::tempdir().expect("tempdir");
        let r = Repo {
            tmp,
            addr: addr.to_string(),
        };
        let root = r.root();
        registry::keygen(r.tmp.path(), &root.join("keys"), "cosign");
        registry::keygen(r.tmp.path(), &root.join("keys"), "other");
        std::fs::write(root.join(".gitignore"), "keys/\nout/\n").expect("write");
        std::fs::write(
            root.join("ferry.yaml"),
            format!(
                "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nsigning:\n  key: keys/cosign.key\n  publicKey: keys/cosign.pub\nenvironments:\n  staging:\n    artifact: {addr}/platform/staging\n  prod:\n    artifact: {addr}/platform/prod\napps:\n  web:\n    namespace: shop\n    path: apps/web\n"
            ),
        )
        .expect("write");
        r.write("apps/web/configmap.yaml", &configmap("hello"));
        r.write("apps/web/service.yaml", SERVICE);
        common::git(&root, &["init", "-q", "-b", "main"]);
        common::commit_all(&root, "v1");
        r
    }

    fn root(&self) -> PathBuf {
        let p = self.tmp.path().join("repo");
        std::fs::create_dir_all(&p).expect("mkdir");
        p
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().expect("in a directory")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    fn key(&self, name: &str) -> String {
        self.root().join("keys").join(name).display().to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        registry::ferry(self.tmp.path())
            .arg("-C")
            .arg(self.root())
            .args(args)
            .output()
            .expect("ferry runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "ferry {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Exit code, stdout, stderr.
    fn diff(&self, args: &[&str]) -> (i32, String, String) {
        let o = self.run(&[&["diff"], args].concat());
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn artifact(&self, env: &str) -> String {
        format!("oci://{}/platform/{env}:latest", self.addr)
    }
}

fn counts(doc: &Value, env: &str) -> (u64, u64, u64, u64) {
    let e = doc["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .find(|e| e["name"] == env)
        .unwrap_or_else(|| panic!("{env} in {doc}"));
    let n = |k: &str| e[k].as_u64().expect("count");
    (n("added"), n("removed"), n("changed"), n("unchanged"))
}

#[test]
fn diff_against_pushed_shows_exactly_the_change_since_the_push() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let repo = Repo::new(&reg.addr);
    repo.ok(&["build", "-q"]);
    // No --key: ferry.yaml's `signing.key` signs every environment.
    let pushed: Value =
        serde_json::from_str(&repo.ok(&["push", "-q", "--output", "json"])).expect("json");
    let pushed = pushed.as_array().expect("one report per environment");
    assert_eq!(pushed.len(), 2);
    for p in pushed {
        assert!(p["push"]["signature"].is_string(), "signed: {p}");
    }
    // ...and its `signing.publicKey` verifies, with no flag.
    repo.ok(&["verify", &repo.artifact("prod")]);
    let pulled = repo.tmp.path().join("pulled");
    repo.ok(&[
        "pull",
        &repo.artifact("prod"),
        "-o",
        pulled.to_str().expect("utf8"),
    ]);
    assert!(pulled.join("index.json").is_file());

    let (code, out, err) = repo.diff(&["--against", "pushed"]);
    assert_eq!(code, 0, "nothing changed since the push:\n{out}\n{err}");
    assert!(err.contains("signature verified"), "{err}");

    repo.write("apps/web/configmap.yaml", &configmap("bonjour"));
    common::commit_all(&repo.root(), "v2");
    let (code, out, err) = repo.diff(&["--against", "pushed", "--output", "json"]);
    assert_eq!(code, 1, "a change exits 1:\n{err}");
    let doc: Value = serde_json::from_str(&out).expect("json");
    for env in ["prod", "staging"] {
        assert_eq!(
            counts(&doc, env),
            (0, 0, 1, 1),
            "{env}: one change, one same"
        );
    }
    let changes = doc["changes"].as_array().expect("changes");
    assert_eq!(
        changes.len(),
        1,
        "the same change in both, shown once: {out}"
    );
    assert_eq!(changes[0]["kind"], "ConfigMap");
    assert_eq!(
        changes[0]["environments"],
        serde_json::json!(["prod", "staging"])
    );
    let d = changes[0]["diff"].as_str().expect("diff");
    assert!(
        d.contains("-  greeting: hello") && d.contains("+  greeting: bonjour"),
        "{d}"
    );

    // One environment; the artifact at another tag (the short commit push tagged it with).
    let (code, out, _) = repo.diff(&["--against", "pushed", "staging", "--output", "json"]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["environments"].as_array().map(Vec::len), Some(1));
    let (code, _, err) = repo.diff(&["--against", "pushed", "--tag", "no-such-tag"]);
    assert_eq!(code, 2, "{err}");

    // The working tree as the new side: an uncommitted revert means no changes again.
    repo.write("apps/web/configmap.yaml", &configmap("hello"));
    let (code, out, err) = repo.diff(&["--against", "pushed", "--worktree"]);
    assert_eq!(code, 0, "{out}\n{err}");

    // A wrong key is refused, whether it is a flag or the variable... and ferry.yaml's key
    // wins over the variable.
    let other = repo.key("other.pub");
    let (code, out, err) = repo.diff(&["--against", "pushed", "--key", &other]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("no signature on"), "{err}");
    let o = registry::ferry(repo.tmp.path())
        .arg("-C")
        .arg(repo.root())
        .args(["diff", "--against", "pushed", "--worktree"])
        .env("FERRY_VERIFY_KEY", &other)
        .output()
        .expect("ferry");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let (code, _, err) = repo.diff(&["--against", "pushed", "--offline"]);
    assert_eq!(code, 2);
    assert!(err.contains("offline"), "{err}");
}

#[test]
fn an_artifact_is_a_side_of_ferry_diff() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let repo = Repo::new(&reg.addr);
    repo.ok(&["build", "-q", "staging"]);
    repo.ok(&["push", "-q", "staging"]);
    let staging = repo.artifact("staging");
    let out_dir = repo.root().join("out/staging");
    let out_dir = out_dir.to_str().expect("utf8");

    let (code, out, err) = repo.diff(&[&staging, &staging]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, _, err) = repo.diff(&[&staging, out_dir]);
    assert_eq!(
        code, 0,
        "the artifact is the build it was pushed from: {err}"
    );

    std::fs::remove_file(repo.root().join("apps/web/service.yaml")).expect("rm");
    common::commit_all(&repo.root(), "drop the service");
    repo.ok(&["build", "-q", "staging"]);
    let (code, out, err) = repo.diff(&[&staging, out_dir, "--output", "json"]);
    assert_eq!(code, 1, "{err}");
    let doc: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(counts(&doc, "staging"), (0, 1, 0, 1));

    // ferry.yaml's key wins over the variable, so this push is signed.
    let also_signed = format!("oci://{}/platform/also-signed", reg.addr);
    let o = registry::ferry(repo.tmp.path())
        .arg("-C")
        .arg(repo.root())
        .args(["push", "-q", "staging", "--to", &also_signed])
        .env("FERRY_SIGNING_KEY", "/nonexistent/ignored.key")
        .output()
        .expect("ferry");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, _, err) = repo.diff(&[&format!("{also_signed}:latest"), out_dir]);
    assert_eq!(code, 0, "{err}");

    // Without a signing key the push is unsigned; comparing with it is refused unless
    // skipping the signature is spelled out.
    std::fs::write(
        repo.root().join("ferry.yaml"),
        std::fs::read_to_string(repo.root().join("ferry.yaml"))
            .expect("read")
            .replace("  key: keys/cosign.key\n", ""),
    )
    .expect("write");
    let bare = format!("oci://{}/platform/bare", reg.addr);
    repo.ok(&["push", "-q", "staging", "--to", &bare]);
    let bare_latest = format!("{bare}:latest");
    let (code, _, err) = repo.diff(&[&bare_latest, out_dir]);
    assert_eq!(code, 2);
    assert!(err.contains("has no cosign signature"), "{err}");
    let (code, _, err) = repo.diff(&[&bare_latest, out_dir, "--insecure-skip-verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("signature NOT checked"), "{err}");
}

/// A configured key file that is missing points at the ferry.yaml line naming it.
#[test]
fn a_missing_configured_key_names_its_line() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let repo = Repo::new(&reg.addr);
    repo.ok(&["build", "-q", "staging"]);
    std::fs::remove_file(repo.root().join("keys/cosign.key")).expect("rm");
    let o = repo.run(&["push", "staging"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ferry.yaml:4: signing.key"), "{err}");
    assert!(err.contains("cosign.key"), "{err}");
}

/// An environment's own `signing:` signs and verifies that environment; the others use the
/// top level's. A key that cannot be opened stops `ferry push` before anything is pushed.
#[test]
fn each_environment_is_signed_and_verified_with_its_own_configured_key() {
    let Some(reg) = Registry::start() else {
        return;
    };
    let repo = Repo::new(&reg.addr);
    let yaml = repo.root().join("ferry.yaml");
    let text = std::fs::read_to_string(&yaml).expect("read");
    let prod = format!("    artifact: {}/platform/prod\n", reg.addr);
    std::fs::write(
        &yaml,
        text.replace(
            &prod,
            &format!(
                "{prod}    signing:\n      key: keys/other.key\n      publicKey: keys/other.pub\n"
            ),
        ),
    )
    .expect("write");
    common::commit_all(&repo.root(), "prod has its own key");
    repo.ok(&["build", "-q"]);

    let o = registry::ferry(repo.tmp.path())
        .arg("-C")
        .arg(repo.root())
        .args(["push", "-q"])
        .env("COSIGN_PASSWORD", "not-the-password")
        .output()
        .expect("ferry");
    assert_eq!(o.status.code(), Some(2));
    let o = repo.run(&["verify", &repo.artifact("staging")]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not found"), "nothing was pushed: {err}");

    repo.ok(&["push", "-q"]);
    repo.ok(&["verify", &repo.artifact("prod")]);
    repo.ok(&["verify", &repo.artifact("staging")]);
    let cosign = repo.key("cosign.pub");
    let o = repo.run(&["verify", &repo.artifact("prod"), "--key", &cosign]);
    assert_eq!(o.status.code(), Some(2), "prod is signed with its own key");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no signature on"));
}
