//! Sigstore bundles (cosign v3's signature format) as OCI 1.1 referrers, against the real CNCF
//! distribution registry started by `../shared/tools/registry.sh`. Distribution 2.8 has no
//! referrers API (it answers 404), so these run through the referrers tag schema; the tests
//! check which the registry does and hold either way. Hostile content is written with ferry's
//! own registry client, the verdicts come from the `ferry` binary. Interop both ways with the
//! Sigstore JavaScript libraries (`@sigstore/verify`, `@sigstore/sign`), installed by
//! `cargo xtask test`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::registry::{self as creg, Registry};
use ferry::artifact::oci::Registry as Client;
use ferry::artifact::oci_json::digest_of;
use ferry::artifact::referrers::{self, MAX_BUNDLES};
use ferry::artifact::sign::{bundle, keys, SigningKey};
use ferry::artifact::{ArtifactRef, RegistryOptions};
use serde_json::{json, Value};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// A registry, a key pair made by `ferry keygen` (and a second one), a build output.
struct Setup {
    reg: Registry,
    tmp: tempfile::TempDir,
    key: SigningKey,
    public: String,
    other_public: String,
}

impl Setup {
    fn new() -> Option<Setup> {
        let reg = Registry::start()?;
        let tmp = tempfile::tempdir().expect("tempdir");
        let keydir = tmp.path().join("keys");
        let (key_file, public) = creg::keygen(tmp.path(), &keydir, "cosign");
        let (_, other_public) = creg::keygen(tmp.path(), &keydir, "other");
        let text = std::fs::read_to_string(&key_file).expect("key");
        let key = keys::parse_private(&key_file, &text, || Ok(creg::PASSWORD.as_bytes().to_vec()))
            .expect("open key");
        env_dir(tmp.path());
        Some(Setup {
            reg,
            tmp,
            key,
            public: public.display().to_string(),
            other_public: other_public.display().to_string(),
        })
    }

    fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    fn target(&self, repo: &str) -> ArtifactRef {
        ArtifactRef::parse(&format!("{}/{repo}", self.reg.addr)).expect("ref")
    }

    fn run(&self, args: &[&str]) -> Output {
        creg::ferry(self.tmp.path())
            .args(args)
            .output()
            .expect("ferry runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        common::succeeded(args, self.run(args))
    }

    /// Fails with exit code 2; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        common::refused(args, self.run(args))
    }

    /// `ferry push staging --to oci://REG/REPO` with `extra`; the push report.
    fn push(&self, repo: &str, extra: &[&str]) -> Value {
        let root = self.path("repo");
        let to = format!("oci://{}/{repo}", self.reg.addr);
        let mut args = vec![
            "-C",
            root.to_str().expect("utf8"),
            "push",
            "staging",
            "--to",
            &to,
            "--tag",
            "v1",
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        let v: Value = serde_json::from_str(&self.ok(&args)).expect("json");
        v[0]["push"].clone()
    }

    fn client(&self) -> Client {
        Client::connect(&self.target("x"), "test", &RegistryOptions::default()).expect("client")
    }

    /// `ferry verify` of `repo:v1` with `key`, as JSON.
    fn verify(&self, repo: &str, key: &str) -> Value {
        let r = format!("oci://{}/{repo}:v1", self.reg.addr);
        let out = self.ok(&["verify", &r, "--key", key, "--output", "json"]);
        serde_json::from_str(&out).expect("verify json")
    }

    /// `ferry pull` of `repo:v1` with `key` fails saying `want`, and unpacks nothing.
    fn refused(&self, repo: &str, key: &str, want: &str) -> String {
        let dest = self.path("dest");
        let r = format!("oci://{}/{repo}:v1", self.reg.addr);
        let err = self.fails(&["pull", &r, "-o", dest.to_str().expect("utf8"), "--key", key]);
        assert!(err.contains(want), "want {want:?} in:\n{err}");
        assert!(!dest.exists(), "nothing may be unpacked");
        err
    }
}

/// A hand-made build output with an index.json listing its file and digest, like `ferry build`
/// writes (push refuses a directory whose files and index disagree).
fn env_dir(tmp: &Path) {
    let env = tmp.join("repo/out/staging");
    std::fs::create_dir_all(env.join("app")).expect("mkdir");
    let path = "app/configmap_default_app.yaml";
    let text = "apiVersion: v1\nkind: ConfigMap\n";
    std::fs::write(env.join(path), text).expect("write");
    let digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()))
    );
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "app",
        "namespace": "default", "path": path, "digest": digest});
    let apps = json!({"app": {"renderer": "plain", "namespace": "default",
        "inputDigest": "sha256:00", "inputs": {}, "objects": [object]}});
    let index = json!({
        "apiVersion": "ferry.dev/v1alpha1",
        "kind": "BuildIndex",
        "environment": "staging",
        "source": {"revision": format!("main@sha1:{COMMIT}"), "commit": COMMIT, "branch": "main", "created": "2026-01-02T03:04:05Z", "worktree": false},
        "apps": apps,
    });
    std::fs::write(env.join("index.json"), index.to_string()).expect("write");
}

