//! values.schema.json in the native Helm renderer against the real helm v4.1.4: charts whose
//! values break (or meet) their schemas and their subcharts' schemas, rendered by both, the
//! error texts compared. Helm lists an object's violations in Go's random map order, so both
//! texts are compared with the lines of each chart's block sorted (native sorts them by
//! location, so its own order is fixed).

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

/// Each chart block (a `name:` line and its violations) with its lines sorted.
fn normalized(text: &str) -> String {
    let mut out = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in text.trim_end().lines() {
        if !line.starts_with(['-', ' ']) && line.ends_with(':') && !block.is_empty() {
            block.sort_unstable();
            out.append(&mut block);
        }
        if line.starts_with(['-', ' ']) {
            block.push(line);
        } else {
            block.sort_unstable();
            out.append(&mut block);
            out.push(line);
        }
    }
    block.sort_unstable();
    out.append(&mut block);
    out.join("\n")
}

/// helm's result: `Ok(stdout)` or `Err(message without "Error: ")`.
fn helm(helm: &Path, chart: &Path, sets: &[&str]) -> Result<String, String> {
    let mut cmd = std::process::Command::new(helm);
    cmd.args(["template", "rel"])
        .arg(chart)
        .env("HELM_CACHE_HOME", chart.join("../h"))
        .env("HELM_CONFIG_HOME", chart.join("../h"))
        .env("HELM_DATA_HOME", chart.join("../h"))
        .env("KUBECONFIG", "/dev/null");
    for s in sets {
        cmd.args(["--set-json", s]);
    }
    let out = cmd.output().expect("helm runs");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("utf8"))
    } else {
        // Log lines (`level=ERROR ...`) may come before the error itself.
        let e = String::from_utf8_lossy(&out.stderr);
        let e = e.trim_end();
        let start = e.find("Error: ").map_or(0, |i| i + "Error: ".len());
        Err(e[start..].to_string())
    }
}

fn native(chart: &Path, sets: &[&str]) -> Result<String, String> {
    let mut values = helm_native::Values::new();
    for s in sets {
        let (k, v) = s.split_once('=').expect("k=v");
        // `a.b=v` as `{"a": {"b": v}}`, as helm's --set-json nests dotted keys.
        let doc = k.rsplit('.').fold(v.to_string(), |inner, key| {
            format!("{{\"{key}\": {inner}}}")
        });
        let m = helm_native::read_values_file(doc.as_bytes(), "--set-json").expect("json");
        helm_native::merge_maps(&mut values, m);
    }
    let opts = Options {
        release_name: "rel".into(),
        namespace: "default".into(),
        values,
        ..Options::default()
    };
    helm_native::render(chart, &opts).map_err(|e| e.to_string())
}

const PARENT_SCHEMA: &str = r##"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["image"],
  "definitions": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}},
  "properties": {
    "replicas": {"type": "integer", "minimum": 1, "multipleOf": 1},
    "image": {
      "type": "object",
      "required": ["repository"],
      "properties": {
        "repository": {"type": "string", "minLength": 3, "pattern": "^[a-z./-]+$"},
        "tag": {"type": ["string", "null"], "maxLength": 10},
        "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]}
      },
      "additionalProperties": false
    },
    "port": {"$ref": "#/definitions/port"},
    "ratio": {"type": "number", "exclusiveMaximum": 1},
    "mode": {"const": "fast"},
    "hosts": {"type": "array", "items": {"type": "string", "format": "hostname"}, "minItems": 1, "maxItems": 3, "uniqueItems": true},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 2},
    "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    "one": {"oneOf": [{"type": "string"}, {"minLength": 1}]},
    "never": false,
    "all": {"allOf": [{"type": "string"}, {"minLength": 2}]},
    "nope": {"not": {"type": "string"}},
    "none": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "when": {"if": {"type": "string"}, "then": {"minLength": 3}, "else": {"type": "integer"}},
    "dep": {"type": "object", "dependentRequired": {"a": ["b", "c"]}, "propertyNames": {"maxLength": 3}},
    "db": {"type": "object"}
  }
}"##;

const SUB_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "$defs": {"size": {"type": "integer", "minimum": 1}},
  "properties": {
    "size": {"$ref": "#/$defs/size"},
    "engine": {"enum": ["pg", "mysql"]},
    "global": {"type": "object"}
  },
  "required": ["engine"]
}"##;

