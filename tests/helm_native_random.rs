//! Randomised differential test: generated charts rendered by the real `helm template`
//! (v4.1.4) and by ferry's native renderer, compared byte for byte (or, when helm refuses a
//! chart, its error against native's). A chart has values of every YAML type (strings that
//! stress quoting, numbers, booleans, null, lists, maps), `global` values, 0-3 subcharts
//! (aliases, conditions, tags, a chart used twice), `_helpers.tpl` defines with `include`
//! chains and a name defined in two charts, `tpl`, `range`/`with`/`if`, `.Files`,
//! `.Capabilities`, hooks and test hooks, unknown kinds, `crds/` (with and without
//! `--include-crds`), NOTES.txt, and a user values file overriding some of it.
//! A fixed seed keeps runs reproducible: `FERRY_DIFF_SEED` and `FERRY_DIFF_CASES` (default 20)
//! change them; `cargo xtask differential helm [CASES] [SEED]` runs many more. Skips without
//! helm unless FERRY_REQUIRE_PEERS=1.

mod common;
use common::rng::Rng;

use ferry::render::helm_native::{self, Options};
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// Strings that stress quoting and block scalars once they pass through templates.
const STRINGS: &[&str] = &[
    "plain",
    "yes",
    "on",
    "1.0",
    "0x1f",
    "~",
    "null",
    "",
    " lead",
    "a: b",
    "# hash",
    "- dash",
    "it's",
    "multi\nline\n",
    "tab\there",
    "日本語",
    "http://x.example/a?b=c#d",
    "<b>&amp;</b>",
    "{{ not a template }}",
    "quote\"d",
];
const KINDS: &[&str] = &[
    "ConfigMap",
    "Secret",
    "Service",
    "Deployment",
    "ServiceAccount",
    "Role",
    "Namespace",
    "Job",
    "Widget",
    "PodDisruptionBudget",
    "StatefulSet",
    "CronJob",
];
const HOOKS: &[&str] = &[
    "pre-install",
    "post-install,post-upgrade",
    "pre-upgrade",
    "test",
    "test-success",
    "pre-delete",
];

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0..=4 => json!(rng.pick(STRINGS)),
        5 => json!(rng.below(1000)),
        6 => json!([2.5, 1e6, 0.1, -3.0, 1234567.0][rng.below(5)]),
        7 => json!(rng.chance(50)),
        8 => Value::Null,
        _ => json!(12345678901u64),
    }
}

/// One chart's values: `s0..s2` scalars, `flag`, `items` (a list), `conf` (a map), `tplText`.
fn values(rng: &mut Rng) -> Map<String, Value> {
    let mut m = Map::new();
    for i in 0..3 {
        m.insert(format!("s{i}"), scalar(rng));
    }
    m.insert("flag".into(), json!(rng.chance(50)));
    let n = rng.below(4);
    m.insert(
        "items".into(),
        Value::Array((0..n).map(|_| scalar(rng)).collect()),
    );
    let mut conf = Map::new();
    for k in ["a", "b", "nested"] {
        if rng.chance(70) {
            let v = if k == "nested" {
                json!({"x": scalar(rng), "y": [scalar(rng)]})
            } else {
                scalar(rng)
            };
            conf.insert(k.into(), v);
        }
    }
    m.insert("conf".into(), Value::Object(conf));
    m.insert(
        "tplText".into(),
        json!(rng.pick(&[
            "{{ .Release.Name }}-{{ .Values.s0 }}",
            "{{ .Chart.Name | upper }}",
            "plain text",
            "{{ include \"shared.helper\" . }}",
            "{{ .Values.global.env | default \"none\" }}",
        ])),
    );
    m
}

