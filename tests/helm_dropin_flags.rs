//! `ferry render helm` as a drop-in for `helm template`: every offline flag checked against the
//! real helm v4.1.4 with both renderers (`--renderer native` and `--renderer binary`): the
//! same stdout, the same files under `--output-dir`, helm's error for what helm refuses, and a
//! clear refusal for the flags that need a cluster or the network.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const CHART: &[(&str, &str)] = &[
    ("flags/Chart.yaml", "apiVersion: v2\nname: flags\nversion: 0.1.0\n"),
    ("flags/values.yaml", "a: {b: 1, keep: yes}\nlist: [x, y]\nname: web\n"),
    (
        "flags/templates/values.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-values\n  namespace: {{ .Release.Namespace }}\ndata:\n  values: {{ .Values | toJson | quote }}\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  api: {{ .Capabilities.APIVersions.Has \"x.example.com/v1\" | quote }}\n",
    ),
    (
        "flags/templates/other.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: other\nspec:\n  ports: [{port: 80}]\n",
    ),
    (
        "flags/templates/sub/nested.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: nested\nstringData:\n  k: v\n",
    ),
    (
        "flags/templates/hook.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: m, image: busybox}]\n",
    ),
    (
        "flags/crds/widget.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.x.example.com\n",
    ),
    ("cert.pem", "-----BEGIN X-----\nline, with comma\n-----END X-----\n"),
];

fn setup() -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    let helm = common::require_tool("helm")?;
    let tmp = tempfile::tempdir().expect("tempdir");
    write_files(tmp.path(), CHART);
    Some((tmp, helm))
}

fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

fn helm(helm: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(helm)
        .args(["template"])
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", "/dev/null")
        .env("HELM_CACHE_HOME", dir.join(".helm/cache"))
        .env("HELM_CONFIG_HOME", dir.join(".helm/config"))
        .env("HELM_DATA_HOME", dir.join(".helm/data"))
        .output()
        .expect("helm runs")
}

fn ferry(dir: &Path, renderer: &str, args: &[&str]) -> Output {
    common::ferry(&dir.join(".cache"))
        .args(["render", "helm", "--renderer", renderer])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("ferry runs")
}

/// helm's error line without its `Error: ` prefix.
fn helm_error(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .find_map(|l| l.strip_prefix("Error: "))
        .unwrap_or_else(|| panic!("no error from helm: {err}"))
        .to_string()
}