/// The referrers tag schema's index for `digest`, or `None`.
fn tag_index(c: &Client, target: &ArtifactRef, digest: &str) -> Option<Value> {
    match c.index(&target.with_tag(&referrers::tag_schema_tag(digest))) {
        Ok((bytes, _)) => Some(serde_json::from_slice(&bytes).expect("index json")),
        Err(ferry::artifact::RegistryError::NotFound { .. }) => None,
        Err(e) => panic!("{e}"),
    }
}

fn set_index(c: &Client, target: &ArtifactRef, digest: &str, entries: &[Value]) {
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    });
    c.push_manifest(
        &target.with_tag(&referrers::tag_schema_tag(digest)),
        &serde_json::to_vec(&index).expect("json"),
        "application/vnd.oci.image.index.v1+json",
    )
    .expect("put index");
}

/// Stores a manifest by digest; returns its index entry (typed `artifact_type`).
fn put(c: &Client, target: &ArtifactRef, manifest: &[u8], artifact_type: &str) -> Value {
    let digest = digest_of(manifest);
    c.push_manifest(
        &target.with_digest(&digest),
        manifest,
        "application/vnd.oci.image.manifest.v1+json",
    )
    .expect("put manifest");
    json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": manifest.len(),
        "artifactType": artifact_type,
    })
}

/// A bundle referrer holding `bundle` whose manifest names `subject` (of `size` bytes).
fn put_bundle(
    c: &Client,
    target: &ArtifactRef,
    bundle: &[u8],
    subject: &str,
    size: usize,
) -> Value {
    c.push_blob(target, referrers::EMPTY_CONFIG)
        .expect("config");
    c.push_blob(target, bundle).expect("bundle blob");
    put(
        c,
        target,
        &referrers::bundle_manifest(bundle, subject, size),
        BUNDLE_TYPE,
    )
}

/// The bundle a referrer entry holds.
fn bundle_of(c: &Client, target: &ArtifactRef, entry: &Value) -> Vec<u8> {
    let digest = entry["digest"].as_str().expect("digest");
    let (bytes, _) = c.manifest(&target.with_digest(digest)).expect("referrer");
    let m: Value = serde_json::from_slice(&bytes).expect("json");
    let layer = &m["layers"][0];
    c.blob(
        target,
        layer["digest"].as_str().expect("digest"),
        layer["size"].as_u64().expect("size"),
        1 << 20,
    )
    .expect("bundle")
}

fn edit_json(bytes: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).expect("json");
    f(&mut v);
    serde_json::to_vec(&v).expect("json")
}

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn unb64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