/// A line of a resource's body, indented two spaces under `data:`.
fn data_line(rng: &mut Rng, i: usize, chart: &str) -> String {
    if rng.chance(3) {
        // A template that fails (or may fail) as helm would report it.
        return match rng.below(5) {
            0 => format!("  e{i}: {{{{ required \"s2 is required\" .Values.s2 }}}}\n"),
            1 => format!("  e{i}: {{{{ fail \"boom\" }}}}\n"),
            2 => format!("  e{i}: {{{{ include \"missing.tpl\" . }}}}\n"),
            3 => format!("  e{i}: [unclosed\n"),
            _ => format!("  e{i}: {{{{ .Values.s0.deeper }}}}\n"),
        };
    }
    match rng.below(24) {
        0 => format!("  v{i}: {{{{ .Values.s{} | quote }}}}\n", rng.below(3)),
        1 => format!(
            "  v{i}: {{{{ .Values.s{} | default \"dflt\" | toString | quote }}}}\n",
            rng.below(3)
        ),
        2 => format!("  v{i}: |\n    {{{{- toYaml .Values.conf | nindent 4 }}}}\n"),
        3 => format!(
            "  {{{{- range $k, $v := .Values.items }}}}\n  r{i}-{{{{ $k }}}}: {{{{ $v | toJson | quote }}}}\n  {{{{- end }}}}\n"
        ),
        4 => format!(
            "  {{{{- if .Values.flag }}}}\n  f{i}: \"on\"\n  {{{{- else }}}}\n  f{i}: \"off\"\n  {{{{- end }}}}\n"
        ),
        5 => format!(
            "  {{{{- with .Values.conf }}}}\n  w{i}: {{{{ .a | quote }}}}\n  {{{{- end }}}}\n"
        ),
        6 => format!("  t{i}: {{{{ tpl .Values.tplText . | quote }}}}\n"),
        7 => format!("  file{i}: {{{{ .Files.Get \"files/a.txt\" | b64enc | quote }}}}\n"),
        8 => "  {{- (.Files.Glob \"files/*\").AsConfig | nindent 2 }}\n".to_string(),
        9 => format!("  kube{i}: {{{{ .Capabilities.KubeVersion.Version | quote }}}}\n"),
        10 => format!("  g{i}: {{{{ .Values.global.env | quote }}}}\n"),
        11 => format!("  c{i}: {{{{ printf \"%s-%s\" .Chart.Name .Chart.Version | quote }}}}\n"),
        12 => format!("  n{i}: {{{{ .Template.Name | quote }}}}\n"),
        13 => format!("  i{i}: {{{{ include \"{chart}.chain\" . | quote }}}}\n"),
        14 => format!("  h{i}: {{{{ include \"shared.helper\" . | quote }}}}\n"),
        15 => format!(
            "  j{i}: {{{{ .Values.conf | toJson | quote }}}}\n  y{i}: {{{{ .Values.items | toYaml | quote }}}}\n"
        ),
        // `trunc` after `b64enc`: a cut inside a UTF-8 character is a known difference
        // (`byte_cut_strings_print_as_go_does`).
        16 => format!("  u{i}: {{{{ .Values.s0 | toString | upper | b64enc | trunc 5 | quote }}}}\n"),
        17 => format!("  d{i}: {{{{ dict \"a\" .Values.s1 \"l\" (list 1 .Values.flag) | toJson | quote }}}}\n"),
        18 => format!(
            "  k{i}: {{{{ semverCompare \">=1.20.0-0\" .Capabilities.KubeVersion.Version | quote }}}}\n"
        ),
        19 => format!("  s{i}: {{{{ .Values.s2 | toString | sha256sum | trunc 8 | quote }}}}\n"),
        20 => format!("  l{i}: {{{{ len .Values.items }}}}\n  lk{i}: {{{{ lookup \"v1\" \"Secret\" \"ns\" \"x\" | toJson | quote }}}}\n"),
        21 => format!("  sub{i}: {{{{ .Subcharts | keys | sortAlpha | join \",\" | quote }}}}\n"),
        22 => format!(
            "  rel{i}: {{{{ printf \"%s/%s/%v/%s\" .Release.Name .Release.Namespace .Release.IsInstall .Release.Service | quote }}}}\n  av{i}: {{{{ .Chart.AppVersion | quote }}}}\n"
        ),
        _ => format!(
            "  gs{i}: {{{{ .Values.global.shared | toJson | quote }}}}\n  m{i}: {{{{ merge (dict \"z\" 1) .Values.conf | toYaml | nindent 4 }}}}\n"
        ),
    }
}

