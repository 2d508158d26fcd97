//! The functions the Helm layer adds to the engine (Sprig's keys, passwords, AES and
//! `...WithKey` certificates; Helm's `toToml`, `fromToml`, `toYamlPretty`) against the real
//! helm v4.1.4: deterministic cases become one template each of a generated chart (the case's
//! output base64-encoded into a comment, as tests/sprig_helm.rs of ferry-gotmpl does), rendered
//! by `helm template` and natively and compared byte for byte; error cases must fail with
//! helm's words. Random and crypto output is checked for validity with the real tools:
//! `openssl` parses the keys and verifies the certificates, the `htpasswd` binary verifies the
//! password lines, and helm's `decryptAES` opens what ferry's `encryptAES` sealed.

mod common;

use ferry::render::helm_native::{self, Options};
use std::path::{Path, PathBuf};
use std::process::Command;

const VALUES: &str = r##"a: 1
b: 2.5
big: 1000000
s: hello
yes_str: "yes"
multi: "line1\nline2\n"
list: [1, two, {x: 1, z: [a, b]}, [3, 4]]
nested:
  deep: {k: v, list: [a, b]}
  "key with space": 1
  a1b: 1
  a1.: 2
  a10: 3
  a9: 4
  _x: 5
empty: {}
emptyl: []
nul: null
tables: [{name: a, v: 1}, {name: b, sub: {q: 1}}]
long: "word00 word01 word02 word03 word04 word05 word06 word07 word08 word09 word10 word11 word12"
quote: "a \"b\" \\ c\ttab"
strs: ["1.0", "0o17", "2001-12-14", "null", "~", "<<", "y", "on", "1:20", "", " lead", "trail ",
  "a: b", "- x", "#c", "é ünï", "tab\there", "x\u0085y", "multi\n  indented\n", " lead\nline",
  "last\n\n", "@at", "0x1F", "1_000", "+1", ".5", "-.inf", "12e3", "True"]
keys: {"a b": 1, "1": 2, "-x": 3, "é": 4, "true": 5, "": 6, "a.b": 7, "q\"": 8}
nums: [0.1, 1e21, 1e-7, -0.0, 123456789, 3.0, -5]
deep: [[1, [2, {a: [3]}]], {b: {c: [{d: 1}]}}]
tbl: {x: {}, y: {z: {}}, w: [{}], v: [[{a: 1}]]}
"##;

