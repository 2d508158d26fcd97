//! The native Helm renderer against the real helm v4.1.4 on a chart built to exercise what
//! the corpus charts touch only lightly: aliases, conditions, tags, import-values (both forms),
//! a library chart, a `.tgz` subchart, globals both ways, `null` deleting a default, `tpl`,
//! `include` chains, `.Files`, `.Capabilities`, hooks, tests, unknown kinds, NOTES.txt,
//! `.helmignore`, `crds/` with `--include-crds`. Also bad input: errors, no panic.

mod common;

use ferry::render::helm_native::{self, Options};
use std::path::Path;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

fn tgz(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (name, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, text.as_bytes())
            .expect("append");
    }
    b.into_inner().expect("tar").finish().expect("gzip")
}

const PARENT: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 1.2.3\nappVersion: \"4.5\"\nkubeVersion: \">=1.20.0-0\"\n\
         description: a test chart\nkeywords: [a, b]\nmaintainers:\n- name: me\n  email: me@example.com\n\
         annotations:\n  team: x\n\
         dependencies:\n\
         - name: db\n  version: 0.1.0\n  repository: file://charts/db\n  alias: primary\n  condition: primary.enabled\n  import-values:\n  - child: info\n    parent: imported\n  - data\n\
         - name: db\n  version: 0.1.0\n  repository: file://charts/db\n  tags: [backend]\n\
         - name: cache\n  version: 2.0.0\n  repository: file://charts/cache\n  condition: cache.enabled\n\
         - name: lib\n  version: 0.0.1\n  repository: file://charts/lib\n",
    ),
    (
        "values.yaml",
        "replicas: 2\nport: 8080\nratio: 0.25\nbig: 12345678901\nflag: yes\nname: web\n\
         drop: {me: 1, keep: 2}\nmessage: 'hello {{ .Release.Name }}'\nlist: [1, two, 3.5]\n\
         global: {region: eu, shared: {a: 1}}\n\
         primary: {enabled: true, size: 5}\ncache: {enabled: false}\ntags: {backend: true}\n",
    ),
    (".helmignore", "# ignored\nsecret.txt\n*.bak\n"),
    ("secret.txt", "must not be read\n"),
    ("files/a.conf", "a=1\n"),
    ("files/b.conf", "b=2\n"),
    ("files/x.bak", "backup\n"),
    (
        "crds/thing.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\n",
    ),
    (
        "templates/_helpers.tpl",
        "{{- define \"app.name\" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end }}\n\
         {{- define \"app.labels\" -}}\napp: {{ include \"app.name\" . }}\n{{ include \"lib.common\" . }}\n{{- end }}\n",
    ),
    (
        "templates/deployment.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.name" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    metadata:
      annotations:
        msg: {{ tpl .Values.message . | quote }}
        ratio: {{ .Values.ratio | quote }}
        big: {{ .Values.big | quote }}
        flag: {{ .Values.flag | quote }}
        kube: {{ .Capabilities.KubeVersion.Version }}-{{ .Capabilities.KubeVersion.Minor }}
        has: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}
        tmpl: {{ .Template.Name }}|{{ .Template.BasePath }}
        chart: {{ .Chart.Version }}-{{ .Chart.AppVersion }}-{{ .Chart.IsRoot }}-{{ index .Chart.Annotations "team" }}
        kinds: {{ kindOf .Values.replicas }}-{{ typeOf .Values.list }}
        sub: {{ .Subcharts.primary.Values.size }}-{{ .Values.primary.size }}
        list: {{ toJson .Values.list | quote }}
---
# a comment-only document
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: files
data:
  {{- (.Files.Glob "files/*.conf").AsConfig | nindent 2 }}
  a: {{ .Files.Get "files/a.conf" | quote }}
  ignored: {{ .Files.Get "secret.txt" | quote }}
  imported: {{ toJson .Values.imported | quote }}
  data: {{ .Values.fromExports | default "none" | quote }}
  global: {{ toJson .Values.global | quote }}
  drop: {{ toYaml .Values.drop | quote }}
  {{- range $path, $bytes := .Files.Glob "files/**" }}
  {{ base $path }}: {{ $.Files.Get $path | quote }}
  {{- end }}