fn resource(rng: &mut Rng, chart: &str, n: usize) -> String {
    let kind = rng.pick(KINDS);
    let mut t = String::new();
    let api = match kind {
        "Deployment" | "StatefulSet" => "apps/v1",
        "Job" | "CronJob" => "batch/v1",
        "Role" => "rbac.authorization.k8s.io/v1",
        "Widget" => "example.com/v1",
        "PodDisruptionBudget" => "policy/v1",
        _ => "v1",
    };
    let _ = write!(
        t,
        "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {{{{ include \"{chart}.name\" . }}}}-{n}\n  labels:\n    {{{{- include \"{chart}.labels\" . | nindent 4 }}}}\n"
    );
    if rng.chance(20) {
        let _ = write!(
            t,
            "  annotations:\n    \"helm.sh/hook\": {}\n    \"helm.sh/hook-weight\": \"{}\"\n",
            rng.pick(HOOKS),
            rng.below(5) as i64 - 2
        );
    }
    t.push_str("data:\n");
    for i in 0..1 + rng.below(4) {
        t.push_str(&data_line(rng, i, chart));
    }
    t
}

struct Files(Vec<(String, String)>);

impl Files {
    fn add(&mut self, path: String, text: impl Into<String>) {
        self.0.push((path, text.into()));
    }
}

/// A chart's own files under `prefix` (its templates, values, files, crds).
fn chart_files(
    rng: &mut Rng,
    files: &mut Files,
    prefix: &str,
    chart: &str,
    vals: &Map<String, Value>,
) {
    files.add(
        format!("{prefix}values.yaml"),
        serde_json::to_string_pretty(vals).expect("json"),
    );
    files.add(
        format!("{prefix}templates/_helpers.tpl"),
        format!(
            "{{{{- define \"{chart}.name\" -}}}}\n{{{{ .Chart.Name }}}}-{{{{ .Release.Name | trunc 20 }}}}\n{{{{- end }}}}\n\
             {{{{- define \"{chart}.labels\" -}}}}\napp: {{{{ include \"{chart}.name\" . }}}}\nchart: {{{{ .Chart.Name }}}}\n{{{{- end }}}}\n\
             {{{{- define \"{chart}.chain\" -}}}}\n{{{{ include \"{chart}.chain2\" . }}}}/{{{{ .Values.s1 }}}}\n{{{{- end }}}}\n\
             {{{{- define \"{chart}.chain2\" -}}}}\n{{{{ include \"{chart}.name\" . }}}}\n{{{{- end }}}}\n\
             {{{{- define \"shared.helper\" -}}}}\nfrom-{chart}\n{{{{- end }}}}\n"
        ),
    );
    for n in 0..1 + rng.below(3) {
        let mut text = resource(rng, chart, n);
        if rng.chance(15) {
            text.push_str("---\n");
            text.push_str(&resource(rng, chart, n + 10));
        }
        if rng.chance(10) {
            text = format!("{{{{- if .Values.flag }}}}\n{text}{{{{- end }}}}\n");
        }
        let dir = if rng.chance(15) {
            "templates/sub/"
        } else {
            "templates/"
        };
        files.add(format!("{prefix}{dir}r{n}.yaml"), text);
    }
    files.add(
        format!("{prefix}files/a.txt"),
        rng.pick(STRINGS).to_string(),
    );
    if rng.chance(15) {
        files.add(
            format!("{prefix}values.schema.json"),
            r#"{"type": "object", "properties": {"flag": {"type": "boolean"}, "s0": {"type": ["string", "null", "boolean"]}, "items": {"type": "array", "maxItems": 2}}}"#,
        );
    }
    if rng.chance(50) {
        files.add(format!("{prefix}files/b.conf"), "key=value\n");
    }
    if rng.chance(30) {
        files.add(
            format!("{prefix}crds/{chart}.yaml"),
            format!(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets{}.{chart}.example.com\n",
                rng.below(9)
            ),
        );
    }
    if rng.chance(20) {
        files.add(
            format!("{prefix}templates/NOTES.txt"),
            "Installed {{ .Release.Name }}\n",
        );
    }
}

