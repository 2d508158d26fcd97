//! The leak scan on the bundled example, which holds a SOPS-encrypted Secret per environment:
//! after builds, a changed secret, a diff and a tampered file, no plaintext value (nor its
//! base64 or sha256) is in `out/`, the render cache, the artifact layer, any output or error.

mod common;
mod diff_fixture;

use diff_fixture::assert_no_leak;
use std::io::Read;
use std::path::Path;
use std::process::Output;

const VALUES: &[&str] = &[
    "demo-staging-password-not-real",
    "demo-prod-password-not-real",
    "rotated-prod-password-Qx81",
];

/// Every file's bytes under `dir`, lossily as text.
fn all_text(dir: &Path) -> String {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default()).into_owned())
        .collect()
}

fn logs(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn no_plaintext_in_out_cache_artifact_logs_diffs_or_errors() {
    if common::require_tool("helm").is_none() || common::require_tool("kubectl").is_none() {
        return;
    }
    let repo = common::example_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().expect("tempdir");
    let mut seen = String::new();
    let build = |extra: &[&str]| {
        common::ferry(cache.path())
            .args(["build", "-C"])
            .arg(r)
            .args(extra)
            .output()
            .expect("ferry runs")
    };
    for extra in [&[][..], &["--output", "json"], &["--no-cache"]] {
        let o = build(extra);
        assert!(o.status.success(), "{}", logs(&o));
        seen.push_str(&logs(&o));
    }
    let sealed = r.join("out/prod/db-credentials/secret_podinfo_db-credentials.yaml");
    let text = std::fs::read_to_string(&sealed).expect("the Secret was written");
    assert!(text.contains("ENC[AES256_GCM"), "sealed: {text}");

    // A new value, committed encrypted the way a person does it: `ferry secrets set`-like
    // editing through decrypt + encrypt in memory, here with the library.
    let file = r.join("apps/db/prod/secret.yaml");
    let ids = ferry::secrets::Identities::from_file(&common::example_key("ci")).expect("ci key");
    let mut opened = ferry::secrets::open(
        &std::fs::read_to_string(&file).expect("read"),
        ferry::secrets::Format::Yaml,
        &ids,
    )
    .expect("opens");
    let plain = opened
        .plaintext()
        .replace("demo-prod-password-not-real", VALUES[2]);
    opened.docs = ferry::secrets::Format::Yaml.parse(&plain).expect("parses");
    std::fs::write(
        &file,
        ferry::secrets::file::reseal(&opened).expect("reseals"),
    )
    .expect("write");
    common::commit_all(r, "rotate the prod password");
    let o = build(&[]);
    assert!(o.status.success(), "{}", logs(&o));
    seen.push_str(&logs(&o));

    // The diff of the two commits sees the change (it holds the CI identity) and shows no value.
    for format in ["text", "json", "markdown"] {
        let o = common::ferry(cache.path())
            .args(["diff", "-C"])
            .arg(r)
            .args(["--from", "HEAD~1", "--to", "HEAD", "--output", format])
            .env("FERRY_DIFF_KEY", "test-only-fingerprint-key-0001")
            .output()
            .expect("ferry runs");
        assert_eq!(o.status.code(), Some(1), "{}", logs(&o));
        seen.push_str(&logs(&o));
        if format == "json" {
            let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
            let keys = doc.to_string();
            assert!(keys.contains("\"password\""), "{keys}");
            assert!(keys.contains("\"changed\""), "{keys}");
        }
    }

    // The rotated value is really there, sealed for the cluster: the scans below are not vacuous.
    let cluster =
        ferry::secrets::Identities::from_file(&common::example_key("cluster")).expect("key");
    let open = ferry::secrets::decrypt(
        &std::fs::read_to_string(&sealed).expect("read"),
        ferry::secrets::Format::Yaml,
        &cluster,
    )
    .expect("the cluster opens it");
    assert!(open.contains(VALUES[2]));

    // A tampered ciphertext: the build fails, naming the file, and still shows no value.
    let enc = std::fs::read_to_string(&file).expect("read");
    let at = enc.find("data:").expect("a value") + 6;
    let mut bytes = enc.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&file, bytes).expect("write");
    common::commit_all(r, "tamper");
    let o = build(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", logs(&o));
    assert!(logs(&o).contains("db-credentials"), "{}", logs(&o));
    seen.push_str(&logs(&o));

    // The artifact layer as `ferry push` would upload it.
    let mut layer = String::new();
    for env in ["staging", "prod"] {
        let packed = ferry::artifact::tarball::pack_dir(&r.join("out").join(env)).expect("packs");
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(packed.gz.as_slice())
            .read_to_end(&mut tar)
            .expect("gunzip");
        layer.push_str(&String::from_utf8_lossy(&tar));
    }
    assert!(
        layer.contains("db-credentials"),
        "the layer holds the Secret"
    );

    assert_no_leak("build and diff output", &seen, VALUES);
    assert_no_leak("out/", &all_text(&r.join("out")), VALUES);
    assert_no_leak("the render cache", &all_text(cache.path()), VALUES);
    assert_no_leak("the artifact layer", &layer, VALUES);
}