/// Deterministic cases: helm's output and ferry's must be the same bytes.
const SAME: &[(&str, &str)] = &[
    (
        "derive_long",
        r#"{{ derivePassword 1 "long" "password" "user" "example.com" }}"#,
    ),
    (
        "derive_maximum_utf8_user",
        r#"{{ derivePassword 3 "maximum" "pw" "ü" "site" }}"#,
    ),
    (
        "derive_pin_empty",
        r#"{{ derivePassword 0 "pin" "" "" "" }}"#,
    ),
    (
        "derive_other_types",
        r#"{{ derivePassword 7 "basic" "p" "u" "s" }} {{ derivePassword 2 "medium" "p" "u" "s" }} {{ derivePassword 9 "short" "p" "u" "s" }}"#,
    ),
    (
        "derive_unknown_type",
        r#"{{ derivePassword 1 "nope" "a" "b" "c" }}"#,
    ),
    // Ciphertexts made by helm's encryptAES.
    (
        "decrypt_helm_short",
        r#"{{ decryptAES "secretkey" "Dw0Lkz7leg/ImVslyyXRr4pQ2kzJIy0kaECwMkQII4E=" }}"#,
    ),
    (
        "decrypt_helm_key_over_32_bytes",
        r#"{{ decryptAES "a-very-long-password-longer-than-thirty-two-bytes" "T+6NQ2PTvnj6VuGjIDhR4qQ7kyfcRe7KOiHHNT4u6GFjto+pawC1jUuPrYJalsmt9z0BRqkXjsGSxaA7MH4OhQ==" }}"#,
    ),
    (
        "decrypt_helm_full_block",
        r#"{{ decryptAES "k" "pFNcPmQZ28hMvksgnoCWWhPpCamPweXyEYgPgvZMFJEbEvuR0S2/1/YyYN1AlI4J" }}"#,
    ),
    (
        "aes_empty_and_round_trip",
        r#"[{{ decryptAES "k" "" }}][{{ encryptAES "k" "" }}][{{ decryptAES "k" (encryptAES "k" "round trip") }}]"#,
    ),
    ("htpasswd_colon", r#"{{ htpasswd "a:b" "x" }}"#),
    ("gen_key_unknown", r#"{{ genPrivateKey "foo" }}"#),
    ("bcrypt_too_long", r#"{{ bcrypt (repeat 73 "x") }}"#),
    ("yaml_pretty_values", "{{ toYamlPretty .Values }}"),
    (
        "yaml_pretty_scalars",
        r#"{{ toYamlPretty "abc" }}|{{ toYamlPretty 3 }}|{{ toYamlPretty nil }}|{{ toYamlPretty list }}|{{ toYamlPretty (dict) }}|{{ toYamlPretty 2.0 }}"#,
    ),
    ("toml_values", "{{ toToml .Values }}"),
    (
        "toml_scalars_and_errors",
        r#"{{ toToml "abc" }}|{{ toToml 3 }}|{{ toToml (list 1 2) }}|{{ toToml (list (dict "a" 1)) }}|{{ toToml (list 1 nil) }}"#,
    ),
    (
        "toml_inline_and_nested",
        r#"{{ toToml (dict "arr" (list 1 (dict "a" 1 "t" (dict "z" 1)) (list "x")) "inl" (dict "m" (list (dict "a" nil "b" 1)))) }}"#,
    ),
    (
        "toml_escapes_and_empty_tables",
        r#"{{ toToml (dict "c" "\u0001\u007f\b\f\r" "ü" 1 "k" (list (list (dict "a" 1))) "e" list "f" (dict "g" (dict) "h" (list (dict) (dict "i" (dict "j" 1))))) }}"#,
    ),
    (
        "from_toml",
        r#"{{ fromToml "a = 1\nb = 'x'\nc = [1, 2.5, \"s\"]\nd = 1979-05-27T07:32:00Z\n[t]\nd = true\n[[arr]]\nx = 1\n[[arr]]\nx = 2\n" | toJson }}"#,
    ),
    (
        "from_toml_types",
        r#"{{ range $k, $v := fromToml "i = 1\nf = 1.5\ns = 'x'\nb = true\nl = [1]\n[m]\n" }}{{ $k }}={{ typeOf $v }},{{ end }}"#,
    ),
    // The certificate struct through every encoder (its random base64 masked).
    (
        "certificate_encoders",
        r#"{{ $c := genCA "x" 3 }}{{ $m := "[A-Za-z0-9+/=]{20,}" }}{{ $c | toToml | regexReplaceAll $m "B" }}|{{ $c | toYamlPretty | regexReplaceAll $m "B" }}|{{ $c | toJson | regexReplaceAll $m "B" }}|{{ $c | toYaml | regexReplaceAll $m "B" }}|{{ dict "c" $c | toToml | regexReplaceAll $m "B" }}|{{ list $c | toToml | regexReplaceAll $m "B" }}"#,
    ),
    (
        "with_key_keeps_the_key",
        r#"{{ $k := genPrivateKey "ecdsa" }}{{ eq (genCAWithKey "x" 3 $k).Key $k }} {{ $e := genPrivateKey "ed25519" }}{{ eq (genSelfSignedCertWithKey "y" nil nil 3 $e).Key $e }}"#,
    ),
];

/// Cases that fail: helm's message from `error calling` on must be ferry's.
const ERRORS: &[(&str, &str)] = &[
    ("decrypt_short", r#"{{ decryptAES "k" "YWJj" }}"#),
    (
        "decrypt_not_base64",
        r#"{{ decryptAES "k" "not base64!" }}"#,
    ),
    (
        "decrypt_iv_only",
        r#"{{ decryptAES "k" "YWJjZGVmZ2hpamtsbW5vcA==" }}"#,
    ),
    (
        "decrypt_ragged",
        r#"{{ decryptAES "k" "YWJjZGVmZ2hpamtsbW5vcHFy" }}"#,
    ),
    (
        "decrypt_bad_padding",
        r#"{{ decryptAES "k" "YWJjZGVmZ2hpamtsbW5vcGFiY2RlZmdoaWprbG1ub3A=" }}"#,
    ),
    (
        "decrypt_misplaced_padding",
        r#"{{ decryptAES "k" "YWJj=" }}"#,
    ),
    (
        "decrypt_missing_padding",
        r#"{{ decryptAES "k" "YWJjZA" }}"#,
    ),
    (
        "ca_with_dsa_key",
        r#"{{ genCAWithKey "x" 3 (genPrivateKey "dsa") }}"#,
    ),
    ("ca_with_junk_key", r#"{{ genCAWithKey "x" 3 "junk" }}"#),
    (
        "ca_with_other_block",
        r#"{{ genCAWithKey "x" 3 "-----BEGIN FOO-----\nYWJj\n-----END FOO-----\n" }}"#,
    ),
    (
        "ca_with_unknown_key_type",
        r#"{{ genCAWithKey "x" 3 "-----BEGIN X PRIVATE KEY-----\nYWJj\n-----END X PRIVATE KEY-----\n" }}"#,
    ),
    ("custom_cert_bad_base64", r#"{{ buildCustomCert "!!" "" }}"#),
    (
        "custom_key_bad_base64",
        r#"{{ buildCustomCert "YWJj" "!!" }}"#,
    ),
    (
        "custom_cert_not_pem",
        r#"{{ buildCustomCert "YWJj" "YWJj" }}"#,
    ),
    (
        "custom_key_not_pem",
        r#"{{ $c := genCA "x" 3 }}{{ buildCustomCert ($c.Cert | b64enc) "YWJj" }}"#,
    ),
    (
        "signer_key_mismatch",
        r#"{{ $c := genCA "x" 3 }}{{ $d := genCA "y" 3 }}{{ $b := buildCustomCert ($c.Cert | b64enc) ($d.Key | b64enc) }}{{ genSignedCert "z" nil nil 3 $b }}"#,
    ),
    (
        "signed_with_dsa_key",
        r#"{{ $c := genCA "x" 3 }}{{ genSignedCertWithKey "z" nil nil 3 $c (genPrivateKey "dsa") }}"#,
    ),
    (
        "ip_not_string",
        r#"{{ genSelfSignedCert "x" (list 1) nil 3 }}"#,
    ),
    (
        "ip_invalid",
        r#"{{ genSelfSignedCert "x" (list "1.2.3") nil 3 }}"#,
    ),
    (
        "dns_not_string",
        r#"{{ genSelfSignedCertWithKey "x" nil (list 1) 3 (genPrivateKey "ecdsa") }}"#,
    ),
    ("toml_nil", "{{ toToml nil }}"),
];

fn write_chart(dir: &Path, templates: &[(String, String)], values: &str) {
    std::fs::create_dir_all(dir.join("templates")).expect("chart dir");
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: fns\nversion: 0.1.0\n",
    )
    .expect("Chart.yaml");
    std::fs::write(dir.join("values.yaml"), values).expect("values");
    for (name, text) in templates {
        std::fs::write(dir.join("templates").join(format!("{name}.yaml")), text).expect("template");
    }
}

/// A case as a template file: its output base64-encoded into a comment, so that any output
/// survives Helm's manifest handling.
fn case_file(name: &str, text: &str) -> String {
    format!("{{{{- define \"{name}\" }}}}{text}{{{{ end }}}}# {{{{ include \"{name}\" . | b64enc }}}}\n")
}

fn helm_template(helm: &Path, chart: &Path, home: &Path) -> Result<String, String> {
    let out = Command::new(helm)
        .args(["template", "r"])
        .arg(chart)
        .env("HELM_CACHE_HOME", home)
        .env("HELM_CONFIG_HOME", home)
        .env("HELM_DATA_HOME", home)
        .env("KUBECONFIG", "/dev/null")
        .output()
        .expect("helm runs");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn native_template(chart: &Path) -> Result<String, String> {
    let opts = Options {
        release_name: "r".into(),
        namespace: "default".into(),
        ..Options::default()
    };
    helm_native::render(chart, &opts).map_err(|e| e.to_string())
}

/// The decoded output of each case in a rendered stream, by template name.
fn outputs(stream: &str) -> std::collections::BTreeMap<String, String> {
    use base64::Engine;
    let mut res = std::collections::BTreeMap::new();
    let mut current = None;
    for line in stream.lines() {
        if let Some(src) = line.strip_prefix("# Source: fns/templates/") {
            current = src.strip_suffix(".yaml").map(str::to_string);
        } else if let (Some(name), Some(b64)) = (current.take(), line.strip_prefix("# ")) {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .unwrap_or_default();
            res.insert(name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    res
}

#[test]
fn deterministic_functions_match_helm_byte_for_byte() {
    let Some(helm) = common::require_tool("helm") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("fns");
    let files: Vec<(String, String)> = SAME
        .iter()
        .map(|(n, t)| (n.to_string(), case_file(n, t)))
        .collect();
    write_chart(&chart, &files, VALUES);
    let want = helm_template(&helm, &chart, tmp.path()).expect("helm renders the cases");
    let got = native_template(&chart).expect("native renders the cases");
    let (want_cases, got_cases) = (outputs(&want), outputs(&got));
    assert_eq!(want_cases.len(), SAME.len(), "helm's stream:\n{want}");
    let diffs: Vec<String> = want_cases
        .iter()
        .filter(|(n, w)| got_cases.get(*n) != Some(w))
        .map(|(n, w)| format!("case {n}:\n  helm:  {w:?}\n  ferry: {:?}", got_cases.get(n)))
        .collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    assert_eq!(got, want, "the streams differ outside the cases");
    eprintln!("{} deterministic cases identical to helm", SAME.len());
}

/// The message from `error calling` to the end of its line.
fn call_error(e: &str) -> Option<String> {
    let at = e.find("error calling ")?;
    Some(e[at..].lines().next().unwrap_or("").to_string())
}

#[test]
fn function_errors_match_helm() {
    let Some(helm) = common::require_tool("helm") else {
        return;
    };
    let mut diffs = Vec::new();
    for (name, text) in ERRORS {
        let tmp = tempfile::tempdir().expect("tempdir");
        let chart = tmp.path().join("fns");
        write_chart(
            &chart,
            &[(name.to_string(), format!("# {text}\n"))],
            "a: 1\n",
        );
        let want = match helm_template(&helm, &chart, tmp.path()) {
            Ok(out) => panic!("case {name}: helm rendered it:\n{out}"),
            Err(e) => call_error(&e).unwrap_or(e),
        };
        let got = match native_template(&chart) {
            Ok(out) => format!("rendered: {out}"),
            Err(e) => call_error(&e).unwrap_or(e),
        };
        if want != got {
            diffs.push(format!("case {name}:\n  helm:  {want}\n  ferry: {got}"));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    eprintln!("{} error cases worded as helm words them", ERRORS.len());
}

/// Runs a tool; its stdout, or a panic with its stderr.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The PEM outputs of a native render, one case per name, written to `dir/NAME.pem`.
fn render_pems(dir: &Path, cases: &[(&str, &str)], prelude: &str, values: &str) -> Vec<PathBuf> {
    let chart = dir.join("fns");
    let files: Vec<(String, String)> = cases
        .iter()
        .map(|(n, t)| (n.to_string(), case_file(n, &format!("{prelude}{t}"))))
        .collect();
    write_chart(&chart, &files, values);
    let got = outputs(&native_template(&chart).expect("native renders"));
    cases
        .iter()
        .map(|(n, _)| {
            let p = dir.join(format!("{n}.pem"));
            std::fs::write(&p, &got[*n]).expect("write pem");
            p
        })
        .collect()
}

fn public_key(openssl: &Path, pem: &Path, is_cert: bool) -> String {
    if is_cert {
        run(Command::new(openssl)
            .args(["x509", "-noout", "-pubkey", "-in"])
            .arg(pem))
    } else {
        run(Command::new(openssl)
            .args(["pkey", "-pubout", "-in"])
            .arg(pem))
    }
}

#[test]
fn keys_and_certificates_parse_and_verify_with_openssl() {
    let Some(openssl) = common::require_tool("openssl") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    // Every case sees the same keys: the prelude is the same template text, and each
    // `genPrivateKey` is random, so the keys are made once and passed through values.
    let keys = render_pems(
        tmp.path(),
        &[
            ("ec", r#"{{ genPrivateKey "ecdsa" }}"#),
            ("ed", r#"{{ genPrivateKey "ed25519" }}"#),
            ("rsa", r#"{{ genPrivateKey "rsa" }}"#),
            ("dsa", r#"{{ genPrivateKey "dsa" }}"#),
        ],
        "",
        "a: 1\n",
    );
    let expect = [
        ("EC PRIVATE KEY", "Private-Key: (256 bit"),
        ("PRIVATE KEY", "ED25519 Private-Key"),
        ("RSA PRIVATE KEY", "Private-Key: (4096 bit"),
        ("DSA PRIVATE KEY", "Private-Key: (2048 bit"),
    ];
    for (path, (block, text)) in keys.iter().zip(expect) {
        let pem = std::fs::read_to_string(path).expect("pem");
        assert!(
            pem.starts_with(&format!("-----BEGIN {block}-----\n")),
            "{pem}"
        );
        let info = run(Command::new(&openssl)
            .args(["pkey", "-noout", "-text", "-in"])
            .arg(path));
        assert!(info.starts_with(text), "{}: {info}", path.display());
    }
    let read = |p: &PathBuf| std::fs::read_to_string(p).expect("pem");
    let values =
        serde_json::json!({"ec": read(&keys[0]), "ed": read(&keys[1]), "rsa": read(&keys[2])})
            .to_string();
    let certs_dir = tmp.path().join("certs");
    std::fs::create_dir_all(&certs_dir).expect("mkdir");
    let prelude = r#"{{- $ca := genCAWithKey "my-ca" 10 .Values.ec }}{{ $custom := buildCustomCert ($ca.Cert | b64enc) ($ca.Key | b64enc) }}"#;
    let certs = render_pems(
        &certs_dir,
        &[
            ("ca", "{{ $ca.Cert }}"),
            (
                "leaf",
                r#"{{ (genSignedCertWithKey "leaf" (list "10.0.0.1") (list "a.example") 5 $ca .Values.ed).Cert }}"#,
            ),
            (
                "self",
                r#"{{ (genSelfSignedCertWithKey "self" nil (list "b.example") 5 .Values.rsa).Cert }}"#,
            ),
            (
                "custom_leaf",
                r#"{{ (genSignedCert "leaf2" nil nil 3 $custom).Cert }}"#,
            ),
        ],
        prelude,
        &values,
    );
    // The leaves of this render's CA: the ed25519 one and the one signed through
    // buildCustomCert. Each case renders its own CA, so verify each against its own.
    let ca_text = run(Command::new(&openssl)
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&certs[0]));
    assert!(ca_text.contains("CA:TRUE"), "{ca_text}");
    assert!(ca_text.contains("ecdsa-with-SHA256"), "{ca_text}");
    assert_eq!(
        public_key(&openssl, &certs[0], true),
        public_key(&openssl, &keys[0], false),
        "the CA certifies the given key"
    );
    assert_eq!(
        public_key(&openssl, &certs[1], true),
        public_key(&openssl, &keys[1], false),
        "the leaf certifies the given ed25519 key"
    );
    assert_eq!(
        public_key(&openssl, &certs[2], true),
        public_key(&openssl, &keys[2], false),
        "the self-signed certificate certifies the given RSA key"
    );
    // Signatures: the self-signed one by its own key; the leaves by a CA with the same key
    // (and subject) as certs[0], so that CA verifies them.
    run(Command::new(&openssl)
        .args(["verify", "-partial_chain", "-CAfile"])
        .arg(&certs[2])
        .arg(&certs[2]));
    let verified = run(Command::new(&openssl)
        .args(["verify", "-CAfile"])
        .arg(&certs[0])
        .arg(&certs[1])
        .arg(&certs[3]));
    assert_eq!(verified.matches(": OK").count(), 2, "{verified}");
    let leaf_text = run(Command::new(&openssl)
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&certs[1]));
    assert!(
        leaf_text.contains("DNS:a.example, IP Address:10.0.0.1"),
        "{leaf_text}"
    );
    assert!(leaf_text.contains("ED25519"), "{leaf_text}");
}

/// `genCA`, `genSelfSignedCert` and `genSignedCert` on new RSA keys make their certificate
/// when it is first looked at: a leaf looked at before its CA makes the CA first and is
/// signed by it, and a CA two leaves share signs both with the same key.
#[test]
fn certificates_on_new_keys_chain_whatever_is_looked_at_first() {
    let Some(openssl) = common::require_tool("openssl") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let prelude = r#"{{- $ca := genCA "lazy-ca" 3 }}{{ $a := genSignedCert "leaf-a" nil (list "a.example") 3 $ca }}{{ $b := genSignedCert "leaf-b" (list "10.1.2.3") nil 3 $ca }}{{ $self := genSelfSignedCert "self" nil (list "s.example") 3 }}"#;
    // One case prints the leaves before the CA, so the CA is made while making leaf a.
    let pems = render_pems(
        tmp.path(),
        &[(
            "chain",
            r#"{{ $a.Cert }}{{ "\n" }}{{ $b.Cert }}{{ "\n" }}{{ $ca.Cert }}{{ "\n" }}{{ $self.Cert }}{{ "\n" }}{{ $self.Key }}"#,
        )],
        prelude,
        "a: 1\n",
    );
    let text = std::fs::read_to_string(&pems[0]).expect("pem");
    let blocks: Vec<&str> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .collect();
    assert_eq!(blocks.len(), 5, "{text}");
    let file = |n: &str, body: &str| {
        let p = tmp.path().join(n);
        std::fs::write(&p, format!("{body}\n")).expect("write");
        p
    };
    let (a, b, ca) = (
        file("a.pem", blocks[0]),
        file("b.pem", blocks[1]),
        file("ca.pem", blocks[2]),
    );
    let verified = run(Command::new(&openssl)
        .args(["verify", "-CAfile"])
        .arg(&ca)
        .arg(&a)
        .arg(&b));
    assert_eq!(verified.matches(": OK").count(), 2, "{verified}");
    let ca_text = run(Command::new(&openssl)
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&ca));
    assert!(ca_text.contains("CA:TRUE"), "{ca_text}");
    assert!(ca_text.contains("Public-Key: (2048 bit)"), "{ca_text}");
    let b_text = run(Command::new(&openssl)
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&b));
    assert!(b_text.contains("IP Address:10.1.2.3"), "{b_text}");
    let (self_cert, self_key) = (file("self.pem", blocks[3]), file("self.key", blocks[4]));
    run(Command::new(&openssl)
        .args(["verify", "-partial_chain", "-CAfile"])
        .arg(&self_cert)
        .arg(&self_cert));
    assert_eq!(
        public_key(&openssl, &self_cert, true),
        public_key(&openssl, &self_key, false),
        "the self-signed certificate certifies its own key"
    );
}

#[test]
fn helm_made_keys_sign_native_certificates() {
    let (Some(helm), Some(openssl)) = (
        common::require_tool("helm"),
        common::require_tool("openssl"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("fns");
    let files: Vec<(String, String)> = ["ecdsa", "ed25519"]
        .iter()
        .map(|k| {
            (
                k.to_string(),
                case_file(k, &format!("{{{{ genPrivateKey \"{k}\" }}}}")),
            )
        })
        .collect();
    write_chart(&chart, &files, "a: 1\n");
    let helm_keys = outputs(&helm_template(&helm, &chart, tmp.path()).expect("helm renders"));
    for (kind, key) in &helm_keys {
        let dir = tmp.path().join(kind);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let key_path = dir.join("key.pem");
        std::fs::write(&key_path, key).expect("key");
        let values = serde_json::json!({ "key": key }).to_string();
        let certs = render_pems(
            &dir,
            &[("ca", r#"{{ (genCAWithKey "x" 3 .Values.key).Cert }}"#)],
            "",
            &values,
        );
        assert_eq!(
            public_key(&openssl, &certs[0], true),
            public_key(&openssl, &key_path, false),
            "{kind}"
        );
        run(Command::new(&openssl)
            .args(["verify", "-CAfile"])
            .arg(&certs[0])
            .arg(&certs[0]));
    }
    assert_eq!(helm_keys.len(), 2);
}

#[test]
fn htpasswd_and_bcrypt_verify_with_the_htpasswd_binary() {
    let Some(htpasswd) = common::require_tool("htpasswd") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let lines = render_pems(
        tmp.path(),
        &[
            ("line", r#"{{ htpasswd "user" "pass wörd" }}"#),
            ("hash", r#"x:{{ bcrypt "s3cret" }}"#),
        ],
        "",
        "a: 1\n",
    );
    let line = std::fs::read_to_string(&lines[0]).expect("line");
    assert!(line.starts_with("user:$2a$10$"), "{line}");
    let verify = |file: &Path, user: &str, pw: &str| {
        Command::new(&htpasswd)
            .arg("-vb")
            .arg(file)
            .args([user, pw])
            .output()
            .expect("htpasswd runs")
            .status
            .success()
    };
    assert!(verify(&lines[0], "user", "pass wörd"));
    assert!(!verify(&lines[0], "user", "pass word"));
    assert!(verify(&lines[1], "x", "s3cret"));
    let hash = std::fs::read_to_string(&lines[1]).expect("hash");
    let hash = hash.strip_prefix("x:").expect("user");
    assert!(bcrypt::verify("s3cret", hash).expect("a bcrypt hash"));
}

#[test]
fn helm_decrypts_what_ferry_encrypts() {
    let Some(helm) = common::require_tool("helm") else {
        return;
    };
    let plaintexts = [
        "plaintext",
        "exactly16bytes!!",
        "ünïcode and a longer text, several blocks",
    ];
    let tmp = tempfile::tempdir().expect("tempdir");
    let native_dir = tmp.path().join("native");
    std::fs::create_dir_all(&native_dir).expect("mkdir");
    let cases: Vec<(String, String)> = plaintexts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                format!("c{i}"),
                format!(r#"{{{{ encryptAES "the key" "{p}" }}}}"#),
            )
        })
        .collect();
    let borrowed: Vec<(&str, &str)> = cases
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let sealed = render_pems(&native_dir, &borrowed, "", "a: 1\n");
    let chart = tmp.path().join("fns");
    let files: Vec<(String, String)> = sealed
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let c = std::fs::read_to_string(p).expect("sealed");
            (
                format!("c{i}"),
                case_file(
                    &format!("c{i}"),
                    &format!(r#"{{{{ decryptAES "the key" "{c}" }}}}"#),
                ),
            )
        })
        .collect();
    write_chart(&chart, &files, "a: 1\n");
    let opened = outputs(&helm_template(&helm, &chart, tmp.path()).expect("helm decrypts"));
    for (i, p) in plaintexts.iter().enumerate() {
        assert_eq!(opened[&format!("c{i}")], *p);
    }
}