/// A generated chart and the user's values file; `include_crds` for the command line.
fn write_case(rng: &mut Rng, root: &Path) -> (std::path::PathBuf, std::path::PathBuf, bool) {
    let mut files = Files(Vec::new());
    let mut parent = values(rng);
    let mut global = Map::new();
    global.insert("env".into(), scalar(rng));
    if rng.chance(50) {
        global.insert("shared".into(), json!({"k": scalar(rng)}));
    }
    parent.insert("global".into(), Value::Object(global));
    let mut deps = String::new();
    let mut user = Map::new();
    let subs = ["db", "cache", "queue"];
    let mut written = Vec::new();
    for _ in 0..rng.below(4) {
        let name = subs[rng.below(subs.len())];
        let alias = if written.contains(&name) || rng.chance(30) {
            Some(format!("{name}{}", rng.below(100)))
        } else {
            None
        };
        let key = alias.clone().unwrap_or_else(|| name.to_string());
        if written.contains(&name) && alias.is_none() {
            continue;
        }
        let _ = write!(deps, "- name: {name}\n  version: 0.1.0\n");
        if let Some(a) = &alias {
            let _ = writeln!(deps, "  alias: {a}");
        }
        if rng.chance(40) {
            let _ = writeln!(deps, "  condition: {key}.enabled");
            let on = rng.chance(60);
            let mut m = Map::new();
            m.insert("enabled".into(), json!(on));
            if rng.chance(50) {
                user.insert(key.clone(), json!({"enabled": !on}));
            }
            parent.insert(key.clone(), Value::Object(m));
        } else if rng.chance(20) {
            deps.push_str("  tags: [backend]\n");
            parent.insert("tags".into(), json!({"backend": rng.chance(50)}));
        }
        if rng.chance(50) {
            let entry = parent
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                m.insert("s0".into(), scalar(rng));
            }
        }
        if !written.contains(&name) {
            let sub_vals = values(rng);
            let prefix = format!("charts/{name}/");
            files.add(
                format!("{prefix}Chart.yaml"),
                format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\nappVersion: \"2.0\"\n"),
            );
            chart_files(rng, &mut files, &prefix, name, &sub_vals);
            written.push(name);
        }
    }
    files.add(
        "Chart.yaml".into(),
        format!(
            "apiVersion: v2\nname: app\nversion: 1.2.3\nappVersion: \"1.0\"\n{}",
            if deps.is_empty() {
                String::new()
            } else {
                format!("dependencies:\n{deps}")
            }
        ),
    );
    chart_files(rng, &mut files, "", "app", &parent);
    if rng.chance(60) {
        user.insert(format!("s{}", rng.below(3)), scalar(rng));
    }
    if rng.chance(30) {
        user.insert("global".into(), json!({"env": scalar(rng)}));
    }
    if rng.chance(20) {
        user.insert("conf".into(), json!({"a": null, "extra": scalar(rng)}));
    }
    let chart = root.join("app");
    for (path, text) in &files.0 {
        let p = chart.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let user_file = root.join("user.yaml");
    std::fs::write(&user_file, serde_json::to_string(&user).expect("json")).expect("write");
    (chart, user_file, rng.chance(50))
}

fn run_helm(
    helm: &Path,
    chart: &Path,
    user: &Path,
    crds: bool,
    home: &Path,
) -> Result<String, String> {
    let mut cmd = Command::new(helm);
    cmd.args(["template", "rel"])
        .arg(chart)
        .args(["-n", "ns", "-f"])
        .arg(user)
        .env("HELM_CACHE_HOME", home)
        .env("HELM_CONFIG_HOME", home)
        .env("HELM_DATA_HOME", home)
        .env("KUBECONFIG", "/dev/null");
    if crds {
        cmd.arg("--include-crds");
    }
    let out = cmd.output().expect("helm runs");
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let e = String::from_utf8_lossy(&out.stderr);
    let e = e.trim_end();
    let start = e.find("Error: ").map_or(0, |i| i + "Error: ".len());
    // The hint helm's command adds to render errors is not part of the error.
    let e = &e[start..];
    Err(e
        .strip_suffix("\n\nUse --debug flag to render out invalid YAML")
        .unwrap_or(e)
        .to_string())
}