/// The HTTP status of the registry's referrers API for `digest` in `repo`.
fn referrers_api_status(addr: &str, repo: &str, digest: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://{addr}/v2/{repo}/referrers/{digest}"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn push_attaches_a_bundle_referrer_and_verify_reads_both_formats() {
    let Some(s) = Setup::new() else {
        return;
    };
    let c = s.client();
    let both = s.push(
        "platform/both",
        &["--key", &s.path("keys/cosign.key").display().to_string()],
    );
    let digest = both["digest"].as_str().expect("digest").to_string();
    assert!(
        both["signature"]
            .as_str()
            .expect("v2 tag")
            .ends_with(".sig"),
        "{both}"
    );
    let referrer = both["bundle"]
        .as_str()
        .expect("bundle referrer")
        .to_string();
    let target = s.target("platform/both");

    // What distribution serves: no referrers API (404), so ferry kept the tag schema's index.
    let api = referrers_api_status(&s.reg.addr, "platform/both", &digest);
    let index = tag_index(&c, &target, &digest);
    if api == "404" {
        let index = index.expect("the referrers tag schema index");
        let entries = index["manifests"].as_array().expect("manifests");
        assert_eq!(entries.len(), 1, "{index}");
        assert_eq!(entries[0]["artifactType"], BUNDLE_TYPE);
        assert!(referrer.ends_with(entries[0]["digest"].as_str().expect("digest")));
    } else {
        assert_eq!(api, "200", "referrers API");
        assert!(index.is_none(), "a registry with the API needs no tag");
    }
    // The referrer: cosign's layout, bound to the artifact by its subject.
    let rdigest = referrer.rsplit('@').next().expect("digest");
    let (bytes, _) = c.manifest(&target.with_digest(rdigest)).expect("referrer");
    let m: Value = serde_json::from_slice(&bytes).expect("json");
    let (artifact, _) = c.manifest(&target.with_digest(&digest)).expect("artifact");
    assert_eq!(m["artifactType"], BUNDLE_TYPE);
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(m["subject"]["digest"], digest.as_str());
    assert_eq!(m["subject"]["size"], artifact.len());
    assert_eq!(m["layers"][0]["mediaType"], BUNDLE_TYPE);
    assert_eq!(
        m["annotations"]["dev.sigstore.bundle.content"],
        "dsse-envelope"
    );
    // The artifact itself carries the OCI 1.1 artifactType, the Flux config type.
    let a: Value = serde_json::from_slice(&artifact).expect("json");
    assert_eq!(
        a["artifactType"],
        "application/vnd.cncf.flux.config.v1+json"
    );

    // The bundle is found first; the .sig tag is still there for v2 verifiers.
    assert_eq!(
        s.verify("platform/both", &s.public)["signatureFormat"],
        "bundle"
    );
    // Pushing again adds nothing: the same bundle, the same single index entry.
    let again = s.push(
        "platform/both",
        &["--key", &s.path("keys/cosign.key").display().to_string()],
    );
    assert_eq!(again["bundle"], both["bundle"]);
    if api == "404" {
        let index = tag_index(&c, &target, &digest).expect("index");
        assert_eq!(index["manifests"].as_array().expect("list").len(), 1);
    }

    let key = s.path("keys/cosign.key").display().to_string();
    let v2 = s.push("platform/v2", &["--key", &key, "--signature-format", "v2"]);
    assert!(
        v2["bundle"].is_null() && v2["signature"].is_string(),
        "{v2}"
    );
    let v2digest = v2["digest"].as_str().expect("digest");
    assert!(tag_index(&c, &s.target("platform/v2"), v2digest).is_none());
    assert_eq!(s.verify("platform/v2", &s.public)["signatureFormat"], "v2");

    let b = s.push(
        "platform/bundle",
        &["--key", &key, "--signature-format", "bundle"],
    );
    assert!(b["signature"].is_null() && b["bundle"].is_string(), "{b}");
    let sig_tag = s.target("platform/bundle").with_tag(&format!(
        "{}.sig",
        b["digest"].as_str().expect("d").replace(':', "-")
    ));
    assert!(
        c.manifest(&sig_tag).is_err(),
        "no v2 tag with --signature-format bundle"
    );
    assert_eq!(
        s.verify("platform/bundle", &s.public)["signatureFormat"],
        "bundle"
    );
    s.refused("platform/bundle", &s.other_public, "signed by another key");
}