fn make_chart(root: &Path) -> std::path::PathBuf {
    let chart = root.join("app");
    write(
        &chart,
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n\
                 - name: db\n  version: 0.1.0\n  alias: primary\n\
                 - name: db\n  version: 0.1.0\n  condition: db.enabled\n",
            ),
            (
                "values.yaml",
                "replicas: 2\nimage: {repository: nginx, tag: \"1.0\", pullPolicy: Always}\nport: 80\n\
                 ratio: 0.5\nhosts: [a.example.com]\nlabels: {team: x}\neither: 1\none: 5\n\
                 primary: {size: 3}\ndb: {enabled: false}\n",
            ),
            ("values.schema.json", PARENT_SCHEMA),
            ("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  r: {{ .Values.replicas | quote }}\n"),
            ("charts/db/Chart.yaml", "apiVersion: v2\nname: db\nversion: 0.1.0\n"),
            ("charts/db/values.yaml", "size: 1\nengine: pg\n"),
            ("charts/db/values.schema.json", SUB_SCHEMA),
            ("charts/db/templates/s.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Chart.Name }}-{{ .Values.size }}\n"),
        ],
    );
    chart
}

/// Every case: `--set-json` overrides, and whether helm accepts them.
const CASES: &[(&str, &[&str])] = &[
    ("valid", &[]),
    ("type_and_minimum", &["replicas=0", "port=\"80\""]),
    (
        "nested_and_additional",
        &["image={\"repository\":\"NGINX!\",\"extra\":1,\"tag\":\"12345678901\"}"],
    ),
    ("missing_required", &["image={\"tag\":\"x\"}"]),
    (
        "enum_const_pattern",
        &[
            "image.pullPolicy=\"Sometimes\"",
            "mode=\"slow\"",
            "image.repository=\"ab\"",
        ],
    ),
    ("numbers", &["ratio=1", "replicas=2.5", "port=70000"]),
    ("arrays", &["hosts=[]"]),
    ("arrays_unique_max", &["hosts=[\"a\",\"a\",\"b\",\"c\"]"]),
    ("array_item_types", &["hosts=[1,\"ok\"]"]),
    ("objects", &["labels={\"a\":\"1\",\"b\":2,\"c\":\"3\"}"]),
    ("any_one_false", &["either=true", "one=\"s\"", "never=1"]),
    ("all_not_none", &["all=\"x\"", "nope=\"s\"", "none=true"]),
    ("if_then_else", &["when=\"ab\""]),
    (
        "if_else_and_dependencies",
        &["when=true", "dep={\"a\":1,\"long_name\":2}"],
    ),
    ("big_numbers", &["replicas=-1234567.5"]),
    (
        "subchart_alias",
        &["primary={\"size\":0,\"engine\":\"oracle\"}"],
    ),
    (
        "subchart_enabled_by_condition",
        &["db={\"enabled\":true,\"size\":\"big\"}"],
    ),
    ("subchart_values_not_a_map", &["primary=5"]),
    ("both_charts", &["replicas=\"x\"", "primary.engine=null"]),
];

#[test]
fn schema_violations_read_as_helm_words_them() {
    let Some(helm_bin) = common::require_tool("helm") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = make_chart(tmp.path());
    let mut diffs = Vec::new();
    for (name, sets) in CASES {
        let want = helm(&helm_bin, &chart, sets);
        let got = native(&chart, sets);
        let same = match (&want, &got) {
            (Ok(w), Ok(g)) => w == g,
            (Err(w), Err(g)) => normalized(w) == normalized(g),
            _ => false,
        };
        if !same {
            diffs.push(format!("case {name}:\n  helm:  {want:?}\n  ferry: {got:?}"));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn schema_errors_list_violations_in_a_fixed_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = make_chart(tmp.path());
    let got = native(&chart, &["replicas=\"x\"", "port=0", "primary.engine=null"]);
    assert_eq!(
        got.expect_err("violations"),
        "values don't meet the specifications of the schema(s) in the following chart(s):\n\
         app:\n\
         - at '/port': minimum: got 0, want 1\n\
         - at '/replicas': got string, want integer\n\
         primary:\n\
         - at '': missing property 'engine'"
    );
}

#[test]
fn a_schema_that_is_not_json_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = make_chart(tmp.path());
    std::fs::write(chart.join("values.schema.json"), "{not json").expect("write");
    let err = native(&chart, &[]).expect_err("bad schema");
    assert!(err.contains("values.schema.json"), "{err}");
}