/// Both renderers give helm's stdout, or fail with helm's message.
fn same_as_helm(dir: &Path, helm_bin: &Path, args: &[&str]) {
    let want = helm(helm_bin, dir, args);
    for renderer in ["native", "binary"] {
        let got = ferry(dir, renderer, args);
        let stderr = String::from_utf8_lossy(&got.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        if want.status.success() {
            assert!(got.status.success(), "{renderer} {args:?}: {stderr}");
            assert_eq!(
                String::from_utf8_lossy(&got.stdout),
                String::from_utf8_lossy(&want.stdout),
                "{renderer} {args:?}"
            );
        } else {
            let message = helm_error(&want);
            assert_eq!(got.status.code(), Some(2), "{renderer} {args:?}: {stderr}");
            assert!(
                stderr.contains(&message),
                "{renderer} {args:?}: want {message:?} in {stderr}"
            );
        }
    }
}

#[test]
fn the_set_family_means_what_it_means_to_helm() {
    let Some((tmp, h)) = setup() else {
        return;
    };
    let d = tmp.path();
    for args in [
        &["rel", "flags", "--set-string", "a.b=1,c=true,n=null"][..],
        &[
            "rel",
            "flags",
            "--set-json",
            "d={\"e\":[1,2.5,\"x\"]}",
            "--set-json",
            "{\"f\":{\"g\":1}}",
        ][..],
        &[
            "rel",
            "flags",
            "--set-json",
            "a.keep=null",
            "--set-json",
            "h=",
            "--set-json",
            "list[1]={\"z\":true}",
        ][..],
        &[
            "rel",
            "flags",
            "--set-literal",
            "lit=x,y=z{a}\\,",
            "--set-literal",
            "deep.er[1]=v",
        ][..],
        &[
            "rel",
            "flags",
            "--set-file",
            "cert=cert.pem",
            "--set-file",
            "list[0]=cert.pem",
        ][..],
        &[
            "rel",
            "flags",
            "--set",
            "s=text,t=TRUE,u=NULL,v=010,w={p,q}",
            "--set",
            "esc\\.aped=a\\,b",
        ][..],
        &["rel", "flags", "--set", "list[3].k=v,name="][..],
        &[
            "rel",
            "flags",
            "--set-string",
            "list[2].k=v",
            "--set-literal",
            "m[1].n=o",
        ][..],
        &[
            "rel",
            "flags",
            "--set-string",
            "list[1]=",
            "--set-string",
            "p.q=",
        ][..],
        // The order of the flags does not matter to helm: --set-json, --set, --set-string,
        // --set-file, --set-literal, whatever the command line says.
        &[
            "rel",
            "flags",
            "--set-literal",
            "o=lit",
            "--set-string",
            "o=str",
            "--set",
            "o=set",
        ][..],
        // helm's errors.
        &["rel", "flags", "--set", "lonely"][..],
        &["rel", "flags", "--set", "a,b=1"][..],
        &["rel", "flags", "--set", "w={p,q"][..],
        &["rel", "flags", "--set-json", "x={bad"][..],
        &["rel", "flags", "--set", "l[x]=1"][..],
    ] {
        same_as_helm(d, &h, args);
    }
}

#[test]
fn show_only_name_template_and_capabilities_match_helm() {
    let Some((tmp, h)) = setup() else {
        return;
    };
    let d = tmp.path();
    for args in [
        &["rel", "flags", "-s", "templates/other.yaml"][..],
        &[
            "rel",
            "flags",
            "--show-only",
            "templates/sub/*.yaml",
            "-s",
            "templates/values.yaml",
        ][..],
        &[
            "rel",
            "flags",
            "-s",
            "templates/hook.yaml",
            "--include-crds",
        ][..],
        &["rel", "flags", "-s", "templates/nope.yaml"][..],
        &[
            "flags",
            "--name-template",
            "{{ \"abc\" | upper | lower }}-{{ add 1 2 }}",
        ][..],
        &["flags", "--name-template", "{{ \"ABC\" }}"][..],
        &["rel", "flags", "--name-template", "x"][..],
        &["rel", "flags", "-g"][..],
        &["flags"][..],
        &[
            "rel",
            "flags",
            "-n",
            "ns",
            "--kube-version",
            "1.29.3",
            "-a",
            "x.example.com/v1",
            "--include-crds",
        ][..],
        &[
            "rel",
            "flags",
            "--no-hooks",
            "--skip-crds",
            "--create-namespace",
            "--dry-run",
            "--description",
            "d",
            "--timeout",
            "1m",
            "--wait",
        ][..],
    ] {
        same_as_helm(d, &h, args);
    }
}

#[test]
fn output_dir_writes_the_files_helm_writes() {
    let Some((tmp, h)) = setup() else {
        return;
    };
    let d = tmp.path();
    for extra in [&[][..], &["--release-name", "--include-crds"][..]] {
        let mut args = vec!["rel", "flags", "--output-dir", "out-helm"];
        args.extend_from_slice(extra);
        let want = helm(&h, d, &args);
        assert!(
            want.status.success(),
            "{}",
            String::from_utf8_lossy(&want.stderr)
        );
        for renderer in ["native", "binary"] {
            let dir = format!("out-{renderer}");
            let mut args = vec!["rel", "flags", "--output-dir", &dir];
            args.extend_from_slice(extra);
            let got = ferry(d, renderer, &args);
            assert!(
                got.status.success(),
                "{}",
                String::from_utf8_lossy(&got.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&got.stdout).replace(&dir, "out-helm"),
                String::from_utf8_lossy(&want.stdout),
                "{renderer} {extra:?}"
            );
            assert_eq!(
                common::snapshot(&d.join(&dir)),
                common::snapshot(&d.join("out-helm")),
                "{renderer} {extra:?}"
            );
        }
    }
}

#[test]
fn flags_that_need_a_cluster_or_the_network_are_refused_by_name() {
    let Some((tmp, _)) = setup() else {
        return;
    };
    let d = tmp.path();
    for (flags, want) in [
        (
            &["--validate"][..],
            "refuses --validate: it needs a Kubernetes cluster",
        ),
        (
            &["--dry-run=server"][..],
            "refuses --dry-run=server: it needs a Kubernetes cluster",
        ),
        (&["--kube-context", "prod"][..], "refuses --kube-context"),
        (
            &["--version", "1.0.0"][..],
            "refuses --version: it fetches a chart over the network",
        ),
        (&["--enable-dns"][..], "refuses --enable-dns"),
        (&["--post-renderer", "x"][..], "refuses --post-renderer"),
    ] {
        for renderer in ["native", "binary"] {
            let mut args = vec!["rel", "flags"];
            args.extend_from_slice(flags);
            let out = ferry(d, renderer, &args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
            assert!(err.contains(want), "{flags:?}: {err}");
        }
    }
}

/// helm types `--set n=5` as an int64, which native values cannot carry yet: native refuses
/// it, saying what to use instead, and `auto` hands the chart to helm, which gives helm's
/// bytes.
/// A chart that prints `--set` integers (int64 in helm) every way a template can: `%v`,
/// `%d`, `%T`, JSON and YAML, arithmetic, comparisons with constants, emptiness, lists, beside
/// float64 numbers from values.yaml (`1e+06` where an int64 prints `1000000`).
const INTS: &[(&str, &str)] = &[
    ("ints/Chart.yaml", "apiVersion: v2\nname: ints\nversion: 0.1.0\n"),
    (
        "ints/values.yaml",
        "n: 1\nf: 1000000\nzero: 1\nlist: [1, 2]\nsub: {deep: 2}\n",
    ),
    (
        "ints/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ints\ndata:\n  v: \"{{ .Values.n }} {{ .Values.f }} {{ .Values.big }} {{ .Values.neg }}\"\n  q: {{ .Values.n | quote }}\n  types: \"{{ typeOf .Values.n }} {{ kindOf .Values.n }} {{ typeOf .Values.f }} {{ typeOf .Values.sub.deep }}\"\n  printf: {{ printf \"%d %v %T %5.2f\" .Values.n .Values.big .Values.n (float64 .Values.n) | quote }}\n  cmp: \"{{ eq .Values.n 3 }} {{ lt .Values.n 4 }} {{ gt .Values.big 999 }} {{ ne .Values.n 5 }}\"\n  math: \"{{ add .Values.n 1 }} {{ mul .Values.n 2 }} {{ div .Values.big 3 }} {{ sub .Values.neg 1 }} {{ max .Values.n 10 }} {{ add1 .Values.n }}\"\n  empty: \"{{ default 5 .Values.zero }} {{ if .Values.zero }}yes{{ else }}no{{ end }} {{ empty .Values.zero }}\"\n  list: {{ .Values.list | toJson | quote }}\n  index: \"{{ index .Values.list 1 }} {{ len .Values.list }} {{ until (.Values.n | int) | toJson }}\"\n  json: {{ toJson .Values | quote }}\n  yaml: {{ toYaml .Values | quote }}\n  str: \"{{ toString .Values.n }} {{ .Values.n | int64 }} {{ .Values.n | toString | atoi }} {{ .Values.huge }} {{ .Values.over }}\"\n  {{- if .Values.mixed }}\n  mixed: \"{{ eq .Values.n .Values.f }}\"\n  {{- end }}\n",
    ),
];

#[test]
fn integer_set_values_are_int64_natively_as_in_helm() {
    let Some((tmp, h)) = setup() else {
        return;
    };
    let d = tmp.path();
    write_files(d, INTS);
    for args in [
        &[
            "rel",
            "ints",
            "--set",
            "n=3,big=1000000,neg=-5,zero=0,list={1,2,3},sub.deep=7",
            "--set",
            "huge=9223372036854775807,over=9223372036854775808",
        ][..],
        // Integers under a values file's and --set-json's floats, and the other way round.
        &[
            "rel",
            "ints",
            "--set",
            "n=3,big=2",
            "--set-json",
            "big=5",
            "--set-string",
            "neg=-5",
        ][..],
        &["rel", "ints", "--set", "list[2]=4,neg=0,big=7,n=0"][..],
    ] {
        let want = helm(&h, d, args);
        assert!(
            want.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&want.stderr)
        );
        same_as_helm(d, &h, args);
    }
    // An int64 compared with a float64 from values.yaml: Go's error in both.
    let args = ["rel", "ints", "--set", "n=3,big=2,mixed=true"];
    let want = helm_error(&helm(&h, d, &args));
    assert!(
        want.contains("error calling eq: incompatible types for comparison"),
        "{want}"
    );
    let got = ferry(d, "native", &args);
    let err = String::from_utf8_lossy(&got.stderr);
    assert_eq!(got.status.code(), Some(2), "{err}");
    assert!(
        err.contains("at <eq .Values.n .Values.f>:")
            && err.contains("error calling eq: incompatible types for comparison"),
        "{err}"
    );
}

/// A chart whose values break its values.schema.json unless `--set`/`--set-json` mend them.
const SCHEMA_CHART: &[(&str, &str)] = &[
    ("strict/Chart.yaml", "apiVersion: v2\nname: strict\nversion: 0.1.0\n"),
    ("strict/values.yaml", "replicas: many\nport: 80\n"),
    (
        "strict/values.schema.json",
        "{\"type\": \"object\", \"properties\": {\"replicas\": {\"type\": \"integer\", \"minimum\": 1}, \"port\": {\"type\": \"integer\", \"maximum\": 1000}}, \"required\": [\"replicas\"]}",
    ),
    (
        "strict/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\ndata:\n  replicas: {{ .Values.replicas | quote }}\n  port: {{ .Values.port | quote }}\n",
    ),
];

#[test]
fn skip_schema_validation_is_honoured_by_both_renderers() {
    let Some((tmp, h)) = setup() else {
        return;
    };
    let d = tmp.path();
    write_files(d, SCHEMA_CHART);
    for args in [
        // helm's schema error, then the same chart rendered past it.
        &["rel", "strict"][..],
        &["rel", "strict", "--skip-schema-validation"][..],
        &[
            "rel",
            "strict",
            "--set",
            "port=5000",
            "--skip-schema-validation",
        ][..],
        // Valid values render with or without the flag; an int64 from --set meets `integer`.
        &["rel", "strict", "--set", "replicas=2"][..],
        &["rel", "strict", "--set", "replicas=0"][..],
    ] {
        same_as_helm(d, &h, args);
    }
    let out = ferry(d, "native", &["rel", "strict"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("values don't meet the specifications of the schema(s)")
            && err.contains("replicas"),
        "{err}"
    );
}

/// ferry.yaml's `skipSchemaValidation` means helm's flag in a build, with either renderer, and
/// is part of the cache key (turning it on renders again instead of serving the failure).
#[test]
fn skip_schema_validation_in_ferry_yaml_builds_past_the_schema() {
    let Some((tmp, _)) = setup() else {
        return;
    };
    let d = tmp.path();
    write_files(d, SCHEMA_CHART);
    let config = |skip: bool| {
        format!(
            "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments:\n  dev: {{}}\napps:\n  strict:\n    namespace: web\n    helm:\n      chart: strict\n      skipSchemaValidation: {skip}\n"
        )
    };
    std::fs::write(d.join("ferry.yaml"), config(false)).expect("write");
    common::git(d, &["init", "-q", "-b", "main"]);
    common::commit_all(d, "strict chart");
    for renderer in ["native", "binary"] {
        let build = || {
            common::ferry(&d.join(".cache"))
                .args(["build", "-q", "--renderer", renderer, "-C"])
                .arg(d)
                .output()
                .expect("ferry runs")
        };
        std::fs::write(d.join("ferry.yaml"), config(false)).expect("write");
        common::commit_all(d, "validate");
        let out = build();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{renderer}: built past the schema");
        assert!(
            err.contains("values don't meet the specifications of the schema(s)"),
            "{renderer}: {err}"
        );
        std::fs::write(d.join("ferry.yaml"), config(true)).expect("write");
        common::commit_all(d, "skip");
        let out = build();
        assert!(
            out.status.success(),
            "{renderer}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let objects: String = walkdir::WalkDir::new(d.join("out/dev"))
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file() && e.file_name() != "index.json")
            .map(|e| std::fs::read_to_string(e.path()).expect("read"))
            .collect();
        assert!(objects.contains("replicas: many"), "{renderer}: {objects}");
    }
}