#[test]
fn tampered_foreign_and_mismatched_bundles_are_refused_saying_which() {
    let Some(s) = Setup::new() else {
        return;
    };
    let c = s.client();
    let repo = "platform/staging";
    let target = s.target(repo);
    let key = s.path("keys/cosign.key").display().to_string();
    let pushed = s.push(repo, &["--key", &key, "--signature-format", "bundle"]);
    let digest = pushed["digest"].as_str().expect("digest").to_string();
    let (artifact, _) = c.manifest(&target.with_digest(&digest)).expect("artifact");
    let size = artifact.len();
    let good_index = tag_index(&c, &target, &digest).expect("tag schema (distribution 2.8)");
    let good = good_index["manifests"][0].clone();
    let bundle = bundle_of(&c, &target, &good);
    let only = |entry: Value| set_index(&c, &target, &digest, &[entry]);

    s.refused(repo, &s.other_public, "signed by another key");

    // Another statement (a different repository name) under the original signature.
    let payload = edit_json(&bundle, |v| {
        let statement = String::from_utf8(unb64(v["dsseEnvelope"]["payload"].as_str().expect("p")))
            .expect("utf8")
            .replace(&format!("{}/{repo}", s.reg.addr), "evil.example/other");
        v["dsseEnvelope"]["payload"] = b64(statement.as_bytes()).into();
    });
    only(put_bundle(&c, &target, &payload, &digest, size));
    s.refused(
        repo,
        &s.public,
        "the payload or the signature was tampered with",
    );

    // The signature itself changed (one bit).
    let sig = edit_json(&bundle, |v| {
        let mut raw = unb64(
            v["dsseEnvelope"]["signatures"][0]["sig"]
                .as_str()
                .expect("sig"),
        );
        let n = raw.len() - 1;
        raw[n] ^= 1;
        v["dsseEnvelope"]["signatures"][0]["sig"] = b64(&raw).into();
    });
    only(put_bundle(&c, &target, &sig, &digest, size));
    s.refused(repo, &s.public, "tampered with");

    // A genuine bundle by the right key, but for another artifact, attached to this one.
    let other_digest = digest_of(b"another artifact");
    let foreign = bundle::sign_image(&s.key, &target.repository_name(), &other_digest);
    only(put_bundle(&c, &target, &foreign, &digest, size));
    let err = s.refused(repo, &s.public, "a bundle for another artifact");
    assert!(err.contains(&other_digest), "{err}");

    // A genuine bundle for this digest, made for another repository (copied from staging).
    let copied = bundle::sign_image(&s.key, "registry.example/platform/prod", &digest);
    only(put_bundle(&c, &target, &copied, &digest, size));
    s.refused(
        repo,
        &s.public,
        "made for repository registry.example/platform/prod",
    );

    // The genuine bundle, in a referrer whose subject is another manifest, listed here.
    only(put_bundle(&c, &target, &bundle, &other_digest, 10));
    s.refused(repo, &s.public, "a referrer of another artifact");

    // A keyless bundle: said plainly that it cannot be checked offline.
    let keyless = edit_json(&bundle, |v| {
        v["verificationMaterial"] = json!({"certificate": {"rawBytes": b64(b"not a certificate")}});
    });
    only(put_bundle(&c, &target, &keyless, &digest, size));
    s.refused(repo, &s.public, "keyless verification is not supported");

    // Untouched again, it pulls.
    only(good);
    let dest = s.path("dest");
    s.ok(&[
        "pull",
        &format!("oci://{}/{repo}:v1", s.reg.addr),
        "-o",
        dest.to_str().expect("utf8"),
        "--key",
        &s.public,
    ]);
    assert!(dest.join("app/configmap_default_app.yaml").is_file());
}