"#,
    ),
    (
        "templates/nested/service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Values.name }}\nspec:\n  ports:\n  - port: {{ .Values.port }}\n",
    ),
    (
        "templates/widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n---\napiVersion: example.com/v1\nkind: Anvil\nmetadata:\n  name: a\n",
    ),
    (
        "templates/hooks.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"-5\"\n\
         ---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: smoke\n  annotations:\n    helm.sh/hook: test\n",
    ),
    (
        "templates/release.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release\ndata:\n  upgrade: {{ .Release.IsUpgrade | quote }}\n  install: {{ .Release.IsInstall | quote }}\n  revision: {{ .Release.Revision | quote }}\n  service: {{ .Release.Service }}\n",
    ),
    ("templates/NOTES.txt", "Thanks for installing {{ .Release.Name }}\n"),
    ("templates/empty.yaml", "{{- if false }}\nkind: Nothing\n{{- end }}\n"),
    (
        "charts/db/Chart.yaml",
        "apiVersion: v2\nname: db\nversion: 0.1.0\n",
    ),
    (
        "charts/db/values.yaml",
        "size: 1\nmode: single\ninfo: {engine: pg, port: 5432}\nexports:\n  data:\n    fromExports: yes-exported\nglobal: {region: us, dbonly: true, shared: {b: 2}}\n",
    ),
    (
        "charts/db/templates/statefulset.yaml",
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {{ .Chart.Name }}-{{ .Release.Name }}\n  annotations:\n    size: {{ .Values.size | quote }}\n    region: {{ .Values.global.region }}\n    shared: {{ toJson .Values.global.shared | quote }}\n    full: {{ .Template.Name }}\n    root: {{ .Chart.IsRoot | quote }}\n",
    ),
    (
        "charts/lib/Chart.yaml",
        "apiVersion: v2\nname: lib\nversion: 0.0.1\ntype: library\n",
    ),
    (
        "charts/lib/templates/_common.tpl",
        "{{- define \"lib.common\" -}}managed-by: {{ .Release.Service }}{{- end }}\n",
    ),
];

/// The feature chart, with its `.tgz` subchart.
fn make_chart(chart: &Path) {
    write(chart, PARENT);
    let cache = tgz(&[
        (
            "cache/Chart.yaml",
            "apiVersion: v2\nname: cache\nversion: 2.0.0\n",
        ),
        (
            "cache/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache\n",
        ),
    ]);
    std::fs::write(chart.join("charts/cache-2.0.0.tgz"), cache).expect("tgz");
}

const USER_VALUES: &str =
    "replicas: 3\ndrop: {me: null}\nprimary: {size: 7}\nglobal: {shared: {c: 3}}\n";