/// Schema violations come in Go's random map order from helm: compared with each chart's
/// lines sorted.
fn same_error(helm: &str, native: &str) -> bool {
    if !helm.starts_with("values don't meet the specifications") {
        return helm == native;
    }
    fn sorted(t: &str) -> Vec<Vec<&str>> {
        let mut blocks: Vec<Vec<&str>> = Vec::new();
        for line in t.lines() {
            match blocks.last_mut() {
                Some(b) if line.starts_with(['-', ' ']) => b.push(line),
                _ => blocks.push(vec![line]),
            }
        }
        blocks.iter_mut().for_each(|b| b[1..].sort_unstable());
        blocks
    }
    sorted(helm) == sorted(native)
}

fn run_native(chart: &Path, user: &Path, crds: bool) -> Result<String, String> {
    let data = std::fs::read(user).expect("user values");
    let values = helm_native::read_values_file(&data, "user.yaml").map_err(|e| e.to_string())?;
    let opts = Options {
        release_name: "rel".into(),
        namespace: "ns".into(),
        include_crds: crds,
        values,
        ..Options::default()
    };
    // Load errors name the chart's path first (helm's do not): compared without it.
    let prefix = format!("{}: ", chart.display());
    helm_native::render(chart, &opts).map_err(|e| {
        let e = e.to_string();
        e.strip_prefix(&prefix).map(str::to_string).unwrap_or(e)
    })
}