#[test]
fn hostile_referrer_lists_cost_bounded_work_and_never_panic() {
    let Some(s) = Setup::new() else {
        return;
    };
    let c = s.client();
    let repo = "platform/hostile";
    let target = s.target(repo);
    let key = s.path("keys/cosign.key").display().to_string();
    let pushed = s.push(repo, &["--key", &key, "--signature-format", "bundle"]);
    let digest = pushed["digest"].as_str().expect("digest").to_string();
    let (artifact, _) = c.manifest(&target.with_digest(&digest)).expect("artifact");
    let good = tag_index(&c, &target, &digest).expect("tag schema")["manifests"][0].clone();

    // Hundreds of unrelated referrers (an SBOM tool's, say): listed, never fetched.
    c.push_blob(&target, referrers::EMPTY_CONFIG)
        .expect("config");
    let unrelated: Vec<Value> = (0..300)
        .map(|i| {
            let m = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.example.sbom+json",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest_of(b"{}"), "size": 2},
                "layers": [],
                "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": artifact.len()},
                "annotations": {"n": i.to_string()},
            });
            put(&c, &target, &serde_json::to_vec(&m).expect("json"), "application/vnd.example.sbom+json")
        })
        .collect();
    // A loop: the artifact itself listed as its own bundle referrer, and the artifact listed
    // among the referrers of that entry. Referrers of referrers are never followed.
    let looped = put(&c, &target, &artifact, BUNDLE_TYPE);
    // A bundle blob far larger than any signature; a small one with a large payload; one that
    // is not JSON.
    let huge = format!(
        r#"{{"mediaType":"{BUNDLE_TYPE}","dsseEnvelope":{{"payload":"{}"}}}}"#,
        "A".repeat(2 << 20)
    );
    let huge = put_bundle(&c, &target, huge.as_bytes(), &digest, artifact.len());
    let big_payload = format!(
        r#"{{"mediaType":"{BUNDLE_TYPE}","verificationMaterial":{{"publicKey":{{"hint":""}}}},"dsseEnvelope":{{"payload":"{}","payloadType":"application/vnd.in-toto+json","signatures":[]}}}}"#,
        "A".repeat(200 << 10)
    );
    let big_payload = put_bundle(&c, &target, big_payload.as_bytes(), &digest, artifact.len());
    let malformed = put_bundle(&c, &target, b"{\"mediaType\": [", &digest, artifact.len());
    // A listing that lies about a referrer's size.
    let mut liar = malformed.clone();
    liar["size"] = json!(1u64 << 40);
    let other = digest_of(b"elsewhere");
    let strays: Vec<Value> = (0..MAX_BUNDLES)
        .map(|i| {
            let b = format!(r#"{{"stray":{i}}}"#);
            put_bundle(&c, &target, b.as_bytes(), &other, 1)
        })
        .collect();

    // The valid bundle behind more than MAX_BUNDLES bad ones: not reached, and said so.
    let mut entries = unrelated.clone();
    entries.extend([
        looped.clone(),
        huge.clone(),
        big_payload.clone(),
        malformed.clone(),
        liar.clone(),
    ]);
    entries.extend(strays.iter().cloned());
    entries.push(good.clone());
    set_index(&c, &target, &digest, &entries);
    let err = s.refused(repo, &s.public, "no signature on");
    for want in [
        "it has no subject",
        "larger than the limit",
        "the DSSE payload is over 65536 bytes",
        "not a Sigstore bundle",
        "over the 65536",
        "a referrer of another artifact",
        "more bundle referrer(s) not read",
        "no v2 signature",
    ] {
        assert!(err.contains(want), "want {want:?} in:\n{err}");
    }
    let reads = err.matches("bundle referrer sha256:").count();
    assert_eq!(reads, MAX_BUNDLES, "at most MAX_BUNDLES read:\n{err}");

    // Among the junk but within reach, the valid one is found.
    let mut entries = unrelated;
    entries.extend([looped, huge, big_payload, malformed, liar, good]);
    set_index(&c, &target, &digest, &entries);
    assert_eq!(s.verify(repo, &s.public)["signatureFormat"], "bundle");
}