#[test]
fn feature_chart_matches_helm_template() {
    let Some(helm) = common::require_tool("helm") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("app");
    make_chart(&chart);
    let values = tmp.path().join("values.yaml");
    std::fs::write(&values, USER_VALUES).expect("values");
    for enable_cache in [false, true] {
        let mut cmd = std::process::Command::new(&helm);
        cmd.args(["template", "rel"])
            .arg(&chart)
            .args(["-n", "ns", "-f"])
            .arg(&values)
            .args([
                "--kube-version",
                "1.31.0",
                "--api-versions",
                "example.com/v1",
                "--include-crds",
            ])
            .env("HELM_CACHE_HOME", tmp.path().join("h"))
            .env("HELM_CONFIG_HOME", tmp.path().join("h"))
            .env("HELM_DATA_HOME", tmp.path().join("h"))
            .env("KUBECONFIG", "/dev/null");
        if enable_cache {
            cmd.args(["--set", "cache.enabled=true"]);
        }
        let out = cmd.output().expect("helm runs");
        assert!(
            out.status.success(),
            "helm: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = String::from_utf8(out.stdout).expect("utf8");
        let mut user =
            helm_native::read_values_file(USER_VALUES.as_bytes(), "values.yaml").expect("values");
        if enable_cache {
            let set =
                helm_native::read_values_file(b"cache: {enabled: true}", "--set").expect("set");
            helm_native::merge_maps(&mut user, set);
        }
        let opts = Options {
            release_name: "rel".into(),
            namespace: "ns".into(),
            kube_version: "1.31.0".into(),
            api_versions: vec!["example.com/v1".into()],
            include_crds: true,
            values: user,
            ..Options::default()
        };
        let got = helm_native::render(&chart, &opts).expect("native renders");
        assert_eq!(got, want, "cache enabled: {enable_cache}");
    }
}

/// A temporary directory with the feature chart and a cache for the `ferry` binary; `None`
/// without helm.
fn cli_setup() -> Option<(tempfile::TempDir, std::path::PathBuf, std::path::PathBuf)> {
    common::require_tool("helm")?;
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = tmp.path().join("app");
    make_chart(&chart);
    let cache = tmp.path().join("cache");
    Some((tmp, chart, cache))
}

/// `ferry render helm` with helm's switches gives helm's output with either renderer.
#[test]
fn render_helm_flags_match_with_both_renderers() {
    let Some((_tmp, chart, cache)) = cli_setup() else {
        return;
    };
    for flags in [
        &["--skip-tests", "--is-upgrade"][..],
        &["--no-hooks"][..],
        &[][..],
    ] {
        let mut outputs = Vec::new();
        for renderer in ["binary", "native"] {
            let out = common::ferry(&cache)
                .args(["render", "helm", "rel"])
                .arg(&chart)
                .args([
                    "-n",
                    "ns",
                    "--set-json",
                    "replicas=4",
                    "--renderer",
                    renderer,
                ])
                .args(flags)
                .output()
                .expect("ferry runs");
            assert!(
                out.status.success(),
                "{renderer} {flags:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            outputs.push(String::from_utf8(out.stdout).expect("utf8"));
        }
        assert_eq!(outputs[0], outputs[1], "flags {flags:?}");
        let has_test = outputs[1].contains("name: smoke");
        let has_hook = outputs[1].contains("name: migrate");
        assert_eq!(has_test, flags.is_empty(), "{flags:?}");
        assert_eq!(has_hook, !flags.contains(&"--no-hooks"), "{flags:?}");
        assert_eq!(
            outputs[1].contains("upgrade: \"true\""),
            flags.contains(&"--is-upgrade")
        );
    }
}

/// `ferry render helm --compare` says the feature chart renders the same both ways, and
/// exits 1 on a chart native renders differently (here: one it cannot render).
#[test]
fn render_helm_compare_reports_agreement() {
    let Some((_tmp, chart, cache)) = cli_setup() else {
        return;
    };
    let out = common::ferry(&cache)
        .args(["render", "helm", "--compare", "rel"])
        .arg(&chart)
        .args(["-n", "ns"])
        .output()
        .expect("ferry runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(": same ("), "{stdout}");
    let bad = chart_with(&format!("a: {}\n", common::P384_CA));
    let out = common::ferry(&cache)
        .args(["render", "helm", "--compare", "rel"])
        .arg(bad.path())
        .output()
        .expect("ferry runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("native cannot render it"), "{stdout}");
    assert!(stdout.contains("genCAWithKey"), "{stdout}");
}

fn chart_with(template: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(
        tmp.path(),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: bad\nversion: 0.1.0\n"),
            ("templates/x.yaml", template),
        ],
    );
    tmp
}

fn render_err(dir: &Path) -> String {
    let opts = Options {
        release_name: "r".into(),
        namespace: "n".into(),
        ..Options::default()
    };
    match helm_native::render(dir, &opts) {
        Ok(out) => panic!("rendered:\n{out}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_charts_fail_with_helms_words() {
    let t = chart_with("a: {{ .Values.x | required \"x is required\" }}\n");
    assert_eq!(
        render_err(t.path()),
        "execution error at (bad/templates/x.yaml:1:18): x is required"
    );
    let t = chart_with("a: {{ if }}\n");
    assert_eq!(
        render_err(t.path()),
        "parse error at (bad/templates/x.yaml:1): missing value for if"
    );
    let t = chart_with(
        "{{ define \"loop\" }}{{ include \"loop\" . }}{{ end }}{{ include \"loop\" . }}\n",
    );
    let e = render_err(t.path());
    assert!(
        e.contains("rendering template has a nested reference name: loop"),
        "{e}"
    );
    let t = chart_with("a: b\n  c: : d\n");
    let e = render_err(t.path());
    assert!(
        e.starts_with("YAML parse error on bad/templates/x.yaml"),
        "{e}"
    );
    let t = tempfile::tempdir().expect("tempdir");
    write(t.path(), &[("templates/x.yaml", "a: 1\n")]);
    let e = render_err(t.path());
    assert!(e.ends_with(": Chart.yaml file is missing"), "{e}");
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::write(t.path().join("c.tgz"), b"not a gzip at all").expect("write");
    let e = render_err(&t.path().join("c.tgz"));
    assert!(e.contains("not a gzip-compressed tar archive"), "{e}");
    let t = chart_with("a: 1\n");
    write(
        t.path(),
        &[(
            "Chart.yaml",
            "apiVersion: v2\nname: bad\nversion: 0.1.0\ndependencies:\n- name: gone\n  version: 1.0.0\n",
        )],
    );
    let e = render_err(t.path());
    assert!(
        e.ends_with("found in Chart.yaml, but missing in charts/ directory: gone"),
        "{e}"
    );
    let t = chart_with(&format!("a: {}\n", common::P384_CA));
    let opts = Options::default();
    let e = helm_native::render(t.path(), &opts).expect_err("refused");
    assert!(
        matches!(e, helm_native::Error::Unsupported(_)),
        "not an Unsupported refusal: {e}"
    );
}