#[test]
fn random_charts_match_helm() {
    let Some(helm) = common::require_tool("helm") else {
        return;
    };
    let seed: u64 = std::env::var("FERRY_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261207);
    let cases: usize = std::env::var("FERRY_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut rng = Rng(seed);
    let (mut same, mut both_failed) = (0, 0);
    let mut failures = Vec::new();
    for case in 0..cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let (chart, user, crds) = write_case(&mut rng, dir.path());
        let want = run_helm(&helm, &chart, &user, crds, &dir.path().join("h"));
        let got = run_native(&chart, &user, crds);
        match (&want, &got) {
            (Ok(w), Ok(g)) if w == g => {
                if std::env::var_os("FERRY_DIFF_VERBOSE").is_some() {
                    println!("case {case}: identical:\n{w}");
                }
                same += 1
            }
            (Err(w), Err(g)) if same_error(w, g) => both_failed += 1,
            (Ok(w), Ok(g)) => {
                let line = w
                    .lines()
                    .zip(g.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| w.lines().count().min(g.lines().count()));
                failures.push(format!(
                    "case {case}: output differs at line {} (kept in {}):\n  helm  {:?}\n  ferry {:?}",
                    line + 1,
                    dir.keep().display(),
                    w.lines().nth(line).unwrap_or("<end>"),
                    g.lines().nth(line).unwrap_or("<end>")
                ));
            }
            _ => failures.push(format!(
                "case {case} (kept in {}):\n  helm  {want:?}\n  ferry {got:?}",
                dir.keep().display()
            )),
        }
    }
    println!(
        "seed {seed}: {same} identical, {both_failed} refused alike, {} different, of {cases}",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A chart of `files` under a temporary directory and an empty user values file.
fn small_chart(
    files: &[(&str, &str)],
) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let chart = dir.path().join("app");
    for (path, text) in files {
        let p = chart.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let user = dir.path().join("user.yaml");
    std::fs::write(&user, "{}").expect("write");
    (dir, chart, user)
}

/// Found by the random test (seeds 2 and 3): two dependencies under one alias. Helm refuses
/// the chart when it loads it; native rendered it.
#[test]
fn duplicate_dependency_alias_is_refused_as_helm_does() {
    let (dir, chart, user) = small_chart(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n\
             - name: db\n  version: 0.1.0\n  alias: one\n- name: cache\n  version: 0.1.0\n  alias: one\n",
        ),
        ("charts/db/Chart.yaml", "apiVersion: v2\nname: db\nversion: 0.1.0\n"),
        ("charts/cache/Chart.yaml", "apiVersion: v2\nname: cache\nversion: 0.1.0\n"),
    ]);
    let got = run_native(&chart, &user, false);
    assert_eq!(
        got,
        Err("validation: more than one dependency with name or alias \"one\"".to_string())
    );
    if let Some(helm) = common::require_tool("helm") {
        assert_eq!(
            run_helm(&helm, &chart, &user, false, &dir.path().join("h")),
            got
        );
    }
}

/// Found by the random test (seed 7): `trunc` cuts bytes, and Go prints the cut character's
/// bytes escaped (`"日\xe6\x9c"`). The engine's strings are UTF-8, so the cut reads as U+FFFD.
#[test]
#[ignore = "known difference: the engine's strings cannot hold a cut UTF-8 character yet"]
fn byte_cut_strings_print_as_go_does() {
    let (_dir, chart, user) = small_chart(&[
        ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
        (
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  u: {{ \"日本語\" | trunc 5 | quote }}\n",
        ),
    ]);
    let got = run_native(&chart, &user, false).expect("renders");
    assert!(got.contains("u: \"日\\xe6\\x9c\""), "{got}");
}

/// Found by the random test (seed 7): helm's errors for a missing `include` name the root
/// template "gotpl", and the trace ends with that message as it is.
#[test]
fn include_of_a_missing_template_fails_as_helm_does() {
    let (dir, chart, user) = small_chart(&[
        ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
        ("templates/cm.yaml", "a: {{ include \"missing.tpl\" . }}\n"),
    ]);
    let got = run_native(&chart, &user, false);
    assert_eq!(
        got,
        Err("app/templates/cm.yaml:1:6\n  executing \"app/templates/cm.yaml\" at <include \"missing.tpl\" .>:\n    error calling include:\ntemplate: no template \"missing.tpl\" associated with template \"gotpl\"".to_string())
    );
    if let Some(helm) = common::require_tool("helm") {
        assert_eq!(
            run_helm(&helm, &chart, &user, false, &dir.path().join("h")),
            got
        );
    }
}

/// Found by the random test (seed 7): a YAML error in a rendered manifest, in go-yaml's words
/// and line numbers.
#[test]
fn yaml_errors_in_manifests_read_as_helm_words_them() {
    let (dir, chart, user) = small_chart(&[
        ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
        ("templates/a.yaml", "kind: A\nx: [unclosed\ny: 1\n"),
    ]);
    let got = run_native(&chart, &user, false);
    assert!(
        got.as_ref().is_err_and(|e| e.starts_with(
            "YAML parse error on app/templates/a.yaml: error converting YAML to JSON: yaml: line "
        )),
        "{got:?}"
    );
    if let Some(helm) = common::require_tool("helm") {
        assert_eq!(
            run_helm(&helm, &chart, &user, false, &dir.path().join("h")),
            got
        );
    }
}

/// Found by the random test (seed 8): a manifest whose YAML uses a flow map or a list as a
/// key; go-yaml refuses it with the key printed as Go's `%#v` prints it.
#[test]
fn complex_map_keys_in_manifests_fail_in_go_yamls_words() {
    for (template, want) in [
        (
            "kind: A\nb:\n  {z: 1, a: [x, 2.5, null, true]}: v\n",
            "invalid map key: map[interface {}]interface {}{\"a\":[]interface {}{\"x\", 2.5, interface {}(nil), true}, \"z\":1}",
        ),
        (
            "kind: A\n? [a, {b: c}]\n: 1\n",
            "invalid map key: []interface {}{\"a\", map[interface {}]interface {}{\"b\":\"c\"}}",
        ),
    ] {
        let (dir, chart, user) = small_chart(&[
            ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"),
            ("templates/a.yaml", template),
        ]);
        let got = run_native(&chart, &user, false);
        assert_eq!(
            got,
            Err(format!(
                "YAML parse error on app/templates/a.yaml: error converting YAML to JSON: yaml: {want}"
            ))
        );
        if let Some(helm) = common::require_tool("helm") {
            assert_eq!(
                run_helm(&helm, &chart, &user, false, &dir.path().join("h")),
                got
            );
        }
    }
}