/// `node_modules` holding the Sigstore JavaScript libraries, or `None` (SKIP).
fn sigstore_js() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRY_SIGSTORE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/gitops-peers/sigstore-js/node_modules")
        });
    common::require_tool("node")?;
    if dir.join("@sigstore/verify/package.json").is_file() {
        return Some(dir);
    }
    if common::peers_required() {
        panic!(
            "the Sigstore JavaScript libraries are not at {} (cargo xtask test installs them)",
            dir.display()
        );
    }
    eprintln!(
        "SKIP: no Sigstore JavaScript libraries at {}",
        dir.display()
    );
    None
}

fn node(modules: &Path, args: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sigstore_js.cjs");
    Command::new("node")
        .arg(script)
        .args(args)
        .env("PATH", common::test_path())
        .env("NODE_PATH", modules)
        .output()
        .expect("node runs")
}

#[test]
fn sigstore_js_verifies_ferrys_bundle_with_the_public_key() {
    let Some(modules) = sigstore_js() else {
        return;
    };
    let Some(s) = Setup::new() else {
        return;
    };
    let c = s.client();
    let repo = "platform/interop";
    let target = s.target(repo);
    let key = s.path("keys/cosign.key").display().to_string();
    let pushed = s.push(repo, &["--key", &key]);
    let digest = pushed["digest"].as_str().expect("digest").to_string();
    let entry = tag_index(&c, &target, &digest).expect("tag schema")["manifests"][0].clone();
    let file = s.path("ferry.bundle.json");
    std::fs::write(&file, bundle_of(&c, &target, &entry)).expect("write");
    let f = file.to_str().expect("utf8");

    let out = node(&modules, &["verify", f, &s.public, &digest]);
    assert!(
        out.status.success(),
        "@sigstore/verify refused ferry's bundle: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And it is a real check: the other key, or another digest, fail there too.
    let out = node(&modules, &["verify", f, &s.other_public, &digest]);
    assert!(!out.status.success(), "another key must fail");
    let out = node(&modules, &["verify", f, &s.public, &digest_of(b"x")]);
    assert!(!out.status.success(), "another digest must fail");
}

#[test]
fn ferry_verifies_a_bundle_signed_by_sigstore_js() {
    let Some(modules) = sigstore_js() else {
        return;
    };
    let Some(s) = Setup::new() else {
        return;
    };
    let c = s.client();
    let repo = "platform/from-js";
    let target = s.target(repo);
    let pushed = s.push(repo, &[]);
    assert!(
        pushed["signature"].is_null() && pushed["bundle"].is_null(),
        "unsigned push"
    );
    let digest = pushed["digest"].as_str().expect("digest").to_string();
    let (artifact, _) = c.manifest(&target.with_digest(&digest)).expect("artifact");
    s.refused(repo, &s.public, "has no cosign signature");

    let dir = s.path("js");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let out = node(
        &modules,
        &[
            "sign",
            dir.to_str().expect("utf8"),
            &target.repository_name(),
            &digest,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let js_bundle = std::fs::read(dir.join("js.bundle.json")).expect("bundle");
    let js_pub = dir.join("js.pub").display().to_string();
    referrers::attach_bundle(&c, &target, &digest, artifact.len(), &js_bundle).expect("attach");

    assert_eq!(s.verify(repo, &js_pub)["signatureFormat"], "bundle");
    s.refused(repo, &s.public, "signed by another key");

    // A bundle @sigstore/sign made for another digest is refused here.
    let out = node(
        &modules,
        &[
            "sign",
            dir.to_str().expect("utf8"),
            &target.repository_name(),
            &digest_of(b"x"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let foreign = std::fs::read(dir.join("js.bundle.json")).expect("bundle");
    let foreign_pub = dir.join("js.pub").display().to_string();
    let entry = put_bundle(&c, &target, &foreign, &digest, artifact.len());
    set_index(&c, &target, &digest, &[entry]);
    s.refused(repo, &foreign_pub, "a bundle for another artifact");
}
